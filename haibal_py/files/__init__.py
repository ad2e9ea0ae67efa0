"""Everything on disk, as plain data: no graph, node or model class is known here.

``atomic`` (atomic writes that keep file modes), ``array_files`` (.npy / .npz / .csv),
``png_chunks`` (PNG chunks, headless), ``graph_format`` (the versioned JSON documents
of graphs, their JSON Schema and the sibling ``.npz`` of large arrays) and
``snippet_format`` (snippet documents in ``.snippet.json`` and ``.png`` files). Layers
above turn these documents into graphs, templates and models.
"""
