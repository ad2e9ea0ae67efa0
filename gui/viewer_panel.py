"""The docked panels that show values: one display per viewer node, and the wire probe."""

from __future__ import annotations

from Qt import QtCore, QtWidgets

from .displays import ValueView

#: viewer node type id -> display mode
VIEWER_MODES = {
    "haibal.viewers.ValueDisplay": "value",
    "haibal.viewers.ArrayTable": "table",
    "haibal.viewers.LinePlot": "plot",
    "haibal.viewers.ImageView": "image",
}


def is_viewer(node) -> bool:
    return getattr(node, "haibal_class", None) is not None and node.haibal_class.type_id in VIEWER_MODES


class ViewerPanel(QtWidgets.QScrollArea):
    """One titled display per viewer node on the canvas, updated after each run."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.body = QtWidgets.QWidget()
        self.box = QtWidgets.QVBoxLayout(self.body)
        self.box.addStretch(1)
        self.setWidget(self.body)
        self.views: dict[str, ValueView] = {}
        self._frames: dict[str, QtWidgets.QGroupBox] = {}

    def sync(self, nodes) -> None:
        """Add a display for each new viewer node, drop those of deleted ones."""
        wanted = {n.name(): VIEWER_MODES[n.haibal_class.type_id] for n in nodes if is_viewer(n)}
        for name in list(self.views):
            if name not in wanted or self.views[name].mode != wanted[name]:
                self._frames.pop(name).deleteLater()
                del self.views[name]
        for name, mode in sorted(wanted.items()):
            if name in self.views:
                continue
            frame = QtWidgets.QGroupBox(name)
            lay = QtWidgets.QVBoxLayout(frame)
            view = ValueView(mode)
            view.setMinimumHeight(60 if mode == "value" else 220)
            lay.addWidget(view)
            self.box.insertWidget(self.box.count() - 1, frame)
            self.views[name], self._frames[name] = view, frame

    def update_values(self, outputs: dict[str, dict], others: str | None = None) -> None:
        """Show each viewer's value; ``others``: the note shown by viewers without one
        (after a run over files: those whose value is per file, not merged)."""
        for name, view in self.views.items():
            node_out = outputs.get(name)
            if node_out is not None and "value" in node_out:
                view.show_value(node_out["value"])
            elif others is not None:
                view.show_note(others)


class ProbePanel(QtWidgets.QWidget):
    """LabVIEW's probe: the value that flowed through the clicked wire."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QtWidgets.QLabel("Click a wire to probe the value that flowed through it.")
        self.title.setStyleSheet("font-weight: bold")
        self.view = ValueView("auto")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.title)
        lay.addWidget(self.view, 1)
        self.wire = None

    def show_wire(self, wire, value, known: bool) -> None:
        self.wire = wire
        src, out, dst, inp = wire
        self.title.setText(f"Probe: {src}.{out} → {dst}.{inp}")
        if known:
            self.view.show_value(value)
        else:
            self.view.value = None
            self.view.label.setText("(no value yet: run the graph, Ctrl+R)")
            self.view.stack.hide()
