"""Argument types for the command line: each rejects bad input with its rule."""

from __future__ import annotations

import argparse
import math

__all__ = ["integer", "real", "reals", "digits", "choice_list"]


def integer(low: int | None = None, high: int | None = None):
    """An int in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if low is not None and value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small: need >= {low}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{value} is too large: need <= {high}")
        return value

    parse.__name__ = "integer"
    return parse


def real(low: float | None = None, *, strict: bool = False, high: float | None = None):
    """A finite float ``>= low`` (``> low`` when ``strict``), ``<= high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not finite")
        if low is not None and (value <= low if strict else value < low):
            rule = f"> {low:g}" if strict else f">= {low:g}"
            raise argparse.ArgumentTypeError(f"{value:g} breaks the rule: need {rule}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(
                f"{value:g} is too large: need <= {high:g}"
            )
        return value

    parse.__name__ = "number"
    return parse


def reals(text: str) -> list[str]:
    """A comma-separated list of numbers, kept as decimal strings."""
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list")
    for t in items:
        try:
            value = float(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{t!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{t!r} is not finite")
    return items


def digits(text: str) -> int:
    """Significant digits for high-precision output: an int in [15, 1000]."""
    return integer(15, 1000)(text)


def choice_list(options):
    """A comma-separated subset of ``options``."""

    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in options]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"{text!r}: expected a comma-separated subset of {list(options)}"
            )
        return items

    return parse
