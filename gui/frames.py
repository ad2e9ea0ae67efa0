"""How structures look on the canvas: LabVIEW's frames and border terminals.

A structure (For Loop, While Loop, Case Structure: ``haibal_py.graph.structures``) is
drawn as a **frame** around its diagram's nodes on the same canvas (``FrameNode``, a
NodeGraphQt backdrop: dragging it moves what it holds, its corner resizes it), and its
terminals as small items on the frame (``TerminalNode``): tunnels as squares on the
border (indexing shown by brackets), shift registers as a pair of arrows (down on the
left, up on the right), the iteration terminal ``i`` and the count ``N`` as blue boxes
inside, the conditional terminal as a stop sign (stop if true) or a circling arrow
(continue if true), a Case Structure's selector as a ``?`` box and its case label with
arrows on the top border to show another case.

Only the frame's border and labels take clicks: a click inside a frame starts a
selection rectangle, as on the canvas. ``layout_terminals`` places the terminals from
the frame's geometry and the structure's terminal order; nothing here edits the graph
(the canvas turns gestures into model edits).
"""

from __future__ import annotations

from NodeGraphQt import BackdropNode, BaseNode
from NodeGraphQt.qgraphics.node_backdrop import BackdropNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from Qt import QtCore, QtGui

MARGIN = 12.0  # the frame item reaches this far beyond the drawn frame: border terminals lie inside it
BORDER = 8.0  # the drawn border's thickness
TERM = 16.0  # a tunnel's square
ROW = 34.0  # the vertical distance between two terminals on a border
FIRST_ROW = 52.0  # from the frame's top to the first terminal row
MIN_SIZE = (160.0, 120.0)
FRAME_COLORS = {"for": (110, 118, 140), "while": (110, 118, 140), "case": (120, 112, 96)}
ITERATION_BLUE = (40, 95, 200)


def frame_min_size(rows: int) -> tuple[float, float]:
    """The smallest frame holding ``rows`` terminal rows on its borders."""
    return MIN_SIZE[0], max(MIN_SIZE[1], FIRST_ROW + ROW * rows + 44.0)


