"""One direction of imports (docs/architecture.md), checked on the source with ``ast``.

Every import counts, also one inside a function. A module may import modules of its own
layer or of the layers listed before it; no two modules may import each other, even
through others. The negative tests below build a small package with a cycle and an
upward import, and show both reported: e.g.

    haibal_py.files.atomic imports haibal_py.graph.model (layer graph, above files)
    cycle: haibal_py.graph.a -> haibal_py.graph.b -> haibal_py.graph.a
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (source folder, installed package name)
PACKAGES = ((ROOT / "haibal_py", "haibal_py"), (ROOT / "nodes", "haibal_py.nodes"), (ROOT / "gui", "haibal_py.gui"))
#: layers, lowest first; a module belongs to the longest prefix that names it
LAYERS = (
    ("errors", ("haibal_py.errors",)),
    ("files", ("haibal_py.files",)),
    ("numeric", ("haibal_py.numeric",)),
    ("node", ("haibal_py.node",)),
    ("graph", ("haibal_py.graph",)),
    ("runtime", ("haibal_py.runtime",)),
    ("api", ("haibal_py",)),  # the package, its Keras-style modules, cli, testing, distributed, onnx
    ("catalog", ("haibal_py.nodes",)),
    ("editor", ("haibal_py.gui",)),
)
#: inside the numeric layer, the same rule between its parts
NUMERIC = (
    ("base", ("haibal_py.numeric.arrays", "haibal_py.numeric.keras_api", "haibal_py.numeric.kernels")),
    ("functions", ("haibal_py.numeric",)),  # activations, losses, metrics and their bases
    ("weights", ("haibal_py.numeric.initializers", "haibal_py.numeric.regularizers")),
    ("layers", ("haibal_py.numeric.layers",)),
    ("optimizers", ("haibal_py.numeric.optimizers",)),
    ("models", ("haibal_py.numeric.models", "haibal_py.numeric.callbacks", "haibal_py.numeric.datasets",
                "haibal_py.numeric.training")),
)


def modules(packages) -> dict[str, Path]:
    found = {}
    for folder, name in packages:
        for f in sorted(Path(folder).rglob("*.py")):
            parts = [name] + list(f.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = f
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports (every import statement)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            wanted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else (node.module or "")
            wanted = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for target in wanted:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                targets.add(target)
    return targets


def rank(module: str, layers) -> tuple[int, str]:
    best = (-1, "", -1)
    for i, (layer, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[2]:
                best = (i, layer, len(prefix))
    return best[0], best[1]


def violations(packages) -> list[str]:
    """Every import against the layer order, and every import cycle, one line each."""
    known = modules(packages)
    graph = {m: imports_of(m, f, known) for m, f in known.items()}
    out = []
    for m, targets in graph.items():
        for t in sorted(targets):
            for layers in (LAYERS, NUMERIC):
                (mi, ml), (ti, tl) = rank(m, layers), rank(t, layers)
                if layers is NUMERIC and not (m.startswith("haibal_py.numeric.") and t.startswith("haibal_py.numeric.")):
                    continue
                if mi >= 0 and ti > mi:
                    out.append(f"{m} imports {t} (layer {tl}, above {ml})")
    out += [f"cycle: {' -> '.join(c + [c[0]])}" for c in cycles(graph)]
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of two or more modules (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_haibal_py_imports_in_one_direction_without_cycles():
    assert violations(PACKAGES) == []


def test_every_module_is_in_a_layer():
    for m in modules(PACKAGES):
        assert rank(m, LAYERS)[0] >= 0, m


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_an_upward_import_is_reported(tmp_path):
    _write(tmp_path / "haibal_py", {"__init__.py": "", "files/__init__.py": "", "graph/__init__.py": "",
                                    "graph/model.py": "", "files/atomic.py": "def f():\n    from ..graph import model\n"})
    assert violations(((tmp_path / "haibal_py", "haibal_py"),)) == [
        "haibal_py.files.atomic imports haibal_py.graph (layer graph, above files)",
        "haibal_py.files.atomic imports haibal_py.graph.model (layer graph, above files)"]


def test_a_cycle_is_reported(tmp_path):
    _write(tmp_path / "haibal_py", {"__init__.py": "", "graph/__init__.py": "",
                                    "graph/a.py": "from . import b\n", "graph/b.py": "from .a import x\n"})
    assert violations(((tmp_path / "haibal_py", "haibal_py"),)) == [
        "cycle: haibal_py.graph.a -> haibal_py.graph.b -> haibal_py.graph.a"]


def test_the_numeric_layer_keeps_its_own_order(tmp_path):
    _write(tmp_path / "haibal_py", {"__init__.py": "", "numeric/__init__.py": "", "numeric/kernels/__init__.py": "",
                                    "numeric/layers/__init__.py": "",
                                    "numeric/kernels/conv.py": "from ..layers import base\n",
                                    "numeric/layers/base.py": ""})
    assert "haibal_py.numeric.kernels.conv imports haibal_py.numeric.layers (layer layers, above base)" in \
        violations(((tmp_path / "haibal_py", "haibal_py"),))
