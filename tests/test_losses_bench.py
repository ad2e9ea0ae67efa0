"""bench/catalog.py runs (tiny workload, real subprocess) and lists every loss; timings are not tested."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_catalog_benchmark_runs_on_a_tiny_workload():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "catalog.py"), "--rows", "64", "--cols", "12",
                          "--repeat", "1", "--markdown"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "| function | haibal-py (ms) |" in text and "floor" in text
    for name in ("mean_squared_error", "log_cosh", "binary_focal_crossentropy", "categorical_crossentropy (logits)",
                 "dice", "tversky", "sparse_categorical_crossentropy"):
        assert f"| {name} |" in text
    assert "| error |" not in text
