"""The editor's own rules (architecture issue 10.9), checked on the source with ``ast``:

- the window imports none of the features (``editor.new_window`` installs them);
- no lookups of menus by their text;
- no other object's private members (``x._y`` only on ``self``, ``cls``, ``super()``): NodeGraphQt is used
  through its public API and subclasses, never patched;
- no assignment to an attribute of an imported module or class (no monkey-patching, no
  module-global switches flipped by another module);
- process-wide interpreter settings: none, but the collector paused during runs by the
  window's ``_CollectorPause`` (measured and explained there).

The negative tests show each rule catching a small offending module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parents[1] / "gui"
FEATURES = {"snippet_panel", "subgraphs", "snippets", "structures"}


def _imported_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def violations(name: str, source: str) -> list[str]:
    """Every break of the rules above in one module's source."""
    tree = ast.parse(source)
    found = []
    imported = _imported_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and name == "window":
            mods = {node.module or ""} | {a.name for a in node.names}
            if mods & FEATURES:
                found.append(f"{name}: the window imports a feature ({sorted(mods & FEATURES)})")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            base = node.value
            own = (isinstance(base, ast.Name) and base.id in ("self", "cls")) or (
                isinstance(base, ast.Call) and ast.unparse(base.func) == "super")
            if not own:
                found.append(f"{name}:{node.lineno}: private member {ast.unparse(node)}")
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in imported:
                    found.append(f"{name}:{node.lineno}: assigns {ast.unparse(t)} of an import")
        if isinstance(node, ast.Call):
            text = ast.unparse(node.func)
            if text.endswith("menuBar().actions"):
                found.append(f"{name}:{node.lineno}: looks menus up by their text")
            if text in ("sys.setswitchinterval", "gc.disable", "gc.enable", "gc.freeze") and name != "window":
                found.append(f"{name}:{node.lineno}: changes process-wide state ({text})")
    return found


@pytest.mark.parametrize("path", sorted(GUI.glob("*.py")), ids=lambda p: p.name)
def test_gui_module_follows_the_editor_rules(path):
    assert violations(path.stem, path.read_text(encoding="utf-8")) == []


def test_the_collector_is_paused_in_one_place_only():
    tree = ast.parse((GUI / "window.py").read_text(encoding="utf-8"))
    owners, calls = set(), set()
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        for call in [n for n in ast.walk(cls) if isinstance(n, ast.Call)]:
            text = ast.unparse(call.func)
            if text.startswith(("gc.", "sys.set")) and text != "gc.isenabled":
                owners.add(cls.name)
                calls.add(text)
    assert owners == {"_CollectorPause"} and calls == {"gc.disable", "gc.enable"}


@pytest.mark.parametrize("source, rule", [
    ("from .snippet_panel import install\n", "imports a feature"),
    ("def f(bar):\n    for a in bar.menuBar().actions():\n        pass\n", "menus up by their text"),
    ("def f(viewer):\n    return viewer._scene_range\n", "private member"),
    ("from NodeGraphQt.widgets.node_widgets import _NodeGroupBox\n_NodeGroupBox.setTitleAlign = None\n",
     "assigns"),
    ("from . import adapter\nadapter.EMBED_WIDGETS = False\n", "assigns"),
    ("import sys\nsys.setswitchinterval(0.001)\n", "process-wide"),
])
def test_each_rule_catches_an_offence(source, rule):
    found = violations("window" if "feature" in rule else "canvas", source)
    assert any(rule in v for v in found), found
