"""The NodeGraphQt editor: the only part of haibal-py that imports Qt.

``haibal-editor [GRAPH]`` (``haibal_py.gui.app:main``) opens ``window.EditorWindow``:
the canvas (``canvas``, with node classes generated from the catalog by ``adapter``),
the palette, properties, viewer panels built on pyqtgraph (``displays``) and a run on
a worker thread (``runner``) through the headless runtime (``bridge``).
"""

from .none_guard import protect_none as _protect_none

_protect_none()  # PySide6 6.12 leaks None references on Python 3.11; see none_guard
