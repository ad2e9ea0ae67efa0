"""`haibal run` on snippet files (PNG and JSON), as a real subprocess."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "examples" / "snippets"


def haibal(*args):
    return subprocess.run([sys.executable, "-m", "haibal_py.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("png", sorted(LIB.glob("*.png")), ids=lambda p: p.stem)
def test_every_builtin_png_runs_with_no_argument(png):
    res = haibal("run", png, "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["outputs"]


def test_json_snippet_with_input_and_set(tmp_path):
    logits = np.array([[0.0, 3.0, 1.0], [2.0, 0.0, 0.5]])
    np.save(tmp_path / "logits.npy", logits)
    res = haibal("run", LIB / "SCCE_from_logits.snippet.json", "--input", f"logits={tmp_path / 'logits.npy'}",
                 "--output", tmp_path / "out.npz")
    assert res.returncode == 0, res.stderr
    want = [math.log(np.exp(row).sum()) - row[lab] for lab, row in zip([1, 2], logits)]
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["loss"], want, rtol=1e-12)


def test_bad_snippet_files_exit_2_with_message(tmp_path):
    plain = tmp_path / "plain.png"
    plain.write_bytes((LIB / "SCCE_from_logits.png").read_bytes()[:33] + bytes.fromhex("0000000049454e44ae426082"))
    res = haibal("run", plain)
    assert res.returncode == 2 and "this image carries no haibal snippet" in res.stderr
    newer = tmp_path / "new.snippet.json"
    doc = json.loads((LIB / "SCCE_from_logits.snippet.json").read_text())
    newer.write_text(json.dumps(dict(doc, version=7)))
    res = haibal("run", newer)
    assert res.returncode == 2 and "version 7 is newer" in res.stderr and "Traceback" not in res.stderr
