"""The benchmarks: kernel throughput, scaling and memory, work-precision, precision."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import numeric
from numeric.simulation import random_system

from ._timing import best_time, paired_best, peak_memory
from .reference import euler_renormalise, velocity_blas, velocity_naive


@dataclass
class Section:
    """One benchmark's table rows, plot data and target verdicts."""

    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[tuple[str, str, bool]] = field(default_factory=list)
    plot: dict | None = None


def _system(n, d, H, seed=0):
    X, M = random_system(n, d, H, seed=seed)
    return X, M


# ---------------------------------------------------------------------------
# velocity throughput against the BLAS baseline and the naive loop
# ---------------------------------------------------------------------------


def throughput(sizes, d, H, repeat, naive_up_to) -> Section:
    sec = Section(
        "Velocity kernel throughput (sa, exp, sphere)",
        [
            "n",
            "headflow [ms]",
            "BLAS baseline [ms]",
            "headflow / baseline speed",
            "naive loop [ms]",
            "speed-up over naive",
        ],
    )
    for n in sizes:
        X, M = _system(n, d, H)
        beta = 1.0
        numeric.velocity(X, M, beta, norm="sa")  # generate and load the kernels
        # about 10 ms per timed block, so that small sizes are not timer noise
        number = max(1, int(0.01 / best_time(lambda: velocity_blas(X, M, beta))))
        mine, base = paired_best(
            [
                lambda: numeric.velocity(X, M, beta, norm="sa"),
                lambda: velocity_blas(X, M, beta),
            ],
            repeat,
            number,
        )
        assert np.allclose(
            numeric.velocity(X, M, beta, norm="sa"),
            velocity_blas(X, M, beta),
            rtol=1e-9,
            atol=1e-12,
        )
        naive = (
            best_time(lambda: velocity_naive(X, M, beta), 1)
            if n <= naive_up_to
            else float("nan")
        )
        sec.rows.append(
            [n, 1e3 * mine, 1e3 * base, base / mine, 1e3 * naive, naive / mine]
        )
        sec.targets.append(
            (
                f"n = {n}: at least 0.8 x the BLAS baseline",
                f"{base / mine:.2f} x",
                base / mine >= 0.8,
            )
        )
    sec.notes.append(
        f"d = {d}, H = {H}; headflow and the baseline are timed in alternation, "
        f"best of {repeat} rounds of about 10 ms each; the naive loop is timed once "
        "and only "
        f"up to n = {naive_up_to} (it grows like H n^2 Python calls)."
    )
    return sec


# ---------------------------------------------------------------------------
# scaling in n and peak memory
# ---------------------------------------------------------------------------


def scaling(sizes, d, H, repeat, memory_n) -> Section:
    sec = Section("Scaling with n, and peak memory", ["n", "velocity [ms]"])
    times = []
    numeric.velocity(*_system(sizes[0], d, H), 1.0, norm="sa")
    for n in sizes:
        X, M = _system(n, d, H)
        t = best_time(lambda: numeric.velocity(X, M, 1.0, norm="sa"), repeat)
        times.append(t)
        sec.rows.append([n, 1e3 * t])
    big = [k for k, n in enumerate(sizes) if n >= 256] or list(range(len(sizes)))
    slope = float(
        np.polyfit(np.log([sizes[k] for k in big]), np.log([times[k] for k in big]), 1)[
            0
        ]
    )
    sec.notes.append(f"fitted exponent (n >= 256): time ~ n^{slope:.2f}")
    sec.targets.append(
        (
            "time grows like n^2 (exponent in [1.7, 2.3])",
            f"{slope:.2f}",
            1.7 <= slope <= 2.3,
        )
    )

    X, M = _system(memory_n, d, H)
    peak = peak_memory(lambda: numeric.velocity(X, M, 1.0, norm="sa"))
    weights = H * memory_n * memory_n * 8
    ratio = peak / weights
    sec.notes.append(
        f"peak traced memory of one velocity at n = {memory_n}, d = {d}, H = {H}: "
        f"{peak / 2**20:.1f} MiB, {ratio:.3f} x the {weights / 2**20:.0f} MiB of "
        "the H x n x n weight arrays (an H x n x n x d intermediate would be "
        f"{d} x)."
    )
    sec.targets.append(
        (
            f"peak extra memory within 2 x the H n^2 weights (n = {memory_n})",
            f"{ratio:.3f} x",
            ratio <= 2.0,
        )
    )
    sec.plot = {
        "kind": "loglog",
        "x": list(sizes),
        "y": times,
        "xlabel": "n",
        "ylabel": "seconds",
        "slope": slope,
        "file": "scaling.png",
        "title": "velocity time against n",
    }
    return sec


# ---------------------------------------------------------------------------
# work-precision against Euler with renormalisation
# ---------------------------------------------------------------------------


