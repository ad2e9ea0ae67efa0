"""Port type descriptors: text form, wiring checks, run-time values."""

import numpy as np
import pytest

from haibal_py.node.types import ANY, Batches, PortType


@pytest.mark.parametrize("text", ["float[2]", "int[1+]", "float[2..6]", "seq<float[1+]>", "any", "bool", "str[0]"])
def test_text_form_round_trips(text):
    assert str(PortType.parse(text)) == text


@pytest.mark.parametrize("text", ["floaty", "float[", "seq<float", "float[2..]", ""])
def test_bad_text_is_refused(text):
    with pytest.raises(ValueError):
        PortType.parse(text)


def test_same_kind_overlapping_ranks_wire_cleanly():
    res = PortType.parse("float[3]").check(PortType.parse("float[2+]"))
    assert res.ok and not res.coerced


def test_int_into_float_is_a_coercion():
    res = PortType.parse("int[1]").check(PortType.parse("float[1+]"))
    assert res.ok and res.coerced


def test_rank_mismatch_is_broken_with_reason():
    res = PortType.parse("float[3]").check(PortType.parse("float[1]"))
    assert not res.ok
    assert "float[3]" in res.reason and "float[1]" in res.reason


def test_bool_and_str_do_not_become_numbers():
    assert not PortType.parse("bool[1]").check(PortType.parse("float[1]")).ok
    assert not PortType.parse("str[0]").check(PortType.parse("int[0]")).ok


def test_any_matches_everything():
    assert ANY.check(PortType.parse("int[0]")).ok
    assert PortType.parse("seq<float[2]>").check(ANY).ok


def test_sequence_feeds_only_sequence_ports_but_a_plain_array_is_one_batch():
    seq = PortType.parse("seq<float[2]>")
    assert not seq.check(PortType.parse("float[2+]")).ok
    assert PortType.parse("float[2]").check(PortType.parse("seq<float[1+]>")).ok


def test_of_value():
    assert str(PortType.of_value(np.zeros((2, 3), np.float32))) == "float[2]"
    assert str(PortType.of_value([1, 2])) == "int[1]"
    assert str(PortType.of_value(3.0)) == "float[0]"
    assert str(PortType.of_value(np.uint8(3))) == "int[0]"
    assert str(PortType.of_value(np.array([True]))) == "bool[1]"
    assert str(PortType.of_value(Batches([np.zeros((4, 3))]))) == "seq<float[2]>"
    assert PortType.of_value([[1], [2, 3]]).kind == "any"  # ragged: unknown, decided at run time
