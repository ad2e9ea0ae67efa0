"""The editor's side of the trust boundary (issue 11): opening a graph or dropping a snippet
says which files it would write, once, before anything runs; files outside the graph's
folder are refused until the user allows their folder in Run settings."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from gui_helpers import run_and_wait  # noqa: E402
from haibal_py.graph import Graph  # noqa: E402
from haibal_py.gui import run_settings  # noqa: E402
from haibal_py.gui.snippets import insert_file  # noqa: E402
from haibal_py.snippets import Snippet  # noqa: E402


def writing_graph(folder, path_text: str):
    g = Graph("writer")
    x = g.add_input("x", default=[1.0, 2.0], type="float[1]")
    w = g.add_node("haibal.io.WriteFile", "save x", {"path": path_text}, id="w1")
    g.connect(x, "value", w, "value")
    g.connect(w, "value", g.add_output("y"), "value")
    g.save(folder / "writer.json")
    return folder / "writer.json"


def test_opening_a_graph_says_which_files_it_writes_once(open_editor, qtbot, tmp_path):
    path = writing_graph(tmp_path, "out/result.npy")
    (tmp_path / "out").mkdir()
    w = open_editor()
    w.open(path)
    qtbot.waitUntil(lambda: bool(getattr(w, "last_file_notice", "")), timeout=5000)
    assert "save x writes 'out/result.npy'" in w.last_file_notice
    assert str(tmp_path / "out" / "result.npy") in w.last_file_notice
    assert not (tmp_path / "out" / "result.npy").exists()  # said before anything runs
    w.last_file_notice = ""
    assert run_settings.notice_files(w, w.model.graph, "again") == ""  # once per file
    run_and_wait(w, qtbot)
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "result.npy"), [1.0, 2.0])


def test_a_notice_seen_before_is_only_said_in_the_status_bar(open_editor, qtbot, tmp_path):
    """Opening one's own graph again (the same files, this or a later session) does not ask
    again; a graph that now writes something else does."""
    path = writing_graph(tmp_path, "result.npy")
    w = open_editor("first")
    w.open(path)
    qtbot.waitUntil(lambda: bool(getattr(w, "last_file_notice", "")), timeout=5000)
    w.file_notice_box.close()
    w2 = open_editor("first")  # the same settings file: a later session
    w2.open(path)
    qtbot.waitUntil(lambda: "writes 1 file(s)" in w2.status.text(), timeout=5000)
    assert not getattr(w2, "last_file_notice", "")
    writing_graph(tmp_path, "other.npy")  # the same file now writes elsewhere
    w2.open(path)
    qtbot.waitUntil(lambda: "other.npy" in getattr(w2, "last_file_notice", ""), timeout=5000)


def test_a_file_outside_the_folder_is_refused_until_its_folder_is_allowed(open_editor, qtbot, tmp_path):
    graph_dir = tmp_path / "graphs"
    graph_dir.mkdir()
    path = writing_graph(graph_dir, "../elsewhere/result.npy")
    (tmp_path / "elsewhere").mkdir()
    w = open_editor()
    w.open(path)
    qtbot.waitUntil(lambda: bool(getattr(w, "last_file_notice", "")), timeout=5000)
    assert "REFUSED" in w.last_file_notice
    w.refresh_checks()
    assert w.run_is_broken()
    refused = [i for i in w.issues if i.gid == "w1"]
    assert refused and "outside the graph's folder" in refused[0].text
    assert "Run → Run settings" in refused[0].text and "--allow" not in refused[0].text
    assert not w.run_graph()
    assert not (tmp_path / "elsewhere" / "result.npy").exists()
    dialog = run_settings.RunSettingsDialog(w)
    dialog.write.list.addItem(str(tmp_path / "elsewhere"))
    assert dialog.apply()
    w.refresh_checks()
    assert not w.run_is_broken()
    run_and_wait(w, qtbot)
    assert (tmp_path / "elsewhere" / "result.npy").is_file()


def test_run_settings_refuse_a_bad_limit_and_change_nothing(open_editor):
    w = open_editor()
    before = (w.model.policy, w.model.limits, w.model.runtime)
    dialog = run_settings.RunSettingsDialog(w)
    dialog.limits["max_value_bytes"].setText("lots")
    assert not dialog.apply()
    assert "max_value_bytes" in dialog.error.text()
    assert (w.model.policy, w.model.limits, w.model.runtime) == before
    dialog.limits["max_value_bytes"].setText("8GiB")
    assert dialog.apply() and w.model.limits.max_value_bytes == 8 << 30


def test_dropping_a_snippet_that_writes_says_so(open_editor, qtbot, tmp_path):
    src = Graph.load(writing_graph(tmp_path, "result.npy"))
    snippet = Snippet.from_selection(src, ["w1"], "Writer")
    _, png = snippet.save(tmp_path / "snips")
    w = open_editor()
    w.last_file_notice = ""
    made = insert_file(w, png, (0.0, 0.0))
    assert made and "writes 'result.npy'" in w.last_file_notice and "snippet 'Writer'" in w.last_file_notice
