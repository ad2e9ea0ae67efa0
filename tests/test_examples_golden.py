"""Every bundled example graph and snippet prints the same ``haibal run --json`` output as
recorded in ``tests/golden/`` (the run time aside): restructurings change no number."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*.json")) + sorted(ROOT.glob("examples/snippets/*.png"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_output_is_unchanged(path):
    golden = ROOT / "tests" / "golden" / f"{path.name}.json"
    assert golden.is_file(), f"no recorded output for {path.name}: record it in {golden}"
    run = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(path.relative_to(ROOT)), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    got = [line for line in run.stdout.splitlines(keepends=True) if '"seconds"' not in line]
    assert "".join(got) == golden.read_text()
