"""``haibal_py.snippets``: the public snippet API (implemented in ``haibal_py.graph.templates``
and ``haibal_py.files.snippet_format``): make, save, load, insert and run snippets."""

from .files.png_chunks import NO_SNIPPET, SnippetError  # noqa: F401
from .files.snippet_format import (FORMAT, JSON_SUFFIX, PNG_SUFFIX, VERSION, file_stem,  # noqa: F401
                                   is_snippet_path, read_snippet_text, snippet_paths)
from .graph.parts import ExposedParam  # noqa: F401
from .graph.templates import (Snippet, copy_graph, insert_snippet, load_runnable, load_snippet,  # noqa: F401
                              snippet_node_class)

__all__ = ["FORMAT", "VERSION", "JSON_SUFFIX", "PNG_SUFFIX", "NO_SNIPPET", "Snippet", "SnippetError",
           "ExposedParam", "load_snippet", "load_runnable", "is_snippet_path", "insert_snippet",
           "snippet_node_class", "snippet_paths", "copy_graph", "read_snippet_text", "file_stem"]
