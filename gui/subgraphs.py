"""Collapsed subgraphs in the editor: "Collapse into subgraph", "Expand subgraph", and a
subgraph node that opens in its own window on double-click (LabVIEW opens a subVI so).

Every operation is planned headlessly first (``haibal_py.subgraphs`` on a copy of the
canvas's graph), so a refused one leaves the canvas as it was; then the plan is applied
to the canvas as ONE undo step: the nodes it removes are deleted, the nodes it adds are
created, and the wires of the added nodes are drawn.

The subgraph window is an ``EditorWindow`` on a copy of the definition (its template
inputs and outputs are graph terminals there). Save (Ctrl+S) applies the edit to the
graph it came from: every node of that subgraph is rebuilt with the new definition, in
one undo step of that graph; Save As writes it as a graph file of its own.
"""

from __future__ import annotations

from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.graph import Graph
from haibal_py.subgraphs import SubgraphError, collapse, expand, redefine

from .adapter import HaibalNode, register_local
from .bridge import same_value
from .layout import spread
from . import snippet_panel
from .snippets import canvas_graph
from .window import EditorWindow

DEFAULT_NAME = "Subgraph"


def is_subgraph_node(node) -> bool:
    return isinstance(node, HaibalNode) and getattr(node.haibal_class, "snippet", None) is not None


def _selected(window) -> list[HaibalNode]:
    return [n for n in window.graph.selected_nodes() if isinstance(n, HaibalNode)]


def _apply_plan(window, plan: Graph, ids: dict[str, str], removed: set[str], label: str) -> list[HaibalNode]:
    """Make the canvas look like ``plan``: delete the canvas nodes of ``removed`` graph ids,
    create the plan's nodes the canvas lacks, wire them; one undo step. Returns the new nodes."""
    if window.is_running():
        raise SubgraphError("wait for the run to finish before changing the graph's structure")
    canvas, ngraph = window.canvas, window.graph
    by_cid = {n.id: n for n in canvas.nodes()}
    by_gid = {gid: by_cid[cid] for cid, gid in ids.items() if cid in by_cid}
    kept = {gid: n for gid, n in by_gid.items() if gid not in removed}
    canvas.types.update(register_local(ngraph, plan.local_types.values()))
    made: dict[str, HaibalNode] = {}
    ngraph.begin_undo(label)
    try:
        gone = [by_gid[gid] for gid in removed if gid in by_gid]
        if gone:
            ngraph.delete_nodes(gone)
        for gid, gn in plan.nodes.items():
            if gid in kept:
                continue
            node = canvas.add_node(gn.type_id, name=gn.name, pos=gn.pos or (0.0, 0.0))
            current = node.param_values()
            for pname, value in gn.params.items():
                if not same_value(current.get(pname), value):
                    node.set_param(pname, value)
            if gn.instance != node.instance_name():
                node.set_instance(gn.instance)
            made[gid] = node
        on_canvas = {**kept, **made}
        for c in plan.connections:
            if c.src in made or c.dst in made:
                on_canvas[c.src].get_output(c.src_port).connect_to(on_canvas[c.dst].get_input(c.dst_port))
        for node in canvas.nodes():  # what came in is selected (undone with the rest)
            node.set_selected(node in made.values())
    except (HaibalError, AttributeError, KeyError) as exc:
        ngraph.end_undo()
        ngraph.undo_stack().undo()
        raise SubgraphError(f"{label}: the canvas refused it ({exc}); nothing was changed") from None
    ngraph.end_undo()
    canvas.restyle_wires()
    return list(made.values())


# ---------------------------------------------------------------------------------- actions
def collapse_selection(window, name: str = DEFAULT_NAME, description: str = "") -> HaibalNode:
    """The selected nodes become one subgraph node (wired as they were); returns it."""
    nodes = _selected(window)
    plan, ids = canvas_graph(window)
    new_id = collapse(plan, [ids[n.id] for n in nodes if n.id in ids], name, description)
    made = _apply_plan(window, plan, ids, {ids[n.id] for n in nodes if n.id in ids},
                       f"collapse into subgraph {plan.nodes[new_id].name}")
    return made[0]


def expand_node(window, node: HaibalNode | None = None) -> list[HaibalNode]:
    """A subgraph node (the selected one by default) back as its inner nodes; returns them."""
    if node is None:
        chosen = [n for n in _selected(window) if is_subgraph_node(n)]
        if len(chosen) != 1:
            raise SubgraphError("select one subgraph node to expand")
        node = chosen[0]
    if not is_subgraph_node(node):
        raise SubgraphError(f"node {node.name()!r} is not a subgraph")
    plan, ids = canvas_graph(window)
    expand(plan, ids[node.id])
    return _apply_plan(window, plan, ids, {ids[node.id]}, f"expand subgraph {node.name()}")


def update_definition(window, type_id: str, inner: Graph) -> list[str]:
    """Rebuild every node of subgraph type ``type_id`` with the definition ``inner`` (one
    undo step); returns the wires that had to go (their port is gone)."""
    plan, ids = canvas_graph(window)
    users = {gid for gid, gn in plan.nodes.items() if gn.type_id == type_id}
    dropped = redefine(plan, type_id, inner)
    _apply_plan(window, plan, ids, users, f"update subgraph {plan.local_types[type_id].snippet.name}")
    return dropped


