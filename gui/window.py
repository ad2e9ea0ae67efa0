"""The editor window: canvas, palette, properties, viewers, probe, error list, files, run.

Everything a user does has a method here that tests (and scripts) call the way the menus
do: ``add_from_palette``, ``run_graph``, ``stop_run``, ``save``, ``open``, ``fit_view`` ...
The window owns one ``EditorModel`` (the graph, its undo history, its runtime) and shows
it: the canvas, the panels and the error list all redraw from the model's changes.

Features (snippets, subgraphs) are installed by ``editor.new_window``; they add panels
with ``add_dock``, actions with ``add_action`` (into ``menus[...]`` and the canvas's
context menu), drop handlers (``canvas.drop_handlers``) and paste checks.
"""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path

from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.graph import Graph
from haibal_py.graph.document import save_parts
from haibal_py.node.registry import CATALOG

from . import layout, runner, theme as themes
from .canvas import Canvas
from .errors_panel import ErrorList, Issue
from .help_view import HelpDialog
from .messages import by_name, plain_names
from .model import EditorModel
from .overview import Overview
from .palette import TYPE_ROLE, Palette
from .properties import PropertiesPanel
from .quick_search import QuickSearch, TabFilter
from .settings import EditorSettings
from .style import THEMES
from .viewer_panel import ProbePanel, ViewerPanel

APP_NAME = "haibal editor"
AUTOSAVE_MS = 60_000
EVENT_MS = 100  # how often the UI reads a running graph's events (10 times a second: each look costs a repaint)
RECOVERED_KEY = "recovered_from"


class _CollectorPause:
    """Python's cyclic collector paused while this window runs a graph, put back after.

    Why: a full collection walks every object of the process; with the editor loaded that
    is 120 000 - 150 000 objects (NumPy, Qt, pyqtgraph, the canvas) and takes 50-70 ms
    (measured with 100- and 500-node graphs open, 2026-12), on its own more than the
    50 ms the UI thread may be blocked during a run, and one falls in a run whenever the
    run's allocations trigger it. This is the one process-wide setting a window changes:
    only during its runs, restored when the run ends or the window closes (the GIL's
    switch interval, which earlier versions also lowered, was measured to make no
    difference and is left alone)."""

    def __init__(self):
        self.was_enabled = None

    def pause(self) -> None:
        if self.was_enabled is None:
            self.was_enabled = gc.isenabled()
            gc.disable()

    def restore(self) -> None:
        if self.was_enabled is not None:
            if self.was_enabled:
                gc.enable()
            self.was_enabled = None


def default_recovery_path() -> Path:
    env = os.environ.get("HAIBAL_EDITOR_RECOVERY")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "haibal-py" / "recovery.json"


def _broken_icon(base: QtGui.QIcon) -> QtGui.QIcon:
    """LabVIEW's broken run arrow: the run icon greyed, with a red slash."""
    pix = base.pixmap(32, 32, QtGui.QIcon.Disabled)
    p = QtGui.QPainter(pix)
    p.setRenderHint(QtGui.QPainter.Antialiasing)
    p.setPen(QtGui.QPen(QtGui.QColor(230, 40, 40), 4))
    p.drawLine(6, 26, 26, 6)
    p.end()
    return QtGui.QIcon(pix)


