"""The claim framework: hypotheses, statement, checks, evidence and a status.

A :class:`Claim` states a mathematical claim and lists its checks.  Running it
(:func:`run_claim`) calls every check, turns each outcome into :class:`Evidence`,
and lets the claim decide its :class:`Status`.  A failed check is a result, never
an exception: a check that raises is recorded as an ``error`` with its message,
and the rest of the run goes on.

The same classes serve the built-in claims C1-C7 and the claims researchers write
in their own packages.
"""

from __future__ import annotations

import enum
import hashlib
import random
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

__all__ = [
    "Status",
    "Kind",
    "Role",
    "Evidence",
    "Counterexample",
    "Step",
    "Figure",
    "Context",
    "Claim",
    "ClaimResult",
    "check",
    "run_claim",
    "decide_status",
]


class Status(str, enum.Enum):
    """Outcome of a claim."""

    PROVED = "proved"
    VERIFIED = "verified"
    REFUTED = "refuted"
    HOLDS_IN_REGIME = "holds-in-regime"
    FAILED = "failed"
    ERROR = "error"


class Kind(str, enum.Enum):
    """Kind of a piece of evidence."""

    SYMBOLIC = "symbolic"
    NUMERIC = "numeric"
    HIGH_PRECISION = "high-precision"
    CERTIFIED = "certified"
    COUNTEREXAMPLE = "counterexample"


class Role(str, enum.Enum):
    """What a piece of evidence bears on.

    ``statement``: the claim under its hypotheses.  ``boundary``: the claim fails
    once a hypothesis is dropped (a counterexample outside the regime).
    ``refutation``: the claim fails under its own hypotheses.
    ``illustration``: a fact shown beside the claim that decides nothing.
    """

    STATEMENT = "statement"
    BOUNDARY = "boundary"
    REFUTATION = "refutation"
    ILLUSTRATION = "illustration"


def _plain(value: Any) -> Any:
    """Convert numpy and SymPy values into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, sp.Basic):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


@dataclass
class Counterexample:
    """A configuration at which a quantity has the sign the claim forbids.

    Every field is what an independent implementation needs to recompute the
    quantity: tokens ``X`` (n x d), score matrices ``M`` (H x d x d), ``beta``,
    and the model options.  ``value`` and ``enclosure`` are decimal strings; a
    certified enclosure ``[lo, hi]`` is a rigorous ball-arithmetic bound.
    """

    quantity: str
    X: list
    M: list
    beta: Any
    kernel: str
    norm: str
    geometry: str
    value: str
    enclosure: list[str] | None = None
    head: int | None = None
    certified: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {
            "quantity": self.quantity,
            "X": _plain(self.X),
            "M": _plain(self.M),
            "beta": _plain(self.beta),
            "kernel": self.kernel,
            "norm": self.norm,
            "geometry": self.geometry,
            "value": self.value,
            "enclosure": self.enclosure,
            "certified": self.certified,
            "n": len(self.X),
            "d": len(self.X[0]) if self.X else 0,
            "H": len(self.M),
        }
        if self.head is not None:
            out["head"] = self.head
        if self.note:
            out["note"] = self.note
        if self.extra:
            out["extra"] = _plain(self.extra)
        return out


@dataclass
class Evidence:
    """One check's outcome.

    Attributes
    ----------
    kind : Kind
    passed : bool
        Whether the check came out as the claim predicts.
    summary : str
        One sentence a reader can take at face value.
    role : Role
    figures : dict
        Numbers backing the summary: ``digits``, ``samples``, ``max_error``,
        ``enclosure`` and any other named figure.
    counterexamples : list of Counterexample
    name : str
        The check's name.
    expected : bool
        Whether a failure of this check makes the claim ``failed``.
    """

    kind: Kind
    passed: bool
    summary: str
    role: Role = Role.STATEMENT
    figures: dict = field(default_factory=dict)
    counterexamples: list[Counterexample] = field(default_factory=list)
    name: str = ""
    expected: bool = True
    error: str | None = None

    def to_json(self) -> dict:
        out = {
            "name": self.name,
            "kind": Kind(self.kind).value,
            "role": Role(self.role).value,
            "passed": bool(self.passed),
            "expected": bool(self.expected),
            "summary": self.summary,
        }
        out.update(_plain(self.figures))
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class Step:
    """One step of a derivation: what was done, and the expression it gave."""

    description: str
    expr: Any = None
    latex: str | None = None

    def to_json(self) -> dict:
        from symbolic.printing import render

        if self.expr is None and self.latex is None:
            return {"description": self.description}
        out = {"description": self.description}
        out.update(render(self.expr) if self.expr is not None else {})
        if self.latex is not None:
            out["latex"] = self.latex
        return out


@dataclass
class Figure:
    """Data for one plot; :mod:`reports` draws it.

    ``series`` is a list of ``{"label", "x", "y"}`` dicts (``style`` optional);
    ``marks`` are vertical or horizontal reference lines ``{"axis", "at",
    "label"}``; ``kind`` is ``"lines"``, ``"bars"`` or ``"heatmap"`` (with
    ``grid = {"x", "y", "z"}``).
    """

    id: str
    title: str
    xlabel: str
    ylabel: str
    series: list[dict] = field(default_factory=list)
    marks: list[dict] = field(default_factory=list)
    kind: str = "lines"
    logx: bool = False
    logy: bool = False
    grid: dict | None = None
    caption: str = ""

    def to_json(self) -> dict:
        return _plain(
            {
                "id": self.id,
                "title": self.title,
                "xlabel": self.xlabel,
                "ylabel": self.ylabel,
                "series": self.series,
                "marks": self.marks,
                "kind": self.kind,
                "logx": self.logx,
                "logy": self.logy,
                "grid": self.grid,
                "caption": self.caption,
            }
        )


class _Silent:
    def advance(self, label: str, fraction: float | None = None) -> None:
        pass


@dataclass
class Context:
    """What a check may use: profile, seeded randomness, precision, progress.

    Attributes
    ----------
    profile : {"quick", "full"}
    seed : int
        The run's seed; :meth:`rng` and :meth:`random` derive per-check streams.
    digits : int
        Working precision of high-precision checks.
    reporter : object with ``advance(label, fraction)``
        Progress sink; silent by default.
    options : dict
        Extra run options (for example a user kernel).
    """

    profile: str = "quick"
    seed: int = 0
    digits: int = 30
    reporter: Any = field(default_factory=_Silent)
    options: dict = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.profile == "full"

    def kernel(self, default: str = "exp") -> str:
        """The kernel a kernel-dependent check should use: the run's, or ``default``."""
        return self.options.get("kernel") or default

    def kernels(self, defaults=("exp", "relu")) -> tuple[str, ...]:
        """Kernels to sample over: the run's kernel alone, or ``defaults``."""
        chosen = self.options.get("kernel")
        return (chosen,) if chosen else tuple(defaults)

    def samples(self, quick: int, full: int) -> int:
        """Number of samples for this profile."""
        return full if self.full else quick

    def _substream(self, label: str) -> int:
        digest = hashlib.sha256(f"{self.seed}:{label}".encode()).digest()
        return int.from_bytes(digest[:8], "little")

    def rng(self, label: str) -> np.random.Generator:
        """A numpy generator determined by the seed and ``label``."""
        return np.random.default_rng(self._substream(label))

    def random(self, label: str) -> random.Random:
        """A :class:`random.Random` determined by the seed and ``label``."""
        return random.Random(self._substream(label))


