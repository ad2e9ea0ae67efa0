"""Pictures of structures in the editor for docs/structures.md (offscreen; no display needed).

    QT_QPA_PLATFORM=offscreen python scripts/grab_structure_pictures.py

Opens each structure example in an editor window, runs it, and grabs the canvas (and for
the Case Structure both cases) into ``docs/img/structures_*.png``; one more picture shows
a selection enclosed in a For Loop.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from Qt import QtWidgets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"


def wait_run(app, window, timeout: float = 120.0) -> None:
    done = []
    window.run_finished.connect(lambda ok: done.append(ok))
    window.run_graph()
    start = time.time()
    while not done and time.time() - start < timeout:
        app.processEvents()
        time.sleep(0.02)


def grab(window, name: str, gids=None) -> None:
    if gids:
        window.canvas.fit(gids, max_scale=1.0, margin=20.0)
    else:
        window.fit_view()
    QtWidgets.QApplication.processEvents()
    path = IMG / f"structures_{name}.png"
    window.canvas.viewer.grab().save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    from haibal_py.gui.editor import new_window
    import numpy as np

    IMG.mkdir(parents=True, exist_ok=True)
    for example in ("loop_batches", "case_from_logits", "train_steps"):
        path = ROOT / "examples" / f"{example}.json"
        if not path.is_file():
            continue
        window = new_window(recovery_path=Path("/tmp") / f"haibal-grab-{example}.json")
        window.ask_save_changes = lambda: "discard"
        big = example == "train_steps"  # a wide graph: its While Loop, larger
        window.resize(2600, 1300) if big else window.resize(1500, 900)
        window.show()
        window.open(path)
        wait_run(app, window)
        grab(window, example, list(window.canvas.frames) if big else None)
        if example == "case_from_logits":
            (sid,) = window.canvas.frames
            window.canvas.show_case(sid, 1)
            grab(window, f"{example}_true")
        window.close()

    window = new_window(recovery_path=Path("/tmp") / "haibal-grab-enclose.json")
    window.ask_save_changes = lambda: "discard"
    window.resize(1200, 700)
    window.show()
    m = window.model
    x = m.add_node("haibal.io.GraphInput", "batches", params={"type": "float[3]",
                                                               "default": np.arange(24.0).reshape(4, 3, 2)}, pos=(0, 0))
    mean = m.add_node("haibal.math.Mean", "mean", pos=(300, 0))
    out = m.add_node("haibal.io.GraphOutput", "means", pos=(620, 0))
    m.connect(x, "value", mean, "x")
    m.connect(mean, "result", out, "value")
    window.canvas.select([mean])
    sid = window.model.enclose([mean], "for")
    m.structure_edit(sid, "indexing", lambda st: (st.set_indexing("batches", True), st.set_indexing("result", True)))
    wait_run(app, window)
    grab(window, "enclosed")
    window.close()


if __name__ == "__main__":
    main()
