"""Collapsed subgraphs in the editor: "Collapse into subgraph", "Expand subgraph", and a
subgraph node that opens in its own window on double-click (LabVIEW opens a subVI so).

Each operation is one model edit (``haibal_py.subgraphs`` on the graph itself, inside the
edit's transaction): one undo step, and a refused one leaves the graph as it was. The
selection is checked before any question is asked.

The subgraph window is an ``EditorWindow`` on a copy of the definition (its template
inputs and outputs are graph terminals there). It runs on its own with the values that
reached the subgraph node in its graph's last run. Save (Ctrl+S) applies the edit to the
graph it came from (every node of that subgraph rebuilt with the new definition, one undo
step of that graph); Save As writes it as a graph file of its own.
"""

from __future__ import annotations

from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.graph import Graph
from haibal_py.subgraphs import SubgraphError, collapse, expand, free_name, redefine

from .messages import by_name
from .window import EditorWindow

DEFAULT_NAME = "Subgraph"


def is_subgraph(window, gid: str) -> bool:
    gn = window.model.graph.find(gid)
    return gn is not None and gn.type_id in window.model.graph.local_types


# ---------------------------------------------------------------------------------- actions
def collapse_problem(window, gids: list[str]) -> str | None:
    """Why the selection cannot be collapsed (tried on a copy of the graph), or None."""
    if not gids:
        return "select the nodes to collapse into a subgraph first"
    try:
        copy = window.model.graph.copy()
        collapse(copy.locate(gids[0]) if copy.find(gids[0]) is not None else copy, gids, DEFAULT_NAME)
    except HaibalError as exc:
        return by_name(str(exc), window.model.graph)
    return None


def collapse_selection(window, name: str = DEFAULT_NAME, description: str = "") -> str:
    """The selected nodes become one subgraph node (wired as they were); returns its id."""
    gids = window.canvas.selected_ids()
    if not gids:
        raise SubgraphError("select the nodes to collapse into a subgraph first")
    with window.model.edit(f"collapse into subgraph {name}") as graph:
        holder = graph.locate(gids[0]) if graph.find(gids[0]) is not None else graph  # inside a structure
        new_id = collapse(holder, gids, name, description)
    window.canvas.select([new_id])
    return new_id


def expand_node(window, gid: str | None = None) -> list[str]:
    """A subgraph node (the selected one by default) back as its inner nodes; returns their ids."""
    if gid is None:
        chosen = [g for g in window.canvas.selected_ids() if is_subgraph(window, g)]
        if len(chosen) != 1:
            raise SubgraphError("select one subgraph node to expand")
        gid = chosen[0]
    if not is_subgraph(window, gid):
        raise SubgraphError(f"node {window.model.node_name(gid)!r} is not a subgraph")
    with window.model.edit(f"expand subgraph {window.model.node_name(gid)}") as graph:
        mapping = expand(graph.locate(gid), gid)
    made = list(mapping.values())
    window.canvas.select(made)
    return made


def update_definition(window, type_id: str, inner: Graph) -> list[str]:
    """Rebuild every node of subgraph type ``type_id`` with the definition ``inner`` (one
    undo step); returns the wires that had to go (their port is gone)."""
    with window.model.edit("update subgraph") as graph:
        return redefine(graph, type_id, inner)


