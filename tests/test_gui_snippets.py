"""Snippets in the editor: save a selection as PNG+JSON, the panel, drops onto the canvas, undo."""

import json
import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from Qt import QtCore, QtGui  # noqa: E402

from haibal_py.gui import snippet_panel, snippets as gsnip  # noqa: E402
from haibal_py.gui.editor import new_window  # noqa: E402
from haibal_py.files.png_chunks import SnippetError, embed_snippet, extract_snippet, read_chunks  # noqa: E402
from haibal_py.runtime import Runtime  # noqa: E402
from haibal_py.snippets import load_runnable, load_snippet  # noqa: E402
from reference import canvas_input  # noqa: E402

SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
Y_TRUE = [1, 2]
LOGITS = [[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]]
EXPECTED = [math.log(sum(math.exp(v) for v in row)) - row[lab] for lab, row in zip(Y_TRUE, LOGITS)]


@pytest.fixture
def window(open_editor, tmp_path, monkeypatch):
    monkeypatch.setenv("HAIBAL_SNIPPETS_DIR", str(tmp_path / "lib"))
    w = open_editor()
    assert snippet_panel.install(w) is w.snippet_panel  # installed by the window itself
    return w


def build(window):
    """logits, labels -> SCCE(from_logits) -> loss, through the model; returns node ids."""
    m = window.model
    lg = canvas_input(m, "logits", LOGITS, "float[2]", (0, 0))
    yt = canvas_input(m, "labels", Y_TRUE, "int[1]", (0, 200))
    sc = m.add_node(SCCE, pos=(300, 60), params={"from_logits": True})
    out = m.add_node("haibal.io.GraphOutput", name="loss", pos=(600, 60))
    m.connect(lg, "value", sc, "y_pred")
    m.connect(yt, "value", sc, "y_true")
    m.connect(sc, "result", out, "value")
    return lg, yt, sc, out


def canvas_state(window):
    g = window.model.graph
    nodes = sorted((gn.name, gn.type_id, gn.pos) for gn in g.nodes.values())
    drawn = sorted((n.name(), n.haibal_class.type_id, tuple(n.pos())) for n in window.canvas.nodes())
    assert drawn == nodes  # the canvas shows the graph
    return nodes, sorted(str(c) for c in g.connections)


def test_save_selection_png_decodes_in_qt_and_json_bit_identical(window, tmp_path):
    lg, yt, sc, out = build(window)
    window.canvas.select([sc])
    jpath, ppath = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "scce logits",
                                                   "SCCE from logits", "Metrics",
                                                   expose={"from_logits": (sc, "from_logits")})
    data = ppath.read_bytes()
    img = QtGui.QImage()
    assert img.loadFromData(data, "PNG")
    assert img.width() > 100 and img.height() > 50
    text = extract_snippet(data)
    assert text.encode("utf-8") == jpath.read_bytes()
    assert img.text("haibal-snippet") == text  # Qt reads the iTXt chunk too
    sn = load_snippet(ppath)
    assert sorted(sn.inputs) == ["labels", "logits"] and list(sn.outputs) == ["loss"]
    res = Runtime(load_runnable(ppath)).run().outputs["loss"]
    np.testing.assert_allclose(res, EXPECTED, rtol=1e-6)


def test_rendered_picture_shows_only_selection(window):
    lg, yt, sc, out = build(window)
    one = gsnip.render_image(window.canvas, [sc])
    both = gsnip.render_image(window.canvas, [sc, out])
    assert one.width() < both.width()
    assert window.canvas.item(lg).view.isVisible() and window.canvas.item(out).view.isVisible()  # hidden while rendering
    # a headless-encoded PNG of a Qt-rendered image, with our chunk, is a PNG Qt decodes
    png = embed_snippet(gsnip.image_to_png(one), '{"a": 1}')
    back = QtGui.QImage()
    assert back.loadFromData(png, "PNG") and back.size() == one.size()
    assert [c.name for c in read_chunks(png)][-2:] == ["iTXt", "IEND"]


def drop(window, paths, pos=(500, 400)):
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(str(p)) for p in paths])
    window.canvas.viewer.dropped.emit(mime, QtCore.QPointF(*pos))


def test_drop_file_inserts_at_point_one_undo_step(window, tmp_path):
    build(window)
    window.select_all()
    _, ppath = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "whole")
    before = canvas_state(window)
    n_before = len(window.canvas.nodes())
    drop(window, [ppath], pos=(1000, 800))  # free space: it lands there
    nodes = window.model.graph.nodes
    assert len(nodes) == 2 * n_before
    new = [gn for gn in nodes.values() if (gn.name, gn.type_id, gn.pos) not in before[0]]
    assert min(gn.pos[0] for gn in new) == pytest.approx(1000) and min(gn.pos[1] for gn in new) == pytest.approx(800)
    assert len(window.canvas.wires()) == 2 * len(before[1])
    window.model.undo()
    assert canvas_state(window) == before
    window.model.redo()
    assert len(window.canvas.nodes()) == 2 * n_before


