"""The ``headflow`` command line.

Each subcommand lives in :mod:`proofs.commands` as a module with ``NAME``,
``HELP``, ``configure(parser)`` and ``run(args) -> int``.  Errors in the user's
input end the program with one line on standard error and exit code 2; no
traceback is shown unless ``HEADFLOW_DEBUG`` is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

__all__ = ["main", "UsageError", "SUBCOMMANDS"]

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
        command = sub.add_parser(module.NAME, help=module.HELP,
                                 description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from symbolic.errors import UnsupportedError

    debug = bool(os.environ.get("HEADFLOW_DEBUG"))
    try:
        parser = _build()
        args = parser.parse_args(argv)
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
    except (ValueError, UnsupportedError, FileNotFoundError, IsADirectoryError,
            PermissionError) as exc:
        if debug:
            raise
        print(f"headflow: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (``headflow derive C2 | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("headflow: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if debug:
            raise
        print(f"headflow: internal error: {type(exc).__name__}: {_one_line(exc)}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
