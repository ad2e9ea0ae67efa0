"""Shared test set-up: GUI tests run offscreen; nothing here imports Qt.

A headless install (``pip install -e '.[dev]'``, no GUI extras) runs the whole suite with
the GUI tests reported as SKIPPED: pytest-qt's plugin is not loaded by its entry point
(``-p no:pytest-qt`` in pyproject.toml's addopts, since it aborts the session when no Qt
binding is installed) but from here, when a Qt binding and pytest-qt are both importable;
without them every ``tests/test_gui_*.py`` module is collected as one skip, never imported.
"""

import importlib.util
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")


import pytest  # noqa: E402


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


HAVE_QT = _importable("PySide6") and _importable("pytestqt")
NO_QT_REASON = "the GUI extras are not installed (pip install -e '.[gui,dev]'): PySide6 or pytest-qt is missing"

if HAVE_QT:
    pytest_plugins = ["pytestqt.plugin"]


class _SkippedGuiModule(pytest.Module):
    """A GUI test module when Qt is missing: reported as skipped, never imported."""

    def collect(self):
        pytest.skip(f"{self.path.name}: {NO_QT_REASON}", allow_module_level=True)


def pytest_pycollect_makemodule(module_path, parent):
    if not HAVE_QT and module_path.name.startswith("test_gui_"):
        return _SkippedGuiModule.from_parent(parent, path=module_path)
    return None


@pytest.fixture
def open_editor(qtbot, tmp_path):
    """``open_editor(name="recovery")``: a shown editor window with its own recovery file,
    closed by pytest-qt after the test; closing never asks (unsaved changes are dropped)."""
    from haibal_py.gui.editor import new_window  # Qt only for the tests that ask for it

    def make(name: str = "recovery", size=(1280, 720)):
        w = new_window(recovery_path=tmp_path / f"{name}.json")
        w.ask_save_changes = lambda: "discard"
        qtbot.addWidget(w)
        w.resize(*size)
        w.show()
        w.activateWindow()  # keyboard shortcuts reach the active window only
        qtbot.waitUntil(w.isActiveWindow, timeout=2000)
        return w

    return make


def pytest_sessionfinish(session, exitstatus):
    """Empty the system clipboard before the interpreter exits: with Qt's offscreen platform,
    a clipboard still holding the editor's copied nodes (QMimeData) crashes the process at
    exit (a segmentation fault after every test passed). Qt is only looked up if a test
    imported it."""
    import sys

    widgets = sys.modules.get("PySide6.QtWidgets")
    app = widgets.QApplication.instance() if widgets is not None else None
    if app is not None:
        app.clipboard().clear()
