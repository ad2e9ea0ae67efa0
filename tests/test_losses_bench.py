"""bench/catalog.py runs (tiny workload, real subprocesses) and lists every loss; timings are not tested.

No peer is needed: the first run times haibal-py alone, the second names a peer interpreter
that does not exist, which the script must report ("torch: not measured") instead of failing.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--rows", "64", "--cols", "12", "--repeat", "1", "--markdown"]


def run_catalog(*args: str) -> str:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "catalog.py"), *TINY, *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_catalog_benchmark_runs_on_a_tiny_workload():
    text = run_catalog("--no-peers")
    assert "| function | haibal-py (ms) |" in text and "floor" in text
    for name in ("mean_squared_error", "log_cosh", "binary_focal_crossentropy", "categorical_crossentropy (logits)",
                 "dice", "tversky", "sparse_categorical_crossentropy", "metrics.binary_accuracy"):
        assert f"| {name} |" in text
    assert "| error |" not in text
    assert "torch: not measured (--no-peers)" in text


def test_catalog_benchmark_reports_a_missing_peer_and_shows_dashes(tmp_path):
    missing = tmp_path / "no-such-python"
    text = run_catalog("--peer-python", str(missing), "--only", "mean_squared_error,dice")
    assert f"torch: not measured ({missing}: No such file or directory)" in text
    rows = [line for line in text.splitlines() if line.startswith("| mean_squared_error |")
            or line.startswith("| dice |")]
    assert len(rows) == 2
    for line in rows:
        assert line.endswith("| - | - |")
    assert "| log_cosh |" not in text  # --only keeps the named functions alone
