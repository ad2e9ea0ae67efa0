"""Snippets in the editor: selection -> snippet picture, and snippet files dropped onto the canvas.

- ``render_png(canvas, gids)``: the selected part of the scene (nodes and the wires among
  them, nothing else) rendered offscreen and encoded as PNG bytes; ``haibal_py.files.png_chunks``
  then adds the snippet chunk.
- ``snippet_from_selection(window, name, ...)``: the selected nodes as a ``Snippet`` (wires
  crossing the selection become template inputs/outputs; an input's default is the
  value that crossed it in the last run, when there was one).
- ``save_selection_as_snippet(window, folder, name, ...)``: writes ``NAME.snippet.json`` and
  ``NAME.png`` (the rendered picture carrying the JSON).
- ``insert_snippet_at(window, snippet, scene_pos)``: the snippet's nodes added to the graph
  (one model edit: one undo step, nothing changed when refused), placed on free space
  near the drop point, and selected.
- ``install_drop_handler(window)``: ``.png`` / ``.snippet.json`` files dropped on the canvas
  (from the Snippets panel or a file manager) are inserted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from Qt import QtCore, QtGui

from haibal_py.errors import HaibalError
from haibal_py.files.png_chunks import SnippetError
from haibal_py.snippets import Snippet, insert_snippet, is_snippet_path, load_snippet

from . import layout
from .messages import by_name
from .run_settings import notice_files

MARGIN = 24


# ---------------------------------------------------------------------------------- pictures
def _pipes_among(canvas, gids: Iterable[str]) -> list:
    """The pipe items whose two ends are both in ``gids``."""
    chosen = set(gids)
    return [canvas.pipe_item(c) for c in canvas.wires() if c.src in chosen and c.dst in chosen]


def render_image(canvas, gids: list[str], scale: float = 1.0, background: bool = True) -> QtGui.QImage:
    """The nodes ``gids`` and the wires among them as an image (the rest of the scene is hidden meanwhile)."""
    nodes = [canvas.items[g] for g in gids if g in canvas.items]
    if not nodes:
        raise SnippetError("select the nodes to put in the snippet first")
    scene = canvas.graph.scene()
    keep = {n.view for n in nodes} | {p for p in _pipes_among(canvas, gids) if p is not None}
    rect = QtCore.QRectF()
    for n in nodes:
        rect = rect.united(n.view.sceneBoundingRect())
        if n.view.value_line.isVisible():
            rect = rect.united(n.view.value_line.sceneBoundingRect())
    rect.adjust(-MARGIN, -MARGIN, MARGIN, MARGIN)
    hidden, selected = [], list(scene.selectedItems())
    for item in scene.items():
        if item.parentItem() is None and item not in keep and item.isVisible():
            item.setVisible(False)
            hidden.append(item)
    for item in selected:
        item.setSelected(False)
    try:
        size = QtCore.QSize(max(1, int(rect.width() * scale)), max(1, int(rect.height() * scale)))
        image = QtGui.QImage(size, QtGui.QImage.Format_ARGB32)
        image.fill(QtGui.QColor(*canvas.theme.canvas) if background else QtCore.Qt.transparent)
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


def render_png(canvas, gids: list[str], scale: float = 1.0) -> bytes:
    return image_to_png(render_image(canvas, gids, scale))


# ---------------------------------------------------------------------------------- graph -> snippet
def snippet_from_selection(window, name: str, description: str = "", category: str = "",
                           expose: dict | None = None, gids: list[str] | None = None) -> Snippet:
    """The selected nodes (or ``gids``) as a snippet."""
    gids = list(gids if gids is not None else window.canvas.selected_ids())
    if not gids:
        raise SnippetError("select the nodes to put in the snippet first")
    last = window.model.runtime.last_result
    graph = window.model.graph
    holder = graph.locate(gids[0]) if graph.find(gids[0]) is not None else graph  # nodes inside a structure
    return Snippet.from_selection(holder, gids, name, description, category, expose=expose,
                                  values=last.values if last is not None else None)


def save_selection_as_snippet(window, folder, name: str, description: str = "", category: str = "",
                              expose: dict | None = None) -> tuple[Path, Path]:
    """Write the selection as ``NAME.snippet.json`` + ``NAME.png`` (picture rendered from the scene)."""
    gids = window.canvas.selected_ids()
    snippet = snippet_from_selection(window, name, description, category, expose, gids)
    return snippet.save(folder, picture=render_png(window.canvas, gids))


# ---------------------------------------------------------------------------------- snippet -> graph
def insert_snippet_at(window, snippet: Snippet, scene_pos=(0.0, 0.0), on_clash: str = "rename",
                      free: bool = True) -> list[str]:
    """Add the snippet's nodes at ``scene_pos`` (moved to free space unless ``free`` is False),
    as one undoable step; returns their ids. SnippetError (graph unchanged) when refused."""
    x, y = float(scene_pos[0]), float(scene_pos[1])
    if free:
        boxes = []
        for gn in snippet.graph.nodes.values():
            w, h = window.canvas.size_hint(gn.type_id)
            px, py = gn.pos or (0.0, 0.0)
            boxes.append((px, py, w, h))
        _, _, w, h = layout.bounding(boxes)
        x, y = layout.free_spot(x, y, w, h, window.canvas.boxes())
    try:
        where = window.canvas.frame_at(x + 10.0, y + 10.0)  # dropped inside a frame: into its diagram
        with window.model.edit(f"insert snippet {snippet.name}"):
            mapping = insert_snippet(window.model.holder(where), snippet, at=(x, y), on_clash=on_clash)
    except SnippetError:
        raise
    except HaibalError as exc:
        raise SnippetError(f"cannot insert snippet {snippet.name!r}: {exc}") from None
    made = list(mapping.values())
    if free:
        window.canvas.make_room(made)
    window.canvas.select(made)
    notice_files(window, window.model.graph, f"snippet {snippet.name!r}", nodes=set(made))
    return made


def insert_file(window, path, scene_pos=(0.0, 0.0), on_clash: str = "rename", free: bool = True) -> list[str]:
    """Load a snippet file (``.png`` or ``.snippet.json``) and insert it at ``scene_pos``."""
    return insert_snippet_at(window, load_snippet(path), scene_pos, on_clash, free)


def snippet_urls(mimedata: QtCore.QMimeData) -> list[Path]:
    """The local snippet files named by drag-and-drop data."""
    if not mimedata.hasUrls():
        return []
    paths = [Path(u.toLocalFile()) for u in mimedata.urls() if u.isLocalFile()]
    return [p for p in paths if is_snippet_path(p)]


def handle_drop(window, mimedata: QtCore.QMimeData, pos) -> bool:
    """Insert dropped snippet files; True when the drop held any. Errors go to the status bar;
    the graph stays as it was for a refused file."""
    paths = snippet_urls(mimedata)
    if not paths:
        return False
    x, y = (pos.x(), pos.y()) if hasattr(pos, "x") else pos
    for path in paths:
        try:
            made = insert_file(window, path, (x, y))
            window.show_status(f"inserted snippet {path.name} ({len(made)} nodes)")
        except HaibalError as exc:
            window.show_status(f"{path.name}: {by_name(str(exc), window.model.graph)}", "error")
    return True


def install_drop_handler(window) -> None:
    """Snippet files dropped on the canvas are inserted (once per window)."""
    if getattr(window, "snippet_drop_handler", None) is not None:
        return
    window.snippet_drop_handler = lambda mime, pos: handle_drop(window, mime, pos)
    window.canvas.drop_handlers.insert(0, window.snippet_drop_handler)
