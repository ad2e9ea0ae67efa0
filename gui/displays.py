"""pyqtgraph displays of run-time values: text, table, line plot, image.

Used by the viewer panels (one per viewer node) and by wire probes. ``summary`` is the
one-line description of any value (shape, dtype, min/mean/max, first values).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from Qt import QtCore, QtWidgets

from haibal_py.node.types import Batches

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
    """Shows one value in the form its ``mode`` asks for ("auto" picks from the value).

    The table, plot and image widgets are made the first time a value needs them: a
    pyqtgraph ``ImageView`` alone takes 30 ms to build, and a viewer panel with one
    display per viewer node would otherwise build all three for every node on opening
    a graph (measured: 110 ms for three viewers), most of them never shown.
    """

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
        self._forms: dict[str, QtWidgets.QWidget] = {"value": QtWidgets.QWidget()}  # nothing beyond the label
        self.stack.addWidget(self._forms["value"])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.stack, 1)
        self.stack.hide()

    def _form(self, form: str) -> QtWidgets.QWidget:
        widget = self._forms.get(form)
        if widget is None:
            if form == "table":
                widget = pg.TableWidget(editable=False, sortable=False)
            elif form == "plot":
                widget = pg.PlotWidget()
                widget.showGrid(x=True, y=True, alpha=0.3)
                # long rows: draw at most a few points per pixel (peaks kept), only what is in view
                widget.getPlotItem().setDownsampling(auto=True, mode="peak")
                widget.getPlotItem().setClipToView(True)
            else:
                widget = pg.ImageView()
                widget.ui.roiBtn.hide()
                widget.ui.menuBtn.hide()
            self._forms[form] = widget
            self.stack.addWidget(widget)
        return widget

    @property
    def table(self) -> pg.TableWidget:
        return self._form("table")

    @property
    def plot(self) -> pg.PlotWidget:
        return self._form("plot")

    @property
    def image(self) -> pg.ImageView:
        return self._form("image")

    def _show_form(self, form: str) -> None:
        self.stack.setCurrentWidget(self._form(form))

    def shown_as(self) -> str:
        """The form the current value is shown in (after "auto" is resolved)."""
        current = self.stack.currentWidget()
        return next(form for form, widget in self._forms.items() if widget is current)

    def show_note(self, text: str) -> None:
        """Show a line of text instead of a value (the value is then None)."""
        self.value = None
        self.label.setText(text)
        self.stack.hide()

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
            self._show_form("value")
            self.stack.hide()
            return
        self.stack.show()
        if mode == "table":
            data = np.atleast_2d(arr) if arr.ndim <= 2 else arr.reshape(arr.shape[0], -1)
            self.table.setData(np.asarray(data[:500, :100]))
            self._show_form("table")
        elif mode == "plot":
            self.plot.clear()
            rows = np.atleast_2d(arr.astype(np.float64)) if arr.ndim <= 2 else arr.reshape(arr.shape[0], -1)
            for i, row in enumerate(rows[:16]):
                self.plot.plot(row, pen=pg.mkPen(pg.intColor(i, max(len(rows), 1)), width=2),
                               symbol="o" if row.size < 50 else None, symbolSize=5)
            self._show_form("plot")
        else:
            self.image.setImage(arr.astype(np.float64).T if arr.ndim == 2 else
                                np.transpose(arr.astype(np.float64), (0, 2, 1)))
            self._show_form("image")