def definition_clash(window) -> str | None:
    """A message when the canvas holds two different subgraphs of one name (e.g. pasted
    from another window); one name is one node type in the saved file."""
    seen: dict[str, type] = {}
    for node in window.canvas.nodes():
        if not is_subgraph_node(node):
            continue
        cls = node.haibal_class
        other = seen.setdefault(cls.type_id, cls)
        if other is not cls and other.snippet.to_dict() != cls.snippet.to_dict():
            return (f"this graph already has a different subgraph named {cls.snippet.name!r}; "
                    f"rename one of them (collapse it again under another name) first")
    return None


# ---------------------------------------------------------------------------------- the subgraph window
class SubgraphWindow(EditorWindow):
    """A subgraph opened from its node. Save applies the edit to the graph it came from."""

    def __init__(self, owner: EditorWindow, node: HaibalNode):
        cls = node.haibal_class
        super().__init__(recovery_path=owner.recovery_path.with_name(
            f"{owner.recovery_path.stem}.{cls.type_id}.json"))
        snippet_panel.install(self)  # a subgraph window has the editor's features too
        install(self)
        self.setParent(owner, QtCore.Qt.Window)  # closes with its graph's window
        self.owner, self.type_id, self.title = owner, cls.type_id, cls.snippet.name
        graph = cls.snippet.runnable()
        graph.base_dir = owner.doc.graph.base_dir
        self.doc.load_into(self.canvas, graph)
        spread(self.canvas.nodes())  # template terminals sit close to the nodes: make room
        self.graph.clear_undo_stack()
        self.canvas.restyle_wires()
        self.viewers.sync(self.canvas.nodes())
        self._update_title()
        self.fit_view()
        self.show_status(f"subgraph {self.title!r}: Save applies your edits to "
                         f"{owner.path.name if owner.path else 'the graph'}")

    def _update_title(self) -> None:
        try:
            owner = self.owner.path.name if self.owner.path else "untitled"
        except AttributeError:  # during EditorWindow.__init__
            return super()._update_title()
        try:
            self.setWindowTitle(f"{self.title}[*] — subgraph of {owner}")
            self.setWindowModified(self.is_modified())
        except RuntimeError:  # signals from the undo stack while the window is destroyed
            pass

    def save(self, path=None):
        if path is not None:  # Save As: a graph file of its own
            return super().save(path)
        inner = self.doc.snapshot(self.canvas) if self.doc.busy else self.doc.sync(self.canvas)
        dropped = update_definition(self.owner, self.type_id, inner)
        self.graph.undo_stack().setClean()
        self._update_title()
        message = f"applied to {self.owner.windowTitle().split('[*]')[0]}"
        if dropped:
            message += "; wires removed: " + "; ".join(dropped)
        self.show_status(message, error=bool(dropped))
        self.owner.show_status(f"subgraph {self.title!r} updated" + (f"; wires removed: {'; '.join(dropped)}"
                                                                      if dropped else ""), error=bool(dropped))
        return None

    def save_or_ask(self) -> bool:
        return self._guarded(lambda: self.save())


def open_subgraph(window, node: HaibalNode) -> SubgraphWindow:
    """Open a subgraph node in its own window (the one already open for it, if any)."""
    if not is_subgraph_node(node):
        raise SubgraphError(f"node {node.name()!r} is not a subgraph")
    for child in window.findChildren(SubgraphWindow):
        if child.type_id == node.haibal_class.type_id and child.isVisible():
            child.raise_()
            child.activateWindow()
            return child
    child = SubgraphWindow(window, node)
    child.show()
    return child


# ---------------------------------------------------------------------------------- install
def _guarded(window, fn, done: str):
    try:
        result = fn()
    except HaibalError as exc:
        window.show_status(str(exc), error=True)
        return None
    window.show_status(done)
    return result


def collapse_dialog(window) -> None:
    if not _selected(window):
        window.show_status("select the nodes to collapse into a subgraph first", error=True)
        return
    name, ok = QtWidgets.QInputDialog.getText(window, "Collapse into subgraph", "Subgraph name:",
                                              text=DEFAULT_NAME)
    if ok and name.strip():
        _guarded(window, lambda: collapse_selection(window, name.strip()), f"collapsed into subgraph {name.strip()!r}")


def install(window) -> None:
    """Add the Edit-menu actions and the double-click opening to an ``EditorWindow`` (once)."""
    if getattr(window, "act_collapse", None) is not None:
        return
    acts = []
    for text, slot, key, tip in (
            ("Co&llapse into subgraph…", lambda: collapse_dialog(window), "Ctrl+G",
             "the selected nodes become one subgraph node (double-click it to open it)"),
            ("E&xpand subgraph", lambda: _guarded(window, lambda: expand_node(window), "subgraph expanded"),
             "Ctrl+Shift+G", "the selected subgraph node back as its nodes")):
        act = QtGui.QAction(text, window)
        act.setShortcut(QtGui.QKeySequence(key))
        act.setShortcutContext(QtCore.Qt.WindowShortcut)
        act.setStatusTip(tip)
        act.triggered.connect(lambda *_, s=slot: s())
        window.addAction(act)
        acts.append(act)
    window.act_collapse, window.act_expand = acts
    for menu_action in window.menuBar().actions():
        if menu_action.text().replace("&", "") == "Edit":
            menu_action.menu().addSeparator()
            for act in acts:
                menu_action.menu().addAction(act)

    def on_double_click(node):
        if is_subgraph_node(node):
            _guarded(window, lambda: open_subgraph(window, node), f"opened subgraph {node.name()!r}")

    window.graph.node_double_clicked.connect(on_double_click)
    window._subgraph_double_click = on_double_click
    window.paste_checks.append(definition_clash)
