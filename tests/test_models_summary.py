"""``model.summary()`` prints Keras 3's text exactly; ``summary_rows`` gives the same rows as data."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import summary_cases
from haibal_py import layers, models
from haibal_py.errors import LayerError

REFS = json.loads((Path(__file__).parent / "reference" / "keras_summaries.json").read_text(encoding="utf-8"))
API = SimpleNamespace(layers=layers, Input=layers.Input, Model=models.Model, Sequential=models.Sequential)


@pytest.mark.parametrize("columns", [str(c) for c in summary_cases.COLUMNS])
@pytest.mark.parametrize("case", sorted(summary_cases.CASES))
def test_summary_text_is_keras_text(case, columns, monkeypatch):
    monkeypatch.setenv("COLUMNS", columns)
    model, kwargs = summary_cases.CASES[case](API)
    printed = []
    model.summary(print_fn=printed.append, **kwargs)
    assert len(printed) == 1
    assert printed[0] == REFS["columns"][columns][case]


def test_summary_prints_to_stdout_without_print_fn(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    model, _ = summary_cases.sequential_mlp(API)
    model.summary()
    assert capsys.readouterr().out == REFS["columns"]["80"]["sequential_mlp"]


def test_summary_rows_are_data_for_the_editor():
    model, _ = summary_cases.functional_shared_merges(API)
    rows = model.summary_rows()
    assert [(r.name, r.class_name, r.output_shape, r.params) for r in rows] == [
        ("a", "InputLayer", "(None, 5)", 0), ("b", "InputLayer", "(None, 5)", 0),
        ("shared", "Dense", "(None, 5)", 30), ("add", "Add", "(None, 5)", 0),
        ("concatenate", "Concatenate", "(None, 10)", 0), ("head", "Dense", "(None, 3)", 33)]
    assert rows[3].connected_to == ["shared[0][0]", "shared[1][0]"]
    assert rows[2].trainable is True and rows[0].trainable is None
    unbuilt, _ = summary_cases.sequential_unbuilt(API)
    assert unbuilt.summary_rows()[0].params is None and unbuilt.summary_rows()[0].output_shape == "?"


def test_summary_refuses_a_layer_range_that_matches_nothing():
    model, _ = summary_cases.sequential_mlp(API)
    with pytest.raises(LayerError, match="matches no layer"):
        model.summary(layer_range=["nope", "out"], print_fn=lambda s: None)
