"""Issue 11: hypothesis fuzz of what a stranger controls, through the `haibal` command.

Graph documents, ``--set``/``--input`` values and snippet PNG bytes, each run through
``haibal validate``, ``info`` and ``run`` (``cli.main`` in this process, for speed): the
answer is always exit 0, 1 or 2 with no traceback and no internal error. Runs use small
limits so that a fuzzed graph stays fast (the limits themselves are what keeps it so)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haibal_py import cli
from haibal_py.files.png_chunks import embed_snippet, encode_png

ROOT = Path(__file__).resolve().parents[1]
SCCE = ROOT / "examples" / "scce.json"
SNIPPET_PNG = ROOT / "examples" / "snippets" / "SCCE_documentation_example.png"
FAST = ["--limit", "max_value_bytes=4MiB", "--limit", "max_expanded_nodes=2000"]
#: examples per fuzz test: a few seconds in CI; HAIBAL_FUZZ_EXAMPLES=5000 for a long hunt
FUZZ = settings(max_examples=int(os.environ.get("HAIBAL_FUZZ_EXAMPLES", "60")), deadline=None,
                suppress_health_check=list(HealthCheck), database=None)

TYPES = ["haibal.io.Constant", "haibal.io.RandomSource", "haibal.io.ReadFile", "haibal.io.WriteFile",
         "haibal.io.GraphInput", "haibal.io.GraphOutput", "haibal.array.OneHot", "haibal.array.Reshape",
         "haibal.metrics.SparseCategoricalCrossentropy", "haibal.activations.LeakyReLU", "haibal.math.Add",
         "haibal.subgraph.x", "no.such.Type", "\x1b[31m"]
PARAMS = ["value", "shape", "batches", "path", "num_classes", "axis", "type", "default", "dtype", "distribution",
          "from_logits", "ignore_class", "stddev", "key", "as_batches", "x"]
PORTS = ["value", "result", "x", "y_true", "y_pred", "indices", "shape", "a", "b", "nope"]


def answer(*args) -> int:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    text = out.getvalue() + err.getvalue()
    assert code in (0, 1, 2), (code, text[-2000:])
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert "\x1b" not in text
    return code


def all_commands(path: Path) -> None:
    for command in ("validate", "info", "run"):
        answer(command, path, *FAST)


numbers = st.one_of(st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, -1, 2, 255, 10**6, 10**18, 1e308, 1.5]))
texts = st.one_of(st.text(max_size=30), st.sampled_from(["", "2, 3", "-1", "1000000, 1000000", "../x.npy",
                                                         "/etc/passwd.csv", "~/x.npy", "out.npy", "a.csv",
                                                         "float[1]", "seq<int[1]>", "int[0]", "normal"]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
nested = st.recursive(st.one_of(numbers, st.booleans()), lambda inner: st.lists(inner, max_size=4), max_leaves=12)
arrays = st.fixed_dictionaries({"array": nested, "dtype": st.sampled_from(["int64", "float32", "bool", "uint8", "x"]),
                                "shape": st.lists(st.integers(-1, 10**19), max_size=4)})
values = st.one_of(scalars, nested, arrays, st.fixed_dictionaries({"npz": st.text(max_size=8)}))
node_ids = st.sampled_from(["a", "b", "c", "d", "y_true", "loss"])
nodes = st.fixed_dictionaries(
    {"id": node_ids, "type": st.sampled_from(TYPES)},
    optional={"params": st.dictionaries(st.sampled_from(PARAMS), values, max_size=4),
              "name": st.text(min_size=1, max_size=12), "instance": st.sampled_from(["automatic", "array", "zz"]),
              "pos": st.lists(numbers, min_size=0, max_size=3), "state": st.dictionaries(st.text(max_size=4), arrays,
                                                                                        max_size=1)})
connections = st.fixed_dictionaries({"from": st.tuples(node_ids, st.sampled_from(PORTS)).map(list),
                                     "to": st.tuples(node_ids, st.sampled_from(PORTS)).map(list)})
documents = st.one_of(
    st.fixed_dictionaries({"format": st.just("haibal-graph"), "version": st.sampled_from([1, 1, 1, 2, "1"]),
                           "nodes": st.lists(nodes, max_size=5)},
                          optional={"connections": st.lists(connections, max_size=5), "name": st.text(max_size=10),
                                    "subgraphs": st.lists(st.dictionaries(st.text(max_size=5), values, max_size=3),
                                                          max_size=1),
                                    "arrays": st.fixed_dictionaries({"file": st.text(max_size=10),
                                                                     "sha256": st.text(max_size=4)})}),
    st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                 max_leaves=10))


@FUZZ
@given(documents)
def test_fuzzed_graph_documents(doc):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "g.json"
        path.write_text(json.dumps(doc))  # NaN and Infinity as Python writes them: refused cleanly
        all_commands(path)


@FUZZ
@given(st.sampled_from(["scc1.axis", "scc1.from_logits", "scc1.ignore_class", "y_true.default", "y_pred.type",
                        "scc1.nope", "nobody.axis", "y_true.name", "loss.doc", "scc1"]),
       st.one_of(st.text(max_size=40), st.sampled_from(["1e999", "NaN", "-Infinity", "[" * 3000, "[1, [2]]",
                                                        "null", "true", "1.5", "255", '"x"', "{}"])))
def test_fuzzed_set_values(target, value):
    answer("run", SCCE, "--set", f"{target}={value}", *FAST)


def npy_bytes(data: bytes, header: dict | None) -> bytes:
    if header is None:
        return data
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


headers = st.one_of(st.none(), st.fixed_dictionaries({
    "descr": st.sampled_from(["<f8", "<i8", "|b1", "<f4", "|O", "<U3", "V8"]),
    "fortran_order": st.booleans(),
    "shape": st.lists(st.integers(0, 10**13), max_size=3).map(tuple)}))


@FUZZ
@given(st.sampled_from([".npy", ".npz", ".csv", ".txt"]), headers, st.binary(max_size=200),
       st.text(max_size=100), st.booleans())
def test_fuzzed_input_files(suffix, header, data, text, compressed):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"y_true{suffix}"
        if suffix == ".npz":
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED) as zf:
                zf.writestr("y_true.npy", npy_bytes(data, header))
        elif suffix == ".csv":
            path.write_text(text)
        else:
            path.write_bytes(npy_bytes(data, header))
        answer("run", SCCE, "--input", f"y_true={path}", *FAST)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       st.one_of(st.none(), st.integers(0, 10**6)))
def test_fuzzed_snippet_png_bytes(flips, cut):
    data = bytearray(SNIPPET_PNG.read_bytes())
    for where, byte in flips:
        data[where % len(data)] = byte
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dropped.png"
        path.write_bytes(bytes(data))
        for command in ("validate", "run"):
            answer(command, path, *FAST)


@FUZZ
@given(documents)
def test_fuzzed_snippet_documents_in_a_valid_png(graph_doc):
    doc = {"format": "haibal-snippet", "version": 1, "name": "fuzzed", "graph": graph_doc}
    png = embed_snippet(encode_png(np.zeros((2, 2, 3), np.uint8)), json.dumps(doc))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzzed.png"
        path.write_bytes(png)
        for command in ("validate", "info", "run"):
            answer(command, path, *FAST)
