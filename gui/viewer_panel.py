"""The docked panels that show values: the Viewers panel and the wire probe.

The Viewers panel has one display per viewer node, by node id: the graph's own viewers,
the viewers inside its collapsed subgraphs (titled ``subgraph › viewer``, values read
from the subgraph's sub-runtime), and a live plot for each node that streams values
while it runs. A display whose value is from before an edit or a failed run says so
(``stale``) until the node runs again.
"""

from __future__ import annotations

from Qt import QtCore, QtWidgets

from .displays import LivePlot, ValueView
from .model_view import ModelView

#: viewer node type id -> display mode
VIEWER_MODES = {
    "haibal.viewers.ValueDisplay": "value",
    "haibal.viewers.ArrayTable": "table",
    "haibal.viewers.LinePlot": "plot",
    "haibal.viewers.ImageView": "image",
    "haibal.model.ModelSummary": "model",
}
#: display mode -> the output port its node's value is read from (default: "value")
MODE_PORTS = {"model": "model"}


def make_view(mode: str) -> QtWidgets.QWidget:
    """The display of a viewer of ``mode``: a model's summary and histograms, or a value."""
    return ModelView() if mode == "model" else ValueView(mode)


def is_viewer(type_id: str) -> bool:
    return type_id in VIEWER_MODES


def viewer_keys(graph, prefix: tuple = (), titles: tuple = ()) -> dict[tuple, tuple[str, str]]:
    """key (path of node ids) -> (title, mode) for every viewer in ``graph`` and its subgraphs."""
    out = {}
    for gid, gn in graph.nodes.items():
        path, names = prefix + (gid,), titles + (gn.name,)
        if gn.type_id in VIEWER_MODES:
            out[path] = (" › ".join(names), VIEWER_MODES[gn.type_id])
        template = getattr(gn.cls, "template", None)
        if template is not None and len(prefix) < 8:
            out.update(viewer_keys(template.graph, path, names))
        for diagram in getattr(gn.node, "diagrams", ()):  # a structure: its nodes' values are the graph's own
            out.update(viewer_keys(diagram.graph, prefix, names))
    return out


def value_at(runtime, path: tuple, port: str = "value"):
    """(known, value) of the viewer at ``path`` in the last run of ``runtime`` and its sub-runtimes."""
    for gid in path[:-1]:
        runtime = runtime.inner_runtime(gid) if runtime is not None else None
    result = runtime.last_result if runtime is not None else None
    if result is None or path[-1] not in result.values or port not in result.values[path[-1]]:
        return False, None
    return True, result.values[path[-1]][port]


class _Column(QtWidgets.QVBoxLayout):
    """A column whose displays share the panel's height. (A word-wrapped label makes a layout
    "height for width", and a scroll area then sizes it to its preferred height, which
    pushed a plot's axis out of view.)"""

    def hasHeightForWidth(self) -> bool:
        return False


class ViewerEntry(QtWidgets.QGroupBox):
    """One titled display."""

    def __init__(self, title: str, view: QtWidgets.QWidget, parent=None):
        super().__init__(parent)
        self.view = view
        self.name = title
        self.stale = False
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(view)
        self._show_title()

    def set_name(self, title: str) -> None:
        if title != self.name:
            self.name = title
            self._show_title()

    def set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            self._show_title()

    def _show_title(self) -> None:
        self.setTitle(self.name + ("  — stale (not recomputed since an edit or a failed run)" if self.stale else ""))
        self.view.setEnabled(not self.stale)
        self.setToolTip("This value is from an earlier run: run the graph again (Ctrl+R) to refresh it."
                        if self.stale else "")


