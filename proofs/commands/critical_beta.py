"""``headflow critical-beta``: the critical inverse temperature, with a certificate."""

from __future__ import annotations

import json

from . import _args

NAME = "critical-beta"
HELP = (
    "critical inverse temperature of one softmax head at an equiangular "
    "configuration (self weight = 1/2)"
)


def configure(parser) -> None:
    parser.add_argument(
        "--n", type=_args.integer(2), required=True, help="number of tokens, >= 2"
    )
    parser.add_argument("--m", default="1", help="head scale m > 0 (M = m I)")
    parser.add_argument(
        "--rho", default="0", help="pairwise inner product in [-1/(n-1), 1)"
    )
    parser.add_argument(
        "--digits",
        type=_args.digits,
        default=30,
        help="significant digits, 15..1000 (default 30)",
    )
    parser.add_argument(
        "--certify", action="store_true", help="add a ball-arithmetic enclosure"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    from ..equiangular_api import critical_beta

    result = critical_beta(
        args.n, args.m, args.rho, digits=args.digits, certify=args.certify
    )
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"beta_c = {result['beta_c']}")
    if args.certify:
        lo, hi = result["enclosure"]
        print(f"enclosure [{lo}, {hi}]")
    return 0
