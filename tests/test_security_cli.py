"""Issue 11 through the `haibal` command: files listed and refused (1), nested subgraphs
bounded (4), exit 2 with a clear message for every bad input of case 7, control characters
escaped (8), limits and how to raise them (12), NaN refused where a minimum is declared (11).

Most cases call ``cli.main`` in this process (fast); the ones about the process itself
(standard output on a full device) run ``python -m haibal_py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from haibal_py import cli
from haibal_py.graph import Graph
from haibal_py.graph.composite import Template

ROOT = Path(__file__).resolve().parents[1]
SCCE_EXAMPLE = ROOT / "examples" / "scce.json"
LRELU = "haibal.activations.LeakyReLU"


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in out + err
    return code, out, err


# ------------------------------------------------------------------------- 1. files listed and refused
def test_validate_and_info_list_every_file_and_refuse_those_outside(tmp_path, capsys):
    folder = tmp_path / "downloads"
    folder.mkdir()
    g = Graph("mailed")
    c = g.add_node("haibal.io.Constant", params={"value": [1.0]})
    for i, path in enumerate(["out.npy", "../sibling.npy", str(tmp_path / "abs.npy")]):
        w = g.add_node("haibal.io.WriteFile", params={"path": path}, id=f"w{i}")
        g.connect(c, "value", w, "value")
    r = g.add_node("haibal.io.ReadFile", params={"path": "/etc/passwd.csv"}, id="r")
    g.connect(r, "value", g.add_output("y"), "value")
    path = folder / "mailed.json"
    g.save(path)
    code, out, _ = run(capsys, "validate", path)
    assert code == 2
    refused = [ln for ln in out.splitlines() if "outside the graph's folder" in ln]
    assert len(refused) == 3 and all(f"node '{n}'" in ln for n, ln in zip(("w1", "w2", "r"), refused))
    code, out, _ = run(capsys, "validate", path, "--json")
    files = json.loads(out)["files"]
    assert [(f["node"], f["mode"], f["refused"] is None) for f in files] == [
        ("w0", "write", True), ("w1", "write", False), ("w2", "write", False), ("r", "read", False)]
    code, out, _ = run(capsys, "info", path)
    assert code == 2
    listing = out.split("\nFiles")[1].split("\nNodes")[0]
    assert "'out.npy'  by node 'w0'  -> " in listing and listing.count("REFUSED") == 3
    code, _, err = run(capsys, "run", path)
    assert code == 2 and not (folder / "out.npy").exists() and not (tmp_path / "sibling.npy").exists()
    code, out, err = run(capsys, "run", path, "--allow-write", tmp_path, "--allow-read", "/etc")
    assert code == 1 and "/etc/passwd.csv: no such file" in err  # allowed, then the read fails
    code, out, _ = run(capsys, "validate", path, "--allow-write", tmp_path, "--allow-read", "/etc")
    assert code == 0 and out.count("-> ") == 4


def test_an_allowed_folder_must_exist(capsys):
    code, _, err = run(capsys, "run", SCCE_EXAMPLE, "--allow-read", "/no/such/folder")
    assert code == 2 and "no such folder" in err


# ------------------------------------------------------------------------- 4. nested subgraphs
def nested_graph(levels: int) -> Graph:
    """Each level runs the one below twice: ``levels`` levels mean 2**levels inner runs."""
    inner = Graph("L0")
    x = inner.add_input("x", type="float[0]")
    r = inner.add_node(LRELU)
    inner.connect(x, "value", r, "x")
    inner.connect(r, "result", inner.add_output("y", type="float[0]"), "value")
    template = Template("L0", inner)
    for level in range(1, levels + 1):
        g = Graph(f"L{level}")
        tid = g.define_template(template)
        x = g.add_input("x", type="float[0]")
        a, b = g.add_node(tid), g.add_node(tid)
        g.connect(x, "value", a, "x")
        g.connect(a, "y", b, "x")
        g.connect(b, "y", g.add_output("y", type="float[0]"), "value")
        template = Template(f"L{level}", g)
    top = Graph("nested")
    tid = top.define_template(template)
    x = top.add_input("x", default=0.5, type="float[0]")
    n = top.add_node(tid, id="n")
    top.connect(x, "value", n, "x")
    top.connect(n, "y", top.add_output("y"), "value")
    return top


def test_thirty_nested_levels_are_refused_at_once_with_the_expanded_size(tmp_path, capsys):
    path = tmp_path / "nested.json"
    nested_graph(30).save(path)
    assert path.stat().st_size < 400_000
    t0 = time.process_time()
    g = Graph.load(path)
    size = 3  # level 0: x, LeakyReLU, y; level k: x, two level k-1 nodes, y
    for _ in range(30):
        size = 4 + 2 * size
    assert g.expanded_size() == (3 + size, 31) and size > 2**31
    problems = g.validate()
    assert [p.code for p in problems] == ["too-large"]
    assert "expands to" in problems[0].message and "max_expanded_nodes" in problems[0].message
    code, out, _ = run(capsys, "validate", path)
    assert code == 2 and "expands to" in out
    code, _, err = run(capsys, "run", path)
    assert code == 2 and "max_expanded_nodes" in err
    assert time.process_time() - t0 < 20  # refused, not run (2**30 inner runs would take days)
    Template("nested", g).save(tmp_path)  # the same as a snippet PNG
    code, out, _ = run(capsys, "validate", tmp_path / "nested.png")
    assert code == 2 and "expands to" in out


def test_nesting_within_the_limits_runs_and_reports_its_expanded_size(tmp_path, capsys):
    path = tmp_path / "nested.json"
    nested_graph(4).save(path)
    code, out, _ = run(capsys, "validate", path)
    assert code == 0 and "with composite nodes expanded, nested 5 deep" in out
    code, out, _ = run(capsys, "run", path, "--json")
    assert code == 0 and json.loads(out)["outputs"]["y"]["value"] == 0.5
    code, out, _ = run(capsys, "validate", path, "--limit", "max_nesting=3")
    assert code == 2 and "nest 5 levels deep" in out
    code, out, _ = run(capsys, "validate", path, "--limit", "max_expanded_nodes=20")
    assert code == 2 and "max_expanded_nodes = 20" in out


# ------------------------------------------------------------------------- 7. exit 2, clear messages
def huge_npy(path: Path, n: int = 10**12) -> Path:
    with open(path, "wb") as fh:
        npy_format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
        fh.write(bytes(64))
    return path


def test_inline_array_of_a_huge_declared_shape(tmp_path, capsys):
    path = tmp_path / "g.json"
    path.write_text(json.dumps({"format": "haibal-graph", "version": 1, "nodes": [
        {"id": "c", "type": "haibal.io.Constant",
         "params": {"value": {"array": [], "dtype": "float32", "shape": [0, 10**18, 10**18]}}}]}))
    code, _, err = run(capsys, "run", path)
    assert code == 2 and "is not the shape of an array" in err


def test_input_files_declaring_10_to_the_12_elements(tmp_path, capsys):
    npy = huge_npy(tmp_path / "y_true.npy")
    with zipfile.ZipFile(tmp_path / "y_true.npz", "w") as zf:
        zf.write(npy, "y_true.npy")
    for f in (npy, tmp_path / "y_true.npz"):
        code, _, err = run(capsys, "run", SCCE_EXAMPLE, "--input", f"y_true={f}")
        assert code == 2 and "more than the limit max_value_bytes" in err


def test_a_sibling_npz_that_is_not_a_zip(tmp_path, capsys):
    g = Graph()
    c = g.add_node("haibal.io.Constant", params={"value": np.arange(100.0)})
    g.connect(c, "value", g.add_output("y"), "value")
    path = tmp_path / "g.json"
    g.save(path)
    doc = json.loads(path.read_text())
    del doc["arrays"]  # an older file: its .npz is <stem>.arrays.npz, no hash to check
    path.write_text(json.dumps(doc))
    (tmp_path / "g.arrays.npz").write_bytes(b"PK this is not a zip")
    code, _, err = run(capsys, "run", path)
    assert code == 2 and "not a .npz file (it is not a zip archive)" in err


@pytest.mark.parametrize("kind", ["directory", "folder missing", "read-only folder", "not npz"])
def test_an_output_that_cannot_be_written_is_refused_before_the_run(tmp_path, capsys, kind):
    target = {"directory": tmp_path / "dir.npz", "folder missing": tmp_path / "nope" / "o.npz",
              "read-only folder": tmp_path / "ro" / "o.npz", "not npz": tmp_path / "o.txt"}[kind]
    if kind == "directory":
        target.mkdir()
    if kind == "read-only folder":
        target.parent.mkdir()
        target.parent.chmod(0o555)
        if os.geteuid() == 0:  # root writes anywhere: a read-only file system instead
            target = Path("/sys/o.npz")
    started = []
    cli_runtime = cli.Runtime

    class Spy(cli_runtime):
        def run(self, *a, **k):
            started.append(True)
            return super().run(*a, **k)

    cli.Runtime = Spy
    try:
        code, _, err = run(capsys, "run", SCCE_EXAMPLE, "--output", target)
    finally:
        cli.Runtime = cli_runtime
    assert code == 2 and err.startswith(f"haibal: error: --output {str(target)!r}") and started == []


@pytest.mark.parametrize("value, message", [
    ("1e999", "must be an int, got '1e999'"),
    ("[" * 5000 + "]" * 5000, "must be an int"),
    ("NaN", "must be an int"),
    ("1.5", "must be an int, got 1.5"),
])
def test_set_values_that_json_cannot_hold(capsys, value, message):
    code, _, err = run(capsys, "run", SCCE_EXAMPLE, "--set", f"scc1.axis={value}")
    assert code == 2 and message in err and len(err) < 1000


def test_standard_output_on_a_full_device():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(SCCE_EXAMPLE)], stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == \
        "haibal: error: cannot write the results: No space left on device"


# ------------------------------------------------------------------------- 8. control characters
def test_names_from_a_file_are_printed_with_control_characters_escaped(tmp_path, capsys):
    evil = "red\x1b[31m\nFAKE: valid\x07\u202e"
    g = Graph(evil, description="desc\x1b]0;title\x07")
    x = g.add_input("in\x1b[2J", default=np.array([1.0]), type="float[1]", doc="doc\rover")
    r = g.add_node(LRELU, name="node\x1b[1A")
    g.connect(x, "value", r, "x")
    g.connect(r, "result", g.add_output("out\x1b[31m\nx"), "value")
    path = tmp_path / "evil.json"
    g.save(path)
    doc = json.loads(path.read_text())
    doc["nodes"].append({"id": "u", "type": "unknown\x1b[31m.Type", "name": "bad\nname"})
    path.write_text(json.dumps(doc))
    for command in ("info", "validate", "run"):
        code, out, err = run(capsys, command, path)
        assert code == 2
        text = out + err
        assert not any(ch in text for ch in "\x1b\x07\r\u202e"), command
        assert "FAKE" not in text or "\\nFAKE" in text
        assert "\\x1b[31m" in text or command != "info"
    doc["nodes"].pop()
    path.write_text(json.dumps(doc))
    code, out, err = run(capsys, "run", path)
    assert code == 0 and "out\\x1b[31m\\nx" in out and "\x1b" not in out + err
    assert len(out.strip().splitlines()) == 1


def test_printable_escapes_only_what_is_not_printable():
    assert cli.printable("plain text, é, 中文") == "plain text, é, 中文"
    assert cli.printable("a\x1b[0mb\nc\u202ed\x00") == "a\\x1b[0mb\\nc\\u202ed\\x00"


# ------------------------------------------------------------------------- 11 and 12 through the command
def random_source_graph(tmp_path, **params) -> Path:
    g = Graph()
    r = g.add_node("haibal.io.RandomSource", params=params, id="rs")
    g.connect(r, "value", g.add_output("x"), "value")
    path = tmp_path / "random.json"
    g.save(path)
    return path


def test_a_source_too_large_is_refused_at_once_and_the_limit_can_be_raised(tmp_path, capsys):
    path = random_source_graph(tmp_path, shape="1000, 1000", batches=100_000)
    t0 = time.process_time()
    code, _, err = run(capsys, "run", path)
    assert code == 2 and "100000 arrays of shape (1000, 1000) needs 372.5 GiB" in err
    assert "--limit max_value_bytes=" in err and time.process_time() - t0 < 5
    small = random_source_graph(tmp_path, shape="300", batches=1000)  # 1.1 MiB
    code, _, err = run(capsys, "run", small, "--limit", "max_value_bytes=1MiB")
    assert code == 2 and "max_value_bytes = 1.0 MiB" in err
    code, out, _ = run(capsys, "run", small, "--limit", "max_value_bytes=2MiB")
    assert code == 0 and "1000 batches of shape (300,)" in out


@pytest.mark.parametrize("text", ["nope=1", "max_value_bytes", "max_value_bytes=lots", "max_nesting=0"])
def test_a_bad_limit_is_a_usage_error(capsys, text):
    code, _, err = run(capsys, "validate", SCCE_EXAMPLE, "--limit", text)
    assert code == 2 and "limit" in err


def test_nan_is_refused_where_a_minimum_is_declared(tmp_path, capsys):
    path = random_source_graph(tmp_path, shape="3", distribution="normal")
    code, _, err = run(capsys, "run", path, "--set", "rs.stddev=nan")
    assert code == 2 and "parameter 'stddev' must be a number in [0.0, inf], got nan" in err
