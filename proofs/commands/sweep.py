"""``headflow sweep``: parameter sweeps over particle simulations."""

from __future__ import annotations

from pathlib import Path

from . import _args

NAME = "sweep"
HELP = (
    "run a grid of particle simulations (flags or a TOML file), locally or on "
    "a Dask cluster, with resumable per-point records"
)


def configure(parser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file with a [grid] table")
    for name, what in (
        ("n", "token counts"),
        ("d", "dimensions"),
        ("heads", "head counts"),
        ("beta", "inverse temperatures"),
        ("kernel", "kernels (exp, relu)"),
        ("norm", "norms (usa, sa)"),
        ("t", "final times"),
        ("delta", "clustering tolerances"),
        ("matrices", "score matrices: identity, symmetric"),
        ("start", "initial tokens: random, equiangular"),
        ("rho0", "common inner products of equiangular starts"),
    ):
        parser.add_argument(
            f"--{name}", help=f"{what}: a,b,c or a:b:k (k values from a to b)"
        )
    parser.add_argument(
        "--seeds", type=_args.integer(1, 100000), help="random replicas per grid point"
    )
    parser.add_argument("--seed", type=_args.integer(0), help="sweep seed")
    parser.add_argument(
        "--samples",
        type=_args.integer(2, 100000),
        help="output times per simulation (default 201)",
    )
    parser.add_argument(
        "--max-nfev",
        type=_args.integer(1),
        help="budget of velocity evaluations per point (default: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="directory of the records",
    )
    parser.add_argument(
        "--workers",
        type=_args.integer(1, 1024),
        default=1,
        help="local worker processes (default 1: serial)",
    )
    parser.add_argument(
        "--scheduler",
        help="Dask scheduler: tcp://HOST:PORT or "
        "local:N (a LocalCluster of N workers on 127.0.0.1)",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted sweep in DIR"
    )
    parser.add_argument(
        "--plot",
        action="store_true",
        help="draw the phase diagram and clustering times",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from ..progress import Bar
    from ..sweep import load_grid, run_sweep

    grid = load_grid(
        args.config,
        n=args.n,
        d=args.d,
        heads=args.heads,
        beta=args.beta,
        kernel=args.kernel,
        norm=args.norm,
        t=args.t,
        delta=args.delta,
        matrices=args.matrices,
        start=args.start,
        rho0=args.rho0,
        seeds=args.seeds,
        seed=args.seed,
        samples=args.samples,
        max_nfev=args.max_nfev,
    )
    points = grid.points()
    bar = None if args.quiet else Bar(len(points))
    summary = run_sweep(
        grid,
        args.out,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        reporter=bar,
    )
    if bar is not None:
        bar.close()
    print(
        f"{summary['points']} points ({summary['computed']} computed, "
        f"{summary['resumed']} resumed) on {summary['backend']} in "
        f"{summary['seconds']:.1f}s; {summary['clustered']} clustered, "
        f"{summary['failed']} solver failures; records in {args.out / 'records.jsonl'}"
    )
    if summary["reduction_gap_max"] is not None:
        print(
            "equiangular points: the reduced equation stays within "
            f"{summary['reduction_gap_max']:.2g} of the particles' rho(t)"
        )
    if args.plot:
        from reports.sweep import sweep_plots

        for path in sweep_plots(args.out):
            print(f"wrote {path}")
    return 0
