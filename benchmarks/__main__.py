"""Run the benchmarks: ``python -m benchmarks [--smoke] [--out DIR]``."""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def _configs(smoke: bool) -> dict:
    if smoke:
        return dict(
            throughput=dict(sizes=[16, 32], d=8, H=2, repeat=1, naive_up_to=16),
            scaling=dict(sizes=[16, 32, 64], d=8, H=2, repeat=1, memory_n=64),
            wp=dict(n=3, d=3, t=0.5, rtols=[1e-6, 1e-10], dts=[0.05, 0.01], repeat=1),
            hp=dict(n=4, d=3, H=2, digits=20, repeat=1),
            sweep=dict(
                grids={
                    "4 points": "--n 4 --d 3 --beta 1:2:4 --t 1 --samples 11".split()
                },
                repeat=2,
            ),
            verify=False,
        )
    return dict(
        throughput=dict(sizes=[64, 256, 1024], d=64, H=8, repeat=30, naive_up_to=256),
        scaling=dict(
            sizes=[64, 128, 256, 512, 1024, 2048, 4096],
            d=64,
            H=8,
            repeat=3,
            memory_n=4096,
        ),
        wp=dict(
            n=6,
            d=6,
            t=4.0,
            rtols=[1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-13],
            dts=[0.1, 0.03, 0.01, 0.003, 0.001, 0.0003],
            repeat=3,
        ),
        hp=dict(n=64, d=16, H=4, digits=50, repeat=1),
        sweep=dict(
            grids={
                "200 points, n = 32, H = 4": (
                    "--n 32 --d 16 --heads 4 --beta 0.5:6:200 --t 20 --seed 1"
                ).split(),
                "200 points, n = 8, H = 1": (
                    "--n 8 --d 8 --beta 0.5:6:200 --t 8 --samples 81 --seed 1"
                ).split(),
            },
            repeat=2,
        ),
        verify=True,
    )


def _starts(n, d):
    from numeric.simulation import random_system

    # symmetric square root of the Gram matrix (1 - rho) I + rho 1 1^T
    G = 0.9 * np.eye(n) + 0.1 * np.ones((n, n))
    w, U = np.linalg.eigh(G)
    X_eq = np.zeros((n, d))
    X_eq[:, :n] = U @ np.diag(np.sqrt(w)) @ U.T
    X_eq /= np.linalg.norm(X_eq, axis=1, keepdims=True)
    X_r, M_r = random_system(n, d, 2, seed=11)
    return {
        "equiangular (rho0 = 0.1, M = I)": (X_eq, np.eye(d)[None], 2.0),
        "random (H = 2)": (X_r, M_r, 2.0),
    }


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.3g}" if (abs(v) < 1e-2 or abs(v) >= 1e4) and v != 0 else f"{v:.3f}"
    return str(v)


def _markdown(sections, meta, figures) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Produced by `python -m benchmarks` (rerun it to regenerate this page). "
        "Every ratio compares two timings taken in the same run.",
        "",
        "| | |",
        "|---|---|",
    ]
    for k, v in meta.items():
        lines.append(f"| {k} | {v} |")
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for sec in sections:
        for name, shown, ok in sec.targets:
            lines.append(f"| {name} | {shown} | {'yes' if ok else 'no'} |")
    for sec in sections:
        lines += [
            "",
            f"## {sec.title}",
            "",
            "| " + " | ".join(sec.columns) + " |",
            "|" + "---|" * len(sec.columns),
        ]
        for row in sec.rows:
            lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
        for note in sec.notes:
            lines += ["", note]
        if sec.plot and sec.plot["file"] in figures:
            lines += ["", f"![{sec.plot['title']}](benchmarks/{sec.plot['file']})"]
    return "\n".join(lines) + "\n"


def _plot(sec, path: Path) -> bool:
    from matplotlib.figure import Figure

    from proofs._io import atomic_write_bytes

    spec = sec.plot
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    if spec["kind"] == "loglog":
        ax.loglog(spec["x"], spec["y"], "o-", label="headflow velocity")
        x = np.array(spec["x"], float)
        ax.loglog(x, spec["y"][-1] * (x / x[-1]) ** 2, "--", label="n^2")
    else:
        for s in spec["series"]:
            ax.loglog(s["x"], s["y"], "o-", label=s["label"])
    ax.set_xlabel(spec["xlabel"])
    ax.set_ylabel(spec["ylabel"])
    ax.set_title(spec["title"])
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    atomic_write_bytes(path, buffer.getvalue())
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, one repetition, no verify run"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("docs"),
        help="directory of benchmarks.md and its plots (default docs)",
    )
    args = parser.parse_args(argv)

    from . import suite
    from proofs._io import atomic_write_text
    from proofs.runner import versions

    cfg = _configs(args.smoke)
    start = time.perf_counter()
    sections = []
    steps = [
        ("throughput", lambda: suite.throughput(**cfg["throughput"])),
        ("scaling", lambda: suite.scaling(**cfg["scaling"])),
        (
            "work-precision",
            lambda: suite.work_precision(
                _starts(cfg["wp"]["n"], cfg["wp"]["d"]),
                cfg["wp"]["t"],
                cfg["wp"]["rtols"],
                cfg["wp"]["dts"],
                cfg["wp"]["repeat"],
            ),
        ),
        ("high precision", lambda: suite.high_precision(**cfg["hp"])),
        ("sweep backends", lambda: suite.sweep_backends(**cfg["sweep"])),
    ]
    if cfg["verify"]:
        steps.append(("verify", suite.verify_wall_time))
    for k, (name, step) in enumerate(steps, 1):
        print(f"[{k}/{len(steps)}] {name} ...", file=sys.stderr, flush=True)
        sections.append(step())

    figures = set()
    plot_dir = args.out / "benchmarks"
    for sec in sections:
        if sec.plot and _plot(sec, plot_dir / sec.plot["file"]):
            figures.add(sec.plot["file"])

    v = versions()
    meta = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"
        ),
        "python": v["python"],
        "versions": ", ".join(
            f"{k} {v[k]}" for k in ("numpy", "scipy", "sympy", "mpmath", "python-flint")
        ),
        "BLAS threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "mode": "smoke" if args.smoke else "full",
        "run time": f"{time.perf_counter() - start:.0f} s",
        "date": time.strftime("%Y-%m-%d"),
    }
    text = _markdown(sections, meta, figures)
    atomic_write_text(args.out / "benchmarks.md", text)

    for sec in sections:
        print(f"\n{sec.title}")
        for name, shown, ok in sec.targets:
            print(f"  {'ok  ' if ok else 'MISS'} {name}: {shown}")
    print(f"\nwrote {args.out / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
