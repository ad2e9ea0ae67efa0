"""The overview (minimap): the whole graph in a corner of the canvas, the visible part framed.

It draws boxes, not the scene (a second view rendering every node widget would double
the painting a run causes): one box per node in its run-state colour, the backdrops, and
the view's rectangle. Click or drag in it to move the view there. It shows itself only
while part of the graph is out of view (``enabled`` turns it off altogether).
"""

from __future__ import annotations

from Qt import QtCore, QtGui, QtWidgets

from .style import STATE_COLORS


class Overview(QtWidgets.QWidget):
    """A small map of ``canvas`` laid over its view (bottom-right corner)."""

    SIZE = QtCore.QSize(170, 100)

    def __init__(self, canvas):
        super().__init__(canvas.viewer)
        self.canvas = canvas
        self.setFixedSize(self.SIZE)
        self.setCursor(QtCore.Qt.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._world = QtCore.QRectF()
        self._pending = False
        self.enabled = True
        self._seen = None
        canvas.changed.connect(lambda _c: self.schedule())
        canvas.viewer.installEventFilter(self)
        self.watch = QtCore.QTimer(self)  # the view moves without telling: look a few times a second
        self.watch.setInterval(250)
        self.watch.timeout.connect(self.refresh)
        self.watch.start()
        self.place()
        self.refresh()

    def needed(self) -> bool:
        """Part of the graph is out of view."""
        rect = self.canvas.scene_rect_of(None)
        if rect is None:
            return False
        view = self.canvas.viewer.mapToScene(self.canvas.viewer.viewport().rect()).boundingRect()
        return not view.contains(rect)

    def refresh(self) -> None:
        view = self.canvas.viewer.mapToScene(self.canvas.viewer.viewport().rect()).boundingRect()
        rect = self.canvas.scene_rect_of(None)
        key = (view.getRect(), rect.getRect() if rect is not None else None, len(self.canvas.items))
        if key == self._seen:
            return
        self._seen = key
        show = self.enabled and self.needed()
        if show != self.isVisible():
            self.setVisible(show)
        if show:
            self.place()
            self.update()

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        self._seen = None
        self.refresh()

    def schedule(self) -> None:
        """Repaint soon (at most a few times a second: moving and running update it often)."""
        if not self._pending and self.isVisible():
            self._pending = True
            QtCore.QTimer.singleShot(150, self._repaint)

    def _repaint(self) -> None:
        self._pending = False
        self.update()

    def place(self) -> None:
        port = self.canvas.viewer.viewport().rect()
        self.move(port.width() - self.width() - 10, port.height() - self.height() - 10)

    def eventFilter(self, obj, event):
        if event.type() == QtCore.QEvent.Resize:
            self.place()
        return False

    def _mapping(self):
        rect = self.canvas.scene_rect_of(None)
        view = self.canvas.viewer.mapToScene(self.canvas.viewer.viewport().rect()).boundingRect()
        world = view if rect is None else rect.united(view)
        world = world.adjusted(-40, -40, 40, 40)
        s = min((self.width() - 8) / max(world.width(), 1), (self.height() - 8) / max(world.height(), 1))
        return world, s, view

    def _to_map(self, r: QtCore.QRectF, world, s) -> QtCore.QRectF:
        return QtCore.QRectF(4 + (r.x() - world.x()) * s, 4 + (r.y() - world.y()) * s, r.width() * s, r.height() * s)

    def paintEvent(self, event) -> None:
        theme = self.canvas.theme
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.Antialiasing)
        p.setPen(QtGui.QPen(QtGui.QColor(*theme.mid), 1))
        p.setBrush(QtGui.QColor(*theme.base, 225))
        p.drawRoundedRect(QtCore.QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        world, s, view = self._mapping()
        self._world = world
        for item in self.canvas.backdrops.values():
            p.setPen(QtCore.Qt.NoPen)
            p.setBrush(QtGui.QColor(*item.color[:3], 90))
            p.drawRect(self._to_map(item.view.sceneBoundingRect(), world, s))
        for gid, node in self.canvas.items.items():
            state = self.canvas.states.get(gid, "idle")
            color = STATE_COLORS.get(state) or node.model.color[:3]
            p.setPen(QtCore.Qt.NoPen)
            p.setBrush(QtGui.QColor(*color))
            p.drawRect(self._to_map(node.view.sceneBoundingRect(), world, s))
        p.setPen(QtGui.QPen(QtGui.QColor(*theme.highlight), 1.5))
        p.setBrush(QtCore.Qt.NoBrush)
        p.drawRect(self._to_map(view, world, s))
        p.end()

    def _go(self, pos) -> None:
        world, s, _view = self._mapping()
        x = world.x() + (pos.x() - 4) / s
        y = world.y() + (pos.y() - 4) / s
        v = self.canvas.viewer
        r = v.mapToScene(v.viewport().rect()).boundingRect()
        v.set_scene_rect([x - r.width() / 2, y - r.height() / 2, r.width(), r.height()])
        self.update()

    def mousePressEvent(self, event) -> None:
        self._go(event.position())

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & QtCore.Qt.LeftButton:
            self._go(event.position())
