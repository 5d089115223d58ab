"""Progress reporters: silent for library calls, a terminal bar for the CLI."""

from __future__ import annotations

import sys
import time

__all__ = ["Silent", "Bar"]


class Silent:
    """Discards progress."""

    def advance(self, label: str, fraction: float | None = None) -> None:
        pass


class Bar:
    """A one-line progress bar on a terminal stream, with elapsed time and ETA.

    ``total`` units of work are expected; :meth:`step` completes one and
    :meth:`advance` (the reporter protocol) updates the label and the fraction
    of the current unit.
    """

    def __init__(self, total: int, stream=None, width: int = 24):
        self.total = max(1, total)
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.monotonic()
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = ""

    def _draw(self, label: str, fraction: float) -> None:
        progress = min(1.0, (self.done + fraction) / self.total)
        elapsed = time.monotonic() - self.start
        eta = elapsed * (1 - progress) / progress if progress > 0 else float("nan")
        filled = int(self.width * progress)
        bar = "#" * filled + "-" * (self.width - filled)
        eta_text = f"{eta:5.0f}s" if eta == eta else "    ?"
        line = f"[{bar}] {100 * progress:5.1f}% {elapsed:6.1f}s eta {eta_text}  {label}"
        line = line[:110]
        if self.enabled:
            pad = max(0, len(self._last) - len(line))
            self.stream.write("\r" + line + " " * pad)
            self.stream.flush()
        self._last = line

    def advance(self, label: str, fraction: float | None = None) -> None:
        self._draw(label, 0.0 if fraction is None else fraction)

    def step(self, label: str = "") -> None:
        self.done += 1
        self._draw(label, 0.0)
        every = max(1, self.total // 20)
        if not self.enabled and (self.done % every == 0 or self.done == self.total):
            # not a terminal: about twenty lines with rate and time left
            elapsed = time.monotonic() - self.start
            rate = self.done / elapsed if elapsed > 0 else float("inf")
            left = (self.total - self.done) / rate if rate > 0 else float("nan")
            self.stream.write(
                f"[{self.done}/{self.total}] {elapsed:.1f}s, "
                f"{rate:.2f}/s, {left:.0f}s left  {label}\n"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._last:
            self.stream.write("\r" + " " * len(self._last) + "\r")
            self.stream.flush()
