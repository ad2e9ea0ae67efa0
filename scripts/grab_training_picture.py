"""The picture of the model side for the README and docs/training.md (offscreen; no display).

    QT_QPA_PLATFORM=offscreen python scripts/grab_training_picture.py

Opens examples/train_digits.json in an editor window, runs it (the Fit node trains the MLP
for 20 epochs; its curves reach the Viewers panel live), selects the Fit node so that the
Properties panel shows it, and grabs the whole window into ``docs/img/training_digits.png``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from Qt import QtWidgets  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img" / "training_digits.png"


def main() -> None:
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv)
    from haibal_py.gui.editor import new_window

    window = new_window(recovery_path=Path("/tmp") / "haibal-grab-training.json")
    window.ask_save_changes = lambda: "discard"
    window.resize(1600, 950)
    window.show()
    window.open(ROOT / "examples" / "train_digits.json")
    done = []
    window.run_finished.connect(done.append)
    if not window.run_graph():
        raise SystemExit("the example did not start")
    start = time.time()
    while not done and time.time() - start < 300:
        app.processEvents()
        time.sleep(0.02)
    if not done or not done[0]:
        raise SystemExit(f"the example did not finish: {window.last_result}")
    window.canvas.select(["fit"])
    window.fit_view()
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(OUT))
    print(f"wrote {OUT.relative_to(ROOT)}")
    window.close()


if __name__ == "__main__":
    main()
