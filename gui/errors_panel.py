"""The Error List (LabVIEW's): every reason the graph cannot run, and warnings, by node name.

One row per problem: severity, the node (by name), what is wrong. Clicking a row selects
that node on the canvas and brings it into view (``node_activated``).
"""

from __future__ import annotations

from dataclasses import dataclass

from Qt import QtCore, QtGui, QtWidgets

from .style import DARK, Theme

GID_ROLE = QtCore.Qt.UserRole + 1


@dataclass(frozen=True)
class Issue:
    severity: str  # "error" or "warning"
    gid: str | None  # the node at fault (None: the whole graph)
    node: str  # its name, as shown
    text: str


class ErrorList(QtWidgets.QTreeWidget):
    """The problems of the graph being edited."""

    node_activated = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["", "node", "problem"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(False)
        self.setWordWrap(True)
        self.setAlternatingRowColors(True)
        header = self.header()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        self.issues: list[Issue] = []
        self.theme: Theme = DARK
        self.itemClicked.connect(self._on_clicked)
        self.itemActivated.connect(self._on_clicked)
        self.empty = QtWidgets.QTreeWidgetItem(["", "", "No problems: the graph can run."])

    def show_issues(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        self.clear()
        if not issues:
            self.addTopLevelItem(QtWidgets.QTreeWidgetItem(["", "", "No problems: the graph can run."]))
            return
        for issue in issues:
            item = QtWidgets.QTreeWidgetItem(["error" if issue.severity == "error" else "warning", issue.node,
                                              issue.text])
            color = self.theme.error if issue.severity == "error" else self.theme.warning
            item.setForeground(0, QtGui.QBrush(QtGui.QColor(*color)))
            item.setToolTip(2, issue.text)
            item.setData(0, GID_ROLE, issue.gid)
            self.addTopLevelItem(item)

    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def row_of(self, gid: str) -> QtWidgets.QTreeWidgetItem:
        for i in range(self.topLevelItemCount()):
            if self.topLevelItem(i).data(0, GID_ROLE) == gid:
                return self.topLevelItem(i)
        raise KeyError(f"no problem of node {gid!r} in the list")

    def _on_clicked(self, item, _column=0) -> None:
        gid = item.data(0, GID_ROLE)
        if gid:
            self.node_activated.emit(gid)