class FrameItem(BackdropNodeItem):
    """A structure's frame: a thick border, its name, a Case Structure's case label and arrows."""

    def __init__(self, name="structure", text="", parent=None):
        super().__init__(name, text, parent)
        self.kind = "for"
        self.case_text = ""
        self.state_color: tuple | None = None
        #: ``on_case_step(step)``: an arrow of the case label clicked (-1 previous, +1 next)
        self.on_case_step = None
        self.minimum_size = (MIN_SIZE[0] + 2 * MARGIN, MIN_SIZE[1] + 2 * MARGIN)

    # -- geometry (item coordinates)
    def frame_rect(self) -> QtCore.QRectF:
        """The drawn frame: the item's rect less the margin."""
        r = self.boundingRect()
        return QtCore.QRectF(r.x() + MARGIN, r.y() + MARGIN, r.width() - 2 * MARGIN, r.height() - 2 * MARGIN)

    def label_rect(self) -> QtCore.QRectF:
        """A Case Structure's case label, centred on the top border (arrows at its ends)."""
        f = self.frame_rect()
        w = min(max(90.0, 12.0 + 7.5 * len(self.case_text) + 44.0), f.width() - 20.0)
        return QtCore.QRectF(f.center().x() - w / 2, f.top() - 9.0, w, 20.0)

    def arrow_rects(self) -> tuple[QtCore.QRectF, QtCore.QRectF]:
        lab = self.label_rect()
        return (QtCore.QRectF(lab.left(), lab.top(), 20.0, lab.height()),
                QtCore.QRectF(lab.right() - 20.0, lab.top(), 20.0, lab.height()))

    def shape(self) -> QtGui.QPainterPath:
        """The border band and the labels take clicks; the inside does not (it is canvas)."""
        f = self.frame_rect()
        path = QtGui.QPainterPath()
        path.setFillRule(QtCore.Qt.OddEvenFill)
        path.addRect(f.adjusted(-2.0, -2.0, 2.0, 2.0))
        path.addRect(f.adjusted(BORDER, BORDER, -BORDER, -BORDER))
        if self.kind == "case":
            label = QtGui.QPainterPath()
            label.addRect(self.label_rect())
            path = path.united(label)
        sizer = QtGui.QPainterPath()
        sizer.addRect(QtCore.QRectF(f.right() - 20.0, f.bottom() - 20.0, 22.0, 22.0))
        return path.united(sizer)

    # -- drawing
    def paint(self, painter, option, widget):
        painter.save()
        painter.setRenderHint(QtGui.QPainter.Antialiasing, True)
        f = self.frame_rect()
        base = QtGui.QColor(*FRAME_COLORS.get(self.kind, (110, 118, 140)))
        inner = f.adjusted(BORDER, BORDER, -BORDER, -BORDER)
        band = QtGui.QPainterPath()
        band.setFillRule(QtCore.Qt.OddEvenFill)
        band.addRoundedRect(f, 4.0, 4.0)
        band.addRect(inner)
        painter.setPen(QtCore.Qt.NoPen)
        painter.setBrush(QtGui.QBrush(base, QtCore.Qt.SolidPattern))
        painter.drawPath(band)
        painter.setBrush(QtGui.QBrush(base.darker(160), QtCore.Qt.Dense6Pattern))  # LabVIEW's grainy frame
        painter.drawPath(band)
        border = QtGui.QColor(255, 255, 255) if self.selected else base.lighter(140)
        painter.setBrush(QtCore.Qt.NoBrush)
        painter.setPen(QtGui.QPen(border, 1.6 if self.selected else 1.0))
        painter.drawRoundedRect(f, 4.0, 4.0)
        painter.drawRect(inner)
        if self.state_color is not None:  # its run state: the frame's outline in the state's colour
            painter.setPen(QtGui.QPen(QtGui.QColor(*self.state_color), 2.4))
            painter.drawRoundedRect(f.adjusted(-1.5, -1.5, 1.5, 1.5), 5.0, 5.0)
        font = painter.font()
        font.setPointSizeF(8.5)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QtGui.QColor(235, 235, 235))
        if self.kind != "case":
            painter.drawText(QtCore.QRectF(f.left() + 10.0, f.top() - 16.0, f.width() - 20.0, 15.0),
                             QtCore.Qt.AlignLeft | QtCore.Qt.AlignBottom, self.name)
        else:
            painter.drawText(QtCore.QRectF(f.left() + 10.0, f.bottom() + 1.0, f.width() - 20.0, 15.0),
                             QtCore.Qt.AlignLeft | QtCore.Qt.AlignTop, self.name)
            lab = self.label_rect()
            painter.setPen(QtGui.QPen(base.lighter(150), 1.0))
            painter.setBrush(QtGui.QColor(236, 236, 236))
            painter.drawRect(lab)
            painter.setPen(QtGui.QColor(20, 20, 20))
            left, right = self.arrow_rects()
            painter.drawText(left, QtCore.Qt.AlignCenter, "\u25c0")
            painter.drawText(right, QtCore.Qt.AlignCenter, "\u25b6")
            font.setBold(False)
            painter.setFont(font)
            painter.drawText(lab.adjusted(20.0, 0.0, -20.0, 0.0), QtCore.Qt.AlignCenter, self.case_text)
        painter.restore()

    def mousePressEvent(self, event):
        if self.kind == "case" and event.button() == QtCore.Qt.LeftButton and self.on_case_step is not None:
            pos = event.pos()
            left, right = self.arrow_rects()
            if left.contains(pos) or right.contains(pos):
                self.on_case_step(-1 if left.contains(pos) else 1)
                event.accept()
                return
        super().mousePressEvent(event)


class FrameNode(BackdropNode):
    """The canvas object of a structure (its ``sid``: the structure's node id)."""

    __identifier__ = "haibal.structure"
    NODE_NAME = "Structure"

    def __init__(self):
        super().__init__(FrameItem)
        self.sid = ""
        self.model.color = (110, 118, 140, 255)


