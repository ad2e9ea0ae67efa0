"""The Snippets panel: the built-in and user snippet libraries, with their pictures.

Each snippet shows as its PNG picture and name (tooltip: description, inputs, outputs).
Drag one onto the canvas (the drag carries the file's URL, exactly like a file dragged
from a file manager) or double-click it to insert it at the view centre. The user
library is ``$HAIBAL_SNIPPETS_DIR`` or ``~/.local/share/haibal-py/snippets``;
"Save selection as snippet…" writes there.

``install(window)`` adds the panel, the Edit-menu actions and the drop handler to an
``EditorWindow``.
"""

from __future__ import annotations

import os
from pathlib import Path

from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.snippets import load_snippet, snippet_paths

from . import snippets as gsnip

PATH_ROLE = QtCore.Qt.UserRole + 1
ICON_SIZE = QtCore.QSize(150, 90)


def builtin_dir() -> Path:
    """``examples/snippets`` of the source tree."""
    return Path(__file__).resolve().parents[1] / "examples" / "snippets"


def user_dir() -> Path:
    env = os.environ.get("HAIBAL_SNIPPETS_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "haibal-py" / "snippets"


class _List(QtWidgets.QListWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setViewMode(QtWidgets.QListView.IconMode)
        self.setIconSize(ICON_SIZE)
        self.setResizeMode(QtWidgets.QListView.Adjust)
        self.setMovement(QtWidgets.QListView.Static)
        self.setWordWrap(True)
        self.setSpacing(6)
        self.setDragEnabled(True)
        self.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)

    def mimeData(self, items):
        data = QtCore.QMimeData()
        data.setUrls([QtCore.QUrl.fromLocalFile(it.data(PATH_ROLE)) for it in items if it.data(PATH_ROLE)])
        return data

    def mimeTypes(self):
        return ["text/uri-list"]


class SnippetPanel(QtWidgets.QWidget):
    """Lists snippet libraries; ``insert_requested(path)`` on double-click."""

    insert_requested = QtCore.Signal(str)

    def __init__(self, folders: list[tuple[str, Path]] | None = None, parent=None):
        super().__init__(parent)
        self.folders = folders if folders is not None else [("Built-in", builtin_dir()), ("My snippets", user_dir())]
        self.list = _List(self)
        self.refresh_button = QtWidgets.QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(self.refresh)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addWidget(self.refresh_button)
        self.list.itemDoubleClicked.connect(lambda it: self.insert_requested.emit(it.data(PATH_ROLE)))
        self.problems: list[str] = []
        self.refresh()

    def refresh(self) -> None:
        """Re-read the folders (a bad file is listed in ``problems`` and left out)."""
        self.list.clear()
        self.problems = []
        for label, folder in self.folders:
            for path in snippet_paths(folder):
                try:
                    sn = load_snippet(path)
                except HaibalError as exc:
                    self.problems.append(f"{path.name}: {exc}")
                    continue
                item = QtWidgets.QListWidgetItem(sn.name)
                png = path if path.suffix.lower() == ".png" else None
                if png is not None:
                    pix = QtGui.QPixmap(str(png))
                    if not pix.isNull():
                        item.setIcon(QtGui.QIcon(pix.scaled(ICON_SIZE, QtCore.Qt.KeepAspectRatio,
                                                            QtCore.Qt.SmoothTransformation)))
                item.setData(PATH_ROLE, str(path))
                item.setToolTip(f"{sn.name} ({label})\n{sn.description}\n"
                                f"inputs: {', '.join(sn.inputs) or 'none'}\n"
                                f"outputs: {', '.join(sn.outputs) or 'none'}\n{path}")
                self.list.addItem(item)

    def names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def item(self, name: str) -> QtWidgets.QListWidgetItem:
        for i in range(self.list.count()):
            if self.list.item(i).text() == name:
                return self.list.item(i)
        raise KeyError(f"no snippet named {name!r} in the panel")


def save_selection_dialog(window) -> Path | None:
    """Ask for a name (and description), save the selection to the user library."""
    if not window.canvas.selected_ids():
        window.show_status("select the nodes to put in the snippet first", "error")
        return None
    name, ok = QtWidgets.QInputDialog.getText(window, "Save as snippet", "Snippet name:")
    if not ok or not name.strip():
        return None
    desc, _ = QtWidgets.QInputDialog.getText(window, "Save as snippet", "Description (optional):")
    try:
        _, png = gsnip.save_selection_as_snippet(window, user_dir(), name.strip(), desc.strip())
    except HaibalError as exc:
        window.show_status(f"snippet not saved: {exc}", "error")
        return None
    window.show_status(f"snippet saved: {png}")
    window.snippet_panel.refresh()
    return png


def install(window) -> SnippetPanel:
    """Add the Snippets panel, the Edit-menu action and snippet drops to an ``EditorWindow`` (once)."""
    if getattr(window, "snippet_panel", None) is not None:
        return window.snippet_panel
    panel = SnippetPanel(parent=window)
    window.snippet_panel = panel

    def insert(path):
        try:
            made = gsnip.insert_file(window, path, window.canvas.view_centre())
            window.show_status(f"inserted snippet {Path(path).name} ({len(made)} nodes)")
        except HaibalError as exc:
            window.show_status(f"{Path(path).name}: {exc}", "error")

    panel.insert_requested.connect(insert)
    window.add_dock("snippets", "Snippets", panel, QtCore.Qt.LeftDockWidgetArea, 210, tab_with="palette")
    window.docks["palette"].raise_()
    act = QtGui.QAction("Save selection as &snippet…", window)
    act.setStatusTip("save the selected nodes as a reusable snippet (PNG + JSON)")
    act.triggered.connect(lambda *_: save_selection_dialog(window))
    window.act_save_snippet = window.add_action("edit", act, context=True)
    gsnip.install_drop_handler(window)
    return panel
