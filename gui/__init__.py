"""The NodeGraphQt editor: the only part of haibal-py that imports Qt.

``haibal-editor [GRAPH]`` (``haibal_py.gui.app:main``) opens ``window.EditorWindow``:
the canvas (``canvas``, with node classes generated from the catalog by ``adapter``),
the palette, properties, viewer panels built on pyqtgraph (``displays``) and a run on
a worker thread (``runner``) through the headless runtime (``bridge``).

PySide6 is pinned below 6.12 in ``pyproject.toml``: 6.12.0 drops a reference to ``None``
on every Qt call returning nothing, and Python 3.11 aborts after a few seconds of painting.
"""
