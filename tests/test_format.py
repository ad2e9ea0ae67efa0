"""The saved-graph format: round trips, the schema, arrays, atomic saves, hostile documents."""

from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haibal_py.errors import HaibalError
from haibal_py.graph import Graph
from haibal_py.files.graph_format import (GraphFormatError, _conforms, arrays_path, check_document, npz_files_of,
                                         schema)
from haibal_py.runtime import Runtime

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"


def small_graph() -> Graph:
    g = Graph("demo", "a small graph")
    g.add_input("y_true", default=np.array([1, 2]), type="int[1]", doc="labels", pos=(0, 10))
    g.add_input("y_pred", default=np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], dtype=np.float32),
                type="float[2]")
    loss = g.add_node(SCCE, "loss node", params={"from_logits": False, "ignore_class": 0}, instance="array",
                      pos=(200.5, -3))
    g.connect("y_true", "value", loss, "y_true")
    g.connect("y_pred", "value", loss, "y_pred")
    g.connect(loss, "result", g.add_output("loss"), "value")
    g.editor = {"zoom": 1.5}
    return g


def test_round_trip_keeps_everything(tmp_path):
    g = small_graph()
    path = tmp_path / "demo.json"
    g.save(path)
    doc = json.loads(path.read_text())
    assert doc["format"] == "haibal-graph" and doc["version"] == 1
    jsonschema.validate(doc, schema())  # what we write is what we promise
    h = Graph.load(path)
    assert h.to_dict() == g.to_dict()
    assert h["scc1"].pos == (200.5, -3.0) and h["scc1"].instance == "array" and h["scc1"].name == "loss node"
    assert h.editor == {"zoom": 1.5} and h.base_dir == tmp_path
    y_pred = h["y_pred"].params["default"]
    assert y_pred.dtype == np.float32 and y_pred.shape == (2, 3)
    np.testing.assert_array_equal(Runtime(h).run().outputs["loss"], Runtime(g).run().outputs["loss"])
    assert npz_files_of(path) == [] and "arrays" not in doc  # small arrays are inline


def test_large_arrays_go_to_a_sibling_npz(tmp_path):
    g = Graph()
    big = np.arange(1000, dtype=np.float32).reshape(10, 100)
    odd = np.array([1.0, np.nan, np.inf])  # JSON cannot hold these: also in the .npz
    c = g.add_node("haibal.io.Constant", params={"value": big})
    d = g.add_node("haibal.io.Constant", params={"value": odd})
    path = tmp_path / "g.json"
    g.save(path)
    doc = json.loads(path.read_text())
    assert doc["nodes"][0]["params"]["value"] == {"npz": f"{c}.value"}
    assert doc["nodes"][1]["params"]["value"] == {"npz": f"{d}.value"}
    h = Graph.load(path)
    np.testing.assert_array_equal(h[c].params["value"], big)
    np.testing.assert_array_equal(h[d].params["value"], odd)
    (npz,) = npz_files_of(path)
    assert doc["arrays"]["file"] == npz.name
    npz.unlink()
    with pytest.raises(GraphFormatError, match="array file is missing"):
        Graph.load(path)


