"""Shared test set-up: GUI tests run offscreen; nothing here imports Qt."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")


import pytest  # noqa: E402


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
