"""Fuzzing the command line with hostile arguments.

Every subcommand is driven in-process through :func:`proofs.cli.main` with
argument lists that mix valid flags (at sizes that run in milliseconds) with
hostile values: non-numbers, non-finite and huge numbers, empty and unicode
strings, code-injection strings, 100 kB strings and unknown flags.  Whatever
the input, the program must end with exit code 0, 1 (a solver failure of
``simulate``) or 2 (bad input, then with exactly one line on standard error),
print no traceback, run nothing it was handed as code, and finish quickly.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import proofs.cli
from proofs.cli import main

INJECTIONS = [
    "__import__('os').system('touch pwned')",
    "lambda: 0",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    'exec(\'open("pwned", "w")\')',
    "$(touch pwned)",
    "`touch pwned`",
    "; touch pwned",
    "{0.__class__}",
    "%s%s%n",
]
HOSTILE = [
    "-1",
    "0",
    "-0",
    "1e-320",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "99999999999999999999999",
    "1" * 5000,
    "0x1f",
    "1_0",
    "1/3",
    "",
    " ",
    "é",
    "β",
    "\u202e1",
    "\x00",
    "-",
    "--",
    ",",
    "1,,2",
    "1:2",
    "1:2:x",
    "0:1:0",
    "../../etc/passwd",
    "A" * 100_000,
    *INJECTIONS,
]
UNKNOWN = ["--nope", "-x", "--n=", "--json=1", "--=", "-h", "--help"]

hostile = st.sampled_from(HOSTILE)
#: CPU seconds one command may take before it counts as a hang.
CPU_BUDGET = 30

CAPTURE = {}


class _Hang(BaseException):
    """Raised into a command that exceeded its CPU budget."""


def _run(argv: list[str], budget: float = CPU_BUDGET) -> tuple[int, str, str]:
    """``main(argv)`` with captured streams, a CPU budget and ``--help`` exits."""

    def expire(signum, frame):
        raise _Hang(argv[:6])

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGVTALRM, expire)
    signal.setitimer(signal.ITIMER_VIRTUAL, budget)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's --help
                code = exc.code
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def _fresh_directory(root: Path):
    """A new empty working directory under ``root`` for one example."""
    here = os.getcwd()
    path = Path(tempfile.mkdtemp(dir=root))
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(here)


def _check(argv, code, out, err, where: Path, failure_codes=()):
    """The properties every run must have, whatever its input."""
    shown = [a[:40] for a in argv]
    assert code in (0, 1, 2), (shown, code, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in out, (shown, err[-2000:])
    assert "internal error" not in err, (shown, err[-2000:])
    assert not list(where.rglob("pwned")), shown
    if code == 1:
        assert argv[0] in failure_codes, (shown, err[-2000:])
    if code == 2:
        # progress lines ("[k/N] ...") may precede the error line
        lines = [x for x in err.splitlines() if x.strip() and not x.startswith("[")]
        assert len(lines) <= 1, (shown, err[-2000:])
        assert lines or "usage:" in out, (shown, out[-500:])


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("HEADFLOW_DEBUG", raising=False)


def _flags(options: dict, switches=()):
    """Argument lists: a subset of ``options`` (flag -> value strategy) and
    ``switches`` (flags without a value), in any order, plus maybe an unknown
    flag; each value is either valid or hostile."""
    pair = st.sampled_from(sorted(options)).flatmap(
        lambda f: st.tuples(st.just(f), st.one_of(options[f], hostile))
    )
    item = st.one_of(
        pair.map(list),
        st.sampled_from(list(switches) or ["--"]).map(
            lambda s: [s] if s != "--" else []
        ),
    )
    unknown = st.lists(st.sampled_from(UNKNOWN), max_size=1)
    return st.tuples(st.lists(item, max_size=4), unknown).map(
        lambda t: [a for part in t[0] for a in part] + t[1]
    )


def _numbers(low, high, fmt=str):
    return st.integers(low, high).map(fmt)


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)

# ---------------------------------------------------------------------------
# per-subcommand fuzzing
# ---------------------------------------------------------------------------

KERNELS = st.sampled_from(["exp", "relu", "1/(1+exp(-beta*s))", "max(s,0)**2"])
#: Kernels without a usable float64 energy: no closed form, undefined, overflowing.
AWKWARD = ["1/s", "sqrt(s)", "cosh(beta*s)", "erf(beta*s)", "cos(beta*s)", "s**3"]
SIMULATE = {
    "--n": _numbers(2, 6),
    "--d": _numbers(1, 4),
    "--heads": _numbers(1, 3),
    "--beta": st.sampled_from(["1e-8", "0.5", "2", "700", "1000"]),
    "--t": st.sampled_from(["1e-9", "0.1", "0.5"]),
    "--samples": _numbers(2, 5),
    "--seed": _numbers(0, 2**70),
    "--kernel": st.one_of(KERNELS, st.sampled_from(AWKWARD)),
    "--norm": st.sampled_from(["usa", "sa"]),
    "--geometry": st.sampled_from(["flat", "sphere"]),
    "--heads-kind": st.sampled_from(["symmetric", "general"]),
    "--out": st.sampled_from(["out", "a/b/c", "."]),
}
SIMULATE_BASE = ["--n", "4", "--d", "3", "--heads", "2", "--t", "0.3", "--samples", "3"]


@SETTINGS
@given(_flags(SIMULATE, ["--json"]))
@example(["--kernel", "__import__('os').system('touch pwned')"])
@example(["--beta", "1000", "--norm", "usa"])
@example(["--out", "A" * 100_000])
@example(["--kernel", "A" * 100_000])
@example(["--kernel", "1/s"])
@example(["--kernel", "cosh(beta*s)", "--beta", "1000"])
def test_simulate_survives_hostile_arguments(tmp_path, flags):
    """simulate: exit 0, 1 (solver failure) or 2, never a traceback or an injection."""
    with _fresh_directory(tmp_path) as where:
        argv = ["simulate", *SIMULATE_BASE, *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where, failure_codes=("simulate",))


SWEEP = {
    "--n": st.sampled_from(["3", "2,3"]),
    "--d": st.sampled_from(["1", "2"]),
    "--heads": st.sampled_from(["1", "2"]),
    "--beta": st.sampled_from(["1", "0.5:2:2", "1e3"]),
    "--kernel": st.sampled_from(["exp", "relu", "exp,relu"]),
    "--norm": st.sampled_from(["usa", "sa"]),
    "--t": st.sampled_from(["0.2"]),
    "--delta": st.sampled_from(["0.5", "1e-3"]),
    "--matrices": st.sampled_from(["identity", "symmetric"]),
    "--seeds": st.sampled_from(["1", "2"]),
    "--seed": _numbers(0, 9),
    "--samples": _numbers(2, 4),
    "--out": st.sampled_from(["sweep", "sweep/inner"]),
    "--workers": st.just("1"),
    "--scheduler": st.sampled_from(["local:x", "local:0", "udp://x", "tcp//"]),
    "--config": st.sampled_from(
        ["grid.toml", "bad.toml", "keys.toml", "missing.toml", "."]
    ),
}
SWEEP_BASE = ["--n", "3", "--d", "2", "--t", "0.2", "--samples", "3", "--out", "sweep"]


def _config_files(where: Path) -> None:
    (where / "grid.toml").write_text('[grid]\nn = [3]\nbeta = "1,2"\nt = 0.2\n')
    (where / "bad.toml").write_text("[grid\nn = = 3\n")
    (where / "keys.toml").write_text('[grid]\nn = "nan"\nevil = "__import__(1)"\n')


@SETTINGS
@given(_flags(SWEEP, ["--resume", "--quiet"]))
@example(["--beta", "__import__('os').system('touch pwned')"])
@example(["--n", "1" * 5000])
@example(["--resume"])
def test_sweep_survives_hostile_arguments(tmp_path, flags):
    """sweep: exit 0 or 2, never a traceback, and a record per point on success."""
    with _fresh_directory(tmp_path) as where:
        _config_files(where)
        argv = ["sweep", *SWEEP_BASE, *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)
    if code == 0 and "usage:" not in out:
        last = len(argv) - 1 - argv[::-1].index("--out")
        out_dir = where / argv[last + 1]
        assert (out_dir / "records.jsonl").is_file()


VERIFY = {
    "--profile": st.sampled_from(["quick", "full"]),
    "--seed": _numbers(0, 2**70),
    "--only": st.sampled_from(["C1", "C1,C2", "C99"]),
    "--kernel": KERNELS,
    "--digits": _numbers(15, 1000),
    "--claims": st.sampled_from(["proofs.c1_energy", "no.such.module", "x.py"]),
    "--json": st.sampled_from(["r.json"]),
    "--out": st.sampled_from(["out"]),
}


@SETTINGS
@given(_flags(VERIFY, ["--quiet"]))
@example(["--kernel", "__import__('os').system('touch pwned')"])
@example(["--claims", "__import__('os').system('touch pwned')"])
@example(["--kernel", "A" * 100_000])
def test_verify_list_survives_hostile_arguments(tmp_path, flags):
    """verify --list: exit 0 or 2 whatever the other options, and runs no claim."""
    with _fresh_directory(tmp_path) as where:
        argv = ["verify", "--list", *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)
    assert not (where / "r.json").exists() and not (where / "out").exists()


DERIVE = {"--claims": st.sampled_from(["proofs.c2_shadows", "nope", "x.py"])}


@SETTINGS
@given(
    st.one_of(st.sampled_from(["C2", "C3", "C5", "c2", "C0"]), hostile),
    _flags(DERIVE, ["--latex", "--mathml"]),
)
def test_derive_survives_hostile_arguments(tmp_path, claim, flags):
    """derive: exit 0 or 2 for any claim id and flags."""
    with _fresh_directory(tmp_path) as where:
        argv = ["derive", claim, *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)


CRITICAL = {
    "--n": _numbers(2, 64),
    "--m": st.sampled_from(["1", "0.5", "3/2", "1e-300"]),
    "--rho": st.sampled_from(["0", "0.25", "-0.1", "1"]),
    "--digits": _numbers(15, 60),
}


@SETTINGS
@given(_flags(CRITICAL, ["--certify", "--json"]))
def test_critical_beta_survives_hostile_arguments(tmp_path, flags):
    """critical-beta: exit 0 or 2, quickly, for any values."""
    with _fresh_directory(tmp_path) as where:
        argv = ["critical-beta", "--n", "8", *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)


EQUIANGULAR = {
    "--kernel": st.sampled_from(["exp", "relu"]),
    "--norm": st.sampled_from(["usa", "sa"]),
    "--n": _numbers(2, 6),
    "--m": st.sampled_from(["1", "0.5,1", "-1"]),
    "--beta": st.sampled_from(["1", "2"]),
    "--rho0": st.sampled_from(["0", "0.3", "-0.2", "1"]),
    "--t": st.sampled_from(["0", "0.2", "1e300"]),
    "--digits": _numbers(15, 25),
}


@SETTINGS
@given(_flags(EQUIANGULAR, ["--particles", "--json"]))
@example(["--beta", "1e-99999"])
def test_equiangular_survives_hostile_arguments(tmp_path, flags):
    """equiangular: exit 0 or 2, quickly, for any values."""
    with _fresh_directory(tmp_path) as where:
        argv = ["equiangular", "--n", "4", "--rho0", "0.1", "--t", "0.2", *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)


def _results_document(title: str) -> dict:
    """A minimal result document as ``verify`` writes it."""
    claim = {
        "id": "C9",
        "title": title,
        "status": "verified",
        "hypotheses": [title],
        "statement": {"latex": "E \\ge 0"},
        "derivation": [],
        "evidence": [],
        "figures": [],
        "counterexamples": [],
    }
    return {
        "headflow": "0.1.0",
        "seed": 0,
        "profile": "quick",
        "digits": 30,
        "options": {},
        "command": "headflow verify",
        "versions": {},
        "claims": [claim],
    }


def _result_files(where: Path) -> None:
    doc = _results_document("<script>alert(1)</script>")
    (where / "results.json").write_text(json.dumps(doc))
    (where / "bad.json").write_text("{not json")
    (where / "list.json").write_text("[1, 2]")
    (where / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (where / "types.json").write_text(json.dumps({**doc, "claims": "x"}))


REPORT = {
    "--format": st.sampled_from(["html", "md", "tex", "all", "pdf"]),
    "--out": st.sampled_from(["report", "results.json", "a/b"]),
}


@SETTINGS
@given(
    st.one_of(
        st.sampled_from(
            ["results.json", "bad.json", "list.json", "types.json", "missing.json", "."]
        ),
        hostile,
    ),
    _flags(REPORT),
)
def test_report_survives_hostile_arguments(tmp_path, results, flags):
    """report: exit 0 or 2 for any results file, format and directory."""
    with _fresh_directory(tmp_path) as where:
        _result_files(where)
        argv = ["report", results, "--out", "report", *flags]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)


@SETTINGS
@given(
    st.lists(
        st.one_of(st.sampled_from(UNKNOWN + ["--version", "bogus"]), hostile),
        max_size=3,
    )
)
def test_top_level_survives_hostile_arguments(tmp_path, argv):
    """Without a valid subcommand: usage, version, or one error line."""
    with _fresh_directory(tmp_path) as where:
        code, out, err = _run(argv)

    _check(["headflow", *argv], code, out, err, where)


# ---------------------------------------------------------------------------
# pinned cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["critical-beta", "--n", "8", "--m", "1e99999999999"],
        ["equiangular", "--n", "4", "--rho0", "0.1", "--t", "1e99999999999"],
        [
            "equiangular",
            "--n",
            "4",
            "--rho0",
            "0.1",
            "--t",
            "0.2",
            "--beta",
            "1e-10000",
        ],
        ["report", "deep.json", "--out", "report"],
        [
            "sweep",
            "--n",
            "3",
            "--d",
            "2",
            "--t",
            "0.05",
            "--samples",
            "3",
            "--out",
            "sweep",
            "--quiet",
            "--plot",
        ],
    ],
)
def test_pinned_hostile_inputs(argv, tmp_path):
    """Huge exponents, deeply nested JSON and an empty sweep plot end cleanly."""
    with _fresh_directory(tmp_path) as where:
        _result_files(where)
        code, out, err = _run(argv, budget=5)

    _check(argv, code, out, err, where)
    if argv[0] != "sweep":
        assert code == 2 and "limit" not in err


def test_kernel_that_sympy_cannot_integrate_in_time_is_refused(tmp_path, monkeypatch):
    """A short kernel whose antiderivative keeps SymPy busy ends within the budget."""
    monkeypatch.setattr(proofs.cli, "SYMBOLIC_SECONDS", 1.0)
    with _fresh_directory(tmp_path) as where:
        argv = ["simulate", *SIMULATE_BASE, "--kernel", "exp(s**7)"]
        code, out, err = _run(argv)

    _check(argv, code, out, err, where)
    assert code == 2 and "took longer than 1 s" in err


def test_html_report_escapes_a_hostile_title(tmp_path, monkeypatch):
    """headflow report --format html writes the title escaped, with no script tag."""
    monkeypatch.chdir(tmp_path)
    hostile_title = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"
    Path("results.json").write_text(json.dumps(_results_document(hostile_title)))

    code, out, err = _run(
        ["report", "results.json", "--format", "html", "--out", "html"]
    )

    assert code == 0, err
    pages = list(Path("html").glob("*.html"))
    assert pages
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert "<script" not in text.lower()
    assert "<img" not in text.lower()
    assert "&lt;script&gt;alert(" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--kernel", "__import__('os').system('touch pwned')"],
        ["simulate", "--n", "A" * 100_000],
        ["report", "A" * 100_000, "--out", "x"],
        ["sweep", "--beta", "nan", "--out", "s"],
    ],
)
def test_subprocess_prints_no_traceback(argv, tmp_path):
    """python -m proofs.cli ends with one error line and exit 2, as a process."""
    env = {**os.environ, "PYTHONPATH": str(Path(proofs.cli.__file__).parents[1])}
    env.pop("HEADFLOW_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "proofs.cli", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )

    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len([x for x in result.stderr.splitlines() if x.strip()]) == 1
    assert not (tmp_path / "pwned").exists()
