"""The `haibal` command, run as a real subprocess: examples, options, exit codes, bad input."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from haibal_py.graph import Graph

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
DOC_LOSS = [-math.log(0.95) + math.log1p(1e-7), -math.log(0.1)]  # TensorFlow's clip + renormalise


def haibal(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "haibal_py", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=120)


def digest(*paths) -> dict:
    return {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def one_line_errors(proc):
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    return [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]


def test_there_are_at_least_three_examples():
    names = {p.stem for p in EXAMPLES}
    assert {"scce", "segmentation", "from_files"} <= names


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_runs_with_no_argument(example):
    before = digest(example)
    proc = haibal("run", example)
    assert proc.returncode == 0, proc.stderr
    graph = Graph.load(example)
    for name in graph.outputs:
        assert any(line.startswith(name) for line in proc.stdout.splitlines()), proc.stdout
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    proc = haibal("validate", example)
    assert proc.returncode == 0 and "valid" in proc.stdout
    proc = haibal("info", example)
    assert proc.returncode == 0 and "Outputs" in proc.stdout
    assert digest(example) == before


def test_documentation_example_numbers_in_json():
    proc = haibal("run", ROOT / "examples/scce.json", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["outputs"]
    np.testing.assert_allclose(out["loss"]["value"], DOC_LOSS, rtol=1e-7)
    assert out["loss"]["shape"] == [2]
    assert math.isclose(out["mean"]["value"], float(np.mean(DOC_LOSS)), rel_tol=1e-7)


def test_segmentation_example_ignores_the_void_class():
    proc = haibal("run", ROOT / "examples/segmentation.json", "--json")
    out = json.loads(proc.stdout)["outputs"]
    loss_map = np.array(out["loss_map"]["value"])
    valid = loss_map[loss_map > 0]
    assert loss_map.shape == (2, 32, 32) and (loss_map == 0).mean() > 0.05  # the void pixels
    assert math.isclose(out["mean_loss"]["value"], valid.mean(), rel_tol=1e-5)


def test_from_files_example_reads_files_relative_to_the_graph(tmp_path):
    proc = haibal("run", ROOT / "examples/from_files.json", "--json", cwd=tmp_path)  # another cwd
    assert proc.returncode == 0, proc.stderr
    labels = np.loadtxt(ROOT / "examples/data/labels.csv", skiprows=1, dtype=int)
    probs = np.load(ROOT / "examples/data/predictions.npy").astype(np.float64)
    p = np.clip(probs, 1e-7, 1 - 1e-7)
    expected = -np.log(p[np.arange(len(labels)), labels] / p.sum(-1))
    got = json.loads(proc.stdout)["outputs"]["loss"]["value"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.fixture
def graph_file(tmp_path):
    g = Graph("scce")
    g.add_input("y_true", default=np.array([1, 2]), type="int[1]")
    g.add_input("y_pred", default=np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]), type="float[2]")
    n = g.add_node(SCCE, "xent")
    g.connect("y_true", "value", n, "y_true")
    g.connect("y_pred", "value", n, "y_pred")
    g.connect(n, "result", g.add_output("loss"), "value")
    path = tmp_path / "g.json"
    g.save(path)
    return path


@pytest.mark.parametrize("suffix", [".npy", ".csv", ".npz"])
def test_input_set_and_output(graph_file, tmp_path, suffix):
    src = tmp_path / f"labels{suffix}"
    labels = np.array([0, 1])
    if suffix == ".npy":
        np.save(src, labels)
    elif suffix == ".csv":
        src.write_text("label\n0\n1\n")
    else:
        np.savez(src, other=np.array([9.0]), y_true=labels)  # picked by the input's name
    out = tmp_path / "out.npz"
    before = digest(graph_file, src)
    proc = haibal("run", graph_file, "--input", f"y_true={src}", "--set", "xent.from_logits=true",
                  "--output", out)
    assert proc.returncode == 0, proc.stderr
    logits = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    expected = -(logits[[0, 1], labels] - np.log(np.exp(logits).sum(-1)))
    with np.load(out, allow_pickle=False) as z:
        np.testing.assert_allclose(z["loss"], expected, rtol=1e-7)
    assert digest(graph_file, src) == before  # --set changes the run, not the file
    assert "loss" in proc.stdout and "shape (2,)" in proc.stdout


def test_set_accepts_json_values_and_node_ids(graph_file, tmp_path):
    proc = haibal("run", graph_file, "--set", "scc1.ignore_class=2", "--json")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_allclose(json.loads(proc.stdout)["outputs"]["loss"]["value"], [DOC_LOSS[0], 0.0], rtol=1e-7)
    proc = haibal("run", graph_file, "--set", "y_true.default=[0, 0]", "--json")
    assert proc.returncode == 0, proc.stderr


def _write(tmp_path, name, data) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def _doc(nodes, connections=()):
    return {"format": "haibal-graph", "version": 1, "nodes": nodes,
            "connections": [{"from": list(a), "to": list(b)} for a, b in connections]}


def _inputs():
    return [{"id": "yt", "type": "haibal.io.GraphInput", "name": "y_true",
             "params": {"type": "int[1]", "default": [1, 2]}},
            {"id": "yp", "type": "haibal.io.GraphInput", "name": "y_pred",
             "params": {"type": "float[2]", "default": [[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]}}]


BAD_GRAPHS = {
    "malformed": (b'{"format": "haibal-graph", "version": 1, "nodes": [', 2, "not valid JSON (line 1"),
    "not_a_graph": ({"hello": "world"}, 2, "not a haibal graph"),
    "newer": ({"format": "haibal-graph", "version": 7, "nodes": []}, 2, "made by a newer haibal-py"),
    "unknown_type": (_doc(_inputs() + [{"id": "n", "type": "haibal.metrics.Nope"}]), 2,
                     "node 'n': unknown node type 'haibal.metrics.Nope'"),
    "cycle": (_doc([{"id": "a", "type": "haibal.viewers.ValueDisplay"},
                    {"id": "b", "type": "haibal.viewers.ValueDisplay"}],
                   [(("a", "value"), ("b", "value")), (("b", "value"), ("a", "value"))]), 2, "cycle: a -> b -> a"),
    "type_mismatch": (_doc([{"id": "s", "type": "haibal.io.GraphInput", "name": "s",
                             "params": {"type": "float[0]", "default": 0.5}},
                            {"id": "t", "type": "haibal.io.GraphInput", "name": "t", "params": {"type": "str"}},
                            {"id": "n", "type": SCCE}],
                           [(("t", "value"), ("n", "y_true")), (("s", "value"), ("n", "y_pred"))]), 2,
                      "type mismatch"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_bad_graphs_exit_2_with_one_line_per_problem(tmp_path, case):
    data, code, message = BAD_GRAPHS[case]
    path = _write(tmp_path, f"{case}.json", data)
    before = digest(path)
    for command in ("run", "validate", "info"):
        proc = haibal(command, path)
        assert proc.returncode == code, (command, proc.stdout, proc.stderr)
        lines = one_line_errors(proc)
        assert any(message in line for line in lines), (command, lines)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_type_mismatch_lists_every_problem(tmp_path):
    path = _write(tmp_path, "g.json", BAD_GRAPHS["type_mismatch"][0])
    proc = haibal("validate", path)
    problems = [ln for ln in proc.stdout.splitlines() if "node 'n', port" in ln]
    assert {("y_true" in ln) for ln in problems} == {True, False}  # both wires named, one line each


def test_missing_input_file(graph_file, tmp_path):
    proc = haibal("run", graph_file, "--input", f"y_true={tmp_path / 'nope.npy'}")
    assert proc.returncode == 2
    assert one_line_errors(proc) == [f"haibal: error: {tmp_path / 'nope.npy'}: no such file"]


def test_wrong_shape_input(graph_file, tmp_path):
    src = tmp_path / "y.npy"
    np.save(src, np.zeros((2, 2), dtype=int))
    before = digest(graph_file, src)
    proc = haibal("run", graph_file, "--input", f"y_true={src}")
    assert proc.returncode == 2
    assert one_line_errors(proc) == [
        "haibal: error: graph input 'y_true' expects int[1], got int[2] (shape (2, 2))"]
    assert digest(graph_file, src) == before


def test_a_node_that_raises_exits_1_naming_it(graph_file, tmp_path):
    src = tmp_path / "y.csv"
    src.write_text("5\n1\n")
    before = digest(graph_file, src)
    proc = haibal("run", graph_file, "--input", f"y_true={src}", "--output", tmp_path / "out.npz")
    assert proc.returncode == 1
    lines = one_line_errors(proc)
    assert len(lines) == 1 and lines[0].startswith("haibal: node 'scc1' (xent, SparseCategoricalCrossentropy) failed:")
    assert "5" in lines[0] and "[0, 3)" in lines[0]
    assert digest(graph_file, src) == before
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("args, message", [
    ((), "the following arguments are required"),
    (("run",), "the following arguments are required: GRAPH"),
    (("run", "{g}", "--bogus"), "unrecognized arguments: --bogus"),
    (("run", "{g}", "--set", "xent.from_logits"), "must look like NAME=VALUE"),
    (("run", "{g}", "--set", "xent.colour=1"), "has no parameter 'colour'"),
    (("run", "{g}", "--set", "xent.from_logits=perhaps"), "must be a bool, got 'perhaps'"),
    (("run", "{g}", "--set", "nobody.axis=1"), "no node with id or name 'nobody'"),
    (("run", "{g}", "--input", "labels={g}"), "unsupported file type '.json'"),
    (("run", "{g}", "--output", "out.csv"), "written as a .npz file"),
    (("nodes", "NoSuchCategory"), "no category 'NoSuchCategory'"),
    (("validate", "{missing}"), "no such graph file"),
])
def test_invalid_usage_exits_2(graph_file, tmp_path, args, message):
    args = [a.format(g=graph_file, missing=tmp_path / "missing.json") for a in args]
    proc = haibal(*args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_unknown_input_name(graph_file, tmp_path):
    src = tmp_path / "y.npy"
    np.save(src, np.array([1, 2]))
    proc = haibal("run", graph_file, "--input", f"labels={src}")
    assert proc.returncode == 2
    assert one_line_errors(proc) == ["haibal: error: the graph has no input 'labels' (inputs: y_true, y_pred)"]


def test_nodes_lists_ports_params_and_instances():
    proc = haibal("nodes", "Metrics")
    assert proc.returncode == 0
    text = proc.stdout
    assert SCCE in text and "in  y_true:" in text and "param ignore_class: int = None" in text
    assert "instances: scalar, array, batch" in text
    proc = haibal("nodes", "--json")
    catalog = {entry["type"]: entry for entry in json.loads(proc.stdout)}
    assert "haibal.io.GraphInput" in catalog and "haibal.io.RandomSource" in catalog
    assert catalog[SCCE]["instances"] == ["scalar", "array", "batch"]


def test_progress_bar_when_asked():
    proc = haibal("run", ROOT / "examples/stream.json", "--progress")
    assert proc.returncode == 0
    assert "4/4 nodes" in proc.stderr and "#" * 30 in proc.stderr
    assert haibal("run", ROOT / "examples/stream.json").stderr == ""


def _stderr_through_a_terminal(*args) -> tuple[int, str]:
    """Run haibal with stderr on a pseudo-terminal (as in an interactive shell)."""
    import os
    import pty
    import select

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "haibal_py", *map(str, args)], stdout=subprocess.PIPE,
                              stderr=slave, cwd=ROOT, timeout=120)
        os.close(slave)
        chunks = []
        while select.select([master], [], [], 0.5)[0]:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed
                break
            if not data:
                break
            chunks.append(data)
        return proc.returncode, b"".join(chunks).decode(errors="replace")
    finally:
        os.close(master)


def test_progress_bar_on_a_terminal_only_for_long_runs():
    code, err = _stderr_through_a_terminal("run", ROOT / "examples/stream.json")
    assert code == 0 and "#" * 30 in err and "/200" in err  # 200 batches: the bar shows them
    code, err = _stderr_through_a_terminal("run", ROOT / "examples/scce.json")
    assert code == 0 and err == ""  # 6 nodes, no batches: no bar
    code, err = _stderr_through_a_terminal("run", ROOT / "examples/stream.json", "--no-progress")
    assert code == 0 and err == ""