class EditorWindow(QtWidgets.QMainWindow):
    """The main window. ``run_finished(ok)`` fires on the UI thread after each run;
    ``live_values(events)`` with each batch of live values a running graph streamed,
    ``[(node id, kind, payload), ...]`` in order (a display of one's own connects to it)."""

    run_finished = QtCore.Signal(bool)
    live_values = QtCore.Signal(list)

    def __init__(self, recovery_path: Path | None = None, autosave_ms: int = AUTOSAVE_MS,
                 settings_path: Path | None = None):
        super().__init__()
        self.model = EditorModel(parent=self)
        self.canvas = Canvas(self.model, self)
        self.graph = self.canvas.graph  # the NodeGraphQt graph (scene, viewer)
        self.path: Path | None = None
        self.recovered = False
        #: names of stateful nodes (a model's weights, a fit's training) whose state a run
        #: changed since the graph was opened or saved: unsaved work, as an edit is
        self.unsaved_state: list[str] = []
        self._state_digests: dict[str, str] = {}  # stateful node -> digest of its saved state
        self.worker: runner.RunWorker | None = None
        self.last_result = None
        self.run_inputs: dict = {}  # values given to the graph inputs when it runs (a subgraph window's)
        self.run_issues: list[Issue] = []  # from the last run, until the graph changes
        self.issues: list[Issue] = []
        self.check_issues: list[Issue] = []
        self.stale: set[str] = set()
        self.features: tuple = ()  # install functions applied to this window (editor.new_window)
        self.paste_checks: list = []  # ``check(window) -> reason or None`` after a paste; a reason undoes it
        self.context_hooks: list = []  # ``hook(menu, scene point)``: features add to the canvas's context menu
        self.delete_hooks: list = []  # ``hook()``: features delete what they own in the selection (terminals)
        self.menus: dict[str, QtWidgets.QMenu] = {}
        self.context_actions: list[QtGui.QAction | None] = []
        self.docks: dict[str, QtWidgets.QDockWidget] = {}
        self._run_started = 0.0
        self._progress_shown = 0.0
        self._collector = _CollectorPause()
        self.recovery_path = Path(recovery_path) if recovery_path else default_recovery_path()
        self.settings = EditorSettings(settings_path or self.recovery_path.with_name("editor.json"))
        self.theme = THEMES[self.settings.theme]
        self._build_ui()
        self._build_actions()
        self.model.changed.connect(self._on_model_changed)
        self.model.undo_stack.cleanChanged.connect(lambda _c: self._update_title())
        self.model.undo_stack.indexChanged.connect(lambda _i: self._update_title())
        self.canvas.refused.connect(lambda text: self.show_status(f"refused: {text}", "error"))
        self.canvas.wire_selected.connect(self.probe_wire)
        self.canvas.selection_changed.connect(self._on_selection_changed)
        self.canvas.context_requested.connect(self._show_context_menu)
        self.properties.refused.connect(lambda text: self.show_status(f"refused: {text}", "error"))
        self.check_timer = QtCore.QTimer(self)  # the type check and the error list, after edits settle
        self.check_timer.setSingleShot(True)
        self.check_timer.setInterval(0)
        self.check_timer.timeout.connect(self.refresh_checks)
        self.event_timer = QtCore.QTimer(self)  # reads the worker's events during a run
        self.event_timer.setInterval(EVENT_MS)
        self.event_timer.timeout.connect(self._apply_run_events)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(autosave_ms)
        self.set_theme(self.settings.theme, remember=False)
        self.refresh_checks()
        self._update_title()
        screen = QtGui.QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1400, 860)
        self.resize(min(1400, avail.width()), min(860, avail.height()))

    # ------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        self.setCentralWidget(self.graph.widget)
        self.setDockOptions(QtWidgets.QMainWindow.AnimatedDocks | QtWidgets.QMainWindow.AllowTabbedDocks)
        self.setCorner(QtCore.Qt.BottomLeftCorner, QtCore.Qt.LeftDockWidgetArea)
        self.setCorner(QtCore.Qt.BottomRightCorner, QtCore.Qt.RightDockWidgetArea)
        self.palette = Palette(self)
        self.palette.node_requested.connect(lambda t: self.add_from_palette(t))
        self.properties = PropertiesPanel(self.model, self)
        self.viewers = ViewerPanel(self)
        self.probe = ProbePanel(self)
        self.errors = ErrorList(self)
        self.errors.node_activated.connect(self.go_to_node)
        self.add_dock("palette", "Palette", self.palette, QtCore.Qt.LeftDockWidgetArea, 210)
        self.add_dock("properties", "Properties", self.properties, QtCore.Qt.RightDockWidgetArea, 270)
        self.add_dock("viewers", "Viewers", self.viewers, QtCore.Qt.RightDockWidgetArea, 270)
        self.add_dock("probe", "Probe", self.probe, QtCore.Qt.RightDockWidgetArea, 270, tab_with="viewers")
        self.add_dock("errors", "Error List", self.errors, QtCore.Qt.BottomDockWidgetArea, 200)
        self.docks["viewers"].raise_()
        self.resizeDocks([self.docks["properties"], self.docks["viewers"]], [260, 420], QtCore.Qt.Vertical)
        self.resizeDocks([self.docks["errors"]], [96], QtCore.Qt.Vertical)
        self.status = QtWidgets.QLabel("Ready")
        self.status.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setFormat("%v / %m nodes")
        self.progress.hide()
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.quick_search = QuickSearch(self)
        self.quick_search.node_requested.connect(
            lambda type_id, pos: self.add_from_palette(type_id, pos=(pos.x(), pos.y())))
        self.tab_filter = TabFilter(self.canvas.viewer, self.quick_search)
        self.canvas.viewer.installEventFilter(self.tab_filter)
        self.overview = Overview(self.canvas)

    def add_dock(self, key: str, title: str, widget: QtWidgets.QWidget, area, width: int,
                 tab_with: str | None = None) -> QtWidgets.QDockWidget:
        """A docked panel (features add theirs too); ``tab_with``: share the space of that dock."""
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        widget.setMinimumWidth(min(width, 200))
        self.addDockWidget(area, dock)
        if area in (QtCore.Qt.LeftDockWidgetArea, QtCore.Qt.RightDockWidgetArea):
            self.resizeDocks([dock], [width], QtCore.Qt.Horizontal)
        if tab_with is not None and tab_with in self.docks:
            self.tabifyDockWidget(self.docks[tab_with], dock)
        self.docks[key] = dock
        if "view" in self.menus:
            self.menus["panels"].addAction(dock.toggleViewAction())
        return dock

    def _make_action(self, text, slot, shortcut=None, tip="") -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        if shortcut:
            keys = shortcut if isinstance(shortcut, (list, tuple)) else [shortcut]
            act.setShortcuts([QtGui.QKeySequence(k) for k in keys])
            act.setShortcutContext(QtCore.Qt.WindowShortcut)
        act.setStatusTip(tip)
        act.setToolTip(f"{text.replace('&', '').rstrip('…')}" + (f" ({act.shortcut().toString()})" if shortcut else ""))
        act.triggered.connect(lambda *_: slot())
        self.addAction(act)
        return act

    def add_action(self, menu: str, act: QtGui.QAction, context: bool = False) -> QtGui.QAction:
        """Put a feature's action in ``menus[menu]`` (and in the canvas's context menu)."""
        self.addAction(act)
        if menu in self.menus:
            self.menus[menu].addAction(act)
        if context:
            self.context_actions.append(act)
        return act

    def _build_actions(self) -> None:
        K = QtGui.QKeySequence
        A = self._make_action
        self.act_new = A("&New", self.new, K.New, "a new, empty graph")
        self.act_open = A("&Open…", self.open_dialog, K.Open, "open a saved graph")
        self.act_save = A("&Save", self.save_or_ask, K.Save, "save the graph")
        self.act_save_as = A("Save &As…", self.save_as_dialog, "Ctrl+Shift+S")
        self.act_quit = A("&Quit", self.close, K.Quit)
        self.act_undo = A("&Undo", self.undo, "Ctrl+Z", "undo the last edit")
        self.act_redo = A("&Redo", self.redo, ["Ctrl+Y", "Ctrl+Shift+Z"], "redo")
        self.act_cut = A("Cu&t", self.cut, K.Cut)
        self.act_copy = A("&Copy", self.copy, K.Copy)
        self.act_paste = A("&Paste", self.paste, K.Paste)
        self.act_delete = A("&Delete", self.delete_selection, [K.Delete, "Backspace"])
        self.act_select_all = A("Select &All", self.select_all, K.SelectAll)
        self.act_search = A("Add &node…", lambda: self.tab_filter.open(), None, "quick search (Tab on the canvas)")
        self.act_fit = A("Zoom to &Fit", self.fit_view, ["F", "Home"], "show the whole graph")
        self.act_zoom_sel = A("Zoom to &Selection", self.zoom_to_selection, "Shift+F", "show the selected nodes")
        self.act_overview = A("&Overview", lambda: self.overview.set_enabled(self.act_overview.isChecked()),
                              "Ctrl+Shift+M", "a map of the whole graph in the canvas's corner "
                                              "(shown while part of it is out of view)")
        self.act_overview.setCheckable(True)
        self.act_overview.setChecked(True)
        self.act_dark = A("&Dark", lambda: self.set_theme("dark"))
        self.act_light = A("&Light", lambda: self.set_theme("light"))
        group = QtGui.QActionGroup(self)
        for act in (self.act_dark, self.act_light):
            act.setCheckable(True)
            group.addAction(act)
        self.act_align = {edge: A(f"Align {label}", lambda e=edge: self.align(e))
                          for edge, label in (("left", "&Left"), ("hcenter", "Horizontal &Centres"),
                                              ("right", "&Right"), ("top", "&Top"), ("vcenter", "&Vertical Centres"),
                                              ("bottom", "&Bottom"))}
        self.act_distribute_h = A("Distribute &Horizontally", lambda: self.distribute("horizontal"))
        self.act_distribute_v = A("Distribute V&ertically", lambda: self.distribute("vertical"))
        self.act_cleanup = A("Clean &Up", self.clean_up, "Ctrl+U", "lay the graph (or the selection) out in columns")
        self.act_comment = A("Add &Comment", self.add_comment, None, "a titled frame around the selection")
        self.act_run = A("&Run", self.run_graph, "Ctrl+R", "run the graph (only what changed is recomputed)")
        self.act_stop = A("&Stop", self.stop_run, ["Ctrl+.", "Shift+F5"], "stop the run (what ran is kept)")
        self.act_run_over = A("Run over &files…", self.run_over_dialog, None,
                              "run the graph once per file of a folder (its arrays feed the graph inputs by name); "
                              "merged metrics in the Viewers panel")
        self.act_stop.setEnabled(False)
        self.act_errors = A("&Error List", self.show_error_list, "Ctrl+L", "every problem of the graph")
        self.act_help = A("Node &Help", self.show_help, K.HelpContents, "help of the selected node")
        self.act_guide = A("Editor &Guide", self.show_guide, None, "shortcuts, error list, navigation, search")
        style = self.style()
        self.icon_run = style.standardIcon(QtWidgets.QStyle.SP_MediaPlay)
        self.icon_broken = _broken_icon(self.icon_run)
        self.act_run.setIcon(self.icon_run)
        self.act_stop.setIcon(style.standardIcon(QtWidgets.QStyle.SP_MediaStop))
        self.act_undo.setIcon(style.standardIcon(QtWidgets.QStyle.SP_ArrowBack))
        self.act_redo.setIcon(style.standardIcon(QtWidgets.QStyle.SP_ArrowForward))
        bar = self.menuBar()
        self.menus["file"] = bar.addMenu("&File")
        for act in (self.act_new, self.act_open):
            self.menus["file"].addAction(act)
        self.menus["recent"] = self.menus["file"].addMenu("Open &Recent")
        self.menus["recent"].aboutToShow.connect(self._fill_recent)
        for act in (self.act_save, self.act_save_as, None, self.act_quit):
            self.menus["file"].addSeparator() if act is None else self.menus["file"].addAction(act)
        self.menus["edit"] = bar.addMenu("&Edit")
        for act in (self.act_undo, self.act_redo, None, self.act_cut, self.act_copy, self.act_paste, self.act_delete,
                    self.act_select_all, None, self.act_search):
            self.menus["edit"].addSeparator() if act is None else self.menus["edit"].addAction(act)
        self.menus["edit"].addSeparator()
        self.menus["view"] = bar.addMenu("&View")
        for act in (self.act_fit, self.act_zoom_sel, self.act_overview):
            self.menus["view"].addAction(act)
        theme_menu = self.menus["view"].addMenu("&Theme")
        theme_menu.addAction(self.act_dark)
        theme_menu.addAction(self.act_light)
        self.menus["panels"] = self.menus["view"].addMenu("&Panels")
        for dock in self.docks.values():
            self.menus["panels"].addAction(dock.toggleViewAction())
        self.menus["arrange"] = bar.addMenu("&Arrange")
        for act in (*self.act_align.values(), None, self.act_distribute_h, self.act_distribute_v, None,
                    self.act_cleanup, self.act_comment):
            self.menus["arrange"].addSeparator() if act is None else self.menus["arrange"].addAction(act)
        self.menus["run"] = bar.addMenu("&Run")
        for act in (self.act_run, self.act_stop, self.act_run_over, None, self.act_errors):
            self.menus["run"].addSeparator() if act is None else self.menus["run"].addAction(act)
        self.menus["help"] = bar.addMenu("&Help")
        self.menus["help"].addAction(self.act_help)
        self.menus["help"].addAction(self.act_guide)
        tools = self.addToolBar("Main")
        tools.setObjectName("Main")
        tools.setIconSize(QtCore.QSize(20, 20))
        for act in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                    self.act_run, self.act_stop, None, self.act_fit):
            tools.addSeparator() if act is None else tools.addAction(act)
        self.context_actions = [self.act_search, self.act_paste, None, self.act_cut, self.act_copy, self.act_delete,
                                None, self.act_fit, self.act_zoom_sel, self.act_cleanup, self.act_comment, None,
                                self.act_help]

    def _show_context_menu(self, global_pos, scene_pos) -> None:
        self._context_scene_pos = (scene_pos.x(), scene_pos.y())
        menu = self.context_menu()
        menu.exec(global_pos)
        self._context_scene_pos = None

    def context_menu(self) -> QtWidgets.QMenu:
        """The canvas's context menu (what can be done here and with the selection)."""
        menu = QtWidgets.QMenu(self)
        selected = bool(self.canvas.selected_ids())
        for act in (self.act_undo, self.act_redo, None, *self.context_actions):
            if act is None:
                menu.addSeparator()
            elif act in (self.act_cut, self.act_copy, self.act_delete, self.act_zoom_sel) and not selected:
                continue
            else:
                menu.addAction(act)
        if len(self.canvas.selected_ids()) > 1:
            align = menu.addMenu("Align")
            for act in self.act_align.values():
                align.addAction(act)
            align.addAction(self.act_distribute_h)
            align.addAction(self.act_distribute_v)
        for hook in self.context_hooks:
            hook(menu, getattr(self, "_context_scene_pos", None))
        self._context_menu = menu
        return menu

    # ------------------------------------------------------------------ theme
    def set_theme(self, name: str, remember: bool = True) -> None:
        self.theme = THEMES[name]
        themes.apply(self, self.theme)
        self.canvas.set_theme(self.theme)
        self.errors.theme = self.theme
        self.properties.error_color = self.theme.error
        self.errors.show_issues(self.issues)
        (self.act_dark if name == "dark" else self.act_light).setChecked(True)
        self.overview.update()
        if remember:
            self.settings.theme = name
            self.settings.save()

    # ------------------------------------------------------------------ editing, as a user would
    def try_edit(self, fn, done: str = ""):
        """Run a model edit from a menu or a panel (features' too); a refused one goes to the
        status bar (None)."""
        try:
            result = fn()
        except HaibalError as exc:
            self.show_status(by_name(str(exc), self.model.graph), "error")
            return None
        if done:
            self.show_status(done)
        return result

    def add_from_palette(self, type_id: str, pos=None) -> str | None:
        """Add a node as a palette double-click does: at ``pos`` (the view centre by default),
        moved to the nearest free space; returns its id."""
        gid = self.canvas.add_node(type_id, pos)
        if gid is not None:
            self.canvas.select([gid])
        return gid

    def undo(self) -> None:
        self.try_edit(self.model.undo)

    def redo(self) -> None:
        self.try_edit(self.model.redo)

    def select_all(self) -> None:
        self.canvas.select(self.canvas.items)

    def selected_ids(self) -> list[str]:
        return self.canvas.selected_ids()

    def copy(self) -> bool:
        gids = self.canvas.selected_ids()
        if not gids:
            self.show_status("select the nodes to copy first")
            return False
        # as text (a graph document): the clipboard owns its copy, other windows and programs
        # read it, and no Python-made QMimeData is left for the clipboard to free at exit
        QtWidgets.QApplication.clipboard().setText(self.model.copy_text(gids))
        self.show_status(f"copied {len(gids)} node(s)")
        return True

    def cut(self) -> None:
        if self.copy():
            self.delete_selection("cut")

    def paste(self) -> list[str]:
        text = QtWidgets.QApplication.clipboard().text()
        if '"haibal-graph"' not in text:
            self.show_status("the clipboard holds no nodes", "error")
            return []
        at = self._free_spot_for(text)
        where = self.canvas.frame_at(at[0] + 10.0, at[1] + 10.0)  # pasted inside a frame: into its diagram
        made = self.try_edit(lambda: self.model.paste_text(text, at, where=where))
        if not made:
            return []
        for check in self.paste_checks:
            reason = check(self)
            if reason:  # refused: the paste is undone (it is one undo step)
                self.model.undo()
                self.show_status(f"not pasted: {reason}", "error")
                return []
        self.canvas.make_room(made)
        self.canvas.select(made)
        self.show_status(f"pasted {len(made)} node(s)")
        return made

    def _free_spot_for(self, text: str) -> tuple[float, float]:
        """Where a pasted group goes: near the pointer (or the view centre), on free space."""
        try:
            nodes = json.loads(text).get("nodes", [])
        except (ValueError, AttributeError):
            nodes = []
        boxes = []
        for spec in nodes:
            w, h = self.canvas.size_hint(spec.get("type", ""))
            x, y = spec.get("pos") or (0.0, 0.0)
            boxes.append((x, y, w, h))
        x0, y0, w, h = layout.bounding(boxes) if boxes else (0.0, 0.0, 180.0, 80.0)
        want = getattr(self, "_context_scene_pos", None) or self._pointer_or_centre()
        return layout.free_spot(want[0], want[1], w, h, self.canvas.boxes())

    def _pointer_or_centre(self) -> tuple[float, float]:
        view = self.canvas.viewer
        local = view.mapFromGlobal(QtGui.QCursor.pos())
        if view.rect().contains(local):
            p = view.mapToScene(local)
            return p.x(), p.y()
        return self.canvas.view_centre()

    def delete_selection(self, label: str = "delete") -> None:
        gids = self.canvas.selected_ids()
        wires = self.canvas.selected_wires()
        bids = set(self.canvas.selected_backdrops())

        def edit():
            with self.model.edit(label):
                if wires:
                    self.model.rewire(disconnect=wires)
                self.model.remove(gids)
                if bids:
                    self.model.set_editor_data("backdrops", [b for b in self.canvas.backdrop_data()
                                                             if b.get("id") not in bids])
        if gids or wires or bids:
            self.try_edit(edit)
        for hook in self.delete_hooks:
            hook()

    def set_param(self, gid: str, name: str, value) -> bool:
        """Set a parameter as the Properties panel does (False and a message when refused)."""
        return self.try_edit(lambda: self.model.set_param(gid, name, value) or True) is not None

    # ------------------------------------------------------------------ arranging
    def _boxes(self, gids) -> dict[str, tuple]:
        return {g: self.canvas.box(g) for g in gids if g in self.canvas.items}

    def align(self, edge: str) -> None:
        boxes = self._boxes(self.canvas.selected_ids())
        if len(boxes) < 2:
            self.show_status("select two nodes or more to align them")
            return
        self.try_edit(lambda: self.model.move(layout.align(boxes, edge), f"align {edge}"))

    def distribute(self, axis: str) -> None:
        boxes = self._boxes(self.canvas.selected_ids())
        if len(boxes) < 3:
            self.show_status("select three nodes or more to distribute them")
            return
        self.try_edit(lambda: self.model.move(layout.distribute(boxes, axis), f"distribute {axis}"))

    def clean_up(self) -> None:
        """Lay out the selection (or the whole graph) in columns by dataflow."""
        gids = self.canvas.selected_ids() or list(self.canvas.items)
        if not gids:
            return
        boxes = self._boxes(gids)
        origin = (min(b[0] for b in boxes.values()), min(b[1] for b in boxes.values()))
        sizes = {g: (b[2], b[3]) for g, b in boxes.items()}
        edges = [(c.src, c.dst) for c in self.model.graph.connections]
        positions = layout.auto_layout(sizes, edges, origin)
        self.try_edit(lambda: self.model.move(positions, "clean up"), f"cleaned up {len(gids)} node(s)")
        self.fit_view()

    def add_comment(self, title: str = "Comment", text: str = "") -> str | None:
        """A comment frame (NodeGraphQt's backdrop) around the selection, saved with the graph."""
        return self.try_edit(lambda: self.canvas.add_backdrop(title, text, self.canvas.selected_ids()))

    def _commit_backdrop(self, bid: str, title: str, text: str) -> None:
        data = [dict(b, title=title, text=text) if b.get("id") == bid else b for b in self.canvas.backdrop_data()]
        self.try_edit(lambda: self.model.set_editor_data("backdrops", data, "edit comment"))

    # ------------------------------------------------------------------ navigation
    def fit_view(self) -> None:
        """Zoom so that the whole graph shows (never closer than 1:1)."""
        self.canvas.fit()
        self.overview.refresh()

    def zoom_to_selection(self) -> None:
        gids = self.canvas.selected_ids()
        if gids:
            self.canvas.fit(gids, max_scale=1.2)
        else:
            self.show_status("select nodes to zoom to them")

    def go_to_node(self, gid: str) -> None:
        """Select a node and bring it into view (a click in the error list); a node in a case
        not shown shows that case (and the cases around it)."""
        graph = self.model.graph
        if graph.find(gid) is not None:
            homes, at = [], gid
            while self.model.home(at):
                homes.append(self.model.home(at))
                at = homes[-1][0]
            for sid, k in reversed(homes):  # the outermost first
                if self.canvas.visible(sid) != k:
                    self.canvas.show_case(sid, k)
        if gid in self.canvas.items or gid in self.canvas.frames:
            self.canvas.select([gid])
            self.canvas.center_on([gid])

    # ------------------------------------------------------------------ model changes
    def _on_model_changed(self, change) -> None:
        graph = self.model.graph
        if change.structural or change.updated:
            self.run_issues = []
            touched = change.touched()
            stale = self._downstream(touched)
            for gid in stale:
                if self.canvas.states.get(gid, "idle") in ("done", "cached", "failed"):
                    self.canvas.set_state(gid, "stale")
            self.stale |= stale
            self.viewers.sync(graph)
            self.viewers.mark_stale(self.stale)
        if change.reset:
            self.viewers.sync(graph)
        wire = self.probe.wire
        # the type check and the error list: at once on small graphs, after edits settle on big ones
        self.check_timer.setInterval(0 if len(graph.nodes) <= 150 else 250)
        if wire is not None and (change.wires_removed or change.removed or change.reset):
            if wire not in graph.connections:
                self.probe.clear("The probed wire is gone. Click a wire to probe it.")
        elif wire is not None and wire.src in self.stale:
            self.probe.set_stale(True)
        self.check_timer.start()
        self._update_title()

    def _downstream(self, gids) -> set[str]:
        """What depends on ``gids``: the nodes they feed, and for a node inside a structure the
        structure (and what it feeds), at every depth."""
        graph = self.model.graph
        seen, todo = set(), [g for g in gids if graph.find(g) is not None]
        while todo:
            gid = todo.pop()
            if gid in seen:
                continue
            seen.add(gid)
            holder = graph.locate(gid)
            todo.extend(holder.successors(gid))
            if holder.owner is not None:
                todo.append(holder.owner[1])
        return seen

    def refresh_checks(self) -> None:
        """The static types on the wires, and the error list (every problem, by node name)."""
        graph = self.model.graph
        issues = []
        try:
            info = graph.port_types()
            problems = graph.validate(self.model.policy, self.model.limits)
        except HaibalError as exc:  # a node class whose type rules fail: shown, not raised
            info, problems = None, []
            issues.append(Issue("error", None, "", by_name(str(exc), graph)))
        self.canvas.restyle(info)
        names = plain_names(graph)
        for p in problems:
            text = by_name(p.message, graph)
            if p.port and repr(p.port) not in text and p.port not in text:
                text = f"{p.port}: {text}"
            node = p.innermost().node  # inside a structure: the inner node at fault
            if node is None or graph.find(node) is None:
                node = p.node
            issues.append(Issue("error", node if node is not None and graph.find(node) is not None else None,
                                names.get(node, "") if node else "", text))
        for gid, gn in graph.nodes.items():  # a graph input the run would have no value for
            if gn.is_input and gn.params.get("default") is None and gn.name not in self.run_inputs:
                issues.append(Issue("error", gid, gn.name, f"graph input {gn.name!r} has no value: give it a default "
                                    "in the Properties panel"))
        for c, reason in self.canvas.lossy_wires().items():
            issues.append(Issue("warning", c.dst, names.get(c.dst, c.dst),
                                f"input {c.dst_port!r}: {by_name(reason, graph)}"))
        self.check_issues = issues
        self.issues = issues + self.run_issues
        self.errors.show_issues(self.issues)
        self._update_run_action()

    def _update_run_action(self) -> None:
        errors = [i for i in self.check_issues if i.severity == "error"]
        if errors:
            self.act_run.setIcon(self.icon_broken)
            reason = errors[0].text if len(errors) == 1 else f"{len(errors)} problems"
            self.act_run.setToolTip(f"Cannot run: {reason} (Ctrl+L: Error List)")
        else:
            self.act_run.setIcon(self.icon_run)
            self.act_run.setToolTip("Run (Ctrl+R)")
        n_err, n_warn = len(self.errors.errors()), len(self.errors.warnings())
        self.docks["errors"].setWindowTitle(
            f"Error List ({n_err} error{'s' * (n_err != 1)}, {n_warn} warning{'s' * (n_warn != 1)})"
            if self.issues else "Error List")

    def run_is_broken(self) -> bool:
        return any(i.severity == "error" for i in self.check_issues)

    def show_error_list(self) -> None:
        dock = self.docks["errors"]
        dock.show()
        dock.raise_()

    def _on_selection_changed(self) -> None:
        gids = self.canvas.selected_ids()
        if len(gids) == 1:
            self.properties.show_node(gids[0])
            self.docks["properties"].raise_()
        elif not gids:
            bids = self.canvas.selected_backdrops()
            if len(bids) == 1:
                data = next((b for b in self.canvas.backdrop_data() if b.get("id") == bids[0]), {})
                self.properties.show_backdrop(bids[0], data, self._commit_backdrop)
            elif self.properties.gid is not None or self.properties.backdrop is not None:
                self.properties.show_node(None)

    def probe_wire(self, conn) -> None:
        """Show in the probe panel the value that flowed through wire ``conn`` in the last run."""
        graph = self.model.graph
        names = plain_names(graph)
        text = (f"{names.get(conn.src, conn.src)}.{conn.src_port} → "
                f"{names.get(conn.dst, conn.dst)}.{conn.dst_port}")
        values = self.outputs.get(conn.src, {})
        self.probe.show_wire(conn, text, values.get(conn.src_port), conn.src_port in values)
        self.probe.set_stale(conn.src in self.stale and conn.src_port in values)
        self.docks["probe"].raise_()

    @property
    def outputs(self) -> dict[str, dict]:
        """The last run's values: node id -> {output port: value}."""
        return self.last_result.values if self.last_result is not None else {}

    def value(self, node: str, port: str = "value"):
        """A value of the last run, by node id or name."""
        graph = self.model.graph
        gid = node if graph.find(node) is not None else graph.resolve(node)
        return self.outputs[gid][port]

    # ------------------------------------------------------------------ title and status
    def is_modified(self) -> bool:
        try:
            return not self.model.undo_stack.isClean() or self.recovered or bool(self.unsaved_state)
        except RuntimeError:  # the stack is gone: the window is being destroyed
            return False

    def _update_title(self) -> None:
        name = self.path.name if self.path else "untitled"
        if self.recovered:
            name += " (recovered)"
        try:
            self.setWindowTitle(f"{name}[*] — {APP_NAME}")
            self.setWindowModified(self.is_modified())
        except RuntimeError:  # signals from the undo stack while the window is destroyed
            pass

    def show_status(self, text: str, level: str = "info") -> None:
        """One line in the status bar (the whole text in its tooltip); ``level``: info, warning, error."""
        if isinstance(level, bool):  # show_status(text, error=True) of older callers
            level = "error" if level else "info"
        first = text.split("\n")[0]
        self.status.setText(first if len(first) <= 160 else first[:157] + "…")
        self.status.setStyleSheet(f"color: rgb{self.theme.error}" if level == "error" else
                                  f"color: rgb{self.theme.warning}" if level == "warning" else "")
        self.status.setToolTip(text)

    # ------------------------------------------------------------------ files
    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self._load(Graph(), None)
        return True

    def _load(self, graph: Graph, path: Path | None, recovered: bool = False) -> list[str]:
        self.stop_run(wait=True)
        self.last_result = None
        self.run_issues = []
        self.stale = set()
        self.model.load(graph)
        boxes = {gid: self.canvas.box(gid) for gid in self.canvas.items}
        moved = layout.spread(boxes)
        if moved:  # saved positions closer than our nodes are wide: spread, keeping the arrangement
            frames = layout.spread_frames(boxes, moved, {sid: self.canvas.frame_rect(sid) for sid in self.canvas.frames})
            with self.model.edit("spread", allow_locked=True):
                self.model.move(moved, "spread")
                for sid, (pos, size) in frames.items():
                    self.model.set_frame(sid, pos=pos, size=size)
        self.model.undo_stack.clear()
        self.path, self.recovered = path, recovered
        self._remember_states()
        if recovered:
            self.model.undo_stack.resetClean()
        self.viewers.sync(graph)
        self.probe.wire = None
        self.check_timer.stop()
        self.refresh_checks()
        self._update_title()
        self.fit_view()
        if not self.isVisible():  # fit again once the window is shown with its final size
            QtCore.QTimer.singleShot(0, self.fit_view)
        return [f"node {gid!r}: unknown type {graph.nodes[gid].type_id!r} (kept in the file, not shown)"
                for gid in self.canvas.hidden]

    def open(self, path) -> None:
        """Load a saved graph (the runtime's format); errors are HaibalErrors naming the problem."""
        path = Path(path)
        graph = Graph.load(path)
        skipped = self._load(graph, path)
        self.settings.add_recent(path)
        self.show_status(f"opened {path}" + (": " + "; ".join(skipped) if skipped else ""),
                         "warning" if skipped else "info")

    def save(self, path=None) -> Path:
        """Save in the runtime's saved-graph format (runs with ``haibal run`` unchanged)."""
        path = Path(path) if path else self.path
        if path is None:
            raise ValueError("no file name to save to")
        self.model.graph.save(path)
        self.path, self.recovered = path, False
        self._remember_states()
        self.model.undo_stack.setClean()
        self.remove_recovery()
        self.settings.add_recent(path)
        self._update_title()
        self.show_status(f"saved {path}")
        return path

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        start = str(self.path.parent) if self.path else (str(Path(self.settings.recent[0]).parent)
                                                          if self.settings.recent else "")
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open graph", start,
                                                        "haibal graphs (*.json);;All files (*)")
        if name:
            self.guarded(lambda: self.open(name))

    def _fill_recent(self) -> None:
        menu = self.menus["recent"]
        menu.clear()
        recent = self.settings.existing_recent()
        for path in recent:
            act = menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.setStatusTip(path)
            act.triggered.connect(lambda _c=False, p=path: self.open_recent(p))
        if not recent:
            menu.addAction("(none)").setEnabled(False)

    def open_recent(self, path: str) -> bool:
        return self.maybe_save() and self.guarded(lambda: self.open(path))

    def save_or_ask(self) -> bool:
        return self.guarded(lambda: self.save()) if self.path else self.save_as_dialog()

    def suggested_save_path(self) -> Path:
        """What Save As proposes: the current file, else the graph's name in the last folder used."""
        if self.path is not None:
            return self.path
        folder = Path(self.settings.recent[0]).parent if self.settings.recent else Path.home()
        stem = "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in (self.model.graph.name or "untitled"))
        return folder / f"{stem.strip() or 'untitled'}.json"

    def save_as_dialog(self) -> bool:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save graph as", str(self.suggested_save_path()),
                                                        "haibal graphs (*.json)")
        return bool(name) and self.guarded(lambda: self.save(name))

    def guarded(self, fn) -> bool:
        """Run ``fn``; a file or graph error goes to the status bar and a message box (False)."""
        try:
            fn()
            return True
        except (HaibalError, OSError, ValueError) as exc:
            self.show_status(str(exc), "error")
            QtWidgets.QMessageBox.warning(self, APP_NAME, str(exc))
            return False

    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' (a dialog; tests replace this method)."""
        B = QtWidgets.QMessageBox
        text = "The graph has unsaved changes. Save them?"
        if self.unsaved_state:
            text = (f"The graph has unsaved changes: runs changed the state (trained weights) of "
                    f"{', '.join(self.unsaved_state)}. Save them?")
        answer = B.question(self, APP_NAME, text, B.Save | B.Discard | B.Cancel, B.Save)
        return {B.Save: "save", B.Discard: "discard"}.get(answer, "cancel")

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current graph (saved, discarded or unchanged)."""
        if not self.is_modified():
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save_or_ask()
        return answer == "discard"

    def closeEvent(self, event) -> None:
        for child in self.findChildren(EditorWindow):  # open subgraphs first: they may ask to save
            if child.isVisible() and not child.close():
                event.ignore()
                return
        if self.maybe_save():
            self.stop_run(wait=True)
            self._collector.restore()
            self.remove_recovery()
            self.autosave_timer.stop()
            event.accept()
        else:
            event.ignore()

    # ------------------------------------------------------------------ recovery
    def autosave(self) -> bool:
        """Write the graph to the recovery file if it has unsaved changes (with the file name it came from)."""
        if not self.is_modified():
            return False
        try:
            parts = self.model.graph.to_parts()
            if self.path is not None:
                parts.editor = {**parts.editor, RECOVERED_KEY: str(self.path)}
            self.recovery_path.parent.mkdir(parents=True, exist_ok=True)
            save_parts(parts, self.recovery_path)
            return True
        except (HaibalError, OSError) as exc:
            self.show_status(f"autosave failed: {exc}", "error")
            return False

    def remove_recovery(self) -> None:
        try:
            self.recovery_path.unlink()
        except FileNotFoundError:
            pass

    def restore_recovery(self) -> bool:
        """Load the recovery file as an unsaved graph (named after the file it came from)."""
        if not self.recovery_path.exists():
            return False
        graph = Graph.load(self.recovery_path)
        origin = graph.editor.pop(RECOVERED_KEY, None)
        path = Path(origin) if origin else None
        if path is not None:
            graph.base_dir = path.parent
        self._load(graph, path, recovered=True)
        self.show_status("restored the graph from the recovery file (not saved yet)")
        return True

    def offer_recovery(self) -> bool:
        if not self.recovery_path.exists():
            return False
        B = QtWidgets.QMessageBox
        answer = B.question(self, APP_NAME, "The editor did not close properly last time.\n"
                            "Restore the unsaved graph?", B.Yes | B.No, B.Yes)
        if answer == B.Yes:
            return self.guarded(self.restore_recovery)
        self.remove_recovery()
        return False

    # ------------------------------------------------------------------ running
    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def run_graph(self) -> bool:
        """Start a run on a worker thread; False (and the reason) if it cannot start."""
        if self.worker is not None:
            return False
        if self.check_timer.isActive():  # edits not checked yet: check them now
            self.check_timer.stop()
            self.refresh_checks()
        if self.run_is_broken():
            errors = [i for i in self.issues if i.severity == "error"]
            self.show_status(f"cannot run: {errors[0].text}" if len(errors) == 1 else
                             f"cannot run: {len(errors)} problems (see the Error List)", "error")
            self.show_error_list()
            self.run_finished.emit(False)
            return False
        self.progress.setRange(0, max(1, len(self.canvas.items)))
        self.progress.setValue(0)
        self.progress.show()
        self._progress_shown = time.perf_counter()
        self.show_status("running… (Ctrl+. stops)")
        self._run_started = time.perf_counter()
        runtime, inputs = self.model.runtime, dict(self.run_inputs) or None
        self.model.set_locked(True)  # the worker reads the graph: no edits until it is done
        self.worker = runner.RunWorker(lambda events: runner.run(runtime, events, inputs), self)
        self.worker.done.connect(self._on_run_done)
        self._collector.pause()
        self.act_stop.setEnabled(True)
        self.act_run.setEnabled(False)
        self.worker.start()
        self.event_timer.start()
        return True

    def run_over_dialog(self) -> bool:
        """Run over files…: ask for a folder and a glob, then ``run_over_files``."""
        start = str(self.path.parent) if getattr(self, "path", None) is not None else os.getcwd()
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run over the files of a folder", start)
        if not folder:
            return False
        pattern, ok = QtWidgets.QInputDialog.getText(self, "Run over files", "Files (a glob; .npz arrays named "
                                                     "like the graph inputs):", text="*.npz")
        if not ok or not pattern.strip():
            return False
        return self.run_over_files(folder, pattern.strip())

    def run_over_files(self, folder, pattern: str = "*.npz", workers: int = 1) -> bool:
        """Run the graph once per file of ``folder`` matching ``pattern`` (haibal_py.distributed) on
        a worker thread, with the files' progress; the Viewers panel then shows the merged values
        (a viewer fed by a metric) and says which viewers hold one value per file (docs/scale.md).
        ``workers`` > 1 starts a local Dask cluster. False if it cannot start."""
        if self.worker is not None:
            return False
        if self.run_is_broken():
            self.show_status("cannot run: the graph has problems (see the Error List)", "error")
            self.run_finished.emit(False)
            return False
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.show()
        self.show_status(f"running over {pattern} in {folder}…")
        graph = self.model.graph
        runtime = self.model.runtime
        self.model.set_locked(True)  # the worker reads the graph: no edits until it is done
        self.worker = runner.RunWorker(lambda events: runner.run_over(graph, folder, pattern, events, workers,
                                                                      runtime.policy, runtime.limits), self)
        self.worker.done.connect(self._on_over_done)
        self.act_run.setEnabled(False)
        self.act_run_over.setEnabled(False)
        self.worker.start()
        self.event_timer.start()
        return True

    def _on_over_done(self, payload, error: str, seconds: float) -> None:
        self.event_timer.stop()
        self._apply_run_events()
        self.worker = None
        self.model.set_locked(False)
        self.act_run.setEnabled(True)
        self.act_run_over.setEnabled(True)
        self.progress.hide()
        payload = payload or {}
        res, error = payload.get("over"), error or payload.get("error", "")
        if error or res is None:
            self.show_status(f"run over files failed: {by_name(error, self.model.graph)}", "error")
            self.run_finished.emit(False)
            return
        row = res.rows[0]
        self.viewers.sync(self.model.graph)
        self.viewers.show_merged(row.node_values, "(one value per file: not merged)")
        text = f"ran over {res.shards} file(s) in {seconds * 1000:.0f} ms: merged values in the Viewers panel"
        if row.failures:
            self.show_status(f"{text}; {len(row.failures)} failed: " + "; ".join(str(f) for f in row.failures),
                             "error")
        else:
            self.show_status(text)
        self.run_finished.emit(True)

    def stop_run(self, wait: bool = False) -> bool:
        """Ask the running graph to stop (``Runtime.stop``): the running node may end early, the
        rest does not start, what ran is kept. ``wait``: until the worker is done."""
        if self.worker is None:
            return False
        self.worker.events.stop_requested = True
        self.model.runtime.stop()
        self.show_status("stopping…")
        if wait:
            if not self.worker.wait(10_000):  # a node that does not stop: let its thread finish alone
                self.worker.detach()
                self.worker = None
                self.model.set_locked(False)
                self.event_timer.stop()
                self._collector.restore()
                return True
            if self.worker is not None:  # the done signal is queued: handle it now
                QtWidgets.QApplication.processEvents()
        return True

    def _apply_run_events(self) -> None:
        """Show what the worker did since the last look: node states, progress, live values."""
        if self.worker is None:
            return
        state = {"started": "running", "finished": "done", "failed": "failed"}
        progress, latest = None, {}
        events = self.worker.events
        for event in events.drain():  # only each node's last state is drawn
            kind = event[0]
            if kind == "progress":
                progress = event[1:]
            else:
                if kind == "started" and ("live", event[1]) in self.viewers.entries:
                    self.viewers.entries[("live", event[1])].view.clear()  # it runs again: a new curve
                latest.pop(event[1], None)
                latest[event[1]] = (state[kind], by_name(event[2], self.model.graph) if kind == "failed" else "")
        for gid, (node_state, message) in latest.items():
            self.canvas.set_state(gid, node_state, message)
        live = events.drain_live()
        if live:
            graph = self.model.graph
            for gid, kind, payload in live:
                gn = graph.find(gid)
                self.viewers.live(gid, gn.name if gn is not None else gid).add(kind, payload)
            self.viewers.redraw_live()
            self.live_values.emit(live)
        if progress is not None and time.perf_counter() - self._progress_shown > 0.25:
            self._progress_shown = time.perf_counter()  # a progress bar repaint costs ~3 ms: 4 a second
            self.progress.setRange(0, max(progress[1], 1))
            self.progress.setValue(progress[0])

    def _remember_states(self) -> None:
        """The graph as opened or saved: its stateful nodes' states are not unsaved work."""
        self.unsaved_state = []
        self._state_digests = {gid: gn.node.state_digest() for gid, gn in self.model.graph.all_nodes()
                               if gn.node is not None and gn.node.stateful}

    def _note_state_changes(self, graph, ran) -> None:
        """Stateful nodes whose state a run changed (weights, a fit): what saving would write."""
        named = []
        for gid in ran:
            gn = graph.find(gid)
            if gn is not None and gn.node is not None and gn.node.stateful \
                    and gn.node.state_digest() != self._state_digests.get(gid):
                named.append(gn.name or gid)
        new = [n for n in named if n not in self.unsaved_state]
        if new:
            self.unsaved_state += sorted(new)
            self._update_title()

    def _on_run_done(self, payload, error: str, seconds: float) -> None:
        self._collector.restore()
        self.event_timer.stop()
        self._apply_run_events()
        dropped = self.worker.events.dropped if self.worker is not None else 0
        self.worker = None
        self.model.set_locked(False)
        self.act_stop.setEnabled(False)
        self.act_run.setEnabled(True)
        self.progress.hide()
        graph = self.model.graph
        payload = payload or {}
        result = payload.get("result")
        error = error or payload.get("error", "")
        if result is not None:
            self.last_result = result
        values = result.values if result is not None else {}
        ran = set(result.ran) if result is not None else set()
        n_ran = len(ran)
        for sid in list(ran):  # a structure that ran: what is inside it ran with it
            gn = graph.find(sid)
            for d in getattr(gn.node, "diagrams", ()) if gn is not None else ():
                ran.update(g for g, _ in d.graph.all_nodes())
        failed = payload.get("failed")
        self._note_state_changes(graph, ran)
        self.stale = {gid for gid, _ in graph.all_nodes() if gid not in values}
        for gid in list(self.canvas.items) + list(self.canvas.frames):
            if gid == failed:
                continue  # drawn failed by its event
            elif gid in ran:
                self.canvas.set_state(gid, "done")
            elif gid in values:
                self.canvas.set_state(gid, "cached")
            elif self.canvas.states.get(gid, "idle") != "idle":
                self.canvas.set_state(gid, "stale")
        self.canvas.show_values(values)
        self.viewers.sync(graph)
        self.viewers.update_values(self.model.runtime, self.stale)
        if self.probe.wire is not None:
            self.probe_wire(self.probe.wire)
        self.run_issues = []
        if payload.get("problems"):
            self.run_issues = [Issue("error", p.node, self.model.node_name(p.node) if p.node else "",
                                     by_name(p.message, graph)) for p in payload["problems"]]
        elif error:
            self.run_issues = [Issue("error", failed, self.model.node_name(failed) if failed else "",
                                     by_name(error, graph))]
        self.issues = self.check_issues + self.run_issues
        self.errors.show_issues(self.issues)
        self._update_run_action()
        if error:
            self.show_status(f"run failed: {by_name(error, graph)}", "error")
            self.show_error_list()
        elif result is not None and result.stopped:
            self.show_status(f"stopped after {len(result.ran)} node(s); what ran is kept (Ctrl+R runs the rest)",
                             "warning")
        else:
            n_cached = len(result.cached)
            self.show_status(f"ran {n_ran} node(s) in {seconds * 1000:.0f} ms ({n_cached} from the cache)"
                             + (f"; {dropped} live values dropped (they came faster than shown)" if dropped else ""))
        self.overview.update()
        self.run_finished.emit(not error)

    # ------------------------------------------------------------------ help
    def show_help(self, node=None) -> None:
        """F1: the full help page of the selected node (or of the palette's selection)."""
        cls = getattr(node, "haibal_class", None)
        if cls is None:
            sel = self.canvas.selected_ids()
            cls = self.model.graph.find(sel[0]).cls if sel else None
        if cls is None:
            item = self.palette.tree.currentItem()
            type_id = item.data(0, TYPE_ROLE) if item is not None else None
            cls = CATALOG.get(type_id) if type_id in CATALOG else None
        if cls is None:
            self.show_status("select a node, then press F1 for its help")
            return
        self.help_dialog = HelpDialog(cls, self)
        self.help_dialog.show()

    def show_guide(self) -> None:
        """The editor's guide (docs/editor.md of the source tree), rendered."""
        guide = Path(__file__).resolve().parents[1] / "docs" / "editor.md"
        dialog = QtWidgets.QDialog(self)
        dialog.setWindowTitle("Editor guide")
        browser = QtWidgets.QTextBrowser(dialog)
        try:
            browser.setMarkdown(guide.read_text("utf-8"))
        except OSError:
            browser.setPlainText("The guide is docs/editor.md in haibal-py's source tree.")
        lay = QtWidgets.QVBoxLayout(dialog)
        lay.addWidget(browser)
        dialog.resize(820, 640)
        self.guide_dialog = dialog
        dialog.show()
