"""The editor assembled: a window with its features installed (one place lists them).

``EditorWindow`` is the canvas, panels and file and run actions; the features below add
their panels, menu actions and handlers to it, so the window imports none of them. A
window remembers its features (``window.features``): a subgraph window it opens gets the
same ones.
"""

from __future__ import annotations

from . import run_settings, snippet_panel, structures, subgraphs
from .window import EditorWindow

#: each feature: ``install(window)``, idempotent
FEATURES = (
    snippet_panel.install,  # Snippets panel, 'Save selection as snippet…', snippet drops
    subgraphs.install,  # 'Collapse into subgraph', 'Expand subgraph', double-click opens one
    structures.install,  # 'Enclose in For Loop / While Loop / Case Structure', frames' context menus
    run_settings.install,  # Run settings (allowed folders, limits); which files an opened graph writes
)


def new_window(**kwargs) -> EditorWindow:
    """An editor window with every feature installed (``EditorWindow`` arguments)."""
    window = EditorWindow(**kwargs)
    window.features = FEATURES
    for install in FEATURES:
        install(window)
    return window
