"""``check_node_class(cls)``: the checks every node class must pass, public for plug-in authors.

As scikit-learn's ``check_estimator``: run it on your node classes in your own tests; the
project runs it on every class of its catalog (``tests/test_catalog.py``). It checks that
the class is declared completely (type id, category, display name, help page naming
every port and parameter, typed ports, instances over declared ports, valid parameter
defaults), that every instance can be pinned and is selected for its own input types,
that a node with its defaults round-trips through the saved-graph format (as a document
and as JSON text), and that importing the module that declares it imports no Qt.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import lru_cache

import numpy as np

from .files.graph_format import dumps
from .graph.document import graph_from_document, graph_to_document
from .graph.model import Graph
from .graph.parts import GraphParts
from .node.base import AUTOMATIC, Node, Param, Port
from .node.registry import CATALOG
from .node.types import PortType

__all__ = ["check_node_class"]

_GUI_MODULES = ("Qt", "PySide6", "PySide2", "PyQt5", "PyQt6", "NodeGraphQt", "pyqtgraph", "shiboken6")


def check_node_class(cls: type[Node], *, check_imports: bool = True) -> None:
    """Raise ``AssertionError`` listing every way ``cls`` breaks the node contract."""
    problems: list[str] = []
    for check in (_declaration, _help_page, _ports_and_instances, _params, _selection, _round_trip):
        try:
            problems += check(cls)
        except Exception as exc:  # a check that cannot even run is a failure too
            problems.append(f"{check.__name__.strip('_').replace('_', ' ')}: {type(exc).__name__}: {exc}")
    if check_imports and not problems:
        gui = _gui_modules_imported_by(cls.__module__)
        if gui:
            problems.append(f"importing {cls.__module__} imports GUI modules: {', '.join(gui)}")
    if problems:
        raise AssertionError(f"{getattr(cls, 'type_id', cls)!r} fails {len(problems)} node check(s):\n  - "
                             + "\n  - ".join(problems))


def _declaration(cls) -> list[str]:
    out = []
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        return [f"{cls!r} is not a Node subclass"]
    parts = cls.type_id.split(".")
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        out.append(f"type id {cls.type_id!r} is not dotted identifiers (e.g. myplugin.category.Name)")
    for old in cls.replaces:
        if old == cls.type_id or not all(p.isidentifier() for p in old.split(".")):
            out.append(f"replaces lists {old!r}, not a former type id")
    if not cls.category.strip():
        out.append("no category (the palette folder)")
    if not cls.display_name.strip():
        out.append("no display name")
    return out


def _help_page(cls) -> list[str]:
    out = [] if cls.help.description.strip() else ["no description in its help page"]
    text = cls.help_text()
    if not text.startswith(cls.display_name) or "Input parameters" not in text or "Output parameters" not in text:
        out.append("the help page is not in HAIBAL's form (name, description, input and output parameters)")
    for port in cls.inputs + cls.outputs:
        if f" {port.name} : " not in text:
            out.append(f"port {port.name!r} is missing from the help page")
        if not port.doc.strip():
            out.append(f"port {port.name!r} has no doc")
    for p in cls.params:
        if f" {p.name} : " not in text:
            out.append(f"parameter {p.name!r} is missing from the help page")
    return out


def _ports_and_instances(cls) -> list[str]:
    out = []
    if not cls.instances:
        return ["no instance"]
    ins, outs = [p.name for p in cls.inputs], [p.name for p in cls.outputs]
    if len(set(ins)) != len(ins) or len(set(outs)) != len(outs):
        out.append("two ports share a name")
    for p in cls.inputs + cls.outputs:
        if not isinstance(p, Port) or not isinstance(p.type, PortType):
            out.append(f"port {getattr(p, 'name', p)!r} is not a typed Port")
    names = [i.name for i in cls.instances]
    if len(set(names)) != len(names):
        out.append(f"duplicate instance names {names}")
    if AUTOMATIC in names:
        out.append(f"an instance is named {AUTOMATIC!r}, the selector's own value")
    defaults = {p.name: p.default for p in cls.params}
    for inst in cls.instances:
        if set(inst.inputs) - set(ins):
            out.append(f"instance {inst.name!r} uses undeclared inputs {sorted(set(inst.inputs) - set(ins))}")
        if set(inst.outputs) - set(outs):
            out.append(f"instance {inst.name!r} gives undeclared outputs {sorted(set(inst.outputs) - set(outs))}")
        for port, t in inst.input_types(defaults).items():
            if not isinstance(t, PortType):
                out.append(f"instance {inst.name!r}: the type of input {port!r} is not a PortType")
    for port in cls.inputs:
        if port.required and not any(port.name in i.inputs for i in cls.instances):
            out.append(f"required input {port.name!r} is used by no instance")
    return out


def _params(cls) -> list[str]:
    out = []
    names = [p.name for p in cls.params]
    if len(set(names)) != len(names):
        out.append("two parameters share a name")
    for p in cls.params:
        if not isinstance(p, Param):
            out.append(f"{p!r} is not a Param")
            continue
        if p.default is None and not p.optional:
            out.append(f"parameter {p.name!r} defaults to None but is not optional")
        elif p.default is not None:
            try:
                p.coerce(p.default, cls.type_id)
            except Exception as exc:
                out.append(f"the default of parameter {p.name!r} is refused: {exc}")
        if p.kind == "enum" and (not p.choices or p.default not in p.choices):
            out.append(f"enum parameter {p.name!r} has no choices or a default outside them")
    return out


def _selection(cls) -> list[str]:
    out = []
    node = cls()
    if set(node.values) != {p.name for p in cls.params}:
        out.append("a node made with its defaults does not hold every parameter")
    for inst in cls.instances:
        node.instance = inst.name
        picked = node.select(inst.input_types(node.values)).instance.name
        if picked != inst.name:
            out.append(f"instance {inst.name!r}, pinned, selects {picked!r} for its own input types")
        node.instance = AUTOMATIC
        auto = node.select(inst.input_types(node.values))
        if auto is None:
            out.append(f"no automatic selection for instance {inst.name!r}'s types")
    return out


def _round_trip(cls) -> list[str]:
    """A node with its defaults, saved as JSON text and loaded back, is the same node."""
    registered = cls.type_id in CATALOG and CATALOG.get(cls.type_id) is cls
    local = {} if registered else {cls.type_id: cls}  # a plug-in class checked before it is registered
    graph = Graph.from_parts(GraphParts(), local_types=local)
    node_id = graph.add_node(cls.type_id)
    doc = json.loads(dumps(graph_to_document(graph.to_parts())))
    gn = Graph.from_parts(graph_from_document(doc), local_types=local).nodes[node_id]
    if gn.node is None or type(gn.node) is not cls:
        return [f"a saved node loads back as {gn.type_id!r}, not this class"]
    out = [f"parameters refused when loaded back: {sorted(gn.bad_params)}"] if gn.bad_params else []
    for name, value in graph.nodes[node_id].node.values.items():
        if not _same(value, gn.node.values.get(name)):
            out.append(f"parameter {name!r} changes in a save/load round trip ({value!r} -> "
                       f"{gn.node.values.get(name)!r})")
    if gn.instance != graph.nodes[node_id].instance:
        out.append("the instance changes in a save/load round trip")
    return out


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b)) and np.asarray(a).dtype == np.asarray(b).dtype
    return type(a) is type(b) and a == b


@lru_cache(maxsize=None)
def _gui_modules_imported_by(module: str) -> tuple[str, ...]:
    code = (f"import sys, importlib; importlib.import_module({module!r})\n"
            f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {_GUI_MODULES!r})))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))  # this process's modules
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    if res.returncode != 0:
        return (f"<import failed: {res.stderr.strip().splitlines()[-1] if res.stderr.strip() else res.returncode}>",)
    return tuple(m for m in res.stdout.strip().split(",") if m)
