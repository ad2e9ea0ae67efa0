"""The display of a built model (a Model Summary node in the Viewers panel, pyqtgraph).

A line with the parameter counts and the output shape, then two tabs: "Summary", Keras'
table (``model.summary_rows()``: layer and type, output shape, parameters; "Connected to"
for a functional model; the whole Keras text in the tooltip), and "Weights", one histogram
per layer (every weight of the layer together: kernel and bias, gamma and beta ...), one
under the other in a scrolling column (the dock is narrow).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from Qt import QtCore, QtGui, QtWidgets

from haibal_py.numeric.models import Model
from haibal_py.numeric.models.summary import summary_text
from haibal_py.nodes.models import SUMMARY_COLUMNS, weights_by_layer

from .values import summary

#: at most this many histograms (the largest models keep a display that opens fast)
MAX_HISTOGRAMS = 24
HISTOGRAM_BRUSH = (170, 110, 255, 110)  # the model wire's violet, see through
HISTOGRAM_PEN = (170, 110, 255)
HISTOGRAM_HEIGHT = 130  # pixels per histogram; the Weights tab scrolls


def histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counts, edges) of a layer's weights: about sqrt(n) bins, between 5 and 50."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    bins = int(min(50, max(5, np.sqrt(max(values.size, 1)))))
    return np.histogram(values, bins=bins)


class ModelView(QtWidgets.QWidget):
    """Shows a built model: its summary table and a weights histogram per layer."""

    mode = "model"

    def __init__(self, parent=None):
        super().__init__(parent)
        self.value = None
        self.label = QtWidgets.QLabel("(not run yet)", self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.table = QtWidgets.QTableWidget(0, 3, self)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.histograms = pg.GraphicsLayoutWidget(self)
        self.plots: dict[str, pg.PlotItem] = {}
        # two tabs rather than a split: the Viewers dock is narrow, each gets its whole height
        self.tabs = QtWidgets.QTabWidget(self)
        self.tabs.addTab(self.table, "Summary")
        scroll = QtWidgets.QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.histograms)
        self.tabs.addTab(scroll, "Weights")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.tabs, 1)

    def show_value(self, value) -> None:
        self.value = value
        if not isinstance(value, Model):
            self.label.setText(summary(value))
            self.table.setRowCount(0)
            self._clear_histograms()
            return
        self._show_counts(value)
        self._show_table(value)
        self._show_histograms(value)

    def _show_counts(self, model: Model) -> None:
        total = model.count_params()
        trainable = int(sum(w.size for w in model.trainable_weights))
        shapes = model.output_shape
        shown = ", ".join(map(str, shapes)) if isinstance(shapes, list) else str(shapes)
        self.label.setText(f'Model "{model.name}": {total:,} parameters ({trainable:,} trainable, '
                           f'{total - trainable:,} not); output {shown}')
        tip = summary_text(model, columns=SUMMARY_COLUMNS)
        self.setToolTip(f"<pre>{tip}</pre>")

    def _show_table(self, model: Model) -> None:
        rows = model.summary_rows()
        functional = any(r.connected_to for r in rows)
        headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        mono = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        for i, r in enumerate(rows):
            cells = [f"{'  ' * r.level}{r.name} ({r.class_name})", r.output_shape,
                     "0 (unbuilt)" if r.params is None else f"{r.params:,}"]
            if functional:
                cells.append(", ".join(r.connected_to) or "-")
            for j, text in enumerate(cells):
                item = QtWidgets.QTableWidgetItem(text)
                item.setFont(mono)
                if j == 2:
                    item.setTextAlignment(int(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()

    def _clear_histograms(self) -> None:
        self.histograms.clear()
        self.plots = {}

    def _show_histograms(self, model: Model) -> None:
        self._clear_histograms()
        by_layer = weights_by_layer(model)
        for k, (layer, values) in enumerate(list(by_layer.items())[:MAX_HISTOGRAMS]):
            counts, edges = histogram(values)
            plot = self.histograms.addPlot(row=k, col=0, title=f"{layer} ({values.size:,})")
            plot.plot(edges, counts, stepMode="center", fillLevel=0, brush=HISTOGRAM_BRUSH,
                      pen=pg.mkPen(HISTOGRAM_PEN))
            plot.setMouseEnabled(x=True, y=False)
            self.plots[layer] = plot
        if len(by_layer) > MAX_HISTOGRAMS:
            self.histograms.addLabel(f"... and {len(by_layer) - MAX_HISTOGRAMS} more layers",
                                     row=MAX_HISTOGRAMS, col=0)
        self.histograms.setMinimumHeight(HISTOGRAM_HEIGHT * len(self.plots))
