"""The palette: the catalog as a tree by category, with a search box and a description line.

The search ranks nodes by ``search.rank`` (words, prefixes, abbreviations: "scce", "mse",
"cross entropy"); the best match is selected, so Enter adds it. The line under the tree
is the selected node's one-line description. Drag a node onto the canvas or
double-click it to add it.
"""

from __future__ import annotations

from Qt import QtCore, QtWidgets

from haibal_py.node.registry import CATALOG

from .canvas import NODE_MIME
from .search import catalog_entries, rank

TYPE_ROLE = QtCore.Qt.UserRole + 1


class _Tree(QtWidgets.QTreeWidget):
    def mimeData(self, items):
        types = [it.data(0, TYPE_ROLE) for it in items if it.data(0, TYPE_ROLE)]
        data = QtCore.QMimeData()
        data.setData(NODE_MIME, QtCore.QByteArray("\n".join(types).encode()))
        return data

    def mimeTypes(self):
        return [NODE_MIME]


class Palette(QtWidgets.QWidget):
    """Catalog tree + search box. ``node_requested(type id)`` on double-click or Enter."""

    node_requested = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QtWidgets.QLineEdit(self)
        self.search.setPlaceholderText("Search nodes (words or initials: scce, mse)…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.description = QtWidgets.QLabel(self)
        self.description.setWordWrap(True)
        self.description.setMinimumHeight(34)
        self.description.setAlignment(QtCore.Qt.AlignTop | QtCore.Qt.AlignLeft)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.description)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_current)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.currentItemChanged.connect(self._describe)
        self.rebuild()

    def rebuild(self) -> None:
        """(Re)build the tree from the catalog: every category, every node class."""
        self.tree.clear()
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self.entries = catalog_entries(CATALOG)
        by_id = {e.key: e for e in self.entries}
        for category in CATALOG.categories():
            cat_item = QtWidgets.QTreeWidgetItem(self.tree, [category or "Other"])
            cat_item.setFlags(QtCore.Qt.ItemIsEnabled)
            cat_item.setExpanded(True)
            for cls in CATALOG.in_category(category):
                entry = by_id[cls.type_id]
                item = QtWidgets.QTreeWidgetItem(cat_item, [entry.name])
                item.setData(0, TYPE_ROLE, cls.type_id)
                item.setToolTip(0, f"{entry.name} ({entry.category})\n{entry.description}\n{cls.type_id}")
                item.setFlags(QtCore.Qt.ItemIsEnabled | QtCore.Qt.ItemIsSelectable | QtCore.Qt.ItemIsDragEnabled)
                self.items[cls.type_id] = item
        self.filter(self.search.text())

    def filter(self, text: str) -> None:
        """Show the matching nodes; the best match becomes the current item."""
        ranked = rank(text, self.entries)
        shown = {e.key for e in ranked}
        self._order = [e.key for e in ranked]
        for i in range(self.tree.topLevelItemCount()):
            cat = self.tree.topLevelItem(i)
            visible = 0
            for j in range(cat.childCount()):
                item = cat.child(j)
                on = item.data(0, TYPE_ROLE) in shown
                item.setHidden(not on)
                visible += on
            cat.setHidden(visible == 0)
        if text.strip() and ranked:
            self.tree.setCurrentItem(self.items[ranked[0].key])
        elif not ranked:
            self.description.setText("No node matches.")

    def visible_types(self) -> list[str]:
        """The matching type ids, best first."""
        return list(self._order)

    def _describe(self, item, _previous=None) -> None:
        type_id = item.data(0, TYPE_ROLE) if item is not None else None
        entry = next((e for e in self.entries if e.key == type_id), None)
        self.description.setText(f"<b>{entry.name}</b> — {entry.description}" if entry else "")

    def _add_current(self) -> None:
        item = self.tree.currentItem()
        type_id = item.data(0, TYPE_ROLE) if item is not None and not item.isHidden() else None
        if type_id is None and self._order:
            type_id = self._order[0]
        if type_id:
            self.node_requested.emit(type_id)

    def _on_double_click(self, item, _column) -> None:
        type_id = item.data(0, TYPE_ROLE)
        if type_id:
            self.node_requested.emit(type_id)