class ViewerPanel(QtWidgets.QScrollArea):
    """One display per viewer node (and per node streaming live values)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QtWidgets.QFrame.NoFrame)
        self.body = QtWidgets.QWidget()
        self.box = _Column(self.body)
        self.box.setContentsMargins(2, 2, 2, 2)
        self.box.addStretch(1)
        self.setWidget(self.body)
        self.entries: dict[tuple, ViewerEntry] = {}
        self.placeholder = QtWidgets.QLabel("Viewer nodes (Viewers in the palette) show their values here "
                                            "after each run.")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(QtCore.Qt.AlignTop | QtCore.Qt.AlignLeft)
        self.box.insertWidget(0, self.placeholder)

    @property
    def views(self) -> dict[tuple, QtWidgets.QWidget]:
        return {key: e.view for key, e in self.entries.items()}

    def view(self, gid: str) -> ValueView:
        """The display of the graph's viewer node ``gid``."""
        return self.entries[(gid,)].view

    def sync(self, graph) -> None:
        """A display for each viewer of ``graph`` (and of its subgraphs); none for deleted ones."""
        wanted = viewer_keys(graph)
        for key in list(self.entries):
            if key[0] == "live":
                if key[1] not in graph.nodes:
                    self._drop(key)
                continue
            if key not in wanted or self.entries[key].view.mode != wanted[key][1]:
                self._drop(key)
        for key, (title, mode) in wanted.items():
            entry = self.entries.get(key)
            if entry is not None:
                entry.set_name(title)
                continue
            view = make_view(mode)
            view.setMinimumHeight(44 if mode == "value" else 300 if mode == "model" else 150)
            self._add(key, ViewerEntry(title, view))
        for key, entry in self.entries.items():
            if key[0] == "live" and key[1] in graph.nodes:
                entry.set_name(f"{graph.nodes[key[1]].name} (live)")
        self.placeholder.setVisible(not self.entries)

    def _add(self, key, entry: ViewerEntry) -> None:
        self.entries[key] = entry
        self.box.insertWidget(self.box.count() - 1, entry, 0 if entry.view.mode == "value" else 1)

    def _drop(self, key) -> None:
        entry = self.entries.pop(key)
        self.box.removeWidget(entry)
        entry.deleteLater()

    def update_values(self, runtime, stale_gids: set[str]) -> None:
        """Show each viewer's value from the last run; mark the stale ones."""
        for key, entry in self.entries.items():
            if key[0] == "live":
                entry.set_stale(key[1] in stale_gids)
                continue
            known, value = value_at(runtime, key, MODE_PORTS.get(entry.view.mode, "value"))
            if known:
                entry.view.show_value(value)
            entry.set_stale(key[0] in stale_gids)

    def show_merged(self, values: dict[str, dict], note: str) -> None:
        """After a run over files: each viewer of the graph shows its merged value (a viewer fed
        by a metric), the others ``note`` (their value is one per file)."""
        for key, entry in self.entries.items():
            if key[0] == "live" or not isinstance(entry.view, ValueView):
                continue
            port = MODE_PORTS.get(entry.view.mode, "value")
            node = values.get(key[0], {}) if len(key) == 1 else {}
            if port in node:
                entry.view.show_value(node[port])
            else:
                entry.view.show_note(note)
            entry.set_stale(False)

    def mark_stale(self, stale_gids: set[str]) -> None:
        for key, entry in self.entries.items():
            top = key[1] if key[0] == "live" else key[0]
            entry.set_stale(top in stale_gids and entry.view.value is not None
                            if isinstance(entry.view, ValueView) else top in stale_gids)

    def live(self, gid: str, title: str) -> LivePlot:
        """The live plot of node ``gid`` (made on its first event)."""
        key = ("live", gid)
        entry = self.entries.get(key)
        if entry is None:
            plot = LivePlot()
            plot.mode = "live"
            plot.value = None
            plot.setMinimumHeight(180)
            entry = ViewerEntry(f"{title} (live)", plot)
            self._add(key, entry)
            self.placeholder.hide()
        return entry.view

    def redraw_live(self) -> None:
        for key, entry in self.entries.items():
            if key[0] == "live":
                entry.view.redraw()


class ProbePanel(QtWidgets.QWidget):
    """LabVIEW's probe: the value that flowed through the selected wire."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel("Click a wire to probe the value that flowed through it.")
        self.title.setStyleSheet("font-weight: bold")
        self.title.setWordWrap(True)
        self.view = ValueView("auto")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.title)
        lay.addWidget(self.view, 1)
        self.wire = None

    def show_wire(self, wire, text: str, value, known: bool) -> None:
        """``wire``: the Connection; ``text``: how to name it (by node names)."""
        self.wire, self.text, self.stale = wire, text, False
        self.title.setText(f"Probe: {text}")
        if known:
            self.view.show_value(value)
        else:
            self.view.value = None
            self.view.label.setText("(no value yet: run the graph, Ctrl+R)")
            self.view.stack.hide()

    def set_stale(self, stale: bool) -> None:
        """The value shown is from before an edit or a failed run."""
        if self.wire is not None and stale != getattr(self, "stale", False):
            self.stale = stale
            self.title.setText(f"Probe: {self.text}" + ("  — stale (run again to refresh)" if stale else ""))
            self.view.setEnabled(not stale)

    def clear(self, text: str) -> None:
        self.wire, self.stale = None, False
        self.title.setText(text)
        self.view.value = None
        self.view.label.setText("")
        self.view.stack.hide()
        self.view.setEnabled(True)