def test_inserted_snippet_runs_same_results(window, tmp_path, qtbot):
    build(window)
    window.select_all()
    jpath, _ = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "whole")
    fresh = new_window(recovery_path=tmp_path / "r2.json")
    fresh.ask_save_changes = lambda: "discard"
    qtbot.addWidget(fresh)
    gsnip.install_drop_handler(fresh)  # already installed by the window: no second handler
    assert sum(h is fresh.snippet_drop_handler for h in fresh.canvas.drop_handlers) == 1
    drop(fresh, [jpath], pos=(0, 0))
    assert len(fresh.canvas.nodes()) == 4
    np.testing.assert_allclose(Runtime(fresh.model.graph.copy()).run().outputs["loss"], EXPECTED, rtol=1e-6)


def test_bad_snippets_leave_canvas_unchanged(window, tmp_path):
    build(window)
    window.select_all()
    jpath, ppath = gsnip.save_selection_as_snippet(window, tmp_path / "lib", "whole")
    before = canvas_state(window)
    steps = window.model.undo_stack.count()
    doc = json.loads(jpath.read_text())
    bad = tmp_path / "bad"
    bad.mkdir()
    unknown = json.loads(json.dumps(doc))
    unknown["graph"]["nodes"][2]["type"] = "acme.Teleport"
    (bad / "unknown.snippet.json").write_text(json.dumps(unknown))
    (bad / "newer.snippet.json").write_text(json.dumps(dict(doc, version=99)))
    corrupt = bytearray(ppath.read_bytes())
    corrupt[len(corrupt) // 2] ^= 0xFF
    (bad / "corrupt.png").write_bytes(bytes(corrupt))
    plain = QtGui.QImage(8, 8, QtGui.QImage.Format_RGB32)
    plain.fill(QtGui.QColor("red"))
    (bad / "plain.png").write_bytes(gsnip.image_to_png(plain))
    for name, match in [("unknown.snippet.json", "acme.Teleport"), ("newer.snippet.json", "version 99 is newer"),
                        ("corrupt.png", "corrupt PNG"), ("plain.png", "this image carries no haibal snippet")]:
        drop(window, [bad / name])
        assert canvas_state(window) == before, name
        assert window.model.undo_stack.count() == steps
        assert match in window.status.text(), (name, window.status.text())
    with pytest.raises(SnippetError, match="already has an input named 'labels'.* and an input named 'logits'.* and an output named 'loss'"):
        gsnip.insert_file(window, ppath, (0, 0), on_clash="error")
    assert canvas_state(window) == before


def test_panel_lists_libraries_and_drags_urls(window, tmp_path):
    build(window)
    window.select_all()
    gsnip.save_selection_as_snippet(window, tmp_path / "lib", "whole", "all of it")
    (tmp_path / "lib" / "junk.png").write_bytes(b"not a png")
    panel = snippet_panel.SnippetPanel(folders=[("mine", tmp_path / "lib")])
    assert panel.names() == ["whole"]
    assert any("junk.png" in p for p in panel.problems)
    item = panel.item("whole")
    assert not item.icon().isNull()
    mime = panel.list.mimeData([item])
    assert [u.toLocalFile() for u in mime.urls()] == [str(tmp_path / "lib" / "whole.png")]
    n = len(window.canvas.nodes())
    window.snippet_panel.folders = [("mine", tmp_path / "lib")]
    window.snippet_panel.refresh()
    window.snippet_panel.list.itemDoubleClicked.emit(window.snippet_panel.item("whole"))
    assert len(window.canvas.nodes()) == 2 * n


def test_builtin_panel_lists_examples(window):
    names = snippet_panel.SnippetPanel().names()
    assert {"SCCE documentation example", "SCCE from logits"} <= set(names)


def test_palette_drop_still_works(window):
    mime = window.palette.tree.mimeData([window.palette.items[SCCE]])
    window.canvas.viewer.dropped.emit(mime, QtCore.QPointF(10, 10))
    assert [gn.type_id for gn in window.model.graph.nodes.values()] == [SCCE]


def _qimage_rgba(img: QtGui.QImage) -> np.ndarray:
    img = img.convertToFormat(QtGui.QImage.Format_RGBA8888)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, :img.width() * 4].reshape(img.height(), img.width(), 4).copy()


def test_headless_encoder_on_editor_image_decoded_by_qt(window):
    """An editor-rendered image re-encoded by the headless encoder: Qt decodes the same pixels
    and reads the chunk back bit-identically."""
    lg, yt, sc, out = build(window)
    rendered = gsnip.render_image(window.canvas, [lg, sc])  # node ids
    pixels = _qimage_rgba(rendered)
    text = '{"format": "haibal-snippet", "name": "\u00e9t\u00e9"}\n'
    from haibal_py.files.png_chunks import encode_png
    png = embed_snippet(encode_png(pixels), text)
    back = QtGui.QImage()
    assert back.loadFromData(png, "PNG")
    assert np.array_equal(_qimage_rgba(back), pixels)
    assert extract_snippet(png).encode("utf-8") == text.encode("utf-8")
    assert back.text("haibal-snippet") == text


def test_save_dialog_action(window, monkeypatch, tmp_path):
    build(window)
    window.select_all()
    answers = iter([("from dialog", True), ("made by a test", True)])
    monkeypatch.setattr(snippet_panel.QtWidgets.QInputDialog, "getText", lambda *a, **k: next(answers))
    assert window.act_save_snippet in window.menus["edit"].actions()
    window.act_save_snippet.trigger()
    png = tmp_path / "lib" / "from_dialog.png"
    assert load_snippet(png).description == "made by a test"
    assert "from dialog" in window.snippet_panel.names()
