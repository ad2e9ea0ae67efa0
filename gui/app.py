"""``haibal-editor [GRAPH]``: open the editor window (``python -m haibal_py.gui`` too)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="haibal-editor", description="The haibal-py graph editor.")
    parser.add_argument("graph", nargs="?", help="a saved graph (.json) to open")
    parser.add_argument("--no-recovery", action="store_true", help="do not offer to restore an autosaved graph")
    args = parser.parse_args(argv)

    from Qt import QtWidgets

    from .editor import new_window

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setApplicationName("haibal editor")
    app.setStyle("Fusion")  # the application's choice: one look on every desktop, themed by each window
    window = new_window()
    window.show()
    if not args.no_recovery:
        window.offer_recovery()
    if args.graph:
        if not window.guarded(lambda: window.open(args.graph)):
            return 2
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
