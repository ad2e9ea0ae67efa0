"""Snippets in the editor: selection -> snippet picture, and snippet files dropped onto the canvas.

- ``render_png(canvas, nodes)``: the selected part of the NodeGraphQt scene (nodes and the
  wires among them, nothing else) rendered offscreen to a QImage and encoded as PNG bytes
  (QBuffer); ``haibal_py.png_chunks`` then adds the snippet chunk.
- ``snippet_from_selection(window, name, ...)``: the selected canvas nodes as a ``Snippet``
  (wires crossing the selection become template inputs/outputs; an input's default is the
  value that crossed it in the last run, when there was one).
- ``save_selection_as_snippet(window, folder, name, ...)``: writes ``NAME.snippet.json`` and
  ``NAME.png`` (the rendered picture carrying the JSON).
- ``insert_on_canvas(window, snippet, scene_pos)``: the snippet's nodes added to the canvas
  as ordinary nodes at the drop point, in ONE undo step. The insertion is first planned
  headlessly on a copy of the graph, so a bad snippet (unknown types, name clash ...)
  leaves the canvas untouched.
- ``install_drop_handler(window)``: ``.png`` / ``.snippet.json`` files dropped on the canvas
  (from the Snippets panel or a file manager) are inserted; other drops go to NodeGraphQt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from Qt import QtCore, QtGui

from haibal_py.errors import HaibalError
from haibal_py.graph import Graph
from haibal_py.files.png_chunks import SnippetError, embed_snippet
from haibal_py.snippets import Snippet, insert_snippet, is_snippet_path, load_snippet

from .adapter import HaibalNode, register_local
from .bridge import add_canvas_node

MARGIN = 24


# ---------------------------------------------------------------------------------- pictures
def _pipes_among(nodes: Iterable[HaibalNode]) -> list:
    """The pipe items whose two ends are both in ``nodes``."""
    views = {n.view for n in nodes}
    pipes = []
    for n in nodes:
        for port in n.view.outputs:
            for pipe in port.connected_pipes:
                if pipe.input_port is not None and pipe.input_port.node in views:
                    pipes.append(pipe)
    return pipes


def render_image(canvas, nodes: list[HaibalNode], scale: float = 1.0, background: bool = True) -> QtGui.QImage:
    """The nodes and the wires among them as an image (the rest of the scene is hidden meanwhile)."""
    if not nodes:
        raise SnippetError("select the nodes to put in the snippet first")
    scene = canvas.graph.scene()
    keep = {n.view for n in nodes} | set(_pipes_among(nodes))
    rect = QtCore.QRectF()
    for n in nodes:
        rect = rect.united(n.view.sceneBoundingRect())
    rect.adjust(-MARGIN, -MARGIN, MARGIN, MARGIN)
    hidden, selected = [], [it for it in scene.selectedItems()]
    for item in scene.items():
        if item.parentItem() is None and item not in keep and item.isVisible():
            item.setVisible(False)
            hidden.append(item)
    for item in selected:
        item.setSelected(False)
    try:
        size = QtCore.QSize(max(1, int(rect.width() * scale)), max(1, int(rect.height() * scale)))
        image = QtGui.QImage(size, QtGui.QImage.Format_ARGB32)
        image.fill(QtGui.QColor(35, 35, 38) if background else QtCore.Qt.transparent)
        painter = QtGui.QPainter(image)
        painter.setRenderHint(QtGui.QPainter.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.TextAntialiasing)
        scene.render(painter, QtCore.QRectF(0, 0, size.width(), size.height()), rect)
        painter.end()
    finally:
        for item in hidden:
            item.setVisible(True)
        for item in selected:
            item.setSelected(True)
    return image


def image_to_png(image: QtGui.QImage) -> bytes:
    """PNG bytes of a QImage (through a QBuffer, no file)."""
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.WriteOnly)
    if not image.save(buf, "PNG"):
        raise SnippetError("Qt could not encode the snippet picture as PNG")
    data = bytes(buf.data())
    buf.close()
    return data


def render_png(canvas, nodes: list[HaibalNode], scale: float = 1.0) -> bytes:
    return image_to_png(render_image(canvas, nodes, scale))


# ---------------------------------------------------------------------------------- canvas -> snippet
def canvas_graph(window) -> tuple[Graph, dict[str, str]]:
    """The canvas as a fresh graph (the document's ids kept), and canvas node id -> graph id."""
    doc, canvas = window.doc, window.canvas
    g = Graph(doc.graph.name, doc.graph.description)
    g.base_dir = doc.graph.base_dir
    g.local_types = dict(doc.graph.local_types)
    ids: dict[str, str] = {}
    for node in canvas.nodes():
        gid = doc.ids.get(node.id)
        if gid is not None and gid not in g.nodes:
            ids[node.id] = add_canvas_node(g, node, node.param_values(), id=gid)
    doc.sync(canvas, graph=g, ids=ids)
    return g, ids


def snippet_from_selection(window, name: str, description: str = "", category: str = "",
                           expose: dict | None = None, nodes: list[HaibalNode] | None = None) -> Snippet:
    """The selected canvas nodes (or ``nodes``) as a snippet."""
    nodes = [n for n in (nodes if nodes is not None else window.graph.selected_nodes()) if isinstance(n, HaibalNode)]
    if not nodes:
        raise SnippetError("select the nodes to put in the snippet first")
    graph, ids = canvas_graph(window)
    last = getattr(window.doc.runtime, "last_result", None)
    values = last.values if last is not None else None
    return Snippet.from_selection(graph, [ids[n.id] for n in nodes], name, description, category,
                                  expose=expose, values=values)


def save_selection_as_snippet(window, folder, name: str, description: str = "", category: str = "",
                              expose: dict | None = None) -> tuple[Path, Path]:
    """Write the selection as ``NAME.snippet.json`` + ``NAME.png`` (picture rendered from the scene)."""
    nodes = [n for n in window.graph.selected_nodes() if isinstance(n, HaibalNode)]
    snippet = snippet_from_selection(window, name, description, category, expose, nodes)
    return snippet.save(folder, picture=render_png(window.canvas, nodes))


# ---------------------------------------------------------------------------------- snippet -> canvas
def insert_on_canvas(window, snippet: Snippet, scene_pos=(0.0, 0.0), on_clash: str = "rename") -> list[HaibalNode]:
    """Add the snippet's nodes to the canvas at ``scene_pos`` as one undoable step; returns them.

    Planned on a copy of the graph first: SnippetError (canvas unchanged) on unknown types,
    a name clash (``on_clash="error"``) or anything the graph refuses.
    """
    plan, _ = canvas_graph(window)
    mapping = insert_snippet(plan, snippet, at=(float(scene_pos[0]), float(scene_pos[1])), on_clash=on_clash)
    canvas, ngraph = window.canvas, window.graph
    canvas.types.update(register_local(ngraph, plan.local_types.values()))  # subgraphs it holds
    made: dict[str, HaibalNode] = {}
    ngraph.begin_undo(f"insert snippet {snippet.name}")
    try:
        for old, gid in mapping.items():
            gn = plan.nodes[gid]
            node = canvas.add_node(gn.type_id, name=gn.name, pos=gn.pos or scene_pos)
            for pname, value in gn.params.items():
                node.set_param(pname, value)
            node.set_instance(gn.instance)
            made[old] = node
        for c in snippet.graph.connections:
            made[c.src].get_output(c.src_port).connect_to(made[c.dst].get_input(c.dst_port))
    except (HaibalError, AttributeError, KeyError) as exc:
        ngraph.end_undo()
        ngraph.undo_stack().undo()
        raise SnippetError(f"cannot insert snippet {snippet.name!r} on the canvas: {exc}") from None
    for node in canvas.nodes():  # select what came in (inside the macro: NodeGraphQt undoes selection too)
        node.set_selected(node in made.values())
    ngraph.end_undo()
    canvas.restyle_wires()
    return list(made.values())


def insert_file(window, path, scene_pos=(0.0, 0.0), on_clash: str = "rename") -> list[HaibalNode]:
    """Load a snippet file (``.png`` or ``.snippet.json``) and insert it at ``scene_pos``."""
    return insert_on_canvas(window, load_snippet(path), scene_pos, on_clash)


def snippet_urls(mimedata: QtCore.QMimeData) -> list[Path]:
    """The local snippet files named by drag-and-drop data."""
    if not mimedata.hasUrls():
        return []
    paths = [Path(u.toLocalFile()) for u in mimedata.urls() if u.isLocalFile()]
    return [p for p in paths if is_snippet_path(p)]


def handle_drop(window, mimedata: QtCore.QMimeData, pos) -> bool:
    """Insert dropped snippet files (stacked 40 px apart); True when the drop held any.
    Errors go to the status bar; the canvas stays as it was for a refused file."""
    paths = snippet_urls(mimedata)
    if not paths:
        return False
    x, y = (pos.x(), pos.y()) if hasattr(pos, "x") else pos
    for i, path in enumerate(paths):
        try:
            made = insert_file(window, path, (x + 40 * i, y + 40 * i))
            window.show_status(f"inserted snippet {path.name} ({len(made)} nodes)")
        except HaibalError as exc:
            window.show_status(f"{path.name}: {exc}", error=True)
    return True


def install_drop_handler(window) -> None:
    """Route canvas drops through ``handle_drop`` first (NodeGraphQt keeps the other drops)."""
    if getattr(window, "_snippet_drop", None) is not None:
        return
    ngraph = window.graph
    viewer = ngraph.viewer()
    original = ngraph._on_node_data_dropped
    try:
        viewer.data_dropped.disconnect(original)
    except (RuntimeError, TypeError):
        pass

    def on_drop(mimedata, pos):
        if not handle_drop(window, mimedata, pos):
            original(mimedata, pos)

    viewer.data_dropped.connect(on_drop)
    window._snippet_drop = on_drop  # keep a reference
