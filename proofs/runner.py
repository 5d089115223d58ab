"""Discovery and running of claims, and the JSON document of a run.

Claims come from three places: the built-in modules of this package, modules or
files named on the command line, and the ``headflow.claims`` entry-point group of
installed packages.  A claim module exposes its claims as ``CLAIMS`` (a list of
:class:`~proofs.framework.Claim` instances or classes) or, failing that, every
``Claim`` subclass it defines with an ``id``.

The result document (:func:`results_document`) depends only on the code, the
claims, the seed and the profile: wall times live in a separate provenance
document, so the same inputs give byte-identical JSON.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import inspect
import json
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .framework import Claim, ClaimResult, Context, Status, run_claim

__all__ = [
    "BUILTIN_MODULES",
    "LoadedClaim",
    "load_claims",
    "run_claims",
    "results_document",
    "provenance_document",
    "versions",
    "PROFILES",
]

#: The built-in claim modules, in report order.
BUILTIN_MODULES = (
    "proofs.c1_energy",
    "proofs.c2_shadows",
    "proofs.c3_robustness",
    "proofs.c4_equiangular",
    "proofs.c5_superadditive",
    "proofs.c6_relu_softmax",
    "proofs.c7_entropy",
)

#: Working precision of high-precision checks for each profile.
PROFILES = {"quick": {"digits": 30}, "full": {"digits": 40}}

ENTRY_POINT_GROUP = "headflow.claims"


@dataclass
class LoadedClaim:
    """A claim, or the error that prevented loading it."""

    source: str
    claim: Claim | None = None
    error: str | None = None

    @property
    def id(self) -> str:
        return self.claim.id if self.claim else self.source


def _claims_of(module) -> list[Claim]:
    found = getattr(module, "CLAIMS", None)
    if found is None:
        found = [
            obj
            for _, obj in inspect.getmembers(module, inspect.isclass)
            if issubclass(obj, Claim)
            and obj is not Claim
            and obj.id
            and obj.__module__ == module.__name__
        ]
    return [c() if isinstance(c, type) else c for c in found]


def _import(spec: str):
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            raise FileNotFoundError(f"claims file {spec!r} does not exist")
        name = f"headflow_user_claims_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def _load(spec: str) -> list[LoadedClaim]:
    try:
        claims = _claims_of(_import(spec))
    except Exception as exc:  # noqa: BLE001 - a broken module is a result
        return [LoadedClaim(spec, error=f"{type(exc).__name__}: {exc}")]
    if not claims:
        return [LoadedClaim(spec, error="the module defines no claims")]
    return [LoadedClaim(spec, claim=c) for c in claims]


def _entry_point_specs() -> list[str]:
    eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return [ep.value.split(":")[0] for ep in sorted(eps, key=lambda e: e.name)]


def load_claims(
    extra: list[str] | tuple[str, ...] = (),
    *,
    builtin: bool = True,
    entry_points: bool = True,
) -> list[LoadedClaim]:
    """Load built-in, entry-point and extra claim modules (in that order)."""
    specs: list[str] = list(BUILTIN_MODULES) if builtin else []
    if entry_points:
        specs += [s for s in _entry_point_specs() if s not in specs]
    specs += [s for s in extra if s not in specs]

    loaded: list[LoadedClaim] = []
    for spec in specs:
        loaded.extend(_load(spec))
    return loaded


def _error_result(item: LoadedClaim) -> ClaimResult:
    return ClaimResult(
        id=item.id,
        title=f"claims from {item.source}",
        status=Status.ERROR,
        scope="",
        hypotheses=[],
        statement={"latex": ""},
        derivation=[],
        evidence=[],
        figures=[],
        seconds=0.0,
        error=item.error,
    )


def run_claims(
    loaded: list[LoadedClaim], ctx: Context, only: list[str] | None = None
) -> list[ClaimResult]:
    """Run the loaded claims (or those whose id is in ``only``)."""
    results = []
    chosen = [c for c in loaded if not only or c.id in only]
    for item in chosen:
        if item.claim is None:
            results.append(_error_result(item))
        else:
            results.append(run_claim(item.claim, ctx))
    return results


def versions() -> dict[str, str]:
    """Versions of headflow, Python and the numerical dependencies."""
    out = {"python": platform.python_version()}
    for dist in (
        "headflow",
        "sympy",
        "mpmath",
        "numpy",
        "scipy",
        "python-flint",
        "jinja2",
        "matplotlib",
        "hypothesis",
    ):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def git_commit() -> str | None:
    """The checkout's commit, if the package runs from a git work tree."""
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def results_document(results: list[ClaimResult], ctx: Context, command: str) -> dict:
    """The JSON-ready result document of a run (deterministic)."""
    return {
        "headflow": versions().get("headflow"),
        "seed": ctx.seed,
        "profile": ctx.profile,
        "digits": ctx.digits,
        "options": ctx.options,
        "command": command,
        "versions": versions(),
        "git_commit": git_commit(),
        "claims": [r.to_json() for r in results],
    }


def provenance_document(
    results: list[ClaimResult], started: str, total_seconds: float
) -> dict:
    """Run-specific facts that change between identical runs: times, host."""
    return {
        "started": started,
        "total_seconds": round(total_seconds, 3),
        "seconds": {r.id: round(r.seconds, 3) for r in results},
        "machine": platform.platform(),
        "processor": platform.machine(),
    }


def dumps(document: dict) -> str:
    """Serialise a document the same way every time."""
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
