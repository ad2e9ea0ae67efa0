"""What the benchmark scripts share: timing one call (wall and CPU time), the machine line,
the peers' interpreter and the worker processes that keep each framework apart.

The scripts run as ``python bench/<name>.py``, so this folder is on ``sys.path`` and they
import it as ``_common`` (their workers too, whichever interpreter runs them: this module
needs only the standard library).

Every framework runs in a process of its own (TensorFlow and PyTorch loaded in one process
slow PyTorch down about tenfold on the 2-core VM). haibal-py's side always runs with the
interpreter that runs the script; the peers (torch, TensorFlow, onnxruntime) with
``--peer-python`` (see ``peer_python``), which needs only the peers, not haibal-py.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON_ENV = "HAIBAL_BENCH_PEER_PYTHON"


# ----------------------------------------------------------------------------- timing
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


# ----------------------------------------------------------------------------- the machine
def machine() -> str:
    """The CPU model, the number of CPUs and the Python version, for a results header."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages ("n/a" where the system has none)."""
    try:
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "load average n/a"


def header() -> str:
    """The first line of every script's output: when, on what, NumPy's version, the load."""
    import numpy as np

    return (f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {machine()}, NumPy {np.__version__}, "
            f"{load_average()}")


# ----------------------------------------------------------------------------- the peers' interpreter
def peer_python(arg: str | None = None) -> str:
    """The interpreter that runs the peers: ``arg`` (``--peer-python``), else
    ``$HAIBAL_BENCH_PEER_PYTHON``, else ``.venv-bench/bin/python`` when it exists (``make
    bench`` makes it), else this interpreter."""
    if arg:
        return arg
    if os.environ.get(PEER_PYTHON_ENV):
        return os.environ[PEER_PYTHON_ENV]
    bench_venv = ROOT / ".venv-bench" / "bin" / "python"
    return str(bench_venv) if bench_venv.exists() else sys.executable


def add_peer_options(parser) -> None:
    """``--peer-python PATH`` and ``--no-peers``, the same in every script that has peers."""
    parser.add_argument("--peer-python", default=None, metavar="PATH",
                        help=f"interpreter that has the peers (default: ${PEER_PYTHON_ENV}, else "
                             ".venv-bench/bin/python if it exists, else this one)")
    parser.add_argument("--no-peers", action="store_true", help="time haibal-py alone")


def not_measured(name: str, reason: str) -> None:
    """The line a script prints for a framework it could not time (its table shows "-")."""
    print(f"{name}: not measured ({reason})", flush=True)


def frameworks_to_run(args, peers: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """(the peers' interpreter, the frameworks in turn: haibal, then ``peers`` unless
    ``--no-peers``, each of them then said "not measured")."""
    if args.no_peers:
        for name in peers:
            not_measured(name, "--no-peers")
    return peer_python(args.peer_python), ("haibal",) + (() if args.no_peers else tuple(peers))


def worker_env(**extra: str) -> dict:
    """The environment of a worker: TensorFlow quiet and Keras on TensorFlow."""
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", **extra}


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# ----------------------------------------------------------------------------- workers
class Worker:
    """A long-lived worker process (``python script --worker NAME ...``) that answers JSON
    requests one line at a time (its side: ``serve``). A worker that cannot start or dies
    answers every later request with ``{"error": ...}``: the last line it wrote to stderr
    (an ``ImportError`` for a peer that is not installed) or why it could not start."""

    def __init__(self, python: str, argv: list[str], env: dict | None = None):
        self.error = None
        self._stderr = tempfile.TemporaryFile("w+")
        try:
            self.proc = subprocess.Popen([python, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self._stderr, text=True, env=env or worker_env())
        except OSError as exc:
            self.proc, self.error = None, f"{python}: {exc.strerror or exc}"

    def ask(self, request: dict) -> dict:
        if self.error is None:
            try:
                self.proc.stdin.write(json.dumps(request) + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except OSError:
                line = ""
            if line:
                return json.loads(line)
            self.proc.wait()
            self._stderr.seek(0)
            self.error = _last_line(self._stderr.read())
        return {"error": self.error}

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.wait()
        self._stderr.close()


def serve(answer) -> None:
    """The worker's side of ``Worker``: each JSON line on stdin gets ``answer(request)`` as
    one JSON line on stdout (an exception: ``{"error": "Type: message"}``). Whatever else the
    worker or its libraries print goes to stderr, so stdout carries the replies only."""
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line))
        except Exception as exc:  # noqa: BLE001 (a missing framework or a failing row is reported)
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def run_worker(python: str, argv: list[str], env: dict | None = None) -> dict:
    """Run a worker that does all its work at once and prints its JSON result as the last
    line of its stdout; ``{"error": ...}`` (its last stderr line) if it fails."""
    try:
        proc = subprocess.run([python, *argv], capture_output=True, text=True, env=env or worker_env())
    except OSError as exc:
        return {"error": f"{python}: {exc.strerror or exc}"}
    if proc.returncode != 0:
        return {"error": _last_line(proc.stderr)}
    return json.loads(proc.stdout.strip().splitlines()[-1])
