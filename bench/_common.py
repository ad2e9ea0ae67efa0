"""What the benchmark scripts share: timing one call (wall and CPU time) and the machine line.

The scripts run as ``python bench/<name>.py``, so this folder is on ``sys.path`` and they
import it as ``_common``.
"""

from __future__ import annotations

import os
import platform
import time


def best_times(fn, min_runs: int = 5, min_seconds: float = 0.0, loop_seconds: float = 0.0,
               warmup: bool = True) -> tuple[float, float]:
    """(best wall time, best CPU time of all the process's threads) of one call of ``fn``,
    over at least ``min_runs`` runs and ``min_seconds`` of timing, after a warm-up call.

    Calls shorter than ``loop_seconds`` are looped (each run times that many seconds' worth
    of calls) so the clock resolves them. On a machine shared with other jobs the wall
    time says how much CPU the call got, the CPU time (``time.process_time``) how much work
    it is."""
    if warmup:
        fn()
    loops = 1
    if loop_seconds > 0:
        t0 = time.perf_counter()
        fn()
        loops = max(1, int(loop_seconds / max(time.perf_counter() - t0, 1e-9)))
    best, best_cpu, spent, runs = float("inf"), float("inf"), 0.0, 0
    while runs < min_runs or spent < min_seconds:
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(loops):
            fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        best, best_cpu = min(best, dt / loops), min(best_cpu, dc / loops)
        spent, runs = spent + dt, runs + 1
    return best, best_cpu


def best_time(fn, min_runs: int = 5, min_seconds: float = 0.0, loop_seconds: float = 0.0,
              warmup: bool = True) -> float:
    """The best wall time of one call of ``fn`` (see ``best_times``)."""
    return best_times(fn, min_runs, min_seconds, loop_seconds, warmup)[0]


def machine() -> str:
    """The CPU model, the number of CPUs and the Python version, for a results header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
