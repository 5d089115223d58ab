"""Turn SymPy expressions into vectorised numpy or mpmath functions.

Generation goes through :func:`sympy.lambdify` with common-subexpression elimination;
numpy code takes special functions from :mod:`scipy.special`.
The generated source is cached on disk, keyed by a hash of the expression, its
arguments, the target module and the SymPy version.  Each cache entry stores the hash
of its own source; an entry that is missing, unreadable or fails that check is
regenerated and rewritten, never trusted.  Writes are atomic (a temporary file in the
same directory, then :func:`os.replace`), so processes may share one cache.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import sympy as sp

__all__ = ["generate", "cache_dir", "cache_key", "GeneratedFunction"]

logger = logging.getLogger(__name__)

Backend = Literal["numpy", "mpmath"]

_FUNCTION_NAME = "_lambdifygenerated"
_memory: dict[str, "GeneratedFunction"] = {}
_lock = threading.Lock()


def cache_dir() -> Path:
    """Directory of the generated-code cache.

    ``$HEADFLOW_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/headflow``, else
    ``~/.cache/headflow``.
    """
    explicit = os.environ.get("HEADFLOW_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "headflow"


def cache_key(expr: sp.Expr, args: Sequence[sp.Symbol], backend: Backend) -> str:
    """Hash identifying the generated code of ``expr`` for ``backend``."""
    text = "\n".join(
        [sp.srepr(expr), sp.srepr(tuple(args)), backend, sp.__version__, "v2"]
    )
    return hashlib.sha256(text.encode()).hexdigest()


class GeneratedFunction:
    """A generated function together with the source it was compiled from.

    Calling it evaluates the expression elementwise (numpy) or on scalars
    (mpmath).  ``source`` is the Python text, ``key`` the cache key and
    ``expr`` the SymPy expression it implements.
    """

    def __init__(self, expr, args, backend, source, key):
        self.expr = expr
        self.args = tuple(args)
        self.backend = backend
        self.source = source
        self.key = key
        self._fn = _compile(source, backend)

    def __call__(self, *values):
        return self._fn(*values)

    def __repr__(self) -> str:
        names = ", ".join(str(a) for a in self.args)
        return f"<generated {self.backend} function ({names}) -> {self.expr}>"


def _namespace(backend: Backend) -> dict:
    namespace: dict = {}
    if backend == "numpy":
        # special functions (erf, expi, ...) come from scipy.special; numpy's
        # own names take precedence wherever both define one
        exec("from scipy.special import *", namespace)
        exec("from numpy import *\nfrom functools import reduce", namespace)
    else:
        exec("from mpmath import *\nfrom functools import reduce", namespace)
    return namespace


def _compile(source: str, backend: Backend) -> Callable:
    namespace = _namespace(backend)
    code = compile(source, f"<headflow generated {backend}>", "exec")
    exec(code, namespace)
    return namespace[_FUNCTION_NAME]


def _source(expr, args, backend: Backend) -> str:
    modules = ["scipy", "numpy"] if backend == "numpy" else backend
    fn = sp.lambdify(args, expr, modules=modules, cse=True, docstring_limit=0)
    # lambdify registers its generated text with linecache
    return inspect.getsource(fn)


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def _read_entry(path: Path, key: str) -> str | None:
    """Source stored at ``path`` if the entry is intact and belongs to ``key``."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        source = entry["source"]
        intact = entry["key"] == key and entry["sha256"] == _digest(source)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not intact:
        logger.warning("discarding corrupt generated-code cache entry %s", path)
        return None
    return source


def _write_entry(path: Path, key: str, source: str, expr) -> None:
    entry = {
        "key": key,
        "sha256": _digest(source),
        "sympy": sp.__version__,
        "expr": sp.srepr(expr),
        "source": source,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
        os.replace(tmp, path)
    except OSError as exc:
        # an unwritable cache costs time, never correctness
        logger.warning("cannot write generated-code cache %s: %s", path, exc)


def generate(
    expr: sp.Expr,
    args: Sequence[sp.Symbol],
    backend: Backend = "numpy",
    *,
    use_cache: bool = True,
) -> GeneratedFunction:
    """Generate a function evaluating ``expr`` at values of ``args``.

    Parameters
    ----------
    expr : sympy.Expr
        The expression to compile.
    args : sequence of sympy.Symbol
        Positional arguments of the generated function, in order.
    backend : {"numpy", "mpmath"}
        ``"numpy"`` gives a vectorised function on arrays; ``"mpmath"`` one on
        mpmath numbers at the caller's working precision.
    use_cache : bool
        Read and write the on-disk cache (see :func:`cache_dir`).

    Returns
    -------
    GeneratedFunction

    Examples
    --------
    >>> import numpy as np
    >>> from symbolic.model import s, beta
    >>> f = generate(sp.exp(beta * s) / 2, (s, beta))
    >>> float(f(np.float64(0.0), 3.0))
    0.5
    """
    if backend not in ("numpy", "mpmath"):
        raise ValueError(f"backend={backend!r}: expected 'numpy' or 'mpmath'")
    key = cache_key(expr, args, backend)

    with _lock:
        if key in _memory:
            return _memory[key]

    path = cache_dir() / key[:2] / f"{key}.json"
    source = _read_entry(path, key) if use_cache else None
    if source is None:
        source = _source(expr, args, backend)
        if use_cache:
            _write_entry(path, key, source, expr)

    fn = GeneratedFunction(expr, args, backend, source, key)
    with _lock:
        _memory[key] = fn
    return fn


def clear_memory() -> None:
    """Forget functions generated in this process (the disk cache stays)."""
    with _lock:
        _memory.clear()
