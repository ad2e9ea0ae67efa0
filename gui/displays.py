"""pyqtgraph displays of run-time values: text, table, line plot, image.

Used by the viewer panels (one per viewer node) and by wire probes. ``summary`` is the
one-line description of any value (shape, dtype, min/mean/max, first values).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from Qt import QtCore, QtWidgets

from haibal_py.types import Batches

MODES = ("auto", "value", "table", "plot", "image")


def summary(value) -> str:
    """A readable one-paragraph description of a value."""
    if value is None:
        return "(no value)"
    if isinstance(value, Batches):
        return f"{len(value)} batches; first: {summary(value[0]) if value else '-'}"
    if isinstance(value, str):
        return repr(value)
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item()!r}  ({arr.dtype})"
    text = f"shape {arr.shape}, {arr.dtype}"
    if arr.size and arr.dtype.kind in "fiub":
        data = arr.astype(np.float64)
        text += f"\nmin {data.min():.6g}  mean {data.mean():.6g}  max {data.max():.6g}"
    flat = arr.ravel()
    text += "\n[" + ", ".join(f"{x:.6g}" if arr.dtype.kind == "f" else str(x) for x in flat[:6]) + \
        (", …]" if flat.size > 6 else "]")
    return text


def _as_array(value):
    if isinstance(value, Batches):
        try:
            return np.concatenate([np.atleast_1d(np.asarray(v)) for v in value])
        except ValueError:
            return None
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return arr if arr.dtype.kind in "fiub" else None


def auto_mode(value) -> str:
    arr = _as_array(value)
    if arr is None or arr.ndim == 0:
        return "value"
    if arr.ndim == 1:
        return "plot"
    if arr.ndim == 2 and min(arr.shape) > 3:
        return "image"
    return "table"


class ValueView(QtWidgets.QWidget):
    """Shows one value in the form its ``mode`` asks for ("auto" picks from the value)."""

    def __init__(self, mode: str = "auto", parent=None):
        super().__init__(parent)
        if mode not in MODES:
            raise ValueError(f"unknown display mode {mode!r}; expected one of {MODES}")
        self.mode = mode
        self.value = None
        self.label = QtWidgets.QLabel("(not run yet)", self)
        self.label.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.label.setWordWrap(True)
        self.stack = QtWidgets.QStackedWidget(self)
        self.stack.addWidget(QtWidgets.QWidget())  # 0: nothing beyond the label
        self.table = pg.TableWidget(editable=False, sortable=False)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.image = pg.ImageView()
        self.image.ui.roiBtn.hide()
        self.image.ui.menuBtn.hide()
        for w in (self.table, self.plot, self.image):
            self.stack.addWidget(w)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.stack, 1)
        self.stack.hide()

    def shown_as(self) -> str:
        """The form the current value is shown in (after "auto" is resolved)."""
        return {0: "value", 1: "table", 2: "plot", 3: "image"}[self.stack.currentIndex()]

    def show_value(self, value) -> None:
        self.value = value
        self.label.setText(summary(value))
        mode = auto_mode(value) if self.mode == "auto" else self.mode
        arr = _as_array(value)
        if arr is None or (mode in ("plot", "image", "table") and arr.ndim == 0):
            mode = "value"
        if mode == "image" and arr.ndim not in (2, 3):
            mode = "table"
        if mode == "value":
            self.stack.setCurrentIndex(0)
            self.stack.hide()
            return
        self.stack.show()
        if mode == "table":
            data = np.atleast_2d(arr) if arr.ndim <= 2 else arr.reshape(arr.shape[0], -1)
            self.table.setData(np.asarray(data[:500, :100]))
            self.stack.setCurrentIndex(1)
        elif mode == "plot":
            self.plot.clear()
            rows = np.atleast_2d(arr.astype(np.float64)) if arr.ndim <= 2 else arr.reshape(arr.shape[0], -1)
            for i, row in enumerate(rows[:16]):
                self.plot.plot(row, pen=pg.mkPen(pg.intColor(i, max(len(rows), 1)), width=2),
                               symbol="o" if row.size < 50 else None, symbolSize=5)
            self.stack.setCurrentIndex(2)
        else:
            self.image.setImage(arr.astype(np.float64).T if arr.ndim == 2 else
                                np.transpose(arr.astype(np.float64), (0, 2, 1)))
            self.stack.setCurrentIndex(3)
