"""The plot of one simulated trajectory (from the summary ``simulate`` writes)."""

from __future__ import annotations

import io

__all__ = ["simulation_png"]


def simulation_png(summary: dict) -> bytes:
    """Three panels against time: energy, mean inner product, attention entropy."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    t = summary["t"]
    if summary.get("energy") is not None:
        axes[0].plot(t, summary["energy"])
        axes[0].set_ylabel("E(t)")
    else:
        axes[0].plot(t, summary["log_energy"])
        axes[0].set_ylabel("log E(t)")
    axes[1].plot(t, summary["mean_inner_product"])
    axes[1].set_ylabel("mean <x_i, x_j>")
    axes[2].plot(t, summary["attention_entropy"])
    axes[2].set_ylabel("mean attention entropy")
    for ax in axes:
        ax.set_xlabel("t")
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"n={summary['n']}, d={summary['d']}, H={summary['heads']}, "
        f"beta={summary['beta']:g}, {summary['kernel']}/{summary['norm']}/"
        f"{summary['geometry']}"
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()
