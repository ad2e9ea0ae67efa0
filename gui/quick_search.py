"""Tab on the canvas: a quick search to add a node where the mouse is.

Ranked like the palette (words, prefixes, abbreviations); each result shows its
category and one-line description. (NodeGraphQt 0.6.44's own tab search never opens: its
toggle hides a hidden menu.)
"""

from __future__ import annotations

from Qt import QtCore, QtWidgets

from haibal_py.node.registry import CATALOG

from .search import catalog_entries, rank


class QuickSearch(QtWidgets.QFrame):
    """A popup: type words, Enter (or double-click) adds the first / chosen match."""

    node_requested = QtCore.Signal(str, QtCore.QPointF)  # catalog type id, scene position

    def __init__(self, parent=None):
        super().__init__(parent, QtCore.Qt.Popup)
        self.setFrameShape(QtWidgets.QFrame.StyledPanel)
        self.edit = QtWidgets.QLineEdit(self)
        self.edit.setPlaceholderText("Add node: words or initials (scce, mse)…")
        self.list = QtWidgets.QListWidget(self)
        self.list.setWordWrap(True)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(3, 3, 3, 3)
        lay.addWidget(self.edit)
        lay.addWidget(self.list)
        self.resize(380, 360)
        self.scene_pos = QtCore.QPointF()
        self.edit.textChanged.connect(self.refill)
        self.edit.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.edit.installEventFilter(self)

    def eventFilter(self, obj, event):  # arrows in the edit move in the list
        if event.type() == QtCore.QEvent.KeyPress and event.key() in (QtCore.Qt.Key_Down, QtCore.Qt.Key_Up):
            row = self.list.currentRow() + (1 if event.key() == QtCore.Qt.Key_Down else -1)
            self.list.setCurrentRow(max(0, min(row, self.list.count() - 1)))
            return True
        return super().eventFilter(obj, event)

    def refill(self, text: str = "") -> None:
        self.list.clear()
        for entry in rank(text, catalog_entries(CATALOG)):
            item = QtWidgets.QListWidgetItem(f"{entry.name}   ({entry.category})\n    {entry.description}")
            item.setData(QtCore.Qt.UserRole, entry.key)
            item.setToolTip(entry.description)
            self.list.addItem(item)
        self.list.setCurrentRow(0)

    def found(self) -> list[str]:
        return [self.list.item(i).data(QtCore.Qt.UserRole) for i in range(self.list.count())]

    def open_at(self, global_pos: QtCore.QPoint, scene_pos: QtCore.QPointF) -> None:
        self.scene_pos = scene_pos
        self.edit.clear()
        self.refill()
        self.move(global_pos)
        self.show()
        self.edit.setFocus()

    def accept_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.hide()
            self.node_requested.emit(item.data(QtCore.Qt.UserRole), self.scene_pos)


class TabFilter(QtCore.QObject):
    """Opens the quick search when Tab is pressed on the canvas view."""

    def __init__(self, viewer, search: QuickSearch):
        super().__init__(viewer)
        self.viewer, self.search = viewer, search

    def eventFilter(self, obj, event):
        if event.type() == QtCore.QEvent.KeyPress and event.key() == QtCore.Qt.Key_Tab:
            self.open()
            return True
        return False

    def open(self) -> None:
        view = self.viewer
        local = view.mapFromGlobal(view.cursor().pos())
        if not view.rect().contains(local):
            local = view.rect().center()
        self.search.open_at(view.mapToGlobal(local), view.mapToScene(local))
