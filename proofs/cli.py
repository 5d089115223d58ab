"""The ``headflow`` command line.

Each subcommand lives in :mod:`proofs.commands` as a module with ``NAME``,
``HELP``, ``configure(parser)`` and ``run(args) -> int``.  Errors in the user's
input end the program with one line on standard error and exit code 2; no
traceback is shown unless ``HEADFLOW_DEBUG`` is set.  SIGINT and SIGTERM unwind
the program like ``KeyboardInterrupt`` (exit codes 130 and 143), so that no
temporary file of an atomic write is left behind.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading

__all__ = ["main", "UsageError", "SUBCOMMANDS", "SYMBOLIC_SECONDS", "symbolic_budget"]

#: Wall-clock seconds allowed for SymPy to derive a user kernel's energy.
SYMBOLIC_SECONDS = 60.0

SUBCOMMANDS = (
    "verify",
    "derive",
    "simulate",
    "critical_beta",
    "equiangular",
    "sweep",
    "report",
)


class UsageError(Exception):
    """A command-line argument breaks a rule; exit code 2."""


class _Terminated(KeyboardInterrupt):
    """SIGTERM, unwound like an interrupt."""


class _OutOfTime(BaseException):
    # a BaseException, so that no ``except Exception`` inside SymPy swallows it
    pass


def _on_sigterm(signum, frame):
    raise _Terminated


@contextlib.contextmanager
def symbolic_budget(what: str):
    """Raise UnsupportedError if the block runs longer than :data:`SYMBOLIC_SECONDS`.

    SymPy's integration has no time limit of its own, and some short kernels
    (``exp(s**7)``) keep it busy indefinitely.  The limit uses a real-time
    timer, so it applies in the main thread on POSIX and nowhere else.
    """
    seconds = float(SYMBOLIC_SECONDS)
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable or seconds <= 0:
        yield
        return

    def expire(signum, frame):
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _OutOfTime:
        from symbolic.errors import UnsupportedError

        raise UnsupportedError(
            f"{what} took longer than {seconds:g} s; SymPy may not find a closed "
            "form for it, try a simpler kernel"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _redeliver_interrupts(previous_hook)
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGTERM, previous)


#: Delay before a signal lost in a finaliser is sent again.
_RESEND_SECONDS = 0.01


def _redeliver_interrupts(fallback):
    """An unraisable-exception hook that re-sends a lost SIGTERM or SIGINT.

    A signal handled inside a finaliser or a weakref callback (matplotlib runs
    some during garbage collection) raises where Python discards the exception
    with an "Exception ignored" traceback, and the run would go on.  The signal
    is sent again instead, a moment later from a timer thread, so that its
    handler runs once the main thread is out of the callback (raising it here
    would run the handler inside the hook, where the exception is discarded
    too).
    """

    def hook(unraisable):
        if isinstance(unraisable.exc_value, _Terminated):
            sig = signal.SIGTERM
        elif isinstance(unraisable.exc_value, KeyboardInterrupt):
            sig = signal.SIGINT
        else:
            fallback(unraisable)
            return
        # a moment later, so that the hook has returned when the signal arrives
        resend = threading.Timer(_RESEND_SECONDS, os.kill, (os.getpid(), sig))
        resend.daemon = True
        resend.start()

    return hook


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UsageError(f"{self.prog}: error: {message}")


def _build() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="headflow",
        description="Symbolic-numeric verification of multi-head self-attention "
        "dynamics.",
    )
    parser.add_argument("--version", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"proofs.commands.{name}")
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


#: Longest error line printed; a hostile value may be 100 kB long.
_MAX_LINE = 1000


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= _MAX_LINE else text[: _MAX_LINE - 3] + "..."


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    debug = bool(os.environ.get("HEADFLOW_DEBUG"))
    with _sigterm_as_interrupt():
        return _main(argv, debug)


#: Options whose value is an expression, which may begin with a minus sign.
_EXPRESSION_OPTIONS = ("--kernel",)


def _attach_expressions(argv: list[str]) -> list[str]:
    """``--kernel -exp(beta*s)`` as ``--kernel=-exp(beta*s)``.

    argparse reads a value that begins with ``-`` as an unknown option; an
    expression value is attached to its option before parsing.
    """
    out: list[str] = []
    k = 0
    while k < len(argv):
        arg = argv[k]
        value = argv[k + 1] if k + 1 < len(argv) else ""
        if arg in _EXPRESSION_OPTIONS and value[:1] == "-" and value[1:2] not in "-h":
            out.append(f"{arg}={value}")
            k += 2
        else:
            out.append(arg)
            k += 1
    return out


def _main(argv, debug: bool) -> int:
    try:
        parser = _build()
        argv = sys.argv[1:] if argv is None else list(argv)
        args = parser.parse_args(_attach_expressions(argv))
        if args.version:
            from .runner import versions

            print(f"headflow {versions()['headflow']}")
            return 0
        if not getattr(args, "_run", None):
            parser.print_help()
            return 2
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(_one_line(exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (``headflow derive C2 | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (ValueError, NotImplementedError, OverflowError, OSError) as exc:
        # bad values, what is not implemented (UnsupportedError, a kernel without
        # a closed-form energy), numbers too large to represent (RangeError), and
        # paths that cannot be read or written
        if debug:
            raise
        print(f"headflow: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if isinstance(exc, _Terminated):
            print("headflow: terminated", file=sys.stderr)
            return 128 + int(signal.SIGTERM)
        print("headflow: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            raise
        print(
            f"headflow: internal error: {type(exc).__name__}: {_one_line(exc)}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