def test_a_pickled_npz_is_refused(tmp_path):
    g = Graph()
    c = g.add_node("haibal.io.Constant", params={"value": np.arange(100.0)})
    path = tmp_path / "g.json"
    g.save(path)
    doc = json.loads(path.read_text())
    del doc["arrays"]  # a file of the older form: its arrays in <stem>.arrays.npz
    path.write_text(json.dumps(doc))
    np.savez(arrays_path(path), **{f"{c}.value": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(GraphFormatError, match="holds Python objects"):
        Graph.load(path)


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "g.json"
    small_graph().save(path)
    before = path.read_bytes()
    g = small_graph()
    g.set_param("scc1", "axis", -1)
    g.nodes["scc1"].node.values["axis"] = float("nan")  # cannot be written as JSON
    with pytest.raises(HaibalError):
        g.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]


@pytest.mark.parametrize("text, message", [
    (b"{not json", "not valid JSON (line 1, column 2"),
    (b"\xff\xfe\x00", "not a text (UTF-8) JSON file"),
    (b"[1, 2, 3]", "not a haibal graph"),
    (b'{"format": "other", "version": 1}', "not a haibal graph"),
    (b'{"format": "haibal-graph", "version": 3, "nodes": []}', "version 3, made by a newer haibal-py"),
    (b'{"format": "haibal-graph", "version": 0, "nodes": []}', "unknown graph format version 0"),
    (b'{"format": "haibal-graph", "version": "1", "nodes": []}', 'no valid "version"'),
    (b'{"format": "haibal-graph", "version": 1}', "'nodes' is a required property"),
    (b'{"format": "haibal-graph", "version": 1, "nodes": [{"id": "1a", "type": "x"}]}', "document.nodes[0].id"),
    (b'{"format": "haibal-graph", "version": 1, "nodes": [], "script": "import os"}', "Additional properties"),
    (b'{"format": "haibal-graph", "version": 1, "nodes": [{"id": "a", "type": "t"}, {"id": "a", "type": "t"}]}',
     "node id 'a' is used twice"),
])
def test_bad_documents_get_a_clear_message(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    with pytest.raises(GraphFormatError) as info:
        Graph.load(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert path.read_bytes() == text  # untouched


def test_missing_graph_file(tmp_path):
    with pytest.raises(GraphFormatError, match="no such graph file"):
        Graph.load(tmp_path / "nope.json")


def test_an_inline_array_must_match_its_shape():
    doc = {"format": "haibal-graph", "version": 1, "nodes": [
        {"id": "c", "type": "haibal.io.Constant",
         "params": {"value": {"array": [[1, 2], [3]], "dtype": "float32", "shape": [2, 2]}}}]}
    with pytest.raises(GraphFormatError, match="node 'c', parameter 'value'"):
        Graph.from_dict(doc)
    doc["nodes"][0]["params"]["value"] = {"array": [1, 2, 3], "dtype": "int8", "shape": [2]}
    with pytest.raises(GraphFormatError, match=r"has shape \[3\], but \"shape\" says \[2\]"):
        Graph.from_dict(doc)


def test_unknown_types_are_kept_and_saved_back(tmp_path):
    doc = {"format": "haibal-graph", "version": 1, "nodes": [
        {"id": "p", "type": "plugin.Thing", "name": "thing", "params": {"k": [1, 2]}, "instance": "fast"}]}
    g = Graph.from_dict(doc)
    assert [p.code for p in g.validate()] == ["unknown-type"]
    g.save(tmp_path / "g.json")
    back = json.loads((tmp_path / "g.json").read_text())["nodes"][0]
    assert back == {"id": "p", "type": "plugin.Thing", "name": "thing", "params": {"k": [1, 2]},
                    "instance": "fast"}


# ---------------------------------------------------------------------------- hypothesis
# Documents near the valid ones (so loading gets deep) and arbitrary JSON (so it fails early).
_ids = st.one_of(st.sampled_from(["a", "b", "c1", "d_2", "y_true", "e-3"]),
                 st.sampled_from(["a", "b", "c1", "d_2", "y_true", "e-3"]), st.sampled_from(["bad id", "", "9"]))
_ports = st.sampled_from(["value", "result", "y_true", "y_pred", "sample_weight", "x", "nope"])
_types = st.sampled_from([SCCE, "haibal.io.Constant", "haibal.io.RandomSource", "haibal.io.GraphInput",
                          "haibal.io.GraphOutput", "haibal.viewers.ValueDisplay", "haibal.io.ReadFile",
                          "no.such.Type", ""])
_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)
_numbers = st.recursive(st.one_of(st.integers(-300, 300), st.floats(-1e3, 1e3), st.booleans()),
                        lambda inner: st.lists(inner, max_size=3), max_leaves=8)
_param_value = st.one_of(
    _numbers, st.none(), st.text(max_size=8), st.sampled_from(["int[1]", "float[2+]", "seq<float[2]>", "1, 2"]),
    st.fixed_dictionaries({"array": _numbers, "dtype": st.sampled_from(["float32", "int8", "bool", "uint8"]),
                           "shape": st.lists(st.integers(0, 3), max_size=3)}),
    st.fixed_dictionaries({"npz": st.sampled_from(["a.value", "k"])}),
    _json)
_node = st.fixed_dictionaries(
    {"id": _ids, "type": _types},
    optional={"name": st.sampled_from(["n", "y_true", "loss", "x"]),
              "instance": st.sampled_from(["automatic", "array", "batch", "bogus"]),
              "params": st.dictionaries(st.sampled_from(["from_logits", "axis", "ignore_class", "value", "shape",
                                                         "type", "default", "seed", "path", "junk"]),
                                        _param_value, max_size=3),
              "pos": st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=2)})
_conn = st.fixed_dictionaries({"from": st.tuples(_ids, _ports).map(list), "to": st.tuples(_ids, _ports).map(list)})
_good = st.fixed_dictionaries(
    {"format": st.just("haibal-graph"), "version": st.just(1), "nodes": st.lists(_node, max_size=6, unique_by=lambda n: n["id"])},
    optional={"connections": st.lists(_conn, max_size=8), "name": st.text(max_size=5),
              "editor": st.dictionaries(st.text(max_size=3), _json, max_size=2)})


@st.composite
def _broken(draw):
    """A near-valid document with one part replaced by arbitrary JSON."""
    doc = draw(_good)
    key = draw(st.sampled_from(["format", "version", "nodes", "connections", "name", "extra"]))
    doc[key] = draw(_json)
    return doc


_document = st.one_of(_good, _good, _broken(), _json)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_document)
def test_random_documents_load_or_raise_the_projects_error(doc):
    try:
        g = Graph.from_dict(doc)
    except GraphFormatError:
        return
    # a loaded graph can always be validated, and a valid one checked by the schema again
    problems = g.validate()
    assert all(isinstance(str(p), str) for p in problems)
    try:
        again = g.to_dict()
    except GraphFormatError:
        return  # e.g. a refused value kept as read that JSON cannot hold
    if not any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(again)):
        check_document(json.loads(json.dumps(again)))


def _leaves(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _leaves(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v)
    else:
        yield obj


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_load_or_raise_the_projects_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "g.json"
    path.write_bytes(data)
    try:
        Graph.load(path)
    except GraphFormatError:
        pass


@settings(max_examples=400, deadline=None)
@given(_document)
def test_the_fast_check_accepts_nothing_the_schema_refuses(doc):
    valid = not list(jsonschema.Draft202012Validator(schema()).iter_errors(doc))
    if _conforms(doc):
        assert valid
    elif valid and isinstance(doc, dict) and doc.get("version") == 1 and type(doc.get("version")) is int:
        # the only documents the fast check refuses beyond the schema
        with pytest.raises(GraphFormatError, match="strict form"):
            check_document(doc)
