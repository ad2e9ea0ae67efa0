"""Run settings and file notices: what a graph from elsewhere may touch, said before it runs.

A graph reads and writes only inside its own folder unless the user widens that on purpose
(``docs/security.md``): *Run → Run settings…* lists the extra folders runs may read and
write and the resource limits, as ``haibal run --allow-read/--allow-write/--limit`` do.
They belong to the window, never to a file: a graph cannot widen its own trust.

When a graph is opened or a snippet inserted, ``notice_files`` says which files it would
write when it runs (and which of its files the policy refuses), once per file and window,
before anything runs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.files.limits import Limits
from haibal_py.files.policy import WRITE, FilePolicy


# ---------------------------------------------------------------------------------- notices
def file_notice(window, graph, nodes=None) -> list[str]:
    """Lines naming the files ``graph`` (its nodes ``nodes`` only, when given) would write,
    and every file the window's policy refuses, that this window has not reported yet."""
    try:
        accesses = graph.files(window.model.policy)
    except HaibalError as exc:
        return [f"cannot list the files this graph uses: {exc}"]
    seen = window.__dict__.setdefault("_noticed_files", set())
    lines = []
    for acc in accesses:
        if nodes is not None and acc.node not in nodes:
            continue
        if acc.use.mode != WRITE and acc.refused is None:
            continue  # reading inside the allowed folders needs no notice
        key = (acc.where, acc.use.mode, acc.use.path)
        if key in seen:
            continue
        seen.add(key)
        name = window.model.node_name(acc.node)
        what = "writes" if acc.use.mode == WRITE else "reads"
        target = str(acc.resolved) if acc.resolved is not None else f"REFUSED ({acc.refused})"
        lines.append(f"{name} {what} {acc.use.path!r} -> {target}")
    return lines


def notice_files(window, graph, source: str, nodes=None) -> str:
    """Show (once) which files ``graph`` would write or may not touch; returns the text shown ('' if none).

    A graph file whose notice (the same files) was shown before, in this or an earlier session,
    only says it in the status bar: the dialog is for what is new, as from a stranger's graph."""
    lines = file_notice(window, graph, nodes)
    if not lines:
        return ""
    text = f"{source} uses these files when it runs:\n" + "\n".join(f"  - {line}" for line in lines) + \
        "\n\nNothing has run yet. Files outside the graph's folder are refused unless you allow " \
        "their folders in Run → Run settings…"
    refused = sum("REFUSED" in line for line in lines)
    window.show_status(f"{source}: writes {len(lines) - refused} file(s)"
                       + (f", {refused} refused by the run settings" if refused else ""),
                       "warning" if refused else "info")
    settings = getattr(window, "settings", None)
    key = str(Path(graph.path).resolve()) if getattr(graph, "path", None) is not None else None
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    if key is not None and settings is not None and not refused:
        if settings.noticed.get(key) == digest:  # this graph, these files: seen before, said in the status bar
            return ""
        settings.note_seen(key, digest)
    window.last_file_notice = text
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Information, "Files this graph uses", text,
                                QtWidgets.QMessageBox.Ok, window)
    box.setWindowModality(QtCore.Qt.WindowModal)
    box.setAttribute(QtCore.Qt.WA_DeleteOnClose)
    box.open()  # never blocks the event loop (a sheet over the window)
    window.file_notice_box = box
    return text


# ---------------------------------------------------------------------------------- settings
class _Folders(QtWidgets.QWidget):
    """An editable list of folders."""

    def __init__(self, folders, parent=None):
        super().__init__(parent)
        self.list = QtWidgets.QListWidget()
        for folder in folders:
            self.list.addItem(str(folder))
        add, remove = QtWidgets.QPushButton("Add…"), QtWidgets.QPushButton("Remove")
        add.clicked.connect(self._add)
        remove.clicked.connect(lambda: [self.list.takeItem(self.list.row(i)) for i in self.list.selectedItems()])
        buttons = QtWidgets.QVBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.list, 1)
        row.addLayout(buttons)

    def _add(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Allow a folder")
        if folder:
            self.list.addItem(folder)

    def folders(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]


class RunSettingsDialog(QtWidgets.QDialog):
    """The folders runs may read and write besides the graph's own, and the limits."""

    def __init__(self, window):
        super().__init__(window)
        self.window_ = window
        self.setWindowTitle("Run settings")
        policy, limits = window.model.policy, window.model.limits
        self.read = _Folders(policy.allow_read)
        self.write = _Folders(policy.allow_write)
        self.limits = {}
        form = QtWidgets.QFormLayout()
        form.addRow(QtWidgets.QLabel("The graph's own folder (and below) is always allowed."))
        form.addRow("Also read from:", self.read)
        form.addRow("Also write to (and read):", self.write)
        for name in Limits.names():
            field = QtWidgets.QLineEdit(str(getattr(limits, name)))
            field.setToolTip("a number; sizes may say KiB, MiB, GiB (e.g. 8GiB)")
            self.limits[name] = field
            form.addRow(name.replace("_", " ") + ":", field)
        self.error = QtWidgets.QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e0505a")
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def apply(self) -> bool:
        """Check and use the settings; a refused value is named and nothing changes."""
        try:
            limits = Limits().with_text([f"{n}={f.text().strip()}" for n, f in self.limits.items()])
            policy = FilePolicy(tuple(Path(p) for p in self.read.folders()),
                                tuple(Path(p) for p in self.write.folders()))
        except HaibalError as exc:
            self.error.setText(str(exc))
            return False
        self.window_.model.set_run_settings(policy, limits)
        self.window_.show_status("run settings changed: the next run starts afresh")
        self.accept()
        return True


def install(window) -> None:
    """Run → Run settings…, and file notices when a graph is opened (once)."""
    if getattr(window, "act_run_settings", None) is not None:
        return
    act = QtGui.QAction("Run &settings…", window)
    act.setStatusTip("the folders runs may read and write besides the graph's own, and the limits")
    act.triggered.connect(lambda *_: RunSettingsDialog(window).open())
    window.add_action("run", act)
    window.act_run_settings = act

    def on_change(change):
        if change.reset:  # a graph opened (or recovered): say what it would write
            window.__dict__["_noticed_files"] = set()
            graph = window.model.graph
            name = Path(graph.path).name if graph.path is not None else (graph.name or "this graph")
            QtCore.QTimer.singleShot(0, lambda: notice_files(window, graph, name))

    window.model.changed.connect(on_change)