# ---------------------------------------------------------------------------------- the subgraph window
class SubgraphWindow(EditorWindow):
    """A subgraph opened from its node. Save applies the edit to the graph it came from."""

    def __init__(self, owner: EditorWindow, gid: str):
        cls = owner.model.graph.find(gid).cls
        super().__init__(recovery_path=owner.recovery_path.with_name(f"{owner.recovery_path.stem}.{cls.type_id}.json"),
                         settings_path=owner.settings.path)
        self.owner, self.type_id, self.title = owner, cls.type_id, cls.template.name
        for install in owner.features:  # the same features as its graph's window
            install(self)
        self.features = owner.features
        self.setParent(owner, QtCore.Qt.Window)  # closes with its graph's window
        self.run_inputs = self.values_reaching(owner, gid)
        graph = cls.template.runnable()
        graph.base_dir = owner.model.graph.base_dir
        self._load(graph, None)
        where = owner.path.name if owner.path else "the graph"
        missing = [name for name, tid in graph.inputs.items()
                   if graph.nodes[tid].params.get("default") is None and name not in self.run_inputs]
        self.show_status(f"subgraph {self.title!r}: Save applies your edits to {where}"
                         + (f"; run {where} once to give {', '.join(missing)} the values that reach it"
                            if missing else ""))

    @staticmethod
    def values_reaching(owner: EditorWindow, gid: str) -> dict:
        """template input name -> the value that reached node ``gid`` in its graph's last run."""
        values = {}
        for c in owner.model.graph.locate(gid).incoming(gid):
            src = owner.outputs.get(c.src, {})
            if c.src_port in src:
                values[c.dst_port] = src[c.src_port]
        return values

    def _update_title(self) -> None:
        owner = getattr(self, "owner", None)
        if owner is None:  # during EditorWindow.__init__
            return super()._update_title()
        try:
            self.setWindowTitle(f"{self.title}[*] — subgraph of {owner.path.name if owner.path else 'untitled'}")
            self.setWindowModified(self.is_modified())
        except RuntimeError:  # signals from the undo stack while the window is destroyed
            pass

    def save(self, path=None):
        if path is not None:  # Save As: a graph file of its own
            return super().save(path)
        dropped = update_definition(self.owner, self.type_id, self.model.graph.copy())
        self.model.undo_stack.setClean()
        self._update_title()
        message = f"applied to {self.owner.windowTitle().split('[*]')[0]}"
        if dropped:
            message += "; wires removed: " + "; ".join(dropped)
        self.show_status(message, "warning" if dropped else "info")
        self.owner.show_status(f"subgraph {self.title!r} updated" + (f"; wires removed: {'; '.join(dropped)}"
                                                                      if dropped else ""),
                               "warning" if dropped else "info")
        return None

    def save_or_ask(self) -> bool:
        return self.guarded(lambda: self.save())


def open_subgraph(window, gid: str) -> SubgraphWindow:
    """Open a subgraph node in its own window (the one already open for it, if any)."""
    if not is_subgraph(window, gid):
        raise SubgraphError(f"node {window.model.node_name(gid)!r} is not a subgraph")
    type_id = window.model.graph.find(gid).type_id
    for child in window.findChildren(SubgraphWindow):
        if child.type_id == type_id and child.isVisible():
            child.raise_()
            child.activateWindow()
            return child
    child = SubgraphWindow(window, gid)
    child.show()
    return child


# ---------------------------------------------------------------------------------- install
def _report(window, fn, done: str):
    try:
        result = fn()
    except HaibalError as exc:
        window.show_status(by_name(str(exc), window.model.graph), "error")
        return None
    window.show_status(done)
    return result


def collapse_dialog(window) -> None:
    """Check the selection first; only then ask for the subgraph's name."""
    gids = window.canvas.selected_ids()
    problem = collapse_problem(window, gids)
    if problem:
        window.show_status(problem, "error")
        return
    name, ok = QtWidgets.QInputDialog.getText(window, "Collapse into subgraph", "Subgraph name:",
                                              text=free_name(window.model.graph, DEFAULT_NAME))
    if ok and name.strip():
        _report(window, lambda: collapse_selection(window, name.strip()), f"collapsed into subgraph {name.strip()!r}")


def install(window) -> None:
    """Add the Edit-menu actions and the double-click opening to an ``EditorWindow`` (once)."""
    if getattr(window, "act_collapse", None) is not None:
        return
    acts = []
    for text, slot, key, tip in (
            ("Co&llapse into subgraph…", lambda: collapse_dialog(window), "Ctrl+G",
             "the selected nodes become one subgraph node (double-click it to open it)"),
            ("E&xpand subgraph", lambda: _report(window, lambda: expand_node(window), "subgraph expanded"),
             "Ctrl+Shift+G", "the selected subgraph node back as its nodes")):
        act = QtGui.QAction(text, window)
        act.setShortcut(QtGui.QKeySequence(key))
        act.setShortcutContext(QtCore.Qt.WindowShortcut)
        act.setStatusTip(tip)
        act.triggered.connect(lambda *_, s=slot: s())
        acts.append(window.add_action("edit", act, context=True))
    window.act_collapse, window.act_expand = acts

    def on_activated(gid):
        if is_subgraph(window, gid):
            _report(window, lambda: open_subgraph(window, gid), f"opened subgraph {window.model.node_name(gid)!r}")

    window.canvas.node_activated.connect(on_activated)
    window.subgraph_open_handler = on_activated
