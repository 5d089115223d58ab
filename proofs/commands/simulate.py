"""``headflow simulate``: integrate one random particle system and summarise it."""

from __future__ import annotations

from pathlib import Path

from . import _args

NAME = "simulate"
HELP = "integrate a random token system; write a JSON summary and a PNG plot"


def configure(parser) -> None:
    parser.add_argument(
        "--n",
        type=_args.integer(2, 4096),
        default=32,
        help="number of tokens (default 32)",
    )
    parser.add_argument(
        "--d", type=_args.integer(1, 1024), default=16, help="dimension (default 16)"
    )
    parser.add_argument(
        "--heads",
        type=_args.integer(1, 256),
        default=4,
        help="number of heads (default 4)",
    )
    parser.add_argument(
        "--beta",
        type=_args.real(0, strict=True, high=1e3),
        default=1.0,
        help="inverse temperature > 0 (default 1)",
    )
    parser.add_argument(
        "--t",
        type=_args.real(0, strict=True, high=1e6),
        default=10.0,
        help="final time > 0 (default 10)",
    )
    parser.add_argument(
        "--samples",
        type=_args.integer(2, 10000),
        default=101,
        help="number of output times (default 101)",
    )
    parser.add_argument(
        "--seed",
        type=_args.integer(0),
        default=0,
        help="seed of the random start and heads (default 0)",
    )
    parser.add_argument(
        "--kernel", default="exp", help="exp, relu, or an expression in s and beta"
    )
    parser.add_argument(
        "--norm", choices=("usa", "sa"), default="sa", help="usa or sa (default sa)"
    )
    parser.add_argument(
        "--geometry",
        choices=("flat", "sphere"),
        default="sphere",
        help="flat or sphere (default sphere)",
    )
    parser.add_argument(
        "--heads-kind",
        choices=("symmetric", "general"),
        default="symmetric",
        help="random symmetric or general M_h",
    )
    parser.add_argument(
        "--max-nfev",
        type=_args.integer(1),
        help="budget of velocity evaluations (default: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write summary.json and simulation.png to DIR",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the summary as JSON on standard output",
    )


def run(args) -> int:
    import json

    from numeric.simulation import random_system, simulate
    from symbolic.model import get_kernel, pair_densities

    from .._io import atomic_write_bytes, write_json
    from ..cli import symbolic_budget

    with symbolic_budget(f"deriving the energy of the kernel {args.kernel!r}"):
        kernel = get_kernel(args.kernel)
        for norm in {"usa", args.norm}:
            pair_densities(kernel, norm)

    X0, M = random_system(
        args.n,
        args.d,
        args.heads,
        seed=args.seed,
        symmetric=args.heads_kind == "symmetric",
        sphere=args.geometry == "sphere",
    )
    summary = simulate(
        X0,
        M,
        args.beta,
        args.t,
        samples=args.samples,
        kernel=args.kernel,
        norm=args.norm,
        geometry=args.geometry,
        max_nfev=args.max_nfev,
    )
    summary["seed"] = args.seed
    summary["heads_kind"] = args.heads_kind

    if args.out:
        from reports.simulation import simulation_png

        png = simulation_png(summary)
        write_json(args.out / "summary.json", summary)
        atomic_write_bytes(args.out / "simulation.png", png)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        last = -1
        # the energy itself may leave float64 where its logarithm does not
        energy = (
            f"energy {summary['energy'][last]:.6g}"
            if summary["energy"]
            else f"log energy {summary['log_energy'][last]:.6g}"
        )
        print(f"status: {summary['message']}")
        print(
            f"t = {summary['t'][last]:g}: {energy}, "
            f"mean inner product {summary['mean_inner_product'][last]:.6g}, "
            f"mean attention entropy {summary['attention_entropy'][last]:.6g}"
        )
        if args.out:
            print(
                f"wrote {args.out / 'summary.json'} and {args.out / 'simulation.png'}"
            )
    return 0 if summary["status"] == 0 else 1
