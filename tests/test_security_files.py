"""Issue 11, files: the trust boundary (1), graph/.npz pairs (2), .npz bombs (3), file modes (5),
snippet pairs (6), strict inline dtypes (9), positions that load and save (10).

Real files in tmp_path, real subprocesses where the process matters (umask, kills)."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from numpy.lib import format as npy_format

from haibal_py.errors import HaibalError
from haibal_py.files.array_files import ArrayFileError, read_array
from haibal_py.files.graph_format import GraphFormatError, arrays_path, npz_files_of
from haibal_py.files.limits import LimitError, Limits
from haibal_py.files.policy import FileAccessError, FilePolicy
from haibal_py.files.snippet_format import read_snippet_text
from haibal_py.graph import Graph, GraphValidationError
from haibal_py.runtime import Runtime
from haibal_py.snippets import Snippet, SnippetError, load_snippet, snippet_node_class

ROOT = Path(__file__).resolve().parents[1]
CONST, WRITE, READ = "haibal.io.Constant", "haibal.io.WriteFile", "haibal.io.ReadFile"


def writer_graph(folder: Path, path: str) -> Graph:
    """A graph in ``folder`` writing a constant to ``path``, and (first) to ``first.npy`` inside."""
    g = Graph("writer")
    g.base_dir = folder
    c = g.add_node(CONST, params={"value": [1.0, 2.0]})
    first = g.add_node(WRITE, params={"path": "first.npy"}, id="first")
    g.connect(c, "value", first, "value")
    w = g.add_node(WRITE, params={"path": path}, id="w")
    g.connect("first", "value", w, "value")
    g.connect(w, "value", g.add_output("y"), "value")
    return g


# ------------------------------------------------------------------------- 1. the trust boundary
@pytest.fixture
def tree(tmp_path, monkeypatch):
    """tmp/graph (the graph's folder), tmp/sibling/data.npy, tmp/home (as ~), tmp/graph/link -> tmp/sibling."""
    graph_dir, sibling, home = tmp_path / "graph", tmp_path / "sibling", tmp_path / "home"
    for d in (graph_dir, sibling, home):
        d.mkdir()
    np.save(sibling / "data.npy", np.arange(3.0))
    (graph_dir / "link").symlink_to(sibling, target_is_directory=True)
    monkeypatch.setenv("HOME", str(home))
    return graph_dir, sibling, home


@pytest.mark.parametrize("path, why", [
    ("../sibling/data.npy", "'..' climbs out"),
    ("ABS", "an absolute path"),
    ("~/x.npy", "~ is the home folder"),
    ("link/data.npy", "through a symbolic link"),
    ("sub/../../sibling/x.npy", "'..' climbs out"),
])
def test_writes_outside_the_graph_folder_are_refused_before_anything_runs(tree, path, why):
    graph_dir, sibling, home = tree
    path = str(sibling / "data.npy") if path == "ABS" else path
    before = (sibling / "data.npy").read_bytes()
    g = writer_graph(graph_dir, path)
    problems = [p for p in g.validate() if p.code == "file-refused"]
    assert len(problems) == 1 and problems[0].node == "w"
    assert repr(path) in problems[0].message and why in problems[0].message
    with pytest.raises(GraphValidationError, match="outside the graph's folder"):
        Runtime(g).run()
    assert not (graph_dir / "first.npy").exists()  # nothing ran, not even the allowed writer
    assert (sibling / "data.npy").read_bytes() == before and not (home / "x.npy").exists()
    assert sorted(p.name for p in sibling.iterdir()) == ["data.npy"]


def test_reads_outside_are_refused_and_allowed_on_purpose(tree):
    graph_dir, sibling, _ = tree
    g = Graph()
    g.base_dir = graph_dir
    r = g.add_node(READ, params={"path": "../sibling/data.npy"})
    g.connect(r, "value", g.add_output("x"), "value")
    assert [p.code for p in g.validate()] == ["file-refused"]
    with pytest.raises(GraphValidationError, match=r"node 'rf1': read path '../sibling/data.npy'"):
        Runtime(g).run()
    allowed = FilePolicy(allow_read=(sibling,))
    assert g.validate(allowed) == []
    np.testing.assert_array_equal(Runtime(g, policy=allowed).run().outputs["x"], [0.0, 1.0, 2.0])
    # reading does not allow writing
    w = writer_graph(graph_dir, "../sibling/out.npy")
    assert [p.code for p in w.validate(allowed)] == ["file-refused"]
    Runtime(w, policy=FilePolicy(allow_write=(sibling,))).run()
    assert (sibling / "out.npy").exists()


def test_inside_paths_still_work_and_are_listed(tree):
    graph_dir, _, _ = tree
    (graph_dir / "sub").mkdir()
    g = writer_graph(graph_dir, "sub/../sub/out.npy")  # '..' that stays inside is fine
    files = g.files()
    assert [(a.node, a.use.mode, a.use.path, a.refused) for a in files] == [
        ("first", "write", "first.npy", None), ("w", "write", "sub/../sub/out.npy", None)]
    assert files[1].resolved == (graph_dir / "sub" / "out.npy").resolve()
    Runtime(g).run()
    np.testing.assert_array_equal(np.load(graph_dir / "sub" / "out.npy"), [1.0, 2.0])


def test_a_path_changed_after_validation_is_refused_before_the_next_run_starts(tree):
    graph_dir, sibling, _ = tree
    g = writer_graph(graph_dir, "inside.npy")
    rt = Runtime(g)
    rt.run()
    g.set_param("w", "path", "../sibling/data.npy")  # not a structural change: no re-validation
    g.set_param(g.nodes["first"].id, "path", "second.npy")
    started = []

    class Watch:
        def node_started(self, node_id):
            started.append(node_id)

    with pytest.raises(FileAccessError, match=r"node 'w': write path '../sibling/data.npy'"):
        rt.run(observer=Watch())
    assert started == [] and not (graph_dir / "second.npy").exists()


def test_a_file_inside_a_snippet_node_is_checked_too(tree, tmp_path):
    graph_dir, sibling, _ = tree
    inner = writer_graph(graph_dir, "../sibling/evil.npy")
    snippet = Snippet.from_selection(inner, [gid for gid in inner.nodes if gid != "y"], name="evil")
    outer = Graph()
    outer.base_dir = graph_dir
    outer.define_template(snippet)
    s = outer.add_node("haibal.subgraph.evil", id="s")
    outer.connect(s, "y", outer.add_output("y"), "value")
    problems = [p for p in outer.validate() if p.code == "file-refused"]
    assert len(problems) == 1 and problems[0].node == "s" and "inside it, node 'w'" in problems[0].message
    assert [(a.where, a.use.mode) for a in outer.files()] == [("s/first", "write"), ("s/w", "write")]
    with pytest.raises(GraphValidationError):
        Runtime(outer).run()
    assert not (sibling / "evil.npy").exists() and not (graph_dir / "first.npy").exists()
    # the same snippet as a node class of its own, its path exposed and changed: checked
    cls = snippet_node_class(Snippet(snippet.name, snippet.graph, params=[
        snippet_param("target", "w", "path")]), type_id="test.exposed")
    node = cls()
    node.set_param("target", "inside.npy")
    assert [u.path for u in node.files()] == ["first.npy", "inside.npy"]


def snippet_param(name, node, param):
    from haibal_py.graph.parts import ExposedParam
    return ExposedParam(name, node, param)


def test_error_messages_never_echo_file_contents(tmp_path):
    secret = "root:x:0:0:SECRET-PASSWORD-HASH:/root:/bin/bash"
    csv = tmp_path / "passwd.csv"
    csv.write_text("name,uid\n" + secret + ",0\n1,2\n")
    with pytest.raises(ArrayFileError) as err:
        read_array(csv)
    assert "SECRET" not in str(err.value) and "row 2" in str(err.value)
    npy = tmp_path / "forged.npy"
    npy.write_bytes(b"\x93NUMPY\x01\x00" + (60).to_bytes(2, "little") + b"{'SECRET-HEADER': 1}".ljust(59) + b"\n")
    with pytest.raises(ArrayFileError) as err:
        read_array(npy)
    assert "SECRET" not in str(err.value) and "header cannot be read" in str(err.value)


# ------------------------------------------------------------------------- 2. graph and .npz pairs
def big_graph(value: float) -> Graph:
    g = Graph(f"version {value}")  # in the JSON; the array is in the .npz
    c = g.add_node(CONST, params={"value": np.full(20_000, value)}, id="c")
    g.connect(c, "value", g.add_output("y"), "value")
    return g


def loaded_value(path: Path) -> float:
    g = Graph.load(path)
    values = g["c"].params["value"]
    assert values.shape == (20_000,) and np.all(values == values[0])  # one save's data, whole
    assert g.name == f"version {values[0]}"  # the JSON and the .npz of the same save
    return float(values[0])


def test_the_json_names_its_npz_by_content_and_records_its_hash(tmp_path):
    path = tmp_path / "g.json"
    big_graph(1.0).save(path)
    doc = json.loads(path.read_text())
    (npz,) = npz_files_of(path)
    assert doc["arrays"]["file"] == npz.name and npz.name.startswith("g.arrays.")
    import hashlib
    assert doc["arrays"]["sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()
    big_graph(2.0).save(path)  # the old .npz goes once the new JSON is in place
    (npz2,) = npz_files_of(path)
    assert npz2 != npz and loaded_value(path) == 2.0


def test_a_mismatched_pair_is_detected(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    big_graph(1.0).save(a)
    big_graph(2.0).save(b)
    (npz_a,), (npz_b,) = npz_files_of(a), npz_files_of(b)
    os.replace(npz_b, npz_a)  # the file a.json names, but another save's bytes
    with pytest.raises(GraphFormatError, match="does not match the graph"):
        Graph.load(a)


def test_older_files_with_stem_arrays_npz_still_load_and_are_upgraded(tmp_path):
    path = tmp_path / "old.json"
    big_graph(3.0).save(path)
    doc = json.loads(path.read_text())
    (npz,) = npz_files_of(path)
    os.replace(npz, arrays_path(path))
    del doc["arrays"]
    path.write_text(json.dumps(doc))
    assert loaded_value(path) == 3.0
    Graph.load(path).save(path)
    assert not arrays_path(path).exists() and len(npz_files_of(path)) == 1 and loaded_value(path) == 3.0


def test_concurrent_saves_never_mix_a_pair(tmp_path):
    path = tmp_path / "g.json"
    graphs = {v: big_graph(v) for v in (1.0, 2.0)}
    graphs[1.0].save(path)
    seen, errors = [], []

    def save(v):
        for _ in range(15):
            graphs[v].save(path)

    def read():
        for _ in range(30):
            try:
                seen.append(loaded_value(path))
            except GraphFormatError as exc:  # a reader racing a writer: a clear error, never mixed data
                errors.append(str(exc))

    threads = [threading.Thread(target=save, args=(v,)) for v in graphs] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(seen) <= {1.0, 2.0} and seen
    assert all("missing" in e or "does not match" in e for e in errors)
    assert loaded_value(path) in (1.0, 2.0) and len(npz_files_of(path)) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_save_killed_at_random_moments_leaves_one_whole_version(tmp_path):
    """SIGKILL a process saving two versions in turn, at random moments, many times: the
    pair on disk always loads, and holds one version whole (a forked child: no start-up cost).
    Each kill comes after the child finished at least one save (it says so through a pipe),
    and trials go on until kills have also landed in the middle of a save, however fast or
    loaded the machine is."""
    path = tmp_path / "g.json"
    graphs = [big_graph(1.0), big_graph(2.0)]
    big_graph(0.0).save(path)
    rng = random.Random(11)
    seen, mid_save = [], 0
    for trial in range(400):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child saves until it is killed
            try:
                os.close(read_end)
                i = trial
                while True:
                    graphs[i % 2].save(path)
                    os.write(write_end, b"s")
                    i += 1
            finally:
                os._exit(1)
        os.close(write_end)
        os.read(read_end, 1)  # one save done: the kill lands during a later one, or between two
        time.sleep(rng.uniform(0.0, 0.03))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        seen.append(loaded_value(path))
        mid_save += len(npz_files_of(path) + npz_files_of(path, temporary=True)) > 1
        if trial >= 39 and mid_save >= 3 and {1.0, 2.0} <= set(seen):
            break
    assert set(seen) <= {1.0, 2.0} and {1.0, 2.0} <= set(seen)
    assert mid_save >= 3  # kills landed between writing a file and cleaning up
    Graph.load(path).save(path)  # the next save removes what killed saves left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["g.json", npz_files_of(path)[0].name])


# ------------------------------------------------------------------------- 3. .npz bombs
def write_zeros_member(zf: zipfile.ZipFile, name: str, n_float64: int) -> None:
    """A member holding n zeros as a .npy, deflated: a few KB on disk per 100 MB."""
    with zf.open(name + ".npy", "w", force_zip64=True) as fh:
        npy_format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (n_float64,)})
        block = bytes(1 << 20)
        left = n_float64 * 8
        while left:
            fh.write(block[:min(left, len(block))])
            left -= min(left, len(block))


def bomb_graph(tmp_path: Path) -> Path:
    """A graph whose sibling .npz holds one small used array and a 256 MB member nothing names."""
    path = tmp_path / "bomb.json"
    g = Graph()
    c = g.add_node(CONST, params={"value": np.arange(100.0)}, id="c")
    g.connect(c, "value", g.add_output("y"), "value")
    g.save(path)
    (npz,) = npz_files_of(path)
    with zipfile.ZipFile(npz, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        write_zeros_member(zf, "unused", 32 << 20)
    doc = json.loads(path.read_text())
    import hashlib
    doc["arrays"]["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    path.write_text(json.dumps(doc))
    assert npz.stat().st_size < 2 << 20
    return path


def test_an_npz_member_nothing_names_is_never_decompressed(tmp_path):
    path = bomb_graph(tmp_path)
    tracemalloc.start()
    try:
        g = Graph.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(g["c"].params["value"], np.arange(100.0))
    assert peak < 32 << 20  # the 256 MB member was not read


def test_an_npz_bomb_is_refused_before_it_is_decompressed(tmp_path):
    path = bomb_graph(tmp_path)
    doc = json.loads(path.read_text())
    doc["nodes"][0]["params"]["value"] = {"npz": "unused"}
    path.write_text(json.dumps(doc))
    tracemalloc.start()
    try:
        with pytest.raises(LimitError, match=r"max_value_bytes"):
            Graph.load(path, limits=Limits(max_value_bytes=64 << 20))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    with pytest.raises(LimitError, match=r"max_npz_bytes"):
        Graph.load(path, limits=Limits(max_npz_bytes=128 << 20))
    assert Graph.load(path)["c"].params["value"].shape == (32 << 20,)  # within the default limits


def test_a_declared_shape_larger_than_the_file_is_refused_before_allocating(tmp_path):
    for n in (10**12, 1000):  # beyond the limit; within it but not in the file (forged)
        npy = tmp_path / f"huge{n}.npy"
        with open(npy, "wb") as fh:
            npy_format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
            fh.write(bytes(64))
        with zipfile.ZipFile(tmp_path / f"huge{n}.npz", "w") as zf:
            zf.write(npy, "x.npy")
        for f in (npy, tmp_path / f"huge{n}.npz"):
            with pytest.raises((LimitError, ArrayFileError), match="limit|truncated or forged"):
                read_array(f)


def test_an_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "g.json"
    big_graph(1.0).save(path)
    (npz,) = npz_files_of(path)
    npz.write_bytes(b"not a zip at all")
    doc = json.loads(path.read_text())
    import hashlib
    doc["arrays"]["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    path.write_text(json.dumps(doc))
    with pytest.raises(GraphFormatError, match="not a .npz file"):
        Graph.load(path)


# ------------------------------------------------------------------------- 5. file modes
_MODES = """
import os, sys
sys.path.insert(0, {root!r})
import numpy as np
from haibal_py.graph import Graph
from haibal_py.runtime import Runtime
os.umask(0o027)
folder = {folder!r}
g = Graph()
g.base_dir = folder
c = g.add_node("haibal.io.Constant", params={{"value": np.arange(100.0)}})
w = g.add_node("haibal.io.WriteFile", params={{"path": "out.npy"}})
g.connect(c, "value", w, "value")
Runtime(g).run()
g.save(os.path.join(folder, "g.json"))
"""


def test_new_files_get_0666_minus_umask_and_replaced_files_keep_their_mode(tmp_path):
    script = tmp_path / "modes.py"
    folder = tmp_path / "out"
    folder.mkdir()
    script.write_text(_MODES.format(root=str(ROOT), folder=str(folder)))
    subprocess.run([sys.executable, str(script)], check=True, timeout=60)
    npz = npz_files_of(folder / "g.json")[0]
    for name in ("out.npy", "g.json", npz.name):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o640, name
    os.chmod(folder / "g.json", 0o604)
    os.chmod(folder / "out.npy", 0o600)
    (folder / "out.npy").unlink()
    np.save(folder / "out.npy", np.zeros(1))
    os.chmod(folder / "out.npy", 0o604)
    subprocess.run([sys.executable, str(script)], check=True, timeout=60)
    for name in ("out.npy", "g.json"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o604, name
    proc = subprocess.run([sys.executable, "-m", "haibal_py", "run", str(ROOT / "examples/scce.json"),
                           "--output", str(folder / "outputs.npz")], preexec_fn=lambda: os.umask(0o002),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((folder / "outputs.npz").stat().st_mode) == 0o664


# ------------------------------------------------------------------------- 6. snippet pairs
def two_snippets():
    out = []
    for scale in (1.0, 2.0):
        g = Graph()
        x = g.add_input("x", default=np.arange(300.0) * scale, type="float[1]")
        r = g.add_node("haibal.activations.ReLU")
        g.connect(x, "value", r, "x")
        out.append(Snippet.from_selection(g, [r], name="same name", description=f"version {scale}"))
    return out


def test_concurrent_snippet_saves_never_mix_and_never_fail(tmp_path):
    snippets = two_snippets()
    errors = []

    def save(s):
        for _ in range(20):
            try:
                s.save(tmp_path)
            except Exception as exc:  # noqa: BLE001 - any failure is the defect
                errors.append(repr(exc))

    threads = [threading.Thread(target=save, args=(s,)) for s in snippets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    text = read_snippet_text(tmp_path / "same_name.png")  # checks the pair
    assert text == (tmp_path / "same_name.snippet.json").read_text()
    assert load_snippet(tmp_path / "same_name.snippet.json").description in ("version 1.0", "version 2.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same_name.png", "same_name.snippet.json"]


def test_a_mismatched_snippet_pair_is_detected(tmp_path):
    a, b = two_snippets()
    a.save(tmp_path)
    (tmp_path / "same_name.snippet.json").write_text(b.to_json())  # as a save killed between its renames
    for name in ("same_name.png", "same_name.snippet.json"):
        with pytest.raises(SnippetError, match="hold different snippets"):
            load_snippet(tmp_path / name)


# ------------------------------------------------------------------------- 9 and 10: what loads, saves
def one_node_doc(**entry) -> dict:
    return {"format": "haibal-graph", "version": 1,
            "nodes": [{"id": "c", "type": CONST, **entry}]}


@pytest.mark.parametrize("array, dtype, why", [([1.5, 2], "int64", "cannot hold"), ([2, 0], "bool", "cannot hold"),
                                               ([300], "uint8", "out of bounds"), ([1e300], "float32", "beyond the range")])
def test_an_inline_value_the_dtype_cannot_hold_is_refused_not_truncated(tmp_path, array, dtype, why):
    path = tmp_path / "g.json"
    text = json.dumps(one_node_doc(params={"value": {"array": array, "dtype": dtype, "shape": [len(array)]}}))
    path.write_text(text)
    with pytest.raises(GraphFormatError, match=rf"node 'c', parameter 'value': not a {dtype} array .*{why}"):
        Graph.load(path)
    assert path.read_text() == text


@pytest.mark.parametrize("pos_text", ["[NaN, 0]", "[0, Infinity]", "[-Infinity, 1]", "[1e999, 0]", "[1e300, 0]"])
def test_positions_that_cannot_be_saved_are_refused_on_load(tmp_path, pos_text):
    path = tmp_path / "g.json"
    path.write_text('{"format": "haibal-graph", "version": 1, "nodes": [{"id": "c", "type": "%s", "pos": %s}]}'
                    % (CONST, pos_text))
    with pytest.raises(GraphFormatError) as err:
        Graph.load(path)
    assert str(path) in str(err.value)
    g = Graph()
    c = g.add_node(CONST)
    with pytest.raises(HaibalError, match="position"):
        g.set_pos(c, (float("nan"), 0.0))
    g.set_pos(c, (1e6, -2.5))
    g.save(path)
    assert Graph.load(path)[c].pos == (1e6, -2.5)


def test_a_float_parameter_of_infinity_in_a_file_is_refused_not_kept(tmp_path):
    path = tmp_path / "g.json"
    path.write_text('{"format": "haibal-graph", "version": 1, "nodes": [{"id": "r", "type": '
                    '"haibal.io.RandomSource", "params": {"stddev": NaN}}]}')
    with pytest.raises(GraphFormatError, match="NaN is not a JSON number"):
        Graph.load(path)
