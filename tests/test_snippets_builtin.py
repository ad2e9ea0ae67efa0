"""The built-in snippet library (examples/snippets/): reproducible, self-consistent, runnable."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from haibal_py.files.png_chunks import extract_snippet
from haibal_py.runtime import Runtime
from haibal_py.snippets import JSON_SUFFIX, file_stem, load_runnable, load_snippet, snippet_paths

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "examples" / "snippets"
EPS = 1e-7  # Keras' epsilon: probabilities are clipped to [EPS, 1 - EPS]


def _gen():
    spec = importlib.util.spec_from_file_location("gen_snippets", ROOT / "scripts" / "gen_snippets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_json_regenerates_identically():
    built = _gen().build_all()
    assert len(built) >= 4
    for sn in built:
        path = LIB / f"{file_stem(sn.name)}{JSON_SUFFIX}"
        assert path.read_text("utf-8") == sn.to_json(), f"{path.name} is out of date: run scripts/gen_snippets.py"


def test_check_mode_detects_stale_file(tmp_path):
    gen = _gen()
    assert gen.main(["--check"]) == 0
    assert gen.main(["--headless", "--out", str(tmp_path)]) == 0
    assert gen.main(["--check", "--out", str(tmp_path)]) == 0
    stale = tmp_path / "SCCE_from_logits.snippet.json"
    stale.write_text(stale.read_text().replace("true", "false"))
    assert gen.main(["--check", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("stem", ["SCCE_documentation_example", "SCCE_from_logits",
                                  "Segmentation_evaluation_with_ignore_class", "Streaming_metric_over_batches"])
def test_png_carries_the_json_file_bit_identically(stem):
    assert extract_snippet((LIB / f"{stem}.png").read_bytes()).encode("utf-8") == \
        (LIB / f"{stem}{JSON_SUFFIX}").read_bytes()
    assert load_snippet(LIB / f"{stem}.png").to_json() == (LIB / f"{stem}{JSON_SUFFIX}").read_text("utf-8")


def _run(stem):
    return Runtime(load_runnable(LIB / f"{stem}.png")).run().outputs


def test_documentation_example_numbers():
    # Keras documentation: array([0.0513, 2.303]); by hand -log(0.95), -log(0.1) (clipping moves it < 1e-6)
    np.testing.assert_allclose(_run("SCCE_documentation_example")["loss"], [-math.log(0.95), -math.log(0.1)],
                               rtol=1e-5)


def test_from_logits_numbers():
    logits = [[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]]
    want = [math.log(sum(math.exp(v) for v in row)) - row[lab] for lab, row in zip([1, 2], logits)]
    np.testing.assert_allclose(_run("SCCE_from_logits")["loss"], want, rtol=1e-12)


def test_segmentation_ignore_class_numbers():
    got = _run("Segmentation_evaluation_with_ignore_class")["pixel_loss"]
    # Keras documentation: [[[2.38e-07, 2.38e-07], [0, 0]], [[2.38e-07, 0.6931473], [0, 0]]] in float32;
    # in float64 the clipped log gives -log(1 - 1e-7) ~ 1e-7 per certain pixel, log 2 for the 0.5/0.5 one.
    want = np.array([[[-math.log1p(-EPS), -math.log1p(-EPS)], [0.0, 0.0]],
                     [[-math.log1p(-EPS), math.log(2.0)], [0.0, 0.0]]])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=2e-7)
    assert got[:, 1, :].tolist() == [[0.0, 0.0], [0.0, 0.0]]  # void pixels are exactly 0


def test_streaming_metric_is_mean_over_all_samples():
    sn = load_snippet(LIB / "Streaming_metric_over_batches.png")
    labels = np.asarray(sn.input_default("labels"))
    probs = np.asarray(sn.input_default("probabilities"), dtype=np.float64)
    assert labels.shape == (4, 8) and probs.shape == (4, 8, 5)
    p = probs / probs.sum(axis=-1, keepdims=True)
    picked = np.take_along_axis(p, labels[..., None], axis=-1)[..., 0]
    want = float(np.mean(-np.log(np.clip(picked, EPS, 1 - EPS))))
    assert _run("Streaming_metric_over_batches")["mean_loss"] == pytest.approx(want, rel=1e-9)


def test_every_builtin_has_defaults_and_exposed_params():
    paths = snippet_paths(LIB)
    assert len(paths) >= 4 and all(p.suffix == ".png" for p in paths)
    for p in paths:
        sn = load_snippet(p)
        assert sn.description and sn.category
        assert all(sn.input_default(name) is not None for name in sn.inputs), p.name
        assert {q.name for q in sn.params} == {"from_logits", "axis", "ignore_class"}
