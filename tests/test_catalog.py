"""Catalog-wide checks: every registered node class, whoever wrote it, is well declared.

Generic on purpose: the parametrisation is the catalog itself, so nodes added later are
checked too.
"""

import subprocess
import sys

import pytest

import haibal_py.nodes  # noqa: F401  (the built-in catalog)
from haibal_py import CATALOG
from haibal_py.testing import check_node_class

#: HAIBAL's palette categories, plus the graph terminals', the viewers' and the structures' categories
PALETTE = {"Losses", "Metrics", "Activations", "Array", "Math", "I/O", "Graph", "Viewers", "Layers", "Model",
           "Optimizers", "Training", "Datasets", "Structures"}
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


def test_category_is_a_palette_category(cls):
    assert cls.category in PALETTE, f"{cls.type_id}: category {cls.category!r} is not a palette category"


def test_every_node_class_passes_the_public_node_checks(cls):
    check_node_class(cls, check_imports=False)  # imports: one subprocess for the whole catalog, below


def test_generated_classes_report_their_catalog_module(cls):
    assert cls.__module__.startswith(("haibal_py.nodes.", "haibal_py.graph.")), (cls.type_id, cls.__module__)


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


def test_check_node_class_names_every_problem_of_a_bad_class():
    from haibal_py.node import Instance, Node, Param, Port, PortType

    class Bad(Node):
        type_id = "plugin.Bad"
        category = ""
        display_name = "Bad"
        inputs = (Port("x", PortType("float"), ""),)
        params = (Param("k", "int", None, "k."), Param("mode", "enum", "c", "mode.", choices=("a", "b")))
        instances = (Instance("one", {"x": PortType("float"), "y": PortType("float")}, {"out": PortType("float")},
                              lambda node, values: {}),)

    with pytest.raises(AssertionError) as info:
        check_node_class(Bad, check_imports=False)
    text = str(info.value)
    for part in ("no category", "no description", "port 'x' has no doc", "undeclared inputs ['y']",
                 "undeclared outputs ['out']", "'k' defaults to None but is not optional",
                 "'mode' has no choices or a default outside them"):
        assert part in text, part


def test_check_node_class_passes_a_plugin_class_not_yet_registered():
    from haibal_py.node import HelpText, Instance, Node, Param, Port, PortType

    class Twice(Node):
        type_id = "plugin.math.Twice"
        category = "Math"
        display_name = "Twice"
        help = HelpText("Doubles its input.")
        inputs = (Port("x", PortType("float"), "the value."),)
        outputs = (Port("y", PortType("float"), "twice the value."),)
        params = (Param("scale", "float", 2.0, "the factor."),)
        instances = (Instance("any", {"x": PortType("float")}, {"y": PortType("float")},
                              lambda node, values: {"y": values["x"] * node["scale"]}),)

    check_node_class(Twice)  # registers nothing, imports no Qt
    assert "plugin.math.Twice" not in CATALOG
