"""The palette: the catalog as a tree by category, with a search box.

Drag a node onto the canvas (NodeGraphQt's ``nodegraphqt/nodes`` MIME data, which the
canvas turns into a node at the drop point) or double-click it to add it at the view
centre.
"""

from __future__ import annotations

from NodeGraphQt.constants import MIME_TYPE, URN_SCHEME
from Qt import QtCore, QtWidgets

from haibal_py.node.registry import CATALOG

from .adapter import node_class_for

TYPE_ROLE = QtCore.Qt.UserRole + 1


class _Tree(QtWidgets.QTreeWidget):
    def mimeData(self, items):
        types = [it.data(0, TYPE_ROLE) for it in items if it.data(0, TYPE_ROLE)]
        data = QtCore.QMimeData()
        urn = URN_SCHEME + ";".join(f"node:{t}" for t in types)
        data.setData(MIME_TYPE, QtCore.QByteArray(urn.encode()))
        return data

    def mimeTypes(self):
        return [MIME_TYPE]


class Palette(QtWidgets.QWidget):
    """Catalog tree + search box. ``node_requested(ngqt_type)`` on double-click or Enter."""

    node_requested = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = QtWidgets.QLineEdit(self)
        self.search.setPlaceholderText("Search nodes…")
        self.search.setClearButtonEnabled(True)
        self.tree = _Tree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QtWidgets.QAbstractItemView.DragOnly)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_first_visible)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.rebuild()

    def rebuild(self) -> None:
        """(Re)build the tree from the catalog: every category, every node class."""
        self.tree.clear()
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        for category in CATALOG.categories():
            cat_item = QtWidgets.QTreeWidgetItem(self.tree, [category or "Other"])
            cat_item.setFlags(QtCore.Qt.ItemIsEnabled)
            cat_item.setExpanded(True)
            for cls in CATALOG.in_category(category):
                gen = node_class_for(cls)
                item = QtWidgets.QTreeWidgetItem(cat_item, [cls.display_name or cls.__name__])
                item.setData(0, TYPE_ROLE, gen.type_)
                item.setToolTip(0, f"{cls.type_id}\n{cls.help.description}")
                item.setFlags(QtCore.Qt.ItemIsEnabled | QtCore.Qt.ItemIsSelectable | QtCore.Qt.ItemIsDragEnabled)
                self.items[cls.type_id] = item
        self.filter(self.search.text())

    def filter(self, text: str) -> None:
        """Show the nodes whose name, id or category contains every word of ``text``."""
        words = text.lower().split()
        for i in range(self.tree.topLevelItemCount()):
            cat = self.tree.topLevelItem(i)
            shown = 0
            for j in range(cat.childCount()):
                item = cat.child(j)
                hay = f"{item.text(0)} {item.toolTip(0)} {cat.text(0)}".lower()
                visible = all(w in hay for w in words)
                item.setHidden(not visible)
                shown += visible
            cat.setHidden(shown == 0)

    def visible_types(self) -> list[str]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            cat = self.tree.topLevelItem(i)
            out += [cat.child(j).data(0, TYPE_ROLE) for j in range(cat.childCount()) if not cat.child(j).isHidden()]
        return out

    def _add_first_visible(self) -> None:
        types = self.visible_types()
        if types:
            self.node_requested.emit(types[0])

    def _on_double_click(self, item, _column) -> None:
        node_type = item.data(0, TYPE_ROLE)
        if node_type:
            self.node_requested.emit(node_type)