# ---------------------------------------------------------------------------------- terminals
def _tiny_port(painter, rect, info) -> None:
    """A terminal's port: a small dot at the terminal's edge (the terminal is what shows)."""
    painter.save()
    painter.setRenderHint(QtGui.QPainter.Antialiasing, True)
    painter.setPen(QtCore.Qt.NoPen)
    painter.setBrush(QtGui.QColor(230, 230, 230, 200 if info["hovered"] else 0))
    c = rect.center()
    painter.drawEllipse(c, 3.0, 3.0)
    painter.restore()


class TerminalItem(NodeItem):
    """A terminal on (or inside) a frame, drawn by its ``role``: tunnel_in, tunnel_out,
    shift_left, shift_right, iteration, count, condition, selector."""

    def __init__(self, name="terminal", parent=None):
        super().__init__(name, parent)
        self.role = "tunnel_in"
        self.indexing = False
        self.fill = (150, 150, 150)
        self.condition = "stop"
        self.text_item.setVisible(False)

    def size(self) -> tuple[float, float]:
        if self.role in ("iteration", "count", "selector"):
            return 20.0, 18.0
        if self.role == "condition":
            return 22.0, 22.0
        return TERM, TERM

    def draw_node(self):
        w, h = self.size()
        self._width, self._height = w, h
        for port in self.inputs:
            r = port.boundingRect()
            port.setPos(-r.width() / 2, h / 2 - r.height() / 2)
        for port in self.outputs:
            r = port.boundingRect()
            port.setPos(w - r.width() / 2, h / 2 - r.height() / 2)
        for text in list(self._input_items.values()) + list(self._output_items.values()):
            text.setVisible(False)
        self.update()

    def boundingRect(self):
        w, h = self.size()
        return QtCore.QRectF(0.0, 0.0, w, h)

    def paint(self, painter, option, widget):
        painter.save()
        painter.setRenderHint(QtGui.QPainter.Antialiasing, True)
        w, h = self.size()
        rect = QtCore.QRectF(0.5, 0.5, w - 1.0, h - 1.0)
        fill = QtGui.QColor(*self.fill)
        edge = QtGui.QColor(255, 255, 255) if self.selected else fill.darker(170)
        painter.setPen(QtGui.QPen(edge, 1.2))
        role = self.role
        if role in ("iteration", "count", "selector"):
            painter.setBrush(QtGui.QColor(*ITERATION_BLUE) if role != "selector" else QtGui.QColor(230, 230, 230))
            painter.drawRect(rect)
            painter.setPen(QtGui.QColor(255, 255, 255) if role != "selector" else QtGui.QColor(20, 20, 20))
            font = painter.font()
            font.setBold(True)
            font.setPointSizeF(8.5)
            painter.setFont(font)
            painter.drawText(rect, QtCore.Qt.AlignCenter, {"iteration": "i", "count": "N", "selector": "?"}[role])
        elif role == "condition":
            if self.condition == "stop":
                painter.setBrush(QtGui.QColor(205, 40, 40))
                painter.drawEllipse(rect.adjusted(2.0, 2.0, -2.0, -2.0))
                painter.setBrush(QtGui.QColor(245, 245, 245))
                painter.setPen(QtCore.Qt.NoPen)
                painter.drawRect(QtCore.QRectF(w / 2 - 5.0, h / 2 - 1.5, 10.0, 3.0))
            else:
                painter.setBrush(QtGui.QColor(40, 150, 60))
                painter.drawRect(rect)
                painter.setPen(QtGui.QPen(QtGui.QColor(245, 245, 245), 1.8))
                painter.setBrush(QtCore.Qt.NoBrush)
                painter.drawArc(rect.adjusted(5.0, 5.0, -5.0, -5.0), 40 * 16, 280 * 16)
        else:
            painter.setBrush(fill)
            painter.drawRect(rect)
            dark = QtGui.QColor(25, 25, 25)
            if role in ("shift_left", "shift_right"):
                tri = QtGui.QPolygonF()
                if role == "shift_left":  # the value arrives from the previous iteration: down
                    tri << QtCore.QPointF(3.0, 4.0) << QtCore.QPointF(w - 3.0, 4.0) << QtCore.QPointF(w / 2, h - 3.5)
                else:  # goes on to the next iteration: up
                    tri << QtCore.QPointF(3.0, h - 4.0) << QtCore.QPointF(w - 3.0, h - 4.0) << QtCore.QPointF(w / 2, 3.5)
                painter.setPen(QtCore.Qt.NoPen)
                painter.setBrush(dark)
                painter.drawPolygon(tri)
            elif self.indexing:  # LabVIEW's indexing tunnel: brackets
                painter.setPen(QtGui.QPen(dark, 1.5))
                painter.setBrush(QtCore.Qt.NoBrush)
                for x, d in ((3.5, 2.5), (w - 3.5, -2.5)):
                    path = QtGui.QPainterPath()
                    path.moveTo(x + d, 3.0)
                    path.lineTo(x, 3.0)
                    path.lineTo(x, h - 3.0)
                    path.lineTo(x + d, h - 3.0)
                    painter.drawPath(path)
        painter.restore()


