"""Catalog-wide checks: every registered node class, whoever wrote it, is well declared.

Generic on purpose: the parametrisation is the catalog itself, so nodes added later are
checked too.
"""

import subprocess
import sys

import pytest

import haibal_py.nodes  # noqa: F401  (the built-in catalog)
from haibal_py import CATALOG
from haibal_py.node import Node, Param, Port
from haibal_py.types import PortType

#: HAIBAL's palette categories, plus the graph terminals' and the viewers' categories
PALETTE = {"Losses", "Metrics", "Activations", "Array", "Math", "I/O", "Graph", "Viewers"}
CLASSES = list(CATALOG)


def ids(cls):
    return cls.type_id


@pytest.fixture(params=CLASSES, ids=ids)
def cls(request):
    return request.param


def test_catalog_is_not_empty_and_has_the_palette():
    assert len(CLASSES) >= 50
    assert {"Losses", "Metrics", "Activations", "Array", "Math", "I/O"} <= set(CATALOG.categories())


def test_type_ids_are_unique_and_found_by_id():
    type_ids = [c.type_id for c in CLASSES]
    assert len(type_ids) == len(set(type_ids))
    for cls in CLASSES:
        assert CATALOG.get(cls.type_id) is cls


def test_type_ids_are_dotted_under_haibal(cls):
    parts = cls.type_id.split(".")
    assert len(parts) >= 3 and parts[0] == "haibal" and all(p.isidentifier() for p in parts), cls.type_id


def test_category_and_display_name(cls):
    assert issubclass(cls, Node)
    assert cls.category in PALETTE, f"{cls.type_id}: category {cls.category!r} is not a palette category"
    assert cls.display_name.strip(), f"{cls.type_id} has no display name"


def test_help_text_in_haibal_form(cls):
    assert cls.help.description.strip(), f"{cls.type_id} has no description"
    text = cls.help_text()
    assert text.startswith(cls.display_name)
    assert "Input parameters" in text and "Output parameters" in text
    assert cls.help.description.split()[0] in text
    for port in cls.inputs + cls.outputs:
        assert f" {port.name} : " in text, f"{cls.type_id}: port {port.name!r} missing from the help"
    for p in cls.params:
        assert f" {p.name} : " in text, f"{cls.type_id}: parameter {p.name!r} missing from the help"


def test_ports_params_and_instances_are_declared(cls):
    assert cls.instances, f"{cls.type_id} has no instance"
    port_names = [p.name for p in cls.inputs]
    out_names = [p.name for p in cls.outputs]
    assert len(set(port_names)) == len(port_names) and len(set(out_names)) == len(out_names)
    assert all(isinstance(p, Port) and isinstance(p.type, PortType) for p in cls.inputs + cls.outputs)
    names = [i.name for i in cls.instances]
    assert len(set(names)) == len(names), f"{cls.type_id}: duplicate instance names {names}"
    for inst in cls.instances:
        undeclared = set(inst.inputs) - set(port_names)
        assert not undeclared, f"{cls.type_id}, instance {inst.name!r}: ports {undeclared} not in inputs"
        assert all(isinstance(t, PortType) for t in inst.inputs.values())
        unknown_out = set(inst.outputs) - set(out_names)
        assert not unknown_out, f"{cls.type_id}, instance {inst.name!r}: outputs {unknown_out} not declared"


def test_every_required_input_is_used_by_some_instance(cls):
    for port in cls.inputs:
        if port.required:
            assert any(port.name in i.inputs for i in cls.instances), f"{cls.type_id}: {port.name!r} unused"


def test_param_defaults_are_valid_for_their_param(cls):
    names = [p.name for p in cls.params]
    assert len(set(names)) == len(names)
    for p in cls.params:
        assert isinstance(p, Param)
        if p.default is None:
            assert p.optional, f"{cls.type_id}: parameter {p.name!r} defaults to None but is not optional"
        else:
            p.coerce(p.default, cls.type_id)  # raises ParameterError if the default is not valid
        if p.kind == "enum":
            assert p.choices and p.default in p.choices


def test_a_node_can_be_made_with_its_defaults(cls):
    node = cls()
    assert set(node.values) == {p.name for p in cls.params}
    for inst in cls.instances:  # each instance can be pinned, and selected for its own input types
        node.instance = inst.name
        assert node.select(dict(inst.inputs)).instance.name == inst.name


def test_importing_the_core_and_the_catalog_imports_no_gui_module():
    code = ("import sys, haibal_py, haibal_py.nodes\n"
            "from haibal_py import CATALOG\n"
            "list(CATALOG)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('Qt', 'PySide6', 'PySide2', 'PyQt5', 'PyQt6', 'NodeGraphQt', 'pyqtgraph') or m == 'haibal_py.gui')\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"GUI modules imported by the headless catalog: {out.stdout.strip()}"
