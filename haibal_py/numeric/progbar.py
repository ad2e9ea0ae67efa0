"""Keras' terminal progress bar (``keras.utils.Progbar``), the format ``fit`` prints.

``verbose=1``: one line per epoch, redrawn in place (``\\r``) at most every ``interval``
seconds and once at the end::

    12/12 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - accuracy: 0.8125 - loss: 0.6012

``verbose=2``: only the final line of each epoch (``12/12 - 0s - 3ms/step - ...``).
As Keras, the step counter is bold and the bar green and grey (ANSI escapes), values
above 1e-3 print with 4 decimals and smaller ones in scientific notation.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

__all__ = ["Progbar"]


class Progbar:
    """``Progbar(target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
    unit_name="step")``: ``update(current, values)`` with ``values`` a list of
    ``(name, value)``; values not in ``stateful_metrics`` are averaged over the steps,
    as Keras does (``fit`` passes every metric as stateful: they are running means already)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step",
                 stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics is not None else set()
        self.stream = stream
        self._values: dict = {}
        self._values_order: list = []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step = None
        self._prev_total_width = 0

    def _write(self, text: str) -> None:
        out = self.stream if self.stream is not None else sys.stdout
        out.write(text)
        out.flush()

    def update(self, current, values=None, finalize=None) -> None:
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            if k in self.stateful_metrics:
                self._values[k] = [v, 1]
            elif finalize:
                self._values[k] = [v, 1]
            else:
                base = max(current - self._seen_so_far, 1)
                if k not in self._values:
                    self._values[k] = [v * base, base]
                else:
                    self._values[k][0] += v * base
                    self._values[k][1] += base
        self._seen_so_far = current
        now = time.time()
        per_unit = self._step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw(current, now, per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            info = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            info += self._format_time(per_unit) + self._metrics_text(abs_small=False) + "\n"
            self._write(info)
        self._last_update = now

    def add(self, n, values=None) -> None:
        self.update(self._seen_so_far + n, values)

    def _draw(self, current, now, per_unit, finalize) -> None:
        message = "\b" * self._prev_total_width + "\r"
        special = 0
        if self.target:
            digits = int(math.log10(self.target)) + 1
            bar = f"\x1b[1m{current:{digits}d}/{self.target}\x1b[0m "
            special += 8
            filled = int(self.width * float(current) / self.target)
            if filled > 0:
                bar += f"\33[32m{'━' * filled}\x1b[0m"
                special += 9
            bar += f"\33[37m{'━' * (self.width - filled)}\x1b[0m"
            special += 9
        else:
            bar = f"{current:7d}/Unknown"
        if self.target and not finalize:
            eta = per_unit * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
            info = f" \x1b[1m{eta_text}\x1b[0m"
        else:
            info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
        special += 8
        info += self._format_time(per_unit) + self._metrics_text(abs_small=True)
        total_width = len(bar) + len(info) - special
        message += bar + info
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        self._write(message)
        self._prev_total_width = total_width

    def _metrics_text(self, abs_small: bool) -> str:
        text = ""
        for k in self._values_order:
            total, count = self._values[k]
            if not isinstance(total, float):
                total = float(np.mean(total))
            avg = total / max(1, count)
            small = abs(avg) > 1e-3 if abs_small else avg > 1e-3
            text += f" - {k}: {avg:.4f}" if small else f" - {k}: {avg:.4e}"
        return text

    def _format_time(self, per_unit: float) -> str:
        if per_unit >= 1 or per_unit == 0:
            return f" {per_unit:.0f}s/{self.unit_name}"
        if per_unit >= 1e-3:
            return f" {per_unit * 1e3:.0f}ms/{self.unit_name}"
        return f" {per_unit * 1e6:.0f}us/{self.unit_name}"

    def _step_duration(self, current, now) -> float:
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per_unit
