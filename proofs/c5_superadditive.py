"""C5: clustering rates of several heads are super-additive.

At an equiangular configuration of scalar heads the reduced rate is a sum of
per-head terms, ``rho' = sum_h F_h(rho)``.  With the clustering rate

.. math::
    \\kappa[F] = \\Big(\\int_{\\rho_0}^{\\rho_1}
    \\frac{d\\rho}{F(\\rho)}\\Big)^{-1}

the heads together cluster at least as fast as the sum of their rates,
``kappa[sum_h F_h] >= sum_h kappa[F_h]``, with equality exactly when the ``F_h``
are proportional.  Exp heads with different scalars are strictly super-additive;
relu heads are proportional and add exactly.  The linearised rates at
``rho = 0`` and ``rho = 1`` add exactly, so linearisation cannot see the effect.

The checks prove the pointwise Cauchy-Schwarz (Lagrange) identity behind the
inequality and the proportionality criterion in SymPy, compute the rates by
40-digit quadrature and from particle simulations, certify a strict margin by
rigorous ball-arithmetic integration (``flint.acb.integral``), and show the
equality cases to working precision.
"""

from __future__ import annotations

import flint
import mpmath
import numpy as np
import sympy as sp
from flint import acb

from symbolic import equiangular as eq
from symbolic.model import beta, n

from . import equiangular_api as api
from ._arb import to_decimal_interval
from .framework import Claim, Context, Evidence, Figure, Kind, Status, Step, check

__all__ = ["SuperAdditiveRates", "CLAIMS", "clustering_rates"]

#: The configuration every rate is computed at: tokens, temperature, interval.
N_TOKENS, BETA, RHO_0, RHO_1 = 8, "2", "0.1", "0.9"

#: Head sets: (label, kernel, norm, scalars, expected strict).
CASES = [
    ("usa exp, m = 0.5, 1, 2", "exp", "usa", ["0.5", "1", "2"], True),
    ("sa exp, m = 0.5, 1, 2", "exp", "sa", ["0.5", "1", "2"], True),
    ("sa exp, m = 1, 1, 1", "exp", "sa", ["1", "1", "1"], False),
    ("usa relu, m = 0.5, 1, 2", "relu", "usa", ["0.5", "1", "2"], False),
    ("sa relu, m = 0.5, 1, 2", "relu", "sa", ["0.5", "1", "2"], False),
]


def clustering_rates(
    kernel: str,
    norm: str,
    scalars,
    *,
    digits: int = 40,
    n_tokens: int = N_TOKENS,
    beta_=BETA,
    rho0=RHO_0,
    rho1=RHO_1,
) -> dict:
    """``kappa`` of the multi-head rate and of each head, by mpmath quadrature.

    Returns
    -------
    dict
        ``total`` (kappa of ``sum_h F_h``), ``heads`` (list), ``margin``
        (``total - sum(heads)``) as mpf at ``digits + 10``, and ``error`` (the
        largest quadrature error estimate, relative).

    Examples
    --------
    >>> out = clustering_rates("relu", "sa", ["1", "3"], digits=20)
    >>> abs(out["margin"]) < 1e-20
    True
    """
    one = eq.head_rate_function(kernel, norm, "mpmath")
    with mpmath.workdps(digits + 10):
        b = mpmath.mpf(beta_)
        T, err = api.clustering_time(
            kernel, norm, n_tokens, scalars, beta_, rho0, rho1, digits=digits
        )
        heads, worst = [], err / T
        for mh in scalars:
            Th, eh = api.clustering_time(
                kernel,
                norm,
                n_tokens,
                [mh],
                beta_,
                rho0,
                rho1,
                digits=digits,
                F=lambda r, mh=mpmath.mpf(mh): one(r, b, n_tokens, mh),
            )
            heads.append(1 / Th)
            worst = max(worst, eh / Th)
        total = 1 / T
        return {
            "total": total,
            "heads": heads,
            "margin": total - mpmath.fsum(heads),
            "error": worst,
        }


def _positive_branch(kernel, norm):
    F = eq.head_rate(kernel, norm)
    return F.args[0][0] if isinstance(F, sp.Piecewise) else F


