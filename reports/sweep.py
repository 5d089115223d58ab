"""Plots of a finished sweep, drawn from its ``records.jsonl``."""

from __future__ import annotations

import io
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path

__all__ = ["sweep_plots"]


def _records(out_dir: Path) -> list[dict]:
    text = (out_dir / "records.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _save(fig, path: Path) -> Path:
    from proofs._io import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return atomic_write_bytes(path, buffer.getvalue())


def sweep_plots(out_dir: Path | str) -> list[Path]:
    """Phase diagram (beta against t, level set rho = 1 - delta) and T(beta).

    The reference line ``beta_c = log(n - 1) / (1 - rho_0)`` uses the mean initial
    inner product of each ``n``; it is exact for one scalar softmax head at an
    equiangular start and a guide otherwise.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out = Path(out_dir)
    records = _records(out)
    by_n = defaultdict(list)
    for r in records:
        by_n[r["n"]].append(r)

    # phase diagram: one panel per n, rho(t) coloured, level set 1 - delta
    fig = Figure(figsize=(5 * len(by_n), 4), layout="constrained")
    axes = fig.subplots(1, len(by_n), squeeze=False)[0]
    for ax, (n, rows) in zip(axes, sorted(by_n.items())):
        rows = sorted(rows, key=lambda r: (r["beta"], r["replica"]))
        betas = sorted({r["beta"] for r in rows})
        first = {b: next(r for r in rows if r["beta"] == b) for b in betas}
        t = first[betas[0]]["t_curve"]
        Z = [first[b]["rho_curve"][: len(t)] for b in betas]
        if len(betas) > 1 and all(len(z) == len(t) for z in Z):
            mesh = ax.pcolormesh(t, betas, Z, shading="nearest", vmin=-0.2, vmax=1)
            fig.colorbar(mesh, ax=ax, label="mean <x_i, x_j>")
            level = 1 - first[betas[0]]["delta"]
            ax.contour(t, betas, Z, levels=[level], colors="white", linewidths=1.5)
        rho0 = sum(r["rho_initial"] for r in rows) / len(rows)
        if n > 2 and rho0 < 1:
            ax.axhline(
                math.log(n - 1) / (1 - rho0),
                color="red",
                ls="--",
                label="log(n-1)/(1-rho_0)",
            )
            ax.legend(loc="upper right", fontsize=8)
        ax.set_title(f"n = {n}")
        ax.set_xlabel("t")
        ax.set_ylabel("beta")
    paths = [_save(fig, out / "phase_diagram.png")]

    # clustering time against beta
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    # one curve per n and start, the median over replicas at each beta; at
    # equiangular starts the reduced equation's times are marked beside
    curves = defaultdict(lambda: defaultdict(list))
    reduced = defaultdict(dict)
    for r in records:
        start = r.get("start", "random")
        label = f"n = {r['n']}"
        if start == "equiangular":
            label += f", equiangular rho0 = {r['rho0']:g}"
        if r["clustering_time"] is not None:
            curves[(r["n"], label)][r["beta"]].append(r["clustering_time"])
        if r.get("clustering_time_reduced") is not None:
            reduced[(r["n"], label)][r["beta"]] = r["clustering_time_reduced"]
    marked = False
    for key in sorted(curves):
        betas = sorted(curves[key])
        (line,) = ax.plot(
            betas,
            [statistics.median(curves[key][b]) for b in betas],
            "o-",
            ms=3,
            label=key[1],
        )
        if reduced[key]:
            rb = sorted(reduced[key])
            ax.plot(
                rb,
                [reduced[key][b] for b in rb],
                "x",
                color=line.get_color(),
                ms=7,
                label=None if marked else "x: reduced equation",
            )
            marked = True
    ax.set_xlabel("beta")
    ax.set_ylabel("clustering time")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=7)
    else:
        ax.text(
            0.5,
            0.5,
            "no point clustered",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    paths.append(_save(fig, out / "clustering_time.png"))
    return paths
