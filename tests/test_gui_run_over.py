"""The editor's Run over files…: the graph once per file of a folder, the files' progress, and
the merged values in the Viewers panel (viewers of per-file values say so)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtWidgets  # noqa: E402

from haibal_py.graph import Graph  # noqa: E402
from haibal_py.runtime import Runtime  # noqa: E402

from test_distributed_run import SEG, make_shards_module  # noqa: E402


@pytest.fixture
def window(open_editor):
    return open_editor()


def test_run_over_files_shows_the_merged_metric_in_the_viewers(window, qtbot, tmp_path, monkeypatch):
    make_shards_module.make_shards(tmp_path / "maps", 4, 2, 8, 5, concat=tmp_path / "all.npz")
    window.open(SEG)
    loss = window.canvas.node("mean over valid pixels")
    shown = window.add_from_palette("haibal.viewers.ValueDisplay", pos=(loss.x_pos() + 300, loss.y_pos() + 120))
    shown.set_name("mean loss")
    assert window.canvas.connect(loss, "result", shown, "value").ok
    # the menu's way: a folder, then a glob (the dialogs answered here)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "maps"))
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("*.npz", True))
    assert window.act_run_over in window.menuBar().actions()[2].menu().actions()
    with qtbot.waitSignal(window.run_finished, timeout=20000) as sig:
        window.act_run_over.trigger()
    assert sig.args == [True], window.status.text()
    with np.load(tmp_path / "all.npz") as z:
        expected = Runtime(Graph.load(SEG)).run({k: z[k] for k in z.files}).outputs["mean_loss"]
    view = window.viewers.views["mean loss"]
    assert view.value == pytest.approx(expected, rel=1e-12)
    assert window.viewers.views["loss map"].value is None
    assert "one value per file" in window.viewers.views["loss map"].label.text()
    assert "ran over 4 file(s)" in window.status.text()
    assert window.progress.isHidden()


def test_a_failing_file_is_named_in_the_status_and_the_rest_merge(window, qtbot, tmp_path):
    make_shards_module.make_shards(tmp_path, 2, 1, 8, 5)
    (tmp_path / "zz_broken.npz").write_bytes(b"nope")
    window.open(SEG)
    with qtbot.waitSignal(window.run_finished, timeout=20000):
        assert window.run_over_files(tmp_path, "*.npz")
    text = window.status.text()
    assert "1 failed" in text and "zz_broken.npz" in text and "not a zip archive" in text
    # a plain run afterwards shows the graph's own values again
    with qtbot.waitSignal(window.run_finished, timeout=20000):
        assert window.run_graph()
    assert window.viewers.views["loss map"].value is not None
