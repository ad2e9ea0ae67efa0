"""The NodeGraphQt editor: the only part of haibal-py that imports Qt.

``haibal-editor [GRAPH]`` (``haibal_py.gui.app:main``) opens ``window.EditorWindow``:
the canvas (``canvas``, with node classes generated from the catalog by ``adapter``),
the palette, properties, viewer panels built on pyqtgraph (``displays``) and a run on
a worker thread (``runner``) through the headless runtime (``bridge``).
"""
