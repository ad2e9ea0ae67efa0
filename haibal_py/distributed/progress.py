"""A one-line progress bar for sharded runs: shards done of all, rate, time left, failures."""

from __future__ import annotations

import sys
import time

__all__ = ["ShardProgress"]


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ShardProgress:
    """``[######....] 12/64 shards  3.10/s  ETA 0:17  1 failed`` on ``stream`` (stderr),
    redrawn at most ten times a second; ``done(result)`` after each task, ``close()`` at the end."""

    def __init__(self, total: int, stream=None, unit: str = "shards"):
        self.total, self.unit = total, unit
        self.stream = stream or sys.stderr
        self.count = self.failed = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.shown = False

    def done(self, result) -> None:
        self.count += 1
        if getattr(result, "failure", None) is not None:
            self.failed += 1
        self.draw(final=self.count == self.total)

    def text(self) -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.count / elapsed
        frac = self.count / self.total if self.total else 1.0
        left = (self.total - self.count) / rate if rate > 0 else None
        eta = f"ETA {_clock(left)}" if left is not None and self.count < self.total else f"in {_clock(elapsed)}"
        failed = f"  {self.failed} failed" if self.failed else ""
        return f"[{'#' * int(frac * 30):<30}] {self.count}/{self.total} {self.unit}  {rate:.2f}/s  {eta}{failed}"

    def draw(self, final: bool = False) -> None:
        now = time.monotonic()
        if not final and self.shown and now - self.last < 0.1:
            return
        self.last, self.shown = now, True
        self.stream.write("\r" + self.text())
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False
