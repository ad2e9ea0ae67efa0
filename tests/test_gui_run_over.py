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
    x, y = window.model.graph.nodes["scc2"].pos
    shown = window.add_from_palette("haibal.viewers.ValueDisplay", pos=(x + 300, y + 120))
    window.model.connect("scc2", "result", shown, "value")
    # the menu's way: a folder, then a glob (the dialogs answered here)
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "maps"))
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("*.npz", True))
    assert window.act_run_over in window.menus["run"].actions()
    with qtbot.waitSignal(window.run_finished, timeout=20000) as sig:
        window.act_run_over.trigger()
    assert sig.args == [True], window.status.text()
    with np.load(tmp_path / "all.npz") as z:
        expected = Runtime(Graph.load(SEG)).run({k: z[k] for k in z.files}).outputs["mean_loss"]
    assert window.viewers.view(shown).value == pytest.approx(expected, rel=1e-12)
    loss_map = window.viewers.view("iv1")
    assert loss_map.value is None and "one value per file" in loss_map.label.text()
    assert "ran over 4 file(s)" in window.status.text()
    assert window.progress.isHidden() and window.act_run.isEnabled()


def test_a_failing_file_is_named_in_the_status_and_the_rest_merge(window, qtbot, tmp_path):
    make_shards_module.make_shards(tmp_path, 2, 1, 8, 5)
    (tmp_path / "zz_broken.npz").write_bytes(b"nope")
    window.open(SEG)
    with qtbot.waitSignal(window.run_finished, timeout=20000):
        assert window.run_over_files(tmp_path, "*.npz")
    text = window.status.text()
    assert "1 failed" in text and "zz_broken.npz" in text and "not a zip archive" in text
    with qtbot.waitSignal(window.run_finished, timeout=20000):  # a plain run afterwards: the graph's own values
        assert window.run_graph()
    assert window.viewers.view("iv1").value is not None