@dataclass
class _CheckSpec:
    fn: Callable
    name: str
    kind: Kind
    role: Role
    expected: bool


def check(
    kind: Kind | str,
    *,
    role: Role | str = Role.STATEMENT,
    expected=True,
    name: str | None = None,
):
    """Mark a method of a :class:`Claim` as a check.

    The method takes a :class:`Context` and returns an :class:`Evidence`, a list
    of them, or a ``(passed, summary, figures)`` tuple.

    Examples
    --------
    >>> class Trivial(Claim):
    ...     id, title = "T0", "one plus one"
    ...     @check("symbolic")
    ...     def exact(self, ctx):
    ...         return sp.Integer(1) + 1 == 2, "1 + 1 - 2 reduces to 0", {}
    >>> run_claim(Trivial()).status.value
    'proved'
    """

    def mark(fn):
        fn._headflow_check = _CheckSpec(
            fn, name or fn.__name__, Kind(kind), Role(role), expected
        )
        return fn

    return mark


class Claim:
    """Base class of a claim.

    Subclasses set ``id``, ``title``, ``hypotheses`` (sentences), ``statement``
    (LaTeX), optionally ``statement_expr`` (a SymPy expression), and define
    checks with :func:`check`.  :meth:`derivation` returns the steps shown in
    reports; :meth:`figures` the plots; :meth:`decide` the status (by default
    :func:`decide_status`), and :meth:`scope` a sentence on what was shown.
    """

    id: str = ""
    title: str = ""
    hypotheses: Sequence[str] = ()
    statement: str = ""
    statement_expr: Any = None
    regime: str = ""

    def checks(self) -> list[_CheckSpec]:
        """The checks, base classes first; a subclass method replaces its namesake."""
        specs: dict[str, _CheckSpec] = {}
        for klass in reversed(type(self).__mro__):
            for name, attr in vars(klass).items():
                spec = getattr(attr, "_headflow_check", None)
                if spec is not None:
                    specs.pop(name, None)
                    specs[name] = spec
                elif name in specs:
                    # overridden by a plain method: no longer a check
                    del specs[name]
        return list(specs.values())

    def derivation(self) -> list[Step]:
        return []

    def figures(self, ctx: Context, evidence: list[Evidence]) -> list[Figure]:
        return []

    def decide(self, evidence: list[Evidence]) -> Status:
        return decide_status(evidence)

    def scope(self, status: Status, evidence: list[Evidence]) -> str:
        return self.regime


