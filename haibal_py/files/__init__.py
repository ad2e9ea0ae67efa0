"""Everything on disk, as plain data: no graph, node or model class is known here.

``atomic`` (atomic writes that keep file modes, content-named files, the folder lock of
pair saves), ``array_files`` (.npy / .npz / .csv, checked before allocating),
``png_chunks`` (PNG chunks, headless), ``graph_format`` (the versioned JSON documents
of graphs, their JSON Schema and the sibling ``.npz`` of large arrays),
``snippet_format`` (snippet documents in ``.snippet.json`` and ``.png`` files),
``policy`` (``FilePolicy``: the folders a graph may read and write) and ``limits``
(``Limits``: the resource limits of loading, validating and running; docs/security.md).
Layers above turn these documents into graphs, templates and models.
"""