def _checkpoints(t):
    """The times at which rho is compared: a quarter, half, three quarters, end."""
    return [t * k / 4 for k in (1, 2, 3, 4)]


def _reference_rho(X0, M, beta, t, digits=30):
    from numeric import highprec
    from numeric._mpode import solve_ivp_mp

    n, d = X0.shape
    f = highprec.flow_function(M, beta, norm="sa", n_tokens=n, dim=d)
    y0 = highprec.normalise_rows(X0, digits).ravel().tolist()
    sol = solve_ivp_mp(f, (0, t), y0, digits=digits, t_eval=_checkpoints(t))
    rho = [
        numeric.mean_inner_product(np.array([float(v) for v in y]).reshape(n, d))
        for y in sol.y[-4:]
    ]
    return np.array(rho), sol.digits_achieved


def _euler_rhos(X0, velocity, t, dt):
    """rho at the checkpoints from Euler steps with renormalisation."""
    X, rhos, elapsed = X0, [], 0.0
    for stop in _checkpoints(t):
        X = euler_renormalise(X, velocity, stop - elapsed, dt)
        elapsed = stop
        rhos.append(numeric.mean_inner_product(X))
    return np.array(rhos)


def work_precision(starts, t, rtols, dts, repeat) -> Section:
    sec = Section(
        "Work-precision: error of rho(t) against wall time",
        ["start", "method", "setting", "time [ms]", "error"],
    )
    plot_series = []
    times = np.array(_checkpoints(t))
    for label, (X0, M, beta) in starts.items():
        exact, digits = _reference_rho(X0, M, beta, t)
        sec.notes.append(f"{label}: 30-digit reference achieved {digits} digits")

        def vel(X, M=M, beta=beta):
            return numeric.velocity(X, M, beta, norm="sa")

        hf, eu = [], []
        for rtol in rtols:
            run = lambda: numeric.integrate(
                X0,
                M,
                beta,
                t,
                norm="sa",
                rtol=rtol,  # noqa: E731
                atol=rtol * 1e-2,
                t_eval=times,
            )
            seconds = best_time(run, repeat)
            rho = np.array([numeric.mean_inner_product(x) for x in run().X])
            err = float(np.max(np.abs(rho - exact)))
            hf.append((seconds, err))
            sec.rows.append(
                [label, "headflow DOP853", f"rtol {rtol:g}", 1e3 * seconds, err]
            )
        for dt in dts:
            run = lambda: _euler_rhos(X0, vel, t, dt)  # noqa: E731
            seconds = best_time(run, max(1, repeat // 2))
            err = float(np.max(np.abs(run() - exact)))
            eu.append((seconds, err))
            sec.rows.append(
                [label, "Euler + renormalise", f"dt {dt:g}", 1e3 * seconds, err]
            )
        t_hf = min((s for s, e in hf if e <= 1e-8), default=float("inf"))
        t_eu = min((s for s, e in eu if e <= 1e-4), default=float("inf"))
        ratio = t_eu / t_hf if math.isfinite(t_hf) else 0.0
        shown = (
            "Euler never reached 1e-4"
            if not math.isfinite(t_eu)
            else f"{ratio:.1f} x faster"
        )
        sec.targets.append(
            (
                f"{label}: headflow reaches 1e-8 in less time than "
                "Euler needs for 1e-4",
                shown,
                math.isfinite(t_hf) and t_hf < t_eu,
            )
        )
        plot_series.append(
            {
                "label": f"headflow, {label}",
                "x": [s for s, _ in hf],
                "y": [max(e, 1e-17) for _, e in hf],
            }
        )
        plot_series.append(
            {
                "label": f"Euler, {label}",
                "x": [s for s, _ in eu],
                "y": [max(e, 1e-17) for _, e in eu],
            }
        )
    sec.notes.append(
        f"The error is the largest |rho(t) - reference| at t = {t / 4:g}, {t / 2:g}, "
        f"{3 * t / 4:g} and {t:g}, so that a sign change of the error at one time "
        "cannot flatter a method."
    )
    sec.plot = {
        "kind": "workprecision",
        "series": plot_series,
        "file": "work_precision.png",
        "xlabel": "wall time [s]",
        "ylabel": "max |rho(t) - reference|",
        "title": f"work-precision, t up to {t}",
    }
    return sec


# ---------------------------------------------------------------------------
# high precision: mpmath against arb
# ---------------------------------------------------------------------------


def high_precision(n, d, H, digits, repeat) -> Section:
    from numeric import highprec
    from proofs import _arb

    X, M = _system(n, d, H, seed=1)
    prec = int(digits * 3.33) + 16
    mp_time, arb_time = paired_best(
        [
            lambda: (
                highprec.velocity_mp(X, M, 1.0, norm="sa", digits=digits),
                highprec.head_energies_mp(X, M, 1.0, digits=digits),
            ),
            lambda: (
                _arb.velocity(
                    X.tolist(),
                    M.tolist(),
                    1.0,
                    kernel="exp",
                    norm="sa",
                    geometry="sphere",
                    prec=prec,
                ),
                _arb.head_energies(
                    X.tolist(), M.tolist(), 1.0, kernel="exp", prec=prec
                ),
            ),
        ],
        repeat,
    )
    Vm = highprec.velocity_mp(X, M, 1.0, norm="sa", digits=digits)
    Va = _arb.velocity(
        X.tolist(),
        M.tolist(),
        1.0,
        kernel="exp",
        norm="sa",
        geometry="sphere",
        prec=prec,
    )
    import mpmath

    with mpmath.workdps(digits + 10):
        worst = max(
            abs(Vm[i, a] - mpmath.mpf(Va[i][a].mid().str(digits + 5, radius=False)))
            for i in range(n)
            for a in range(d)
        )
    agree = int(-mpmath.log10(worst)) if worst > 0 else digits
    sec = Section(
        f"High precision: {digits}-digit velocity and energy "
        f"(n = {n}, d = {d}, H = {H})",
        ["backend", "time [s]"],
    )
    sec.rows.append(["mpmath (numeric.highprec)", mp_time])
    sec.rows.append(["python-flint arb (proofs._arb)", arb_time])
    sec.notes.append(
        f"arb is {mp_time / arb_time:.1f} x faster than mpmath here; "
        f"the two agree to {agree} digits. Certificates use arb; the "
        "mpmath path is kept because it runs the generated expressions "
        "themselves."
    )
    sec.targets.append(
        ("arb / mpmath ratio stated", f"{mp_time / arb_time:.1f} x", True)
    )
    return sec


def verify_wall_time(profile="quick") -> Section:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "proofs.cli",
                "verify",
                "--profile",
                profile,
                "--quiet",
                "--json",
                str(Path(tmp) / "r.json"),
                "--out",
                tmp,
            ],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        prov = json.loads((Path(tmp) / "provenance.json").read_text())
    total = prov["total_seconds"]
    sec = Section(f"headflow verify --profile {profile}", ["claim", "seconds", "share"])
    for cid, seconds in prov["seconds"].items():
        sec.rows.append([cid, seconds, f"{100 * seconds / total:.0f} %"])
    sec.rows.append(["total", total, "100 %"])
    sec.notes.append(f"exit code {proc.returncode}")
    sec.targets.append(
        ("quick profile under 2 minutes on 2 cores", f"{total:.0f} s", total < 120)
    )
    return sec


# ---------------------------------------------------------------------------
# sweep backends: serial, process pool, Dask LocalCluster
# ---------------------------------------------------------------------------

_BACKENDS = {
    "serial": [],
    "process pool, 2 workers": ["--workers", "2"],
    "Dask LocalCluster, 2 workers": ["--scheduler", "local:2"],
}


def _sweep_wall(flags, extra, out) -> float:
    """Wall time of one ``headflow sweep`` run, interpreter start included."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "proofs.cli", "sweep", *flags, *extra, "--quiet"]
        + ["--out", str(out)],
        check=True,
        capture_output=True,
        timeout=3600,
    )
    return time.perf_counter() - start


def sweep_backends(grids: dict[str, list[str]], repeat: int) -> Section:
    sec = Section(
        "Sweep backends (headflow sweep, wall time including start-up)",
        ["grid", "backend", "wall [s]", "speed-up over serial"],
    )
    for label, flags in grids.items():
        best = dict.fromkeys(_BACKENDS, float("inf"))
        records = {}
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(repeat):
                # alternate the order, so that no backend always runs first
                order = list(enumerate(_BACKENDS))[:: 1 if r % 2 == 0 else -1]
                for k, name in order:
                    out = Path(tmp) / f"{k}-{r}"
                    seconds = _sweep_wall(flags, _BACKENDS[name], out)
                    best[name] = min(best[name], seconds)
                    records[name] = (out / "records.jsonl").read_bytes()
        same = len(set(records.values())) == 1
        for name, seconds in best.items():
            sec.rows.append([label, name, seconds, best["serial"] / seconds])
        dask = best["Dask LocalCluster, 2 workers"]
        sec.targets.append(
            (
                f"{label}: 2-worker Dask run faster than serial",
                f"{best['serial'] / dask:.2f} x",
                dask < best["serial"],
            )
        )
        sec.targets.append(
            (f"{label}: records identical on every backend", str(same), same)
        )
        sec.notes.append(f"{label}: `headflow sweep {' '.join(flags)}`")
    sec.notes.append(
        f"best of {repeat} runs per backend, in alternating order; each run is a "
        "fresh `headflow sweep` process, so the times include interpreter start, "
        "imports and, for Dask, starting and closing the cluster. That start-up "
        "(importing distributed, a scheduler, two nanny-managed worker processes) "
        "is a fixed cost of a few seconds, which a short grid does not repay."
    )
    return sec