def _certified_rates(kernel, norm, scalars, bits: int) -> dict:
    """Rigorous balls of every kappa by ``acb.integral`` of ``1 / F``.

    ``1/F`` is meromorphic near the real interval (relu: its branch on
    ``rho > 0``, which holds on the whole interval), so the integrator's error
    bounds apply without an analyticity test.
    """
    F = _positive_branch(kernel, norm)
    old = flint.ctx.prec
    flint.ctx.prec = bits
    try:
        values = {n: N_TOKENS, beta: sp.Rational(BETA)}
        parts = [F.subs(values).subs(eq.m, sp.Rational(mh)) for mh in scalars]
        a, b = acb(RHO_0), acb(RHO_1)

        def kappa(expr):
            integral = acb.integral(
                lambda x, _: 1 / api.flint_evaluate(expr, {eq.rho: x}, complex=True),
                a,
                b,
            )
            return 1 / integral.real

        heads = [kappa(p) for p in parts]
        total = kappa(sp.Add(*parts))
        margin = total - sum(heads[1:], heads[0])
        return {
            "total": total,
            "heads": heads,
            "margin": margin,
            "margin_interval": to_decimal_interval(margin, 12),
        }
    finally:
        flint.ctx.prec = old


class SuperAdditiveRates(Claim):
    id = "C5"
    title = "Super-additive clustering rates of several heads"
    hypotheses = [
        "scalar heads M_h = m_h I with m_h > 0, sphere, equiangular tokens",
        "per-head terms F_h of the reduced rate rho' = sum_h F_h, positive on "
        "[rho_0, rho_1] inside (-1/(n-1), 1)",
        "clustering rate kappa[F] = 1 / int_{rho_0}^{rho_1} d rho / F",
    ]
    statement = (
        r"\kappa\Big[\sum_h F_h\Big] \ge \sum_h \kappa[F_h],\quad"
        r"\text{equality iff all } F_h \text{ are proportional}"
    )
    regime = "positive scalar heads at equiangular configurations"

    # ------------------------------------------------------------------
    # statement, symbolically
    # ------------------------------------------------------------------

    @check(Kind.SYMBOLIC)
    def lagrange_identity(self, ctx: Context) -> Evidence:
        ok, sizes = True, [2, 3] if not ctx.full else [2, 3, 4]
        for H in sizes:
            F = sp.symbols(f"F1:{H + 1}", positive=True)
            c = sp.symbols(f"c1:{H + 1}", positive=True)
            lhs = (
                sp.Add(*F) * sp.Add(*[ci**2 / Fi for ci, Fi in zip(c, F)])
                - sp.Add(*c) ** 2
            )
            rhs = sp.Add(
                *[
                    (c[h] * F[k] - c[k] * F[h]) ** 2 / (F[h] * F[k])
                    for h in range(H)
                    for k in range(h + 1, H)
                ]
            )
            ok &= eq.is_identity(lhs, rhs)
        return Evidence(
            Kind.SYMBOLIC,
            ok,
            f"pointwise (sum F_h)(sum c_h^2 / F_h) - (sum c_h)^2 = sum_{{h<k}} "
            f"(c_h F_k - c_k F_h)^2 / (F_h F_k) >= 0, exact for H in {sizes}; with "
            "c_h = kappa[F_h], integrating 1/sum F_h against it gives "
            "(sum kappa_h)^2 / kappa[sum F] <= sum kappa_h, equality iff "
            "F_h / kappa_h is the same function for every h",
            figures={"heads": sizes},
        )

    @check(Kind.SYMBOLIC)
    def proportionality(self, ctx: Context) -> Evidence:
        m1, m2 = sp.symbols("m_1 m_2", positive=True)
        findings, ok = {}, True
        E = sp.exp(beta * eq.m * (1 - eq.rho))
        # d/drho log F_h = (terms common to all heads) + g(m_h)
        g = {"usa": beta * eq.m, "sa": beta * eq.m * E / (E + n - 1)}
        for kernel, norm in eq.VARIANTS:
            F = _positive_branch(kernel, norm)
            slope = sp.diff(sp.log(F.subs(eq.m, m1)), eq.rho) - sp.diff(
                sp.log(F.subs(eq.m, m2)), eq.rho
            )
            if kernel == "relu":
                ok &= eq.is_identity(slope, 0)
                findings[f"{kernel}/{norm}"] = "0"
            else:
                claimed = g[norm].subs(eq.m, m1) - g[norm].subs(eq.m, m2)
                ok &= eq.is_identity(slope, claimed)
                findings[f"{kernel}/{norm}"] = str(sp.simplify(claimed))
        # g is strictly increasing in m > 0 for sa (for usa it is linear)
        pos = {
            eq.m: sp.Symbol("m", positive=True),
            beta: sp.Symbol("b", positive=True),
            n: sp.Symbol("N", positive=True) + 1,
            eq.rho: 1 - sp.Symbol("q", positive=True),
        }
        dg_pos = sp.factor(sp.diff(g["sa"], eq.m).subs(pos))
        increasing = bool(dg_pos.is_positive)
        ok &= increasing
        return Evidence(
            Kind.SYMBOLIC,
            ok,
            "relu heads: F_h / F_k is constant in rho (exactly additive); exp "
            "heads: d/drho log(F_h / F_k) = g(m_h) - g(m_k) with g strictly "
            "increasing in m > 0 (usa: g = beta m; sa: g = beta m E / (E + n - 1), "
            f"dg/dm > 0 proved by SymPy: {increasing}), so exp heads are "
            "proportional iff their scalars are equal",
            figures={"log_ratio_slopes": findings, "dg_dm": str(dg_pos)},
        )

    @check(Kind.SYMBOLIC)
    def linear_rates_additive(self, ctx: Context) -> Evidence:
        ms = eq.head_scalars(3, positive=True)
        rows, ok = {}, True
        eps = sp.Symbol("epsilon", positive=True)
        for kernel, norm in eq.VARIANTS:
            F = _positive_branch(kernel, norm)
            parts = [F.subs(eq.m, h) for h in ms]
            total = sp.Add(*parts)
            for at in (0, 1):
                v_t, s_t = [sp.diff(total, eq.rho, k).subs(eq.rho, at) for k in (0, 1)]
                v_h = [
                    sp.diff(p, eq.rho, k).subs(eq.rho, at)
                    for k in (0, 1)
                    for p in parts
                ]
                ok &= sp.expand(v_t - sp.Add(*v_h[:3])) == 0
                ok &= sp.expand(s_t - sp.Add(*v_h[3:])) == 0
            # the linearisation at rho = 1 is lambda (1 - rho): kappa is linear in
            # lambda on any interval, hence exactly additive over heads
            lam = [-sp.diff(p, eq.rho).subs(eq.rho, 1) for p in parts]
            kap = [lh / sp.log((1 - eq.rho_0) / (1 - eq.rho_1)) for lh in lam]
            kap_total = sp.Add(*lam) / sp.log((1 - eq.rho_0) / (1 - eq.rho_1))
            ok &= eq.is_identity(kap_total, sp.Add(*kap))
            rows[f"{kernel}/{norm}"] = [str(sp.simplify(v)) for v in lam]
        # at rho = 0 the affine linearisation a + b rho of exp heads adds to
        # first order in the interval length eps only: on [0, eps]
        # kappa[a + b rho] = (a / eps) x / log(1 + x) with x = b eps / a
        x = sp.Symbol("x", positive=True)
        shape = sp.series(x / sp.log(1 + x), x, 0, 4).removeO()
        a_, b_ = sp.symbols("a_1:3", positive=True), sp.symbols("b_1:3", positive=True)

        def kappa_affine(a, b):
            return sp.expand(a / eps * shape.subs(x, b * eps / a))

        gap = (
            kappa_affine(a_[0] + a_[1], b_[0] + b_[1])
            - kappa_affine(a_[0], b_[0])
            - kappa_affine(a_[1], b_[1])
        )
        gap = sp.expand(gap)
        ok &= all(sp.cancel(gap.coeff(eps, k)) == 0 for k in (-1, 0))
        lead = sp.factor(gap.coeff(eps, 1)) * eps
        return Evidence(
            Kind.SYMBOLIC,
            ok,
            "values and slopes of sum_h F_h at rho = 0 and rho = 1 are the sums "
            "of the heads' (all four variants, H = 3); the clustering rate of the "
            "linearisation at rho = 1, lambda / log((1-rho_0)/(1-rho_1)), is "
            "linear in lambda and so exactly additive; at rho = 0 the affine "
            "linearisation adds to leading order in the interval length eps "
            f"(the gap is {lead} + O(eps^2))",
            figures={"rates_at_1": rows, "affine_gap_at_0": str(lead)},
        )

    # ------------------------------------------------------------------
    # statement, numerically
    # ------------------------------------------------------------------

    @check(Kind.HIGH_PRECISION)
    def quadrature_rates(self, ctx: Context) -> Evidence:
        digits = max(40, ctx.digits)
        rows, ok = [], True
        for label, kernel, norm, ms, strict in CASES:
            out = clustering_rates(kernel, norm, ms, digits=digits)
            with mpmath.workdps(digits + 10):
                rel = out["margin"] / out["total"]
                noise = 10 * max(out["error"], mpmath.mpf(10) ** -digits)
                if strict:
                    ok &= rel > 100 * noise
                else:
                    ok &= abs(rel) <= noise
            rows.append(
                {
                    "case": label,
                    "kappa_total": mpmath.nstr(out["total"], 20),
                    "sum_kappa_heads": mpmath.nstr(mpmath.fsum(out["heads"]), 20),
                    "relative_margin": mpmath.nstr(rel, 6),
                    "strict": strict,
                }
            )
        return Evidence(
            Kind.HIGH_PRECISION,
            ok,
            f"{digits}-digit mpmath quadrature (n = {N_TOKENS}, beta = {BETA}, "
            f"rho: {RHO_0} -> {RHO_1}): kappa[sum F_h] exceeds sum kappa[F_h] for "
            "heterogeneous exp heads (relative margins "
            f"{rows[0]['relative_margin']}, {rows[1]['relative_margin']}) and "
            f"equals it to working precision for equal exp heads and for relu "
            f"heads",
            figures={"digits": digits, "samples": len(rows), "cases": rows},
        )

    @check(Kind.NUMERIC)
    def particle_rates(self, ctx: Context) -> Evidence:
        cases = CASES[:2] + ([CASES[3]] if ctx.full else [])
        rows, ok, worst = [], True, 0.0
        r0, r1 = float(RHO_0), float(RHO_1)
        for label, kernel, norm, ms, strict in cases:
            quad = clustering_rates(kernel, norm, ms, digits=20)

            def kappa(scalars):
                F = api.reduced_rate(
                    kernel, norm, N_TOKENS, scalars, BETA, backend="numpy"
                )
                t_guess = float(
                    np.trapezoid(
                        1 / F(np.linspace(r0, r1, 2001)), np.linspace(r0, r1, 2001)
                    )
                )
                out = api.particle_clustering_time(
                    kernel,
                    norm,
                    N_TOKENS,
                    scalars,
                    float(BETA),
                    r0,
                    r1,
                    t_max=1.3 * t_guess,
                )
                return 1 / out["T"]

            total = kappa(ms)
            heads = [kappa([mh]) for mh in ms]
            margin = total - sum(heads)
            worst = max(
                worst,
                abs(total - float(quad["total"])) / total,
                *[abs(h - float(q)) / h for h, q in zip(heads, quad["heads"])],
            )
            ok &= (margin > 0) if strict else abs(margin) < 1e-8 * total
            rows.append(
                {
                    "case": label,
                    "kappa_total": total,
                    "sum_kappa_heads": sum(heads),
                    "margin": margin,
                }
            )
        ok &= worst <= 1e-8
        margins = ", ".join(f"{r['margin']:.6g}" for r in rows)
        return Evidence(
            Kind.NUMERIC,
            ok,
            f"clustering times of particle simulations (n = d = {N_TOKENS}, "
            f"DOP853) give the same kappas as quadrature to {worst:.1e} and the "
            f"same margins: {margins}",
            figures={"samples": len(rows), "max_error": worst, "cases": rows},
        )

    @check(Kind.CERTIFIED)
    def certified_margin(self, ctx: Context) -> Evidence:
        bits = 128 if not ctx.full else 200
        rows, ok = [], True
        for label, kernel, norm, ms, strict in CASES[:2] + [CASES[4]]:
            out = _certified_rates(kernel, norm, ms, bits)
            margin = out["margin"]
            if strict:
                ok &= bool(margin > 0)
            else:
                ok &= bool(margin.contains(0)) and float(margin.rad()) < 1e-25
            rows.append(
                {
                    "case": label,
                    "margin_enclosure": list(out["margin_interval"]),
                    "strict": strict,
                    "certified_positive": bool(margin > 0),
                }
            )
        return Evidence(
            Kind.CERTIFIED,
            ok,
            "rigorous enclosures by flint.acb.integral (Petras' method, error "
            f"bounds included, {bits}-bit balls) of every 1/F integral: the margin "
            f"kappa[sum F_h] - sum kappa[F_h] lies in {rows[0]['margin_enclosure']} "
            f"(usa exp) and {rows[1]['margin_enclosure']} (sa exp), certainly "
            f"positive; for sa relu heads it lies in {rows[2]['margin_enclosure']}",
            figures={"enclosure": rows, "bits": bits},
        )

    # ------------------------------------------------------------------
    # report material
    # ------------------------------------------------------------------

    def derivation(self) -> list[Step]:
        F, c = sp.symbols("F1:3", positive=True), sp.symbols("c1:3", positive=True)
        return [
            Step(
                "Per-head term of the reduced rate, sa exp", eq.head_rate("exp", "sa")
            ),
            Step("Per-head term, usa exp", eq.head_rate("exp", "usa")),
            Step(
                "Lagrange identity (two heads), pointwise in rho",
                sp.Eq(
                    (F[0] + F[1]) * (c[0] ** 2 / F[0] + c[1] ** 2 / F[1])
                    - (c[0] + c[1]) ** 2,
                    (c[0] * F[1] - c[1] * F[0]) ** 2 / (F[0] * F[1]),
                ),
            ),
            Step(
                "With c_h = kappa[F_h] and integration over [rho_0, rho_1]: "
                "(sum kappa_h)^2 / kappa[sum F] <= sum kappa_h"
            ),
            Step(
                "Relu heads are proportional: F_h / F_1 does not depend on rho",
                sp.simplify(
                    _positive_branch("relu", "usa").subs(eq.m, 2)
                    / _positive_branch("relu", "usa")
                ),
            ),
        ]

    def figures(self, ctx: Context, evidence) -> list[Figure]:
        ev = next(
            (e for e in evidence if e.name == "quadrature_rates" and not e.error), None
        )
        if ev is None:
            return []
        cases = ev.figures["cases"]
        labels = [c["case"] for c in cases]
        return [
            Figure(
                id="C5-kappa",
                title=f"Clustering rates: heads together vs the sum of "
                f"single heads (n = {N_TOKENS}, beta = {BETA}, rho {RHO_0} -> {RHO_1})",
                xlabel="head set",
                ylabel="kappa",
                kind="bars",
                series=[
                    {
                        "label": "kappa[sum_h F_h]",
                        "x": labels,
                        "y": [float(c["kappa_total"]) for c in cases],
                    },
                    {
                        "label": "sum_h kappa[F_h]",
                        "x": labels,
                        "y": [float(c["sum_kappa_heads"]) for c in cases],
                    },
                ],
                caption="Heterogeneous exp heads cluster faster together than the sum "
                "of their rates; equal exp heads and relu heads add exactly.",
            )
        ]

    def scope(self, status: Status, evidence) -> str:
        return (
            "Proved: the pointwise Lagrange identity behind the inequality (H <= 3 "
            "symbolically, any H by the same algebra), the proportionality "
            "criterion for all four variants, and exact additivity of the "
            "linearised rates at rho = 1 (and to leading order at rho = 0). "
            "Verified by 40-digit quadrature and particle simulations; the strict "
            "margin for heterogeneous exp heads is certified by rigorous "
            "ball-arithmetic integration."
        )


CLAIMS = [SuperAdditiveRates()]
