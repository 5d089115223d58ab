"""Parameter sweeps: many independent particle simulations over a grid.

A :class:`Grid` is the Cartesian product of lists of ``n``, ``d``, ``heads``,
``beta``, ``kernel``, ``norm``, ``t``, ``delta``, ``matrices``, ``start`` and seed
replicas; an ``equiangular`` start is taken at each of the ``rho0`` values, and
with identity heads its record adds the solution of the reduced equation.  Each
:class:`Point` has a seed derived from the sweep seed and its own parameters, so
its record is the same whichever backend computes it and in whatever order.

Records are written as one JSON file per point under ``DIR/points/`` through a
temporary file and a rename, so a killed sweep leaves only complete records;
``resume`` skips the points whose record exists and parses.  When every point is
done, ``DIR/records.jsonl`` (one line per point, in grid order) and
``DIR/summary.json`` are written the same way.

Backends: ``serial``, a local process pool (``workers > 1``), or Dask distributed
(``scheduler="tcp://host:port"`` for an existing cluster, ``"local:N"`` for a
loopback ``LocalCluster`` with ``N`` single-threaded workers).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from symbolic.errors import InvalidArgumentError, UnsupportedError

from ._io import atomic_write_text

__all__ = ["Grid", "Point", "parse_values", "load_grid", "run_point", "run_sweep"]

#: How the score matrices of a point are drawn: identity heads or random symmetric.
_MATRICES = ("identity", "symmetric")
_STARTS = ("random", "equiangular")
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def parse_values(name: str, text, kind=float) -> list:
    """Parse ``"a,b,c"``, ``"a:b:k"`` (k evenly spaced values) or a list."""
    if isinstance(text, (list, tuple)):
        items = list(text)
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        items = [text]
    elif isinstance(text, str) and text.count(":") == 2:
        a, b, k = text.split(":")
        try:
            lo, hi, count = float(a), float(b), int(k)
        except ValueError:
            raise InvalidArgumentError(
                name, text, "a range is a:b:k with numbers a, b and an integer count k"
            ) from None
        if count < 1 or count > 100000:
            raise InvalidArgumentError(name, text, "the count k must be in 1..100000")
        items = np.linspace(lo, hi, count).tolist()
    elif isinstance(text, str):
        items = [t.strip() for t in text.split(",") if t.strip()]
    else:
        raise InvalidArgumentError(name, text, "expected a list, a:b:k or a,b,c")
    if not items:
        raise InvalidArgumentError(name, text, "needs at least one value")
    if kind is str:
        return [str(v) for v in items]
    out = []
    for v in items:
        try:
            number = float(v)
        except (TypeError, ValueError):
            raise InvalidArgumentError(
                name, v, f"is not a valid {kind.__name__}"
            ) from None
        if not np.isfinite(number):
            raise InvalidArgumentError(name, v, "must be finite")
        value = int(number) if kind is int else number
        if kind is int and number != value:
            raise InvalidArgumentError(name, v, "must be an integer")
        out.append(value)
    return out


@dataclass(frozen=True)
class Point:
    """One simulation of a sweep."""

    index: int
    n: int
    d: int
    heads: int
    beta: float
    kernel: str
    norm: str
    t: float
    delta: float
    matrices: str
    replica: int
    seed: int
    start: str = "random"
    rho0: float | None = None

    @property
    def key(self) -> str:
        return f"{self.index:06d}"


@dataclass
class Grid:
    """The sweep grid; see :func:`load_grid` for the accepted forms."""

    n: list = field(default_factory=lambda: [8])
    d: list = field(default_factory=lambda: [8])
    heads: list = field(default_factory=lambda: [1])
    beta: list = field(default_factory=lambda: [1.0])
    kernel: list = field(default_factory=lambda: ["exp"])
    norm: list = field(default_factory=lambda: ["sa"])
    t: list = field(default_factory=lambda: [10.0])
    delta: list = field(default_factory=lambda: [1e-2])
    matrices: list = field(default_factory=lambda: ["identity"])
    #: ``random`` tokens, or ``equiangular`` with every common inner product of
    #: ``rho0``
    start: list = field(default_factory=lambda: ["random"])
    rho0: list = field(default_factory=lambda: [0.0])
    seeds: int = 1
    seed: int = 0
    samples: int = 201
    #: budget of velocity evaluations per point (``None``: no budget)
    max_nfev: int | None = None

    def validate(self) -> "Grid":
        rules = [
            ("n", self.n, lambda v: 2 <= v <= 4096, "every n must be in 2..4096"),
            ("d", self.d, lambda v: 1 <= v <= 1024, "every d must be in 1..1024"),
            (
                "heads",
                self.heads,
                lambda v: 1 <= v <= 256,
                "every head count must be in 1..256",
            ),
            (
                "beta",
                self.beta,
                lambda v: 0 < v <= 1e3,
                "every beta must be in (0, 1e3]",
            ),
            ("t", self.t, lambda v: 0 < v <= 1e6, "every t must be in (0, 1e6]"),
            ("delta", self.delta, lambda v: 0 < v < 1, "every delta must be in (0, 1)"),
        ]
        for name, values, ok, rule in rules:
            bad = [v for v in values if not ok(v)]
            if bad:
                raise InvalidArgumentError(name, bad[0], rule)
        for name, values, options in (
            ("kernel", self.kernel, ("exp", "relu")),
            ("norm", self.norm, ("usa", "sa")),
            ("matrices", self.matrices, _MATRICES),
            ("start", self.start, _STARTS),
        ):
            bad = [v for v in values if v not in options]
            if bad:
                raise InvalidArgumentError(
                    name, bad[0], f"expected one of {list(options)}"
                )
        if "equiangular" in self.start:
            low = -1.0 / (max(self.n) - 1)
            bad = [v for v in self.rho0 if not low <= v < 1]
            if bad:
                raise InvalidArgumentError(
                    "rho0",
                    bad[0],
                    f"an equiangular start needs -1/(n-1) <= rho0 < 1 for every n "
                    f"(here -1/(n-1) = {low:.6g})",
                )
            if max(self.n) > min(self.d):
                raise InvalidArgumentError(
                    "d",
                    min(self.d),
                    f"an equiangular start of n tokens needs d >= n (largest n "
                    f"= {max(self.n)})",
                )
        if not (isinstance(self.seeds, int) and self.seeds >= 1):
            raise InvalidArgumentError("seeds", self.seeds, "must be an integer >= 1")
        if not (isinstance(self.samples, int) and 2 <= self.samples <= 100000):
            raise InvalidArgumentError("samples", self.samples, "must be in 2..100000")
        if self.max_nfev is not None and not (
            isinstance(self.max_nfev, int) and self.max_nfev >= 1
        ):
            raise InvalidArgumentError(
                "max_nfev", self.max_nfev, "must be an integer >= 1"
            )
        return self

    def points(self) -> list[Point]:
        """The grid's points, in a fixed order, each with its derived seed.

        The seed of a point depends on the sweep seed, ``n``, ``d``, ``heads``,
        the matrices and the replica, not on ``beta``, the kernel, the norm or
        the times: points that differ only in those start from the same tokens
        and heads (common random numbers), which keeps phase diagrams smooth.
        The ``rho0`` values apply to equiangular starts only.
        """
        combos = itertools.product(
            self.n,
            self.d,
            self.heads,
            self.beta,
            self.kernel,
            self.norm,
            self.t,
            self.delta,
            self.matrices,
            self.start,
            range(self.seeds),
        )
        out = []
        for n, d, H, b, k, nm, t, dl, mat, start, r in combos:
            label = json.dumps([self.seed, int(n), int(d), int(H), mat, r])
            seed = int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "little")
            rhos = [float(v) for v in self.rho0] if start == "equiangular" else [None]
            for rho0 in rhos:
                out.append(
                    Point(
                        len(out),
                        int(n),
                        int(d),
                        int(H),
                        float(b),
                        k,
                        nm,
                        float(t),
                        float(dl),
                        mat,
                        r,
                        seed,
                        start,
                        rho0,
                    )
                )
        return out

    def to_json(self) -> dict:
        return asdict(self)


def load_grid(path: Path | str | None = None, **flags) -> Grid:
    """A grid from a TOML file (table ``[grid]`` or top level) and/or flags.

    Flags override the file; each value may be a list, ``"a,b"`` or ``"a:b:k"``.
    """
    values: dict = {}
    if path is not None:
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgumentError(
                "config", str(path), f"is not valid TOML ({exc})"
            )
        values.update(data.get("grid", data))
    values.update({k: v for k, v in flags.items() if v is not None})
    allowed = set(Grid.__dataclass_fields__)
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise InvalidArgumentError(
            "config", unknown[0], f"unknown key; allowed: {sorted(allowed)}"
        )

    kinds = {
        "n": int,
        "d": int,
        "heads": int,
        "beta": float,
        "t": float,
        "delta": float,
        "kernel": str,
        "norm": str,
        "matrices": str,
        "start": str,
        "rho0": float,
    }
    grid = Grid()
    for name, kind in kinds.items():
        if name in values:
            setattr(grid, name, parse_values(name, values[name], kind))
    for name in ("seeds", "seed", "samples", "max_nfev"):
        if name in values:
            try:
                setattr(grid, name, int(values[name]))
            except (TypeError, ValueError):
                raise InvalidArgumentError(
                    name, values[name], "must be an integer"
                ) from None
    return grid.validate()


def _pin_threads() -> None:
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def run_point(point: Point, samples: int = 201, max_nfev: int | None = None) -> dict:
    """Simulate one point and summarise it.

    Returns a JSON-ready record: the point's parameters, the clustering time
    (first time the mean inner product reaches ``1 - delta``, linearly
    interpolated between output times; ``None`` if it never does), the initial
    and final mean inner product, the energy gain ``E(t) - E(0)`` (in log form
    where the energy leaves float64), the final mean attention entropy, and the
    solver status (-1 also where the budget ``max_nfev`` ran out).

    At an equiangular start with identity heads the tokens stay equiangular and
    ``rho`` obeys the reduced equation ``rho' = sum_h F_h(rho)``; the record
    then also holds its solution, integrated separately: ``rho_reduced_final``,
    ``clustering_time_reduced`` and ``reduction_gap``, the largest
    ``|rho_particles - rho_reduced|`` over the output times.
    """
    import numeric
    from numeric.simulation import random_system

    _pin_threads()
    X0, M = random_system(
        point.n, point.d, point.heads, seed=point.seed, symmetric=True
    )
    if point.matrices == "identity":
        M = np.broadcast_to(np.eye(point.d), M.shape).copy()
    if point.start == "equiangular":
        from .equiangular_api import equiangular_tokens

        X0 = equiangular_tokens(point.n, point.rho0, point.d)
    times = np.linspace(0.0, point.t, samples)
    traj = numeric.integrate(
        X0,
        M,
        point.beta,
        point.t,
        kernel=point.kernel,
        norm=point.norm,
        geometry="sphere",
        rtol=1e-9,
        atol=1e-11,
        t_eval=times,
        max_nfev=max_nfev,
    )
    rho = np.array([numeric.mean_inner_product(x) for x in traj.X])
    t_cluster = _first_crossing(traj.t, rho, 1.0 - point.delta)
    logE = [
        float(
            np.logaddexp.reduce(
                numeric.head_energies(x, M, point.beta, kernel=point.kernel, log=True)
            )
        )
        for x in (traj.X[0], traj.X[-1])
    ]
    gain = float(np.exp(logE[1]) - np.exp(logE[0])) if max(logE) < 700 else None
    entropy = float(numeric.attention_entropy(traj.X[-1], M, point.beta).mean())

    record = asdict(point)
    record.update(
        clustering_time=t_cluster,
        rho_initial=float(rho[0]),
        rho_final=float(rho[-1]),
        energy_gain=gain,
        log_energy=logE,
        entropy_final=entropy,
        status=int(traj.status),
        message=traj.message,
        rho_curve=[float(v) for v in rho[:: max(1, samples // 50)]],
        t_curve=[float(v) for v in traj.t[:: max(1, samples // 50)]],
        rho_reduced_final=None,
        clustering_time_reduced=None,
        reduction_gap=None,
    )
    if point.start == "equiangular" and point.matrices == "identity":
        from .equiangular_api import reduced_trajectory

        heads = [1.0] * point.heads
        reduced = reduced_trajectory(
            point.kernel, point.norm, point.n, heads, point.beta, point.rho0, times
        )
        if reduced.size == times.size:
            reached = min(reduced.size, rho.size)
            record.update(
                rho_reduced_final=float(reduced[-1]),
                clustering_time_reduced=_first_crossing(
                    times, reduced, 1.0 - point.delta
                ),
                reduction_gap=float(np.max(np.abs(reduced[:reached] - rho[:reached]))),
            )
    return record


def _first_crossing(times, rho, target: float) -> float | None:
    """First time ``rho`` reaches ``target``, linearly interpolated; ``None`` if
    it never does."""
    hit = np.nonzero(np.asarray(rho) >= target)[0]
    if hit.size == 0:
        return None
    k = int(hit[0])
    if k == 0:
        return 0.0
    frac = (target - rho[k - 1]) / (rho[k] - rho[k - 1])
    return float(times[k - 1] + frac * (times[k] - times[k - 1]))


def run_points(
    points: list[Point], samples: int = 201, max_nfev: int | None = None
) -> list[dict]:
    """:func:`run_point` over a chunk of points (one task of a parallel backend)."""
    return [run_point(p, samples, max_nfev) for p in points]


def _chunks(points: list[Point], workers: int) -> list[list[Point]]:
    """About four chunks per worker: few enough to amortise task overhead, enough
    to balance the load and to lose little work when a sweep is interrupted."""
    size = max(1, -(-len(points) // (4 * max(1, workers))))
    return [points[k : k + size] for k in range(0, len(points), size)]


def _read_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) and "index" in record else None


def _dumps(record: dict) -> str:
    return json.dumps(record, sort_keys=True, allow_nan=False)


def _worker_count(workers: int, scheduler: str | None) -> int:
    if scheduler and scheduler.startswith("local:"):
        return int(scheduler.split(":", 1)[1])
    return workers if not scheduler else 8


def _executor(workers: int, scheduler: str | None):
    """Yield ``submit(fn, *args) -> future`` and a function that closes it all."""
    if scheduler:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UnsupportedError(
                "the Dask backend needs the optional extra: "
                "pip install 'headflow[dask]'"
            ) from None
        if scheduler.startswith("local:"):
            try:
                count = int(scheduler.split(":", 1)[1])
            except ValueError:
                raise InvalidArgumentError(
                    "scheduler", scheduler, "local:N needs an integer N"
                ) from None
            if count < 1:
                raise InvalidArgumentError("scheduler", scheduler, "N must be >= 1")
            for var in _THREAD_VARS:
                os.environ[var] = "1"
            cluster = LocalCluster(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
        elif scheduler.startswith("tcp://"):
            cluster = None
            client = Client(scheduler, timeout="20s")
        else:
            raise InvalidArgumentError(
                "scheduler", scheduler, "expected tcp://HOST:PORT or local:N"
            )

        def close():
            client.close()
            if cluster is not None:
                cluster.close()

        return (lambda fn, *a: client.submit(fn, *a, pure=False)), close, "dask"

    if workers > 1:
        import multiprocessing

        for var in _THREAD_VARS:
            os.environ[var] = "1"
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_pin_threads,
        )
        return pool.submit, lambda: pool.shutdown(cancel_futures=True), "processes"
    return None, lambda: None, "serial"


def run_sweep(
    grid: Grid,
    out_dir: Path | str,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    reporter=None,
) -> dict:
    """Run every point of ``grid`` and write the records under ``out_dir``.

    Returns the summary document (also written to ``summary.json``).
    """
    out = Path(out_dir)
    points_dir = out / "points"
    if out.exists() and any(points_dir.glob("*.json")) and not resume:
        raise InvalidArgumentError(
            "out",
            str(out),
            "already holds sweep records",
            "pass --resume to continue that sweep, or choose an empty directory",
        )
    points_dir.mkdir(parents=True, exist_ok=True)
    # a kill between writing and renaming leaves a hidden temporary file
    for stale in points_dir.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    manifest = out / "grid.json"
    if resume and manifest.exists():
        previous = json.loads(manifest.read_text())
        if previous != grid.to_json():
            raise InvalidArgumentError(
                "resume",
                str(out),
                "the grid differs from the one this directory was started with",
            )
    atomic_write_text(manifest, json.dumps(grid.to_json(), indent=2) + "\n")

    points = grid.points()
    done = {p.key for p in points if _read_record(points_dir / f"{p.key}.json")}
    todo = [p for p in points if p.key not in done]
    start = time.perf_counter()

    def finished(record):
        atomic_write_text(
            points_dir / f"{int(record['index']):06d}.json", _dumps(record) + "\n"
        )
        if reporter is not None:
            reporter.step(f"point {record['index']}")

    submit, close, backend = _executor(workers, scheduler)
    try:
        if submit is None:
            for p in todo:
                finished(run_point(p, grid.samples, grid.max_nfev))
        else:
            count = _worker_count(workers, scheduler)
            futures = [
                submit(run_points, chunk, grid.samples, grid.max_nfev)
                for chunk in _chunks(todo, count)
            ]
            if backend == "dask":
                from distributed import as_completed as dask_completed

                completed = dask_completed(futures)
            else:
                completed = as_completed(futures)
            for fut in completed:
                for record in fut.result():
                    finished(record)
    finally:
        close()
    seconds = time.perf_counter() - start

    records = [_read_record(points_dir / f"{p.key}.json") for p in points]
    lines = "".join(_dumps(r) + "\n" for r in records)
    atomic_write_text(out / "records.jsonl", lines)
    clustered = [r for r in records if r["clustering_time"] is not None]
    summary = {
        "points": len(points),
        "computed": len(todo),
        "resumed": len(done),
        "clustered": len(clustered),
        "failed": sum(r["status"] != 0 for r in records),
        # particles against the reduced equation, over the equiangular points
        "reduction_gap_max": max(
            (r["reduction_gap"] for r in records if r.get("reduction_gap") is not None),
            default=None,
        ),
        "backend": backend,
        "seconds": round(seconds, 3),
    }
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
