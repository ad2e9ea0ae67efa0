"""Issue 11, resource limits in Python (12, 11) and the headless install (13).

One ``Limits`` value for loading, validating and running; sources compute their output
size from their parameters before allocating; Random Source fills float32 results without
float64 copies of them."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from haibal_py.errors import ParameterError
from haibal_py.files.limits import LimitError, Limits, parse_amount
from haibal_py.graph import Graph, GraphValidationError
from haibal_py.node.base import RunContext
from haibal_py.node.registry import CATALOG
from haibal_py.runtime import Runtime

ROOT = Path(__file__).resolve().parents[1]


def source(type_id: str, **params) -> tuple[Graph, str]:
    g = Graph()
    n = g.add_node(type_id, params=params, id="src")
    g.connect(n, "value", g.add_output("x"), "value")
    return g, n


def test_limits_are_one_value_with_defaults_raised_on_purpose():
    limits = Limits()
    assert set(Limits.names()) == {"max_value_bytes", "max_npz_bytes", "max_expanded_nodes", "max_nesting",
                                   "max_loop_iterations"}
    raised = limits.with_text(["max_value_bytes=8GiB", "max-nesting=64"])
    assert raised.max_value_bytes == 8 << 30 and raised.max_nesting == 64 and limits.max_nesting == 32
    assert parse_amount("2e6") == 2_000_000 and parse_amount("512 MiB") == 512 << 20 and parse_amount("1k") == 1000
    for bad in ("0", "-1", "1e99", "five", "3 parsecs"):
        with pytest.raises(LimitError):
            parse_amount(bad)
    with pytest.raises(LimitError, match="no limit named 'max_loops'"):
        limits.raised(max_loops=3)
    with pytest.raises(LimitError, match="positive integer"):
        Limits(max_nesting=0)
    assert RunContext().limits == Limits()  # what a node reads (loops: max_loop_iterations)


def test_random_source_size_is_checked_from_its_parameters_before_anything_runs():
    g, n = source("haibal.io.RandomSource", shape="1000, 1000", batches=100_000)
    (problem,) = g.validate()
    assert problem.code == "too-large" and problem.node == n and "372.5 GiB" in problem.message
    with pytest.raises(GraphValidationError, match="max_value_bytes"):
        Runtime(g).run()
    g.set_param(n, "batches", 2)
    assert g.validate() == []
    small = Limits(max_value_bytes=4 << 20)
    assert [p.code for p in g.validate(limits=small)] == ["too-large"]
    rt = Runtime(g, limits=small)
    with pytest.raises(GraphValidationError):
        rt.run()
    rt.limits = Limits(max_value_bytes=16 << 20)
    assert len(rt.run().outputs["x"]) == 2
    g.set_param(n, "shape", "3000, 1000")  # a parameter change: checked before the next run starts
    with pytest.raises(LimitError, match=r"node 'src': .*2 arrays of shape \(3000, 1000\)"):
        rt.run()


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_random_source_fills_float32_without_float64_copies(distribution):
    g, n = source("haibal.io.RandomSource", shape="2048, 2048", distribution=distribution, seed=7)
    tracemalloc.start()
    try:
        x = Runtime(g).run().outputs["x"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert x.dtype == np.float32 and x.shape == (2048, 2048)
    assert peak < 1.6 * x.nbytes  # the result and one chunk; was 3x (float64 draw + cast)
    rng = np.random.default_rng(7)  # the same numbers as one float64 draw cast to float32
    want = rng.uniform(0.0, 1.0, size=(2048, 2048)) if distribution == "uniform" else rng.normal(0, 1, (2048, 2048))
    np.testing.assert_array_equal(x, want.astype(np.float32))


def test_random_source_integers_with_void_labels_keep_their_numbers():
    g, n = source("haibal.io.RandomSource", shape="1100, 1000", distribution="integers", low=0, high=4,
                  void_fraction=0.1, seed=3, dtype="int32")
    x = Runtime(g).run().outputs["x"]
    rng = np.random.default_rng(3)
    want = rng.integers(0, 4, size=(1100, 1000), dtype="int32")
    want[rng.random(size=(1100, 1000)) < 0.1] = 255
    np.testing.assert_array_equal(x, want)


def test_one_hot_checks_its_result_size_before_allocating():
    cls = CATALOG.get("haibal.array.OneHot")
    node = cls(num_classes=10**9)
    tracemalloc.start()
    try:
        with pytest.raises(LimitError, match=r"one-hot array of shape \(1000, 1000000000\)"):
            node(indices=np.arange(1000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    np.testing.assert_array_equal(cls(num_classes=3, out_of_range="zeros")(indices=np.array([[0, 5], [2, 1]]))["result"],
                                  [[[1, 0, 0], [0, 0, 0]], [[0, 0, 1], [0, 1, 0]]])


def test_a_constant_too_large_for_the_limits_is_a_problem():
    g, n = source("haibal.io.Constant", value=np.zeros(1000))
    assert g.validate() == []
    (problem,) = g.validate(limits=Limits(max_value_bytes=4000))
    assert problem.code == "too-large" and "shape (1000,)" in problem.message


def test_nan_is_refused_where_a_minimum_is_declared():
    g, n = source("haibal.io.RandomSource", distribution="normal")
    for bad in (float("nan"), "nan", -1.0):
        with pytest.raises(ParameterError, match="stddev"):
            g.set_param(n, "stddev", bad)
    assert g.nodes[n].params["stddev"] == 1.0


_BLOCK_QT = """
import importlib.abc, sys
class _NoQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "PySide2", "shiboken6"):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden: a headless install)")
        return None
sys.meta_path.insert(0, _NoQt())
"""


def test_without_qt_the_gui_tests_are_skipped_not_failed(tmp_path):
    """As after `pip install -e '.[dev]'` without the GUI extras: Qt cannot be imported."""
    (tmp_path / "sitecustomize.py").write_text(_BLOCK_QT)
    gui = sorted(p.name for p in (ROOT / "tests").glob("test_gui_*.py"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "not gui",
                           *[f"tests/{name}" for name in gui], "tests/test_types.py"],
                          cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(gui)} skipped" in proc.stdout and "error" not in proc.stdout.lower()
    assert "the GUI extras are not installed" in proc.stdout