def decide_status(evidence: Iterable[Evidence]) -> Status:
    """Default status rule.

    ``error`` if a check raised; ``failed`` if an expected check failed;
    ``refuted`` if a refutation was found; ``holds-in-regime`` if a boundary
    counterexample was shown; ``proved`` if a symbolic statement check passed;
    otherwise ``verified``.
    """
    evidence = list(evidence)
    if any(e.error for e in evidence):
        return Status.ERROR
    if any(e.expected and not e.passed for e in evidence):
        return Status.FAILED
    if any(e.role == Role.REFUTATION and e.passed for e in evidence):
        return Status.REFUTED
    if any(e.role == Role.BOUNDARY and e.passed for e in evidence):
        return Status.HOLDS_IN_REGIME
    if any(
        e.role == Role.STATEMENT and e.kind == Kind.SYMBOLIC and e.passed
        for e in evidence
    ):
        return Status.PROVED
    return Status.VERIFIED


@dataclass
class ClaimResult:
    """A claim's run: status, evidence, derivation, figures, timing."""

    id: str
    title: str
    status: Status
    scope: str
    hypotheses: list[str]
    statement: dict
    derivation: list[dict]
    evidence: list[Evidence]
    figures: list[dict]
    seconds: float
    error: str | None = None

    @property
    def counterexamples(self) -> list[Counterexample]:
        return [c for e in self.evidence for c in e.counterexamples]

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "scope": self.scope,
            "hypotheses": list(self.hypotheses),
            "statement": self.statement,
            "derivation": self.derivation,
            "evidence": [e.to_json() for e in self.evidence],
            "counterexamples": [c.to_json() for c in self.counterexamples],
            "figures": self.figures,
            "error": self.error,
        }

    def _repr_html_(self) -> str:
        from reports import render_claim_html

        return render_claim_html(self.to_json())


def _as_evidence(spec: _CheckSpec, outcome) -> list[Evidence]:
    if isinstance(outcome, Evidence):
        outcome = [outcome]
    if isinstance(outcome, tuple):
        passed, summary, figures = outcome
        outcome = [Evidence(spec.kind, bool(passed), summary, figures=figures)]
    if not isinstance(outcome, list) or not all(
        isinstance(e, Evidence) for e in outcome
    ):
        raise TypeError(
            f"check {spec.name!r} returned {type(outcome).__name__}; expected "
            "Evidence, a list of Evidence or (passed, summary, figures)"
        )
    for e in outcome:
        e.name = e.name or spec.name
        if e.role == Role.STATEMENT and spec.role != Role.STATEMENT:
            e.role = spec.role
        e.expected = e.expected and spec.expected
    return outcome


def _error_evidence(spec: _CheckSpec, exc: BaseException) -> Evidence:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    message = f"{type(exc).__name__}: {exc} (at {where.name}, line {where.lineno})"
    return Evidence(
        spec.kind,
        False,
        f"check raised {type(exc).__name__}",
        role=spec.role,
        name=spec.name,
        error=message,
    )


def _statement(claim: Claim) -> dict:
    from symbolic.printing import render

    out = {"latex": claim.statement}
    if claim.statement_expr is not None:
        rendered = render(claim.statement_expr)
        out.update({k: v for k, v in rendered.items() if k != "latex"})
    return out


def run_claim(claim: Claim, ctx: Context | None = None) -> ClaimResult:
    """Run every check of ``claim`` and decide its status.

    Exceptions raised by a check, by the derivation or by the figures are
    recorded in the result (status ``error``), never propagated, except
    :class:`KeyboardInterrupt` and :class:`SystemExit`.
    """
    ctx = ctx or Context()
    start = time.perf_counter()
    evidence: list[Evidence] = []
    specs = claim.checks()

    for k, spec in enumerate(specs):
        ctx.reporter.advance(f"{claim.id} {spec.name}", k / max(1, len(specs)))
        try:
            evidence.extend(_as_evidence(spec, spec.fn(claim, ctx)))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a failing check is a result
            evidence.append(_error_evidence(spec, exc))

    errors = []
    try:
        derivation = [s.to_json() for s in claim.derivation()]
    except Exception as exc:  # noqa: BLE001
        derivation, _ = [], errors.append(f"derivation: {type(exc).__name__}: {exc}")
    try:
        figures = [f.to_json() for f in claim.figures(ctx, evidence)]
    except Exception as exc:  # noqa: BLE001
        figures, _ = [], errors.append(f"figures: {type(exc).__name__}: {exc}")
    try:
        statement = _statement(claim)
    except Exception as exc:  # noqa: BLE001
        statement, _ = {"latex": claim.statement}, errors.append(f"statement: {exc}")

    status = claim.decide(evidence)
    error = "; ".join([e.error for e in evidence if e.error] + errors) or None
    if errors:
        status = Status.ERROR
    ctx.reporter.advance(f"{claim.id} done", 1.0)

    return ClaimResult(
        id=claim.id,
        title=claim.title,
        status=status,
        scope=claim.scope(status, evidence),
        hypotheses=list(claim.hypotheses),
        statement=statement,
        derivation=derivation,
        evidence=evidence,
        figures=figures,
        seconds=time.perf_counter() - start,
        error=error,
    )
