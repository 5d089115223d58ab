"""``headflow verify``: run the claims and write their results."""

from __future__ import annotations

import shlex
import sys
import time
from collections import Counter
from pathlib import Path

from . import _args

NAME = "verify"
HELP = "run the claims' checks, print a table and write JSON results"

_SHORT = {
    "symbolic": "sym",
    "numeric": "num",
    "high-precision": "hp",
    "certified": "cert",
    "counterexample": "cex",
}


def configure(parser) -> None:
    parser.add_argument(
        "--profile",
        choices=("quick", "full"),
        default="quick",
        help="quick (default, about two minutes) or full",
    )
    parser.add_argument(
        "--seed",
        type=_args.integer(0),
        default=0,
        help="seed of every random draw (default 0)",
    )
    parser.add_argument(
        "--json", metavar="PATH", type=Path, help="write the result document to PATH"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        help="write results.json, provenance.json and the HTML, "
        "Markdown and LaTeX reports to DIR",
    )
    parser.add_argument(
        "--only",
        metavar="IDS",
        type=lambda t: t.split(","),
        help="comma-separated claim ids to run",
    )
    parser.add_argument(
        "--claims",
        metavar="MODULE",
        action="append",
        default=[],
        help="also run the claims of a module path or .py file (repeatable)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list the available claims and exit"
    )
    parser.add_argument(
        "--kernel",
        metavar="EXPR",
        help="an attention kernel phi(s) in s and beta, for the "
        "claims that take one (for example '1/(1+exp(-beta*s))')",
    )
    parser.add_argument(
        "--digits", type=_args.digits, help="working digits of high-precision checks"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _counts(claim: dict) -> str:
    kinds = Counter(e["kind"] for e in claim["evidence"])
    return " ".join(f"{_SHORT.get(k, k)} {v}" for k, v in sorted(kinds.items()))


def _table(results: list[dict], seconds: dict) -> str:
    rows = [("claim", "status", "evidence", "time")]
    for c in results:
        rows.append(
            (c["id"], c["status"], _counts(c), f"{seconds.get(c['id'], 0):.1f}s")
        )
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args) -> int:
    from symbolic.errors import InvalidArgumentError

    from ..framework import Context
    from ..progress import Bar, Silent
    from ..runner import (
        PROFILES,
        dumps,
        load_claims,
        provenance_document,
        results_document,
        run_claims,
    )
    from .._io import atomic_write_text

    options = {}
    if args.kernel is not None:
        from symbolic.model import get_kernel, pair_densities

        from ..cli import symbolic_budget

        with symbolic_budget(f"deriving the energy of the kernel {args.kernel!r}"):
            kernel = get_kernel(args.kernel)
            for norm in ("usa", "sa"):
                pair_densities(kernel, norm)
        options["kernel"] = args.kernel
        options["kernel_name"] = kernel.name

    loaded = load_claims(args.claims)
    if args.list:
        for item in loaded:
            title = item.claim.title if item.claim else f"(not loadable: {item.error})"
            print(f"{item.id:8s} {title}")
        return 0

    ids = [c.id for c in loaded]
    if args.kernel is not None and not args.only:
        # a user kernel is checked by the claims that take one
        args.only = [i for i in ("C1", "C2") if i in ids]
    if args.only:
        unknown = [i for i in args.only if i not in ids]
        if unknown:
            raise InvalidArgumentError(
                "--only", ",".join(unknown), f"unknown claim ids; available: {ids}"
            )

    digits = args.digits or PROFILES[args.profile]["digits"]
    chosen = [c for c in loaded if not args.only or c.id in args.only]
    bar = Silent() if args.quiet else Bar(len(chosen))
    ctx = Context(
        profile=args.profile,
        seed=args.seed,
        digits=digits,
        reporter=bar,
        options=options,
    )

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    start = time.perf_counter()
    results = []
    for item in chosen:
        results.extend(run_claims([item], ctx))
        if hasattr(bar, "step"):
            bar.step(f"{item.id} {results[-1].status.value}")
    if hasattr(bar, "close"):
        bar.close()
    total = time.perf_counter() - start

    command = "headflow " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    document = results_document(results, ctx, command)
    provenance = provenance_document(results, started, total)

    if args.json:
        atomic_write_text(args.json, dumps(document))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.out / "results.json", dumps(document))
        atomic_write_text(args.out / "provenance.json", dumps(provenance))
        from reports.render import render

        render(document, "all", args.out, provenance=provenance)

    print(_table(document["claims"], provenance["seconds"]))
    print(f"total {total:.1f}s; seed {ctx.seed}; profile {ctx.profile}")
    for c in document["claims"]:
        if c["status"] in ("failed", "error"):
            print(f"{c['id']}: {c['status']}: {c.get('error') or 'a check failed'}")
    bad = any(c["status"] in ("failed", "error") for c in document["claims"])
    return 1 if bad else 0
