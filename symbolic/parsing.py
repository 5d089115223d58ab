"""A whitelist parser for user-defined attention kernels.

A kernel such as ``"1/(1+exp(-beta*s))"`` is read with Python's :mod:`ast` in
expression mode, and the tree is rebuilt node by node into SymPy.  Only the
symbols ``s`` and ``beta``, numbers, ``+ - * / **`` and a fixed set of functions
are accepted.  Nothing is evaluated by ``eval`` or ``sympify``: attribute access,
calls of anything but the listed functions, subscripts, lambdas, comprehensions and
keywords are rejected before SymPy sees them.  Length, depth and the size of
numeric powers are bounded so that a hostile string cannot exhaust the machine.
"""

from __future__ import annotations

import ast
from functools import lru_cache

import sympy as sp

from .errors import InvalidArgumentError
from .model import Kernel, beta, s

__all__ = ["parse_kernel", "parse_expression", "FUNCTIONS", "MAX_LENGTH"]

#: Longest accepted expression, in characters.
MAX_LENGTH = 500
#: Deepest accepted expression tree.
MAX_DEPTH = 40
#: Largest magnitude of a number or of a numeric exponent.
MAX_NUMBER = 1e6
MAX_EXPONENT = 64

FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "sin": sp.sin,
    "cos": sp.cos,
    "atan": sp.atan,
    "erf": sp.erf,
    "abs": sp.Abs,
    "max": sp.Max,
    "min": sp.Min,
    "sigmoid": lambda u: 1 / (1 + sp.exp(-u)),
    "softplus": lambda u: sp.log(1 + sp.exp(u)),
}
_NAMES = {"s": s, "beta": beta, "pi": sp.pi, "e": sp.E}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def _reject(text: str, rule: str):
    return InvalidArgumentError("kernel", text, rule)


def _build(node: ast.AST, text: str, depth: int) -> sp.Expr:
    if depth > MAX_DEPTH:
        raise _reject(text, f"nests deeper than {MAX_DEPTH} levels")

    if isinstance(node, ast.Expression):
        return _build(node.body, text, depth + 1)

    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _reject(text, f"only numbers are allowed as constants, got {value!r}")
        if abs(value) > MAX_NUMBER:
            raise _reject(text, f"numbers must not exceed {MAX_NUMBER:g} in magnitude")
        return sp.Integer(value) if isinstance(value, int) else sp.Float(value)

    if isinstance(node, ast.Name):
        if node.id not in _NAMES:
            raise _reject(text, f"unknown name {node.id!r}; allowed: s, beta, pi, e")
        return _NAMES[node.id]

    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _build(node.operand, text, depth + 1)
        return -inner if isinstance(node.op, ast.USub) else inner

    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _build(node.left, text, depth + 1)
        right = _build(node.right, text, depth + 1)
        if (
            isinstance(node.op, ast.Pow)
            and right.is_number
            and (abs(complex(right)) > MAX_EXPONENT)
        ):
            raise _reject(text, f"numeric exponents must not exceed {MAX_EXPONENT}")
        return _BINARY[type(node.op)](left, right)

    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise _reject(
                text, f"only these functions may be called: {sorted(FUNCTIONS)}"
            )
        if node.keywords:
            raise _reject(text, "keyword arguments are not allowed")
        args = [_build(a, text, depth + 1) for a in node.args]
        if node.func.id not in ("max", "min") and len(args) != 1:
            raise _reject(text, f"{node.func.id} takes exactly one argument")
        if not args:
            raise _reject(text, f"{node.func.id} needs an argument")
        return FUNCTIONS[node.func.id](*args)

    raise _reject(text, f"{type(node).__name__} is not allowed in a kernel expression")


def parse_expression(text: str) -> sp.Expr:
    """Parse ``text`` into a SymPy expression in ``s`` and ``beta``.

    Raises
    ------
    InvalidArgumentError
        With the rule the text breaks.

    Examples
    --------
    >>> parse_expression("1/(1+exp(-beta*s))")
    1/(1 + exp(-beta*s))
    >>> parse_expression("__import__('os').system('true')")
    Traceback (most recent call last):
    ...
    symbolic.errors.InvalidArgumentError: kernel="__import__('os').system('true')": ...
    """
    if not isinstance(text, str):
        raise _reject(repr(text), "must be a string")
    if len(text) > MAX_LENGTH:
        raise _reject(
            f"{text[:40]}... ({len(text)} characters)",
            f"must be at most {MAX_LENGTH} characters",
        )
    if not text.strip():
        raise _reject(text, "is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _reject(text, f"is not a valid expression ({exc.msg})") from None
    except (ValueError, RecursionError, MemoryError):
        raise _reject(text, "cannot be parsed") from None
    expr = _build(tree, text, 0)
    extra = expr.free_symbols - {s, beta}
    if extra:
        raise _reject(
            text, f"may only depend on s and beta, found {sorted(map(str, extra))}"
        )
    if not expr.has(s):
        raise _reject(text, "must depend on the score s")
    return expr


@lru_cache(maxsize=64)
def parse_kernel(text: str) -> Kernel:
    """A :class:`~symbolic.model.Kernel` from a user expression ``phi(s)``.

    The same text gives the same (immutable) kernel object, so that the
    antiderivative SymPy derives for it is computed once per process.

    Examples
    --------
    >>> k = parse_kernel("1/(1+exp(-beta*s))")
    >>> k.Phi
    log(exp(beta*s) + 1)/beta
    """
    expr = parse_expression(text)
    return Kernel(" ".join(text.split()), expr)