class _Terminal(BaseNode):
    __identifier__ = "haibal.structure"

    def __init__(self):
        super().__init__(qgraphics_item=TerminalItem)
        #: the structure it belongs to, and which of its terminals it shows
        self.sid = ""
        self.key: tuple = ()


class ThroughTerminal(_Terminal):
    """A terminal a value crosses: a tunnel, a shift register's side (``in`` then ``out``)."""

    NODE_NAME = "Tunnel"

    def __init__(self):
        super().__init__()
        self.add_input("in", multi_input=False, display_name=False, painter_func=_tiny_port)
        self.add_output("out", multi_output=True, display_name=False, painter_func=_tiny_port)


class SourceTerminal(_Terminal):
    """A terminal giving a value inside: the iteration ``i``."""

    NODE_NAME = "Iteration"

    def __init__(self):
        super().__init__()
        self.add_output("out", multi_output=True, display_name=False, painter_func=_tiny_port)


class SinkTerminal(_Terminal):
    """A terminal taking a value: the conditional terminal, the count ``N``, the selector."""

    NODE_NAME = "Condition"

    def __init__(self):
        super().__init__()
        self.add_input("in", multi_input=False, display_name=False, painter_func=_tiny_port)


def register_frames(ngraph) -> None:
    """Register the frame and terminal classes on a NodeGraphQt graph (once)."""
    known = set(ngraph.registered_nodes())
    for cls in (FrameNode, ThroughTerminal, SourceTerminal, SinkTerminal):
        if cls.type_ not in known:
            ngraph.register_node(cls)


def layout_terminals(frame: tuple[float, float, float, float], keys: list[tuple]) -> dict[tuple, tuple[float, float]]:
    """Where each terminal goes for a frame ``(x, y, w, h)``: ``keys`` are (role, name) in
    border order; returns key -> the terminal's top-left point."""
    x, y, w, h = frame
    out: dict[tuple, tuple[float, float]] = {}
    shifts = [k for k in keys if k[0] == "shift_left"]
    left = [k for k in keys if k[0] == "tunnel_in"]
    right = [k for k in keys if k[0] == "tunnel_out"]
    cx_left, cx_right = x + BORDER / 2 - TERM / 2, x + w - BORDER / 2 - TERM / 2
    for row, key in enumerate(shifts):
        yy = y + FIRST_ROW + ROW * row
        out[key] = (cx_left, yy)
        out[("shift_right", key[1])] = (cx_right, yy)
    for row, key in enumerate(left, start=len(shifts)):
        out[key] = (cx_left, y + FIRST_ROW + ROW * row)
    for row, key in enumerate(right, start=len(shifts)):
        out[key] = (cx_right, y + FIRST_ROW + ROW * row)
    for key in keys:
        role = key[0]
        if role == "count":
            out[key] = (x + BORDER + 4.0, y + BORDER + 4.0)
        elif role == "selector":
            out[key] = (x + BORDER / 2 - 10.0, y + FIRST_ROW - ROW * 0.8)
        elif role == "iteration":
            out[key] = (x + BORDER + 4.0, y + h - BORDER - 22.0)
        elif role == "condition":
            out[key] = (x + w - BORDER - 26.0, y + h - BORDER - 26.0)
    return out
