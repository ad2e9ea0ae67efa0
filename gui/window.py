"""The editor window: canvas, palette, properties, viewers, probe, files, run.

Everything a user does has a method here that tests (and scripts) call the same way
the menus do: ``add_from_palette``, ``run_graph``, ``save``, ``open``...
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

from NodeGraphQt import PropertiesBinWidget
from Qt import QtCore, QtGui, QtWidgets

from haibal_py.errors import HaibalError
from haibal_py.node.registry import CATALOG

from . import adapter, bridge
from .adapter import HaibalNode
from .canvas import Canvas
from .layout import spread
from .palette import Palette
from .quick_search import QuickSearch, TabFilter
from .runner import RunWorker
from .viewer_panel import ProbePanel, ViewerPanel

APP_NAME = "haibal editor"
AUTOSAVE_MS = 60_000
RUN_SWITCH_INTERVAL = 0.0005  # seconds; see run_graph


def default_recovery_path() -> Path:
    env = os.environ.get("HAIBAL_EDITOR_RECOVERY")
    if env:
        return Path(env)
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "haibal-py" / "recovery.json"


class EditorWindow(QtWidgets.QMainWindow):
    """The main window. ``run_finished(ok)`` fires on the UI thread after each run."""

    run_finished = QtCore.Signal(bool)

    def __init__(self, recovery_path: Path | None = None, autosave_ms: int = AUTOSAVE_MS):
        super().__init__()
        self.canvas = Canvas(self)
        self.graph = self.canvas.graph
        self.doc = bridge.Document()
        self.canvas.checker = self._wire_checks
        self.path: Path | None = None
        self.worker: RunWorker | None = None
        self.outputs: dict[str, dict] = {}
        self.last_run: dict = {}
        self.recovery_path = Path(recovery_path) if recovery_path else default_recovery_path()
        HaibalNode.invalid_value_hook = self._on_invalid_value
        self._build_ui()
        self._build_actions()
        #: ``check(window) -> reason or None`` after each paste; a reason undoes the paste (features add them)
        self.paste_checks: list = []
        self.canvas.changed.connect(self._on_changed)
        self.graph.undo_stack().cleanChanged.connect(lambda _c: self._update_title())
        self.graph.undo_stack().indexChanged.connect(lambda _i: self._update_title())
        self.graph.scene().selectionChanged.connect(self._on_selection_changed)
        self.event_timer = QtCore.QTimer(self)  # reads the worker's events during a run
        self.event_timer.setInterval(40)
        self.event_timer.timeout.connect(self._apply_run_events)
        self.autosave_timer = QtCore.QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start(autosave_ms)
        self._update_title()
        self.resize(1400, 850)

    # -- layout
    def _build_ui(self) -> None:
        self.setCentralWidget(self.graph.widget)
        self.palette = Palette(self)
        self.palette.node_requested.connect(lambda t: self.add_from_palette(t))
        self.properties = PropertiesBinWidget(node_graph=self.graph)
        self.properties.setWindowFlags(QtCore.Qt.Widget)
        self.viewers = ViewerPanel(self)
        self.probe = ProbePanel(self)
        pal = self._dock("Palette", self.palette, QtCore.Qt.LeftDockWidgetArea, 270)
        view = self._dock("Viewers", self.viewers, QtCore.Qt.RightDockWidgetArea, 380)
        props = self._dock("Properties", self.properties, QtCore.Qt.RightDockWidgetArea, 380)
        probe = self._dock("Probe", self.probe, QtCore.Qt.RightDockWidgetArea, 380)
        self.tabifyDockWidget(props, probe)
        props.raise_()
        self.resizeDocks([view, props], [560, 300], QtCore.Qt.Vertical)
        self.resizeDocks([pal], [280], QtCore.Qt.Horizontal)
        self.docks = {"palette": pal, "viewers": view, "properties": props, "probe": probe}
        self.status = QtWidgets.QLabel("Ready")
        self.progress = QtWidgets.QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("%v / %m nodes")
        self.progress.hide()
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.graph.node_selected.connect(self._on_node_selected)
        self.quick_search = QuickSearch(self)
        self.quick_search.node_requested.connect(
            lambda type_id, pos: self.add_from_palette(type_id, pos=(pos.x(), pos.y())))
        self.tab_filter = TabFilter(self.graph.viewer(), self.quick_search)
        self.graph.viewer().installEventFilter(self.tab_filter)

    def _dock(self, title, widget, area, width) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        widget.setMinimumWidth(width)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text, slot, shortcut=None, tip="") -> QtGui.QAction:
        act = QtGui.QAction(text, self)
        if shortcut:
            act.setShortcut(QtGui.QKeySequence(shortcut))
            act.setShortcutContext(QtCore.Qt.WindowShortcut)
        act.setStatusTip(tip)
        act.triggered.connect(lambda *_: slot())
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        K = QtGui.QKeySequence
        self.act_new = self._action("&New", self.new, K.New, "a new, empty graph")
        self.act_open = self._action("&Open…", self.open_dialog, K.Open, "open a saved graph")
        self.act_save = self._action("&Save", self.save_or_ask, K.Save, "save the graph")
        self.act_save_as = self._action("Save &As…", self.save_as_dialog, K.SaveAs)
        self.act_quit = self._action("&Quit", self.close, K.Quit)
        self.act_undo = self._action("&Undo", self.graph.undo_stack().undo, K.Undo)
        self.act_redo = self._action("&Redo", self.graph.undo_stack().redo, K.Redo)
        self.act_copy = self._action("&Copy", self.copy, K.Copy)
        self.act_paste = self._action("&Paste", self.paste, K.Paste)
        self.act_delete = self._action("&Delete", self.delete_selection, K.Delete)
        self.act_select_all = self._action("Select &All", self.graph.select_all, K.SelectAll)
        self.act_run = self._action("&Run", self.run_graph, "Ctrl+R", "run the graph (only what changed is recomputed)")
        self.act_run_over = self._action("Run over &files…", self.run_over_dialog, None,
                                         "run the graph once per file of a folder (its arrays feed the graph "
                                         "inputs by name); merged metrics in the Viewers panel")
        self.act_help = self._action("Node &Help", self.show_help, K.HelpContents, "help of the selected node")
        self.act_search = self._action("Add node…", lambda: self.tab_filter.open(), None, "quick search (Tab on the canvas)")
        menus = {
            "&File": [self.act_new, self.act_open, self.act_save, self.act_save_as, None, self.act_quit],
            "&Edit": [self.act_undo, self.act_redo, None, self.act_copy, self.act_paste, self.act_delete,
                      self.act_select_all, None, self.act_search],
            "&Run": [self.act_run, self.act_run_over],
            "&Help": [self.act_help],
        }
        for title, acts in menus.items():
            menu = self.menuBar().addMenu(title)
            for act in acts:
                menu.addSeparator() if act is None else menu.addAction(act)
        bar = self.addToolBar("Main")
        bar.setObjectName("Main")
        for act in (self.act_new, self.act_open, self.act_save, None, self.act_undo, self.act_redo, None, self.act_run):
            bar.addSeparator() if act is None else bar.addAction(act)
        self.act_run.setIcon(self.style().standardIcon(QtWidgets.QStyle.SP_MediaPlay))

    # -- editing, as a user would
    def add_from_palette(self, node_type: str, pos=None) -> HaibalNode:
        """Add a node as a palette double-click does (at the view centre unless ``pos``)."""
        if pos is None:
            viewer = self.graph.viewer()
            centre = viewer.mapToScene(viewer.viewport().rect().center())
            jitter = 30 * (len(self.canvas.nodes()) % 5)
            pos = (centre.x() - 80 + jitter, centre.y() - 40 + jitter)
        node = self.canvas.add_node(node_type, pos=pos)
        return node

    def copy(self) -> None:
        self.graph.copy_nodes()

    def paste(self) -> None:
        adapter.register_all_local(self.graph)  # subgraph nodes copied in another window
        if self.graph.paste_nodes():
            for check in self.paste_checks:
                reason = check(self)
                if reason:  # refused: the paste is undone (it is one undo step)
                    self.graph.undo_stack().undo()
                    self.show_status(f"not pasted: {reason}", error=True)
                    return

    def delete_selection(self) -> None:
        nodes = self.graph.selected_nodes()
        if nodes:
            self.graph.delete_nodes(nodes)
        for in_port, out_port in self.graph.selected_pipes():
            in_port.disconnect_from(out_port)

    def _wire_checks(self, canvas):
        """The runtime's type checks of the canvas; the declared types if it cannot say."""
        try:
            return self.doc.wire_checks(canvas)
        except HaibalError as exc:  # e.g. a pasted parameter the node refuses
            self.show_status(f"type check: {exc}", error=True)
            return canvas.declared_checks(), {}

    def _on_invalid_value(self, node, message: str) -> None:
        self.show_status(f"refused: {message}", error=True)

    def _on_changed(self) -> None:
        if not getattr(self, "_sync_pending", False):
            self._sync_pending = True
            QtCore.QTimer.singleShot(0, self._sync_viewers)

    def _sync_viewers(self) -> None:
        self._sync_pending = False
        self.viewers.sync(self.canvas.nodes())
        self._update_title()

    def _on_node_selected(self, node) -> None:
        """A clicked node shows its parameters in the Properties panel."""
        if isinstance(node, HaibalNode):  # (the panel ignores it when locked)
            self.properties.add_node(node)
            self.docks["properties"].raise_()

    def _on_selection_changed(self) -> None:
        pipes = self.graph.selected_pipes()
        if len(pipes) == 1:
            in_port, out_port = pipes[0]
            self.probe_wire((out_port.node().name(), out_port.name(), in_port.node().name(), in_port.name()))
            self.docks["probe"].raise_()

    def probe_wire(self, wire) -> None:
        """Show in the probe panel the value that flowed through ``wire`` in the last run."""
        node_out = self.outputs.get(wire[0], {})
        self.probe.show_wire(wire, node_out.get(wire[1]), wire[1] in node_out)

    def fit_view(self) -> None:
        """Zoom the canvas so every node shows (NodeGraphQt's own fit is quadratic)."""
        nodes = self.canvas.nodes()
        if not nodes:
            return
        rect = nodes[0].view.sceneBoundingRect()
        for n in nodes[1:]:
            rect = rect.united(n.view.sceneBoundingRect())
        viewer = self.graph.viewer()
        viewer._scene_range = rect.adjusted(-40, -40, 40, 40)
        viewer._update_scene()
        if viewer.get_zoom() > 0.1:
            viewer.reset_zoom(rect.center())

    # -- modified state
    def is_modified(self) -> bool:
        try:
            return not self.graph.undo_stack().isClean()
        except RuntimeError:  # the stack is gone: the window is being destroyed
            return False

    def _update_title(self) -> None:
        name = self.path.name if self.path else "untitled"
        try:
            self.setWindowTitle(f"{name}[*] — {APP_NAME}")
            self.setWindowModified(self.is_modified())
        except RuntimeError:  # signals from the undo stack while the window is destroyed
            pass

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #e33" if error else "")
        self.status.setToolTip(text)

    # -- files
    def new(self) -> bool:
        if not self.maybe_save():
            return False
        self._clear()
        self.path = None
        self._update_title()
        return True

    def _clear(self) -> None:
        for node in self.canvas.nodes():
            node.release()  # else the old canvas is never freed
        self.graph.clear_session()
        self.graph.clear_undo_stack()
        self.outputs, self.last_run = {}, {}
        self.doc = bridge.Document()
        self.viewers.sync([])

    def open(self, path) -> None:
        """Load a saved graph (the runtime's format); errors are HaibalErrors naming the problem."""
        path = Path(path)
        graph = bridge.load(path)
        self._clear()
        skipped = self.doc.load_into(self.canvas, graph)
        spread(self.canvas.nodes())  # layout only: the document is not changed by it
        self.graph.clear_undo_stack()
        self.canvas.restyle_wires()
        self.path = path
        self.viewers.sync(self.canvas.nodes())
        self._update_title()
        self.fit_view()
        self.show_status(f"opened {path}" + (": " + "; ".join(skipped) if skipped else ""), error=bool(skipped))

    def save(self, path=None) -> Path:
        """Save in the runtime's saved-graph format (runs with ``haibal run`` unchanged)."""
        path = Path(path) if path else self.path
        if path is None:
            raise ValueError("no file name to save to")
        self.doc.save(self.canvas, path)
        self.path = path
        self.graph.undo_stack().setClean()
        self.remove_recovery()
        self._update_title()
        self.show_status(f"saved {path}")
        return path

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        name, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open graph", str(self.path or ""),
                                                        "haibal graphs (*.json);;All files (*)")
        if name:
            self._guarded(lambda: self.open(name))

    def save_or_ask(self) -> bool:
        return self._guarded(lambda: self.save()) if self.path else self.save_as_dialog()

    def save_as_dialog(self) -> bool:
        name, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save graph as", str(self.path or "graph.json"),
                                                        "haibal graphs (*.json)")
        return bool(name) and self._guarded(lambda: self.save(name))

    def _guarded(self, fn) -> bool:
        try:
            fn()
            return True
        except (HaibalError, OSError, ValueError) as exc:
            self.show_status(str(exc), error=True)
            QtWidgets.QMessageBox.warning(self, APP_NAME, str(exc))
            return False

    def ask_save_changes(self) -> str:
        """'save', 'discard' or 'cancel' (a dialog; tests replace this method)."""
        B = QtWidgets.QMessageBox
        answer = B.question(self, APP_NAME, "The graph has unsaved changes. Save them?",
                            B.Save | B.Discard | B.Cancel, B.Save)
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
        if self.worker is not None and self.worker.isRunning():
            self.worker.wait(5000)
        if self.maybe_save():
            self.remove_recovery()
            self.autosave_timer.stop()
            event.accept()
        else:
            event.ignore()

    # -- recovery
    def autosave(self) -> bool:
        """Write the graph to the recovery file if it has unsaved changes."""
        if not self.is_modified():
            return False
        try:
            self.recovery_path.parent.mkdir(parents=True, exist_ok=True)
            self.doc.save(self.canvas, self.recovery_path)
            return True
        except (HaibalError, OSError) as exc:
            self.show_status(f"autosave failed: {exc}", error=True)
            return False

    def remove_recovery(self) -> None:
        try:
            self.recovery_path.unlink()
        except FileNotFoundError:
            pass

    def restore_recovery(self) -> bool:
        """Load the recovery file as an unsaved graph."""
        if not self.recovery_path.exists():
            return False
        graph = bridge.load(self.recovery_path)
        self._clear()
        self.doc.load_into(self.canvas, graph)
        self.graph.clear_undo_stack()
        self.graph.undo_stack().resetClean()
        self.path = None
        self.canvas.restyle_wires()
        self.viewers.sync(self.canvas.nodes())
        self._update_title()
        self.show_status("restored the graph from the recovery file (not saved yet)")
        return True

    def offer_recovery(self) -> bool:
        if not self.recovery_path.exists():
            return False
        B = QtWidgets.QMessageBox
        answer = B.question(self, APP_NAME, "The editor did not close properly last time.\n"
                            "Restore the unsaved graph?", B.Yes | B.No, B.Yes)
        if answer == B.Yes:
            return self._guarded(self.restore_recovery)
        self.remove_recovery()
        return False

    # -- running
    def is_running(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def run_graph(self) -> bool:
        """Start a run on a worker thread; False (and a message) if it cannot start."""
        if self.is_running():
            return False
        try:
            self.doc.sync(self.canvas)  # the runtime validates it on the worker thread
            problems = []
        except HaibalError as exc:
            problems = [str(exc)]
        if problems:
            self.show_status("cannot run: " + "; ".join(problems), error=True)
            self.run_finished.emit(False)
            return False
        self.canvas.reset_states()
        self.progress.setRange(0, max(1, len(self.canvas.nodes())))
        self.progress.setValue(0)
        self.progress.show()
        self.show_status("running…")
        self._run_started = time.perf_counter()
        runtime = self.doc.runtime
        self._start_worker(lambda events: bridge.run(runtime, events))
        return True

    def _start_worker(self, job) -> None:
        """Run ``job(events)`` on a worker thread; ``_on_run_done`` gets its result."""
        self.doc.busy = True  # edits during the run go to snapshots, the run reads the graph
        self.worker = RunWorker(job, self)
        self.worker.done.connect(self._on_run_done)
        # the UI's Python (slots, NodeGraphQt's paint methods) must win the GIL from the
        # worker quickly: hand it over every 0.5 ms instead of every 5 ms during a run
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(RUN_SWITCH_INTERVAL)
        # no cyclic-GC pause on the UI thread mid-run (a collection of a big canvas's
        # Qt wrappers takes long); garbage is collected when the run is over
        self._gc_enabled = gc.isenabled()
        gc.disable()
        self.worker.start()
        self.event_timer.start()

    def run_over_dialog(self) -> bool:
        """Run over files…: ask for a folder and a glob, then ``run_over_files``."""
        start = str(self.path.parent) if self.path is not None else os.getcwd()
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Run over the files of a folder", start)
        if not folder:
            return False
        pattern, ok = QtWidgets.QInputDialog.getText(self, "Run over files", "Files (a glob; .npz arrays named "
                                                     "like the graph inputs):", text="*.npz")
        if not ok or not pattern.strip():
            return False
        return self.run_over_files(folder, pattern.strip())

    def run_over_files(self, folder, pattern: str = "*.npz", workers: int = 1) -> bool:
        """Run the graph once per file of ``folder`` matching ``pattern`` (haibal_py.distributed) on a
        worker thread, with the shards' progress; the Viewers panel then shows the merged values
        (a viewer fed by a metric) and says which viewers hold one value per file. ``workers`` > 1
        starts a local Dask cluster. False (and a message) if it cannot start."""
        if self.is_running():
            return False
        try:
            graph = self.doc.sync(self.canvas)
        except HaibalError as exc:
            self.show_status(f"cannot run: {exc}", error=True)
            self.run_finished.emit(False)
            return False
        self.progress.setFormat("%v / %m files")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.show()
        self.show_status(f"running over {pattern} in {folder}…")
        self._run_started = time.perf_counter()
        self._start_worker(lambda events: bridge.run_over(graph, folder, pattern, events, workers))
        return True

    def _apply_run_events(self) -> None:
        """Show what the worker did since the last look: node states, progress."""
        if self.worker is None:
            return
        state = {"started": "running", "finished": "done", "failed": "failed"}
        progress, latest = None, {}
        for event in self.worker.events.drain():  # only each node's last state is drawn
            kind = event[0]
            if kind == "progress":
                progress = event[1:]
            else:
                latest.pop(event[1], None)
                latest[event[1]] = (state[kind], event[2] if kind == "failed" else "")
        for name, (node_state, message) in latest.items():
            self.canvas.set_node_state(name, node_state, message)
        if progress is not None:
            self.progress.setRange(0, max(progress[1], 1))
            self.progress.setValue(progress[0])

    def _on_run_done(self, result, error: str, seconds: float) -> None:
        sys.setswitchinterval(self._switch_interval)
        if self._gc_enabled:
            gc.enable()
        self.event_timer.stop()
        self._apply_run_events()
        self.doc.busy = False
        if self.doc.edited_while_busy:  # apply edits made during the run
            self.canvas._schedule_restyle()
        self.progress.hide()
        error = error or (result or {}).get("error", "")
        self.last_run = result or {}
        self.outputs = dict((result or {}).get("outputs", {}))
        over = (result or {}).get("over")
        self.progress.setFormat("%v / %m nodes")
        self.viewers.sync(self.canvas.nodes())
        self.viewers.update_values(self.outputs, others="(one value per file: not merged)" if over else None)
        if self.probe.wire is not None:
            self.probe_wire(self.probe.wire)
        if error:
            self.show_status(f"run failed: {error}", error=True)
        elif over is not None:
            failures = over["failures"]
            text = (f"ran over {over['shards']} file(s) in {seconds * 1000:.0f} ms: merged values in the "
                    f"Viewers panel")
            if failures:
                self.show_status(f"{text}; {len(failures)} failed: " + "; ".join(failures), error=True)
            else:
                self.show_status(text)
        else:
            ran = (result or {}).get("ran", [])
            self.show_status(f"ran {len(ran)} node(s) in {seconds * 1000:.0f} ms"
                             f" ({len(self.canvas.nodes()) - len(ran)} unchanged, from cache)")
        self.worker = None
        self.run_finished.emit(not error)

    # -- help
    def show_help(self, node=None) -> None:
        """F1: the full help page of the selected node (or of the palette's selection)."""
        cls = getattr(node, "haibal_class", None)
        if cls is None:
            sel = self.graph.selected_nodes()
            cls = getattr(sel[0], "haibal_class", None) if sel else None
        if cls is None:
            item = self.palette.tree.currentItem()
            type_id = item.toolTip(0).split("\n")[0] if item is not None and item.parent() else ""
            cls = CATALOG.get(type_id) if type_id in CATALOG else None
        if cls is None:
            self.show_status("select a node, then press F1 for its help")
            return
        dialog = QtWidgets.QDialog(self)
        dialog.setWindowTitle(f"Help — {cls.display_name}")
        text = QtWidgets.QPlainTextEdit(cls.help_text(), dialog)
        text.setReadOnly(True)
        text.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))
        lay = QtWidgets.QVBoxLayout(dialog)
        lay.addWidget(text)
        dialog.resize(760, 520)
        self.help_dialog = dialog
        dialog.show()
