"""Snippet templates: selection -> template -> files -> insert/run, and every refusal on bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from haibal_py.graph import Graph
from haibal_py.files.png_chunks import SnippetError, encode_png, extract_snippet, read_chunks
from haibal_py.runtime import Runtime
from haibal_py.snippets import (FORMAT, VERSION, Snippet, insert_snippet, load_runnable, load_snippet,
                                snippet_node_class, snippet_paths)

from reference import LABELS, LOGITS, scce_from_logits

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"


def source_graph() -> Graph:
    """logits -> SoftMax -> SCCE(y_true) -> loss, plus a second output of the probabilities."""
    g = Graph("source")
    lg = g.add_input("logits", default=LOGITS, type="float[2]", pos=(0, 0))
    yt = g.add_input("labels", default=LABELS, type="int[1]", pos=(0, 120))
    sm = g.add_node("haibal.activations.SoftMax", pos=(200, 0))
    sc = g.add_node(SCCE, pos=(400, 40))
    g.connect(lg, "value", sm, "x")
    g.connect(sm, "result", sc, "y_pred")
    g.connect(yt, "value", sc, "y_true")
    g.connect(sc, "result", g.add_output("loss", pos=(600, 40)), "value")
    g.connect(sm, "result", g.add_output("probs", pos=(600, 200)), "value")
    return g


def make_snippet() -> Snippet:
    g = source_graph()
    sm, sc = g.resolve("SoftMax"), [gid for gid, gn in g.nodes.items() if gn.type_id == SCCE][0]
    return Snippet.from_selection(g, [sm, sc], "scce via softmax", "SCCE of logits through a softmax",
                                  "Metrics", expose={"from_logits": (sc, "from_logits")})


def test_from_selection_makes_terminals_with_defaults_and_types():
    sn = make_snippet()
    assert list(sn.inputs) == ["logits", "labels"]
    assert list(sn.outputs) == ["loss", "probs"]
    assert np.array_equal(sn.input_default("logits"), LOGITS)
    assert np.array_equal(sn.input_default("labels"), LABELS)
    g = sn.graph
    assert g.nodes[sn.inputs["logits"]].params["type"] == "float[2]"
    assert g.nodes[sn.inputs["labels"]].params["type"] == "int[1]"
    assert sn.param_default("from_logits") is False
    assert g.validate() == []
    src = {name: g.nodes[next(c.src for c in g.connections if c.dst == gid)].type_id
           for name, gid in sn.outputs.items()}
    assert src == {"loss": SCCE, "probs": "haibal.activations.SoftMax"}


def test_snippet_runs_like_the_source_graph():
    want = Runtime(source_graph()).run().outputs["loss"]
    got = Runtime(make_snippet().runnable()).run().outputs["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, scce_from_logits(LABELS, LOGITS), rtol=1e-6)


def test_from_selection_uses_last_run_values_and_explicit_defaults():
    g = source_graph()
    values = Runtime(g).run().values
    sc = [gid for gid, gn in g.nodes.items() if gn.type_id == SCCE][0]
    sn = Snippet.from_selection(g, [sc], "scce", values=values)
    probs = sn.input_default("y_pred")
    np.testing.assert_allclose(probs.sum(axis=-1), [1.0, 1.0])
    sn2 = Snippet.from_selection(g, [sc], "scce", defaults={"y_pred": [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]})
    # Keras clips probabilities to [1e-7, 1 - 1e-7]: agreement to 1e-5 with the exact -log(p)
    np.testing.assert_allclose(Runtime(sn2.runnable()).run().outputs["loss"], [-math.log(0.95), -math.log(0.1)],
                               rtol=1e-5)
    with pytest.raises(SnippetError, match=r"defaults given for \['nope'\]"):
        Snippet.from_selection(g, [sc], "scce", defaults={"nope": 1})
    with pytest.raises(SnippetError, match="at least one"):
        Snippet.from_selection(g, [], "scce")
    with pytest.raises(SnippetError, match="snippet name"):
        Snippet.from_selection(g, [sc], "../evil")
    with pytest.raises(SnippetError, match="has no parameter 'nope'"):
        Snippet.from_selection(g, [sc], "scce", expose={"p": (sc, "nope")})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exposed_param_and_input_override(dtype):
    sn = make_snippet()
    probs = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]], dtype)
    logits = np.log(np.clip(probs, 1e-30, None)).astype(dtype)
    res = Runtime(sn.runnable()).run(inputs={"logits": logits, "labels": np.array([1, 2])}).outputs["loss"]
    np.testing.assert_allclose(res, [-math.log(0.95), -math.log(0.1)], rtol=1e-5)
    with pytest.raises(SnippetError, match="no parameter 'axis'"):
        sn.runnable(params={"axis": 0})


def test_files_carry_bit_identical_json(tmp_path):
    sn = make_snippet()
    jpath, ppath = sn.save(tmp_path)
    assert jpath.name == "scce_via_softmax.snippet.json" and ppath.name == "scce_via_softmax.png"
    text = jpath.read_bytes()
    assert extract_snippet(ppath.read_bytes()).encode("utf-8") == text
    doc = json.loads(text)
    assert doc["format"] == FORMAT and doc["version"] == VERSION and doc["graph"]["format"] == "haibal-graph"
    assert doc["params"] == [{"name": "from_logits", "node": sn.params[0].node, "param": "from_logits"}]
    for path in (jpath, ppath):
        back = load_snippet(path)
        assert back.to_json().encode("utf-8") == text
        assert back.name == "scce via softmax" and back.category == "Metrics"
    assert snippet_paths(tmp_path) == [ppath]
    assert [c.name for c in read_chunks(ppath.read_bytes())][-2:] == ["iTXt", "IEND"]


def test_save_with_given_picture(tmp_path):
    sn = make_snippet()
    pic = encode_png(np.full((10, 20, 4), 200, np.uint8))
    _, ppath = sn.save(tmp_path, picture=pic)
    assert read_chunks(ppath.read_bytes())[0] == read_chunks(pic)[0]


def test_round_trip_insert_into_another_graph_same_results(tmp_path):
    _, ppath = make_snippet().save(tmp_path)
    target = Graph("target")
    other = target.add_node("haibal.activations.ReLU", pos=(0, 0), id="sm1")  # an id the snippet also uses
    before = Runtime(source_graph()).run().outputs["loss"]
    mapping = insert_snippet(target, load_snippet(ppath), at=(1000, 500))
    assert other in target.nodes and mapping["sm1"] != "sm1"
    assert set(mapping.values()) <= set(target.nodes)
    xs = [target.nodes[n].pos for n in mapping.values()]
    assert min(p[0] for p in xs) == 1000 and min(p[1] for p in xs) == 500
    target.remove_node(other)
    np.testing.assert_allclose(Runtime(target).run().outputs["loss"], before, rtol=1e-12)


def test_insert_name_clash_leaves_graph_unchanged():
    sn = make_snippet()
    target = Graph("t")
    insert_snippet(target, sn, at=(0, 0))
    doc, rev, n = target.to_dict(), target.revision, len(target.connections)
    with pytest.raises(SnippetError, match="already has an input named 'labels'.* and an input named 'logits'"):
        insert_snippet(target, sn, at=(0, 0))
    assert target.to_dict() == doc and target.revision == rev and len(target.connections) == n
    mapping = insert_snippet(target, sn, at=(0, 300), on_clash="rename")
    assert sorted(target.inputs) == ["labels", "labels_2", "logits", "logits_2"]
    assert target.nodes[mapping[sn.inputs["logits"]]].name == "logits_2"
    res = Runtime(target).run().outputs
    np.testing.assert_allclose(res["loss"], res["loss_2"])


def test_insert_failure_midway_rolls_back(monkeypatch):
    sn = make_snippet()
    target = source_graph()
    doc, rev = target.to_dict(), target.revision
    calls = {"n": 0}
    real = Graph._node_from_spec

    def failing(self, *a, **k):  # the second node of the snippet cannot be made: the first is in already
        calls["n"] += 1
        if calls["n"] == 2:
            from haibal_py.graph import GraphError
            raise GraphError("boom")
        return real(self, *a, **k)

    monkeypatch.setattr(Graph, "_node_from_spec", failing)
    with pytest.raises(SnippetError, match="boom"):
        insert_snippet(target, sn, on_clash="rename")
    monkeypatch.undo()
    assert target.to_dict() == doc and target.revision == rev
    assert Runtime(target).run().ok


def _doc(**changes):
    doc = json.loads(make_snippet().to_json())
    doc.update(changes)
    return doc


def test_unknown_node_type_refused(tmp_path):
    doc = _doc()
    doc["graph"]["nodes"][2]["type"] = "acme.nodes.Teleport"
    p = tmp_path / "bad.snippet.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(SnippetError, match="does not know: acme.nodes.Teleport"):
        load_snippet(p)


def test_newer_version_and_wrong_format(tmp_path):
    p = tmp_path / "new.snippet.json"
    p.write_text(json.dumps(_doc(version=2)))
    with pytest.raises(SnippetError, match="version 2 is newer than this haibal-py reads"):
        load_snippet(p)
    p.write_text(json.dumps(_doc(format="haibal-graph")))
    with pytest.raises(SnippetError, match="not a haibal snippet"):
        load_snippet(p)
    p.write_text("{not json")
    with pytest.raises(SnippetError, match="not valid JSON"):
        load_snippet(p)
    p.write_text(json.dumps(_doc(params=[{"name": "a", "node": "nowhere", "param": "axis"}])))
    with pytest.raises(SnippetError, match="refers to node 'nowhere'"):
        load_snippet(p)
    with pytest.raises(SnippetError, match="cannot read snippet file"):
        load_snippet(tmp_path / "missing.png")


def test_bad_param_value_refused(tmp_path):
    doc = _doc()
    node = next(n for n in doc["graph"]["nodes"] if n["type"] == SCCE)
    node["params"]["from_logits"] = "maybe"
    p = tmp_path / "bad.snippet.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(SnippetError, match="bad parameter values"):
        load_snippet(p)


def test_infinity_inline_is_refused_on_load():
    """JSON's non-standard Infinity is refused when the text is read; a document built in
    Python keeps every array inline too: refused when reading, not later when written back."""
    doc = json.loads(make_snippet().to_json())
    node = next(n for n in doc["graph"]["nodes"] if n["params"].get("default"))
    node["params"]["default"]["array"][0][0] = float("inf")
    with pytest.raises(SnippetError, match="Infinity is not a JSON number"):
        Snippet.from_json(json.dumps(doc))
    with pytest.raises(SnippetError, match=rf"{node['id']}\.default.*NaN or infinity"):
        Snippet.from_dict(doc)


def test_png_without_snippet(tmp_path):
    p = tmp_path / "photo.png"
    p.write_bytes(encode_png(np.zeros((4, 4, 3), np.uint8)))
    with pytest.raises(SnippetError) as err:
        load_snippet(p)
    assert str(err.value) == "this image carries no haibal snippet"


def test_corrupt_png_snippet_names_file(tmp_path):
    p = tmp_path / "x.png"
    data = bytearray(make_snippet().placeholder())
    data[-20] ^= 1
    p.write_bytes(bytes(data))
    with pytest.raises(SnippetError, match=r"^x\.png: corrupt PNG"):
        load_snippet(p)


def test_loading_never_executes_code(tmp_path, monkeypatch):
    """A snippet naming a Python-looking type is refused by name; nothing is imported or run."""
    import sys
    doc = _doc()
    doc["graph"]["nodes"][2]["type"] = "os.system"
    p = tmp_path / "evil.snippet.json"
    p.write_text(json.dumps(doc))
    before = set(sys.modules)
    with pytest.raises(SnippetError, match="os.system"):
        load_snippet(p)
    assert set(sys.modules) - before == set()


def test_composite_node_runs_inner_graph():
    sn = make_snippet()
    cls = snippet_node_class(sn)
    assert [p.name for p in cls.inputs] == ["logits", "labels"]
    assert [p.name for p in cls.outputs] == ["loss", "probs"]
    assert [p.name for p in cls.params] == ["from_logits"]
    node = cls()
    np.testing.assert_allclose(node()["loss"], scce_from_logits(LABELS, LOGITS), rtol=1e-6)
    logits = [[0.0, 3.0, 1.0], [2.0, 0.0, 0.5]]
    np.testing.assert_allclose(node(logits=logits, labels=[0, 2])["loss"], scce_from_logits([0, 2], logits), rtol=1e-6)
    assert cls.type_id == "haibal.snippet.scce_via_softmax"


def test_composite_node_in_a_graph():
    from haibal_py.node.registry import CATALOG
    sn = Snippet.from_selection(source_graph(), ["sm1"], "softmax only")
    cls = snippet_node_class(sn, type_id="test.snippet.softmax_only")
    CATALOG.register(cls)
    g = Graph()
    n = g.add_node(cls.type_id)
    g.connect(g.add_input("z", default=[[0.0, 0.0]]), "value", n, "logits")
    g.connect(n, "result", g.add_output("p"), "value")
    np.testing.assert_allclose(Runtime(g).run().outputs["p"], [[0.5, 0.5]])


def test_load_runnable(tmp_path):
    jpath, ppath = make_snippet().save(tmp_path)
    for p in (jpath, ppath):
        g = load_runnable(p)
        assert g.base_dir == tmp_path.resolve()
        np.testing.assert_allclose(Runtime(g).run().outputs["loss"], scce_from_logits(LABELS, LOGITS), rtol=1e-6)


# ---------------------------------------------------------------------------------- fuzzing
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_VALID_DOC = json.loads(make_snippet().to_json())
_json_values = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, width=32)
                            | st.text(max_size=8),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                          max_size=3), max_leaves=8)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


_ALL_PATHS = [p for p in _paths(_VALID_DOC) if p]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _json_values), min_size=1, max_size=3))
def test_fuzz_mutated_documents_raise_only_snippet_error(edits):
    doc = json.loads(json.dumps(_VALID_DOC))
    for path, value in edits:
        target = doc
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    try:
        sn = Snippet.from_dict(doc)
    except SnippetError:
        return
    assert isinstance(sn.to_json(), str)
    target = source_graph()
    before = target.to_dict()
    try:  # an accepted snippet either inserts or is refused cleanly, the graph untouched
        insert_snippet(target, sn, at=(0, 0), on_clash="error")
    except SnippetError:
        assert target.to_dict() == before
    try:
        sn.runnable()
    except SnippetError:
        pass


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_fuzz_any_json_raises_only_snippet_error(value):
    with pytest.raises(SnippetError):
        Snippet.from_json(json.dumps(value))
