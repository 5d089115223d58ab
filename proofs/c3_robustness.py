"""C3: when a head energy cannot fall on the sphere, and how robust that is.

With orthogonal heads (``M_h M_h' = 0``) the sphere rate of one head is

.. math:: \\dot E_h = \\frac1n \\sum_i \\Big[|P_i f_i^h|^2
          - r_i^h \\sum_{h' \\ne h} r_i^{h'}\\Big],

so ``dE_h/dt >= 0`` whenever every token satisfies
``r_i^h sum_{h' != h} r_i^{h'} <= |P_i f_i^h|^2`` (for instance when the radial
shadows of ``h`` and of the other heads have opposite signs).  For heads that are
only nearly orthogonal, ``|M_h M_h'|_op <= eps``, each cross product obeys
``|<f_i^h, f_i^{h'}>| <= eps e^{beta(|M_h| + |M_h'|)}`` (every score of head
``h`` lies in ``[-|M_h|, |M_h|]``), and averaging over ``i`` gives

.. math:: \\dot E_h \\ge \\frac1n \\sum_i \\Big[|P_i f_i^h|^2
          - r_i^h \\sum_{h' \\ne h} r_i^{h'}\\Big]
          - \\varepsilon \\sum_{h' \\ne h} e^{\\beta(|M_h| + |M_{h'}|)}.

The ``1/n`` of the rate and the ``1/n^2`` of the two head outputs cancel against
the ``n`` and ``n^2`` terms they average, so the constant carries no factor of
``n``.  The checks sample both statements in float64 and at high precision and
measure how tight the bound is; there is no symbolic proof here.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np
from hypothesis import strategies as st

import numeric
from numeric import highprec, strategies

from ._shadows import (
    cross_bound,
    orthogonal_case_rates,
    orthogonal_models,
    relative,
    row_masses,
    term_scale,
    unit_rows_mp,
)
from .framework import Claim, Context, Evidence, Figure, Kind, Status, check
from .sampling import sample

__all__ = [
    "CLAIMS",
    "OrthogonalRobustness",
    "robustness_margins",
    "shadow_condition",
]

_EPS = float(np.finfo(np.float64).eps)
#: Rounding allowance of a float64 rate, in eps of its term scale.
_ULPS = 256


# ---------------------------------------------------------------------------
# the two statements at one configuration
# ---------------------------------------------------------------------------


def shadow_condition(X, F):
    """Per head: does ``r_i^h sum_{h' != h} r_i^{h'} <= |P_i f_i^h|^2`` hold for all i?

    Parameters
    ----------
    X : ndarray, shape (n, d)
    F : ndarray, shape (H, n, d)
        Head outputs.

    Returns
    -------
    holds : ndarray of bool, shape (H,)
    opposite : ndarray of bool, shape (H,)
        Whether ``r_i^h`` and ``sum_{h' != h} r_i^{h'}`` never share a sign.
    margin : ndarray, shape (H,)
        ``min_i (|P_i f_i^h|^2 - r_i^h sum_{h' != h} r_i^{h'})``.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [1.0, 0.0]])
    >>> F = np.array([[[1.0, 1.0]] * 2, [[-2.0, 0.0]] * 2])
    >>> holds, opposite, margin = shadow_condition(X, F)
    >>> holds.tolist(), opposite.tolist(), margin.tolist()
    ([True, True], [True, True], [3.0, 2.0])
    """
    r = np.einsum("hid,id->hi", F, X)
    others = r.sum(axis=0)[None] - r
    tangent = F - r[..., None] * X[None]
    squares = np.einsum("hid,hid->hi", tangent, tangent)
    products = r * others
    holds = np.all(products <= squares, axis=1)
    opposite = np.all(products <= 0, axis=1)
    return holds, opposite, np.min(squares - products, axis=1)


def _operator_norms(M):
    """``|M_h|_op`` (H,) and ``max_{h != h'} |M_h M_h'|_op``."""
    norms = np.array([np.linalg.norm(A, 2) for A in M])
    H = M.shape[0]
    eps = max(
        np.linalg.norm(M[a] @ M[b], 2) for a in range(H) for b in range(H) if a != b
    )
    return norms, float(eps)


def robustness_margins(model, *, bound=cross_bound) -> dict:
    """Both inequalities of the robustness statement at one configuration.

    Parameters
    ----------
    model : numeric.strategies.Model
        Symmetric heads, tokens on the sphere, ``usa`` exp weights.
    bound : callable ``(eps, beta, |M_h|, |M_h'|) -> float``
        Candidate bound of one cross product ``|<f_i^h, f_i^{h'}>|``.

    Returns
    -------
    dict
        ``eps``; ``token_ratio`` (H, H): ``max_i |<f_i^h, f_i^h'>|`` over its
        bound; ``sharp_ratio``: the same over ``eps`` times the two row masses;
        ``rate``, ``orthogonal``, ``bound`` (H,): ``dE_h/dt``, the rate with the
        cross products dropped, and ``sum_{h' != h}`` of the bound; ``ratio``
        (H,): ``|rate - orthogonal| / bound``; ``slack`` (H,): how far
        ``rate - (orthogonal - bound)`` is above ``-tolerance``, in units of the
        term scale (negative means the inequality fails).

    Examples
    --------
    >>> M = np.stack([np.diag([1.0, 0.0]), np.diag([0.1, 1.0])])
    >>> X = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> out = robustness_margins(strategies.Model(X, M, 1.0))
    >>> bool(np.all(out["ratio"] <= 1) and np.all(out["slack"] >= 0))
    True
    """
    X, M, beta = model.X, model.M, model.beta
    H = M.shape[0]
    norms, eps = _operator_norms(M)
    F = numeric.head_outputs(X, M, beta)
    cross = np.abs(np.einsum("hid,kid->ihk", F, F))
    pair = np.array(
        [
            [float(bound(eps, beta, norms[h], norms[k])) for k in range(H)]
            for h in range(H)
        ]
    )
    off = ~np.eye(H, dtype=bool)

    token_ratio = np.where(off, relative(cross.max(axis=0), pair), 0.0)
    masses = row_masses(X, M, beta)
    sharp = eps * np.einsum("hi,ki->ihk", masses, masses)
    sharp_ratio = np.where(off, relative(cross, sharp).max(axis=0), 0.0)

    rate = numeric.energy_rates(X, M, beta, geometry="sphere")
    orthogonal = orthogonal_case_rates(X, F)
    total_bound = np.where(off, pair, 0.0).sum(axis=1)
    scale = term_scale(X, M, beta, F)
    slack = relative(rate - (orthogonal - total_bound), scale) + _ULPS * _EPS
    return {
        "eps": eps,
        "token_ratio": token_ratio,
        "token_slack": relative(
            np.where(off, pair - cross.max(axis=0), 0.0),
            np.maximum(pair, np.abs(cross).max(axis=0)),
        )
        + _ULPS * _EPS,
        "sharp_ratio": sharp_ratio,
        "rate": rate,
        "orthogonal": orthogonal,
        "bound": total_bound,
        "ratio": relative(np.abs(rate - orthogonal), total_bound),
        "slack": slack,
    }


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------


def _matrix_modulus(A):
    w, U = np.linalg.eigh(A)
    return (U * np.abs(w)) @ U.T


def _opposite_signs(m: strategies.Model) -> strategies.Model:
    """Heads ``+|M_1|, -|M_2|, +|M_3|``: same ranges, alternating definiteness."""
    signs = np.array([(-1.0) ** h for h in range(m.H)])
    M = np.stack([s * _matrix_modulus(A) for s, A in zip(signs, m.M)])
    return strategies.Model(m.X, (M + M.transpose(0, 2, 1)) / 2, m.beta)


def _condition_models():
    """Orthogonal-head models, half of them biased towards opposite shadows."""
    plain = orthogonal_models(
        n=(2, 6), d=(2, 5), H=(2, 3), beta=(0.1, 8.0), scale=(0.2, 2.0)
    )
    clustered = orthogonal_models(
        n=(2, 6),
        d=(2, 5),
        H=(2, 3),
        beta=(0.1, 8.0),
        scale=(0.2, 2.0),
        spread=(0.0, 0.3),
    )
    return st.one_of(plain, clustered.map(_opposite_signs))


@lru_cache(maxsize=64)
def _near(H: int, d: int):
    return strategies.near_orthogonal_heads(H, d, eps=(1e-4, 0.3), scale=(0.2, 1.5))


def _near_orthogonal_models():
    @st.composite
    def build(draw):
        n = draw(st.integers(2, 6), label="n")
        d = draw(st.integers(2, 5), label="d")
        H = draw(st.integers(2, min(3, d)), label="H")
        X = draw(strategies.sphere_points(n, d))
        M, _ = draw(_near(H, d))
        b = draw(strategies.inverse_temperatures(0.1, 6.0))
        return strategies.Model(X, M, b)

    return build()


# ---------------------------------------------------------------------------
# the claim
# ---------------------------------------------------------------------------


class OrthogonalRobustness(Claim):
    id = "C3"
    title = "A sufficient condition for per-head monotonicity, and its robustness"
    hypotheses = (
        "sphere flow x_i' = P_i v_i with |x_i| = 1",
        "weights are unnormalised (usa) with the exp kernel phi(s) = e^{beta s}",
        "every score matrix M_h is symmetric",
        (
            "orthogonal heads, M_h M_h' = 0 for h != h' (sufficient condition), "
            "or near-orthogonal heads, |M_h M_h'|_op <= eps (robustness)"
        ),
    )
    statement = (
        r"\forall i:\ r_i^h \sum_{h'\ne h} r_i^{h'} \le |P_i f_i^h|^2"
        r"\ \Rightarrow\ \dot E_h \ge 0;\qquad"
        r"\dot E_h \ge \frac1n\sum_i\Big[|P_i f_i^h|^2 - r_i^h\sum_{h'\ne h}"
        r" r_i^{h'}\Big] - \varepsilon\sum_{h'\ne h} e^{\beta(|M_h|+|M_{h'}|)}"
    )
    regime = "orthogonal or near-orthogonal symmetric heads, sphere, usa exp"

    def __init__(self) -> None:
        # (eps, ratio) points of the last robustness run, per seed and profile
        self._tightness: dict = {}

    # ------------------------------------------------------------------
    # the sufficient condition
    # ------------------------------------------------------------------

    @check(Kind.NUMERIC)
    def sufficient_condition(self, ctx: Context) -> Evidence:
        drawn = sample(_condition_models(), ctx.samples(50, 400), ctx, "C3 condition")
        pairs = held = opposite = violations = fell_elsewhere = idle = 0
        lowest = np.inf
        for m in drawn:
            F = numeric.head_outputs(m.X, m.M, m.beta)
            holds, opp, _ = shadow_condition(m.X, F)
            scale = term_scale(m.X, m.M, m.beta, F)
            rate = numeric.energy_rates(m.X, m.M, m.beta, geometry="sphere")
            scaled = relative(rate, scale)
            # a head whose every term vanishes says nothing either way
            live = scale > 0
            idle += int(np.sum(~live))
            holds, opp = holds & live, opp & live
            pairs += int(live.sum())
            held += int(holds.sum())
            opposite += int((holds & opp).sum())
            violations += int(np.sum(holds & (scaled < -_ULPS * _EPS)))
            fell_elsewhere += int(np.sum(live & ~holds & (scaled < 0)))
            if holds.any():
                lowest = min(lowest, float(scaled[holds].min()))
        passed = violations == 0 and held >= max(10, pairs // 10)
        return Evidence(
            Kind.NUMERIC,
            passed,
            f"on {len(drawn)} orthogonal-head configurations ({pairs} heads with "
            f"nonzero output) the shadow condition held for {held} heads "
            f"({opposite} of them with opposite-sign shadows); dE_h/dt >= 0 on "
            f"every one of them ({violations} violations, smallest rate "
            f"{lowest:.3g} of the term scale); dE_h/dt < 0 on {fell_elsewhere} of "
            f"the {pairs - held} heads where the condition failed",
            figures={
                "samples": pairs,
                "condition_held": held,
                "opposite_signs": opposite,
                "violations": violations,
                "min_relative_rate": lowest,
                "zero_heads_skipped": idle,
                "negative_without_condition": fell_elsewhere,
            },
        )

    @check(Kind.HIGH_PRECISION)
    def sufficient_condition_high_precision(self, ctx: Context) -> Evidence:
        digits = ctx.digits
        wanted = ctx.samples(3, 8)
        chosen = []
        for m in sample(_condition_models(), 8 * wanted, ctx, "C3 condition mp"):
            F = numeric.head_outputs(m.X, m.M, m.beta)
            holds, _, margin = shadow_condition(m.X, F)
            scale = term_scale(m.X, m.M, m.beta, F)
            if np.any(holds & (relative(margin, scale) > 1e-6)):
                chosen.append((m, holds & (relative(margin, scale) > 1e-6)))
            if len(chosen) == wanted:
                break
        checked = failures = 0
        lowest = mpmath.inf
        with mpmath.workdps(digits + highprec.GUARD_DIGITS):
            for m, heads in chosen:
                X = unit_rows_mp(m.X)
                F = highprec.head_outputs_mp(X, m.M, m.beta, digits=digits)
                rate = highprec.energy_rates_mp(
                    X, m.M, m.beta, geometry="sphere", digits=digits
                )
                scale = term_scale(
                    m.X, m.M, m.beta, numeric.head_outputs(m.X, m.M, m.beta)
                )
                for h in np.flatnonzero(heads):
                    margin = min(_condition_margin_mp(X, F, h))
                    checked += 1
                    failures += int(margin < 0 or rate[h] < 0)
                    lowest = min(lowest, rate[h] / mpmath.mpf(float(scale[h])))
        return Evidence(
            Kind.HIGH_PRECISION,
            failures == 0 and checked > 0,
            f"at {digits} digits, on {checked} heads of {len(chosen)} "
            "configurations where the shadow condition holds with margin, the "
            f"condition holds again in mpmath and the chain-rule dE_h/dt is >= 0 "
            f"({failures} failures; smallest rate {mpmath.nstr(lowest, 6)} of its "
            "term scale)",
            figures={"digits": digits, "samples": checked, "failures": failures},
        )

    # ------------------------------------------------------------------
    # robustness for near-orthogonal heads
    # ------------------------------------------------------------------

    def _robustness_samples(self, ctx: Context) -> list[strategies.Model]:
        return sample(
            _near_orthogonal_models(), ctx.samples(60, 400), ctx, "C3 robustness"
        )

    @check(Kind.NUMERIC)
    def robustness_bound(self, ctx: Context, *, bound=cross_bound) -> Evidence:
        drawn = self._robustness_samples(ctx)
        ratios, signed, token_ratios, sharp, points = [], [], [], [], []
        token_fail = rate_fail = below = 0
        for m in drawn:
            out = robustness_margins(m, bound=bound)
            off = ~np.eye(m.H, dtype=bool)
            token_fail += int(np.sum(out["token_slack"][off] < 0))
            rate_fail += int(np.sum(out["slack"] < 0))
            below += int(np.sum(out["rate"] < out["orthogonal"]))
            ratios.extend(out["ratio"].tolist())
            # how far the rate falls below the orthogonal expression, per bound
            signed.extend(
                relative(out["orthogonal"] - out["rate"], out["bound"]).tolist()
            )
            token_ratios.extend(out["token_ratio"][off].tolist())
            sharp.extend(out["sharp_ratio"][off].tolist())
            points.extend([out["eps"], r] for r in out["ratio"].tolist())
        ratios = np.array(ratios)
        figures = {
            "samples": len(ratios),
            "configurations": len(drawn),
            "max_ratio": float(ratios.max()),
            "median_ratio": float(np.median(ratios)),
            "max_signed_ratio": float(max(signed)),
            "max_token_ratio": float(max(token_ratios)),
            "median_token_ratio": float(np.median(token_ratios)),
            "max_sharp_token_ratio": float(max(sharp)),
            "median_sharp_token_ratio": float(np.median(sharp)),
            "token_failures": token_fail,
            "rate_failures": rate_fail,
            "rate_below_orthogonal_expression": below,
        }
        if bound is cross_bound:
            self._tightness[_run_key(ctx)] = points
        passed = token_fail == 0 and rate_fail == 0
        return Evidence(
            Kind.NUMERIC,
            passed,
            f"on {len(drawn)} near-orthogonal configurations ({len(ratios)} heads, "
            f"eps = max |M_h M_h'|_op in [{min(p[0] for p in points):.2g}, "
            f"{max(p[0] for p in points):.2g}]): every cross product obeys "
            f"|<f_i^h, f_i^h'>| <= eps e^(beta(|M_h| + |M_h'|)) ({token_fail} "
            f"failures; largest ratio {figures['max_token_ratio']:.3g}) and "
            "dE_h/dt >= orthogonal-case expression - eps sum e^(beta(|M_h| + "
            f"|M_h'|)) ({rate_fail} failures). Tightness |dE_h/dt - orthogonal "
            f"expression| / bound: max {figures['max_ratio']:.3g}, median "
            f"{figures['median_ratio']:.3g} (the rate falls below the orthogonal "
            f"expression by at most {figures['max_signed_ratio']:.3g} of the "
            f"bound); with row masses (1/n) sum_j "
            "e^(beta s_ij) in place of e^(beta |M_h|) the per-token ratio reaches "
            f"{figures['max_sharp_token_ratio']:.3g} (median "
            f"{figures['median_sharp_token_ratio']:.3g})",
            figures=figures,
        )

    @check(Kind.HIGH_PRECISION)
    def robustness_high_precision(self, ctx: Context) -> Evidence:
        digits = ctx.digits
        drawn = self._robustness_samples(ctx)[: ctx.samples(3, 8)]

        def bound(*args):
            return cross_bound(*args, backend="mpmath")

        failures, worst = 0, mpmath.mpf(0)
        agreement = mpmath.inf
        with mpmath.workdps(digits + highprec.GUARD_DIGITS):
            for m in drawn:
                X = unit_rows_mp(m.X)
                M = np.vectorize(highprec.to_mpf, otypes=[object])(m.M)
                norms = [_spectral_norm_mp(A) for A in M]
                eps = max(
                    _spectral_norm_mp(_matmul_mp(M[a], M[b]))
                    for a in range(m.H)
                    for b in range(m.H)
                    if a != b
                )
                F = highprec.head_outputs_mp(X, m.M, m.beta, digits=digits)
                rate = highprec.energy_rates_mp(
                    X, m.M, m.beta, geometry="sphere", digits=digits
                )
                float_ratio = robustness_margins(m)["ratio"]
                for h in range(m.H):
                    total = mpmath.fsum(
                        bound(eps, m.beta, norms[h], norms[k])
                        for k in range(m.H)
                        if k != h
                    )
                    orthogonal = mpmath.fsum(_condition_margin_mp(X, F, h)) / m.n
                    for i in range(m.n):
                        for k in range(m.H):
                            cross = abs(mpmath.fdot(F[h, i], F[k, i]))
                            if k != h and cross > bound(
                                eps, m.beta, norms[h], norms[k]
                            ):
                                failures += 1
                    failures += int(rate[h] < orthogonal - total)
                    ratio = abs(rate[h] - orthogonal) / total
                    worst = max(worst, ratio)
                    gap = abs(ratio - float_ratio[h]) / max(ratio, mpmath.mpf(1e-300))
                    agreement = min(
                        agreement, -mpmath.log10(gap) if gap > 0 else mpmath.mpf(16)
                    )
        return Evidence(
            Kind.HIGH_PRECISION,
            failures == 0,
            f"at {digits} digits (operator norms from mpmath eigenvalues) both "
            f"inequalities hold on {len(drawn)} near-orthogonal configurations "
            f"({failures} failures); largest ratio {mpmath.nstr(worst, 6)}, and the "
            f"float64 ratios agree to {int(agreement)} digits",
            figures={
                "digits": digits,
                "samples": len(drawn),
                "max_ratio": float(worst),
                "failures": failures,
                "float64_agreement_digits": int(agreement),
            },
        )

    # ------------------------------------------------------------------
    # report material
    # ------------------------------------------------------------------

    def figures(self, ctx: Context, evidence) -> list[Figure]:
        if _run_key(ctx) not in self._tightness:
            self.robustness_bound(ctx)
        points = sorted(p for p in self._tightness[_run_key(ctx)] if p[1] > 0)
        if not points:
            return []
        scatter = Figure(
            id="C3-tightness",
            title="How much of the robustness bound the rate uses",
            xlabel="eps = max |M_h M_h'|_op",
            ylabel="|dE_h/dt - orthogonal expression| / bound",
            series=[
                {
                    "label": "one head of one sampled configuration",
                    "x": [p[0] for p in points],
                    "y": [p[1] for p in points],
                    "style": "points",
                }
            ],
            marks=[{"axis": "y", "at": 1.0, "label": "bound"}],
            logx=True,
            logy=True,
            caption="Every point lies below 1: the bound holds; its distance "
            "below 1 is the slack of replacing each kernel value by its "
            "largest possible value.",
        )
        logs = np.log10([p[1] for p in points])
        edges = np.arange(np.floor(logs.min()), 1.0, 1.0)
        counts = [int(np.sum((logs >= a) & (logs < a + 1))) for a in edges]
        histogram = Figure(
            id="C3-ratio-histogram",
            title="Distribution of the tightness ratio",
            xlabel="log10(ratio), bin start",
            ylabel="heads",
            series=[{"label": "heads", "x": edges.tolist(), "y": counts}],
            kind="bars",
        )
        return [scatter, histogram]

    def scope(self, status: Status, evidence) -> str:
        by_name = {e.name: e for e in evidence}
        cond = by_name.get("sufficient_condition")
        rob = by_name.get("robustness_bound")
        parts = ["Verified numerically, no symbolic proof."]
        if cond is not None and cond.figures:
            f = cond.figures
            parts.append(
                f"The shadow condition held for {f.get('condition_held')} of "
                f"{f.get('samples')} sampled heads with orthogonal heads, and "
                f"dE_h/dt >= 0 on all of them ({f.get('violations')} violations)."
            )
        if rob is not None and rob.figures:
            f = rob.figures
            parts.append(
                "The robustness bound, with the constant eps sum_{h' != h} "
                "e^(beta(|M_h| + |M_h'|)) and no factor of n, held on "
                f"{f.get('samples')} sampled heads. The defect |dE_h/dt - "
                "orthogonal expression| reaches "
                f"{f.get('max_ratio', 0):.3g} of the bound at most and "
                f"{f.get('median_ratio', 0):.3g} in the median: the constant is "
                "of the right order when beta |M_h| is small and loose by the "
                "factor e^(beta |M_h|) / (row mass) otherwise; with the row "
                "masses (1/n) sum_j e^(beta s_ij) in place of e^(beta |M_h|) the "
                "per-token bound is reached up to "
                f"{f.get('max_sharp_token_ratio', 0):.3g}."
            )
        return " ".join(parts)


def _run_key(ctx: Context) -> tuple:
    return (ctx.seed, ctx.profile)


# ---------------------------------------------------------------------------
# mpmath helpers
# ---------------------------------------------------------------------------


def _condition_margin_mp(X, F, h: int) -> list:
    """``|P_i f_i^h|^2 - r_i^h sum_{h' != h} r_i^{h'}`` for every token."""
    H, n_tok, d = F.shape
    out = []
    for i in range(n_tok):
        r = [mpmath.fdot(F[k, i], X[i]) for k in range(H)]
        tangent = [F[h, i, a] - r[h] * X[i, a] for a in range(d)]
        out.append(
            mpmath.fdot(tangent, tangent)
            - r[h] * mpmath.fsum(r[k] for k in range(H) if k != h)
        )
    return out


def _matmul_mp(A, B) -> np.ndarray:
    d = A.shape[0]
    return np.array(
        [[mpmath.fdot(A[p], B[:, q]) for q in range(d)] for p in range(d)], dtype=object
    )


def _spectral_norm_mp(A) -> mpmath.mpf:
    """``|A|_op`` as the root of the largest eigenvalue of ``A^T A``."""
    G = mpmath.matrix(_matmul_mp(A.T, A).tolist())
    values = mpmath.eigsy(G, eigvals_only=True)
    return mpmath.sqrt(max(max(values), 0))


CLAIMS = [OrthogonalRobustness()]
