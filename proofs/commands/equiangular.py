"""``headflow equiangular``: rho(t) of the equiangular reduction at high precision."""

from __future__ import annotations

import json

from . import _args

NAME = "equiangular"
HELP = (
    "rho(t) for scalar heads from the reduced ODE, optionally checked against "
    "the full particle system"
)


def configure(parser) -> None:
    parser.add_argument("--kernel", choices=("exp", "relu"), default="exp")
    parser.add_argument("--norm", choices=("usa", "sa"), default="sa")
    parser.add_argument(
        "--n", type=_args.integer(2), required=True, help="number of tokens, >= 2"
    )
    parser.add_argument(
        "--m",
        type=_args.reals,
        default=["1"],
        help="comma-separated head scales m_h (M_h = m_h I)",
    )
    parser.add_argument("--beta", default="1", help="inverse temperature > 0")
    parser.add_argument(
        "--rho0", required=True, help="initial inner product in [-1/(n-1), 1]"
    )
    parser.add_argument("--t", required=True, help="time >= 0")
    parser.add_argument(
        "--digits",
        type=_args.digits,
        default=30,
        help="significant digits, 15..1000 (default 30)",
    )
    parser.add_argument(
        "--particles",
        action="store_true",
        help="also integrate the particle system started exactly "
        "equiangular, and report the agreement",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    from ..equiangular_api import equiangular

    result = equiangular(
        args.kernel,
        args.norm,
        args.n,
        args.m,
        args.beta,
        args.rho0,
        args.t,
        digits=args.digits,
        particles=args.particles,
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"rho({result['t']}) = {result['rho']}  ({result['digits']} digits)")
    if args.particles:
        print(
            f"particles: {result['rho_particles']}  "
            f"(agree to {result['agreement_digits']} digits)"
        )
    return 0
