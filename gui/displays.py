"""pyqtgraph displays of run-time values: text, table, line plot, image, and live plots.

``ValueView`` shows one value (the viewer panels, one per viewer node, and the wire
probe); ``LivePlot`` draws the points a running node streams (``RunContext.emit``:
a training curve), one line per named series.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from Qt import QtCore, QtWidgets

from haibal_py.node.types import Batches

from .values import summary

MODES = ("auto", "value", "table", "plot", "image")


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
        text = summary(value)
        self.label.setToolTip(text)
        mode_now = auto_mode(value) if self.mode == "auto" else self.mode
        # beside a plot, image or table, the numbers in one line (the whole summary in the tooltip)
        self.label.setText(text if mode_now == "value" else text.split("\n")[0] + (
            "   " + text.split("\n")[1] if text.count("\n") >= 1 else ""))
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
            if arr.ndim == 2:
                self.image.setImage(arr.astype(np.float64).T)
            else:  # one image per index of the first axis: the slider counts frames 0, 1, 2 ...
                self.image.setImage(np.transpose(arr.astype(np.float64), (0, 2, 1)),
                                    xvals=np.arange(arr.shape[0], dtype=float))
            self._show_form("image")


class LivePlot(QtWidgets.QWidget):
    """Points streamed by a running node, one line per series.

    ``add(kind, payload)`` takes one event: a number is the next point of series
    ``kind``; a mapping gives several series at once (``{"loss": 0.3, "val_loss": 0.4}``),
    its ``"step"`` or ``"epoch"`` entry (if any) as their x; a pair ``(x, y)`` is one point.
    A training curve's point (a Fit's: ``{"stage", "epoch", "batch", "step", "loss", ...}``)
    plots its values against the global step, so the batch points and the epochs' validation
    values (``val_loss`` at the epoch's last step) share one x axis; ``epoch`` and ``batch``
    are coordinates, not series. A mapping holding only ``"text"`` (a status) is shown as
    the label. Anything else is shown as the last event's text. Points are kept as they come
    and drawn when ``redraw`` is called (the window does it a few times a second)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.series: dict[str, tuple[list, list]] = {}
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.addLegend(offset=(-10, 10))
        self.plot.getPlotItem().setDownsampling(auto=True, mode="peak")
        self.plot.getPlotItem().setClipToView(True)
        self.label = QtWidgets.QLabel("(waiting for values)")
        self.label.setWordWrap(True)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.label)
        lay.addWidget(self.plot, 1)

    def _point(self, name: str, x, y) -> None:
        xs, ys = self.series.setdefault(str(name), ([], []))
        xs.append(float(len(xs)) if x is None else float(x))
        ys.append(float(y))
        self._dirty = True

    def add(self, kind: str, payload) -> None:
        if isinstance(payload, dict):
            x = payload.get("step", payload.get("epoch"))
            numbers = {k: v for k, v in payload.items() if k not in _COORDINATES and _is_number(v)}
            for name, y in numbers.items():
                self._point(name, x, y)
            if not numbers:
                text = payload.get("text")
                self.label.setText(str(text)[:300] if isinstance(text, str) else f"{kind}: {payload!r}"[:300])
        elif _is_number(payload):
            self._point(kind, None, payload)
        elif isinstance(payload, (tuple, list)) and len(payload) == 2 and all(_is_number(v) for v in payload):
            self._point(kind, payload[0], payload[1])
        else:
            self.label.setText(f"{kind}: {payload!r}"[:300])

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        for i, (name, (xs, ys)) in enumerate(self.series.items()):
            curve = self._curves.get(name)
            if curve is None:
                curve = self._curves[name] = self.plot.plot(
                    pen=pg.mkPen(pg.intColor(i, max(len(self.series), 3)), width=2), name=name)
            curve.setData(np.asarray(xs), np.asarray(ys))
        last = ", ".join(f"{name} {ys[-1]:.5g}" for name, (xs, ys) in self.series.items() if ys)
        self.label.setText(f"{sum(len(v[0]) for v in self.series.values())} points — last: {last}")

    def clear(self) -> None:
        self.series.clear()
        for curve in self._curves.values():
            self.plot.removeItem(curve)
        self._curves.clear()
        self._dirty = False
        self.label.setText("(waiting for values)")


#: entries of a mapping event that place its point rather than being series of their own
_COORDINATES = ("step", "epoch", "batch")


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
