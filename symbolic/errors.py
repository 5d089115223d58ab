"""The exceptions headflow raises; each refines the builtin it subclasses."""

from __future__ import annotations

__all__ = ["InvalidArgumentError", "RangeError", "UnsupportedError"]


class InvalidArgumentError(ValueError):
    """An argument breaks a stated rule.

    The message names the argument, echoes the value received, states the rule
    and, where one exists, the fix.  ``argument`` and ``value`` carry the same
    information as fields.
    """

    def __init__(self, argument: str, value: object, rule: str, fix: str = ""):
        self.argument = argument
        self.value = value
        self.rule = rule
        self.fix = fix
        message = f"{argument}={_short(value)}: {rule}"
        if fix:
            message += f"; {fix}"
        super().__init__(message)


class RangeError(OverflowError):
    """A result exists but does not fit the requested number format."""


class UnsupportedError(NotImplementedError):
    """A combination of options the toolkit does not implement."""


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
