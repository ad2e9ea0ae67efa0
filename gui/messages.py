"""Messages by node *name*: users know their nodes by the names on the canvas, not by ids.

The core's messages name a node by its id and label (``node 'scc1' (per sample,
SparseCategoricalCrossentropy)``, ``gi1.value``) so that a message from a script or the
command line is unambiguous. The editor shows them with the names instead; a name that
several nodes share keeps its id in brackets (``'mean' (scc2)``).
"""

from __future__ import annotations

import re


def display_names(graph) -> dict[str, str]:
    """node id -> how the editor names it in a message."""
    count: dict[str, int] = {}
    every = list(graph.all_nodes())  # inside structures too
    for _, gn in every:
        count[gn.name] = count.get(gn.name, 0) + 1
    return {gid: (f"'{gn.name}'" if count[gn.name] == 1 else f"'{gn.name}' ({gid})") for gid, gn in every}


def plain_names(graph) -> dict[str, str]:
    """node id -> its name without quotes, for a column or a title (``mean (scc2)`` when shared)."""
    count: dict[str, int] = {}
    every = list(graph.all_nodes())  # inside structures too
    for _, gn in every:
        count[gn.name] = count.get(gn.name, 0) + 1
    return {gid: gn.name if count[gn.name] == 1 else f"{gn.name} ({gid})" for gid, gn in every}


#: the command line's hints, as the editor says them
_HINTS = (
    (re.compile(r"\s*(?:with |: )?--allow-(?:read|write) DIR"), " in Run → Run settings… (allowed folders)"),
    (re.compile(r"(?:haibal run )?--limit (\w+)=(?:VALUE|\.\.\.)(?:, or Limits\(\.\.\.\)\.raised\(\w+=\.\.\.\))?"),
     r"Run → Run settings… (limit \1)"),
)


def editor_hints(text: str) -> str:
    """A core message's command-line advice turned into the editor's menu path."""
    for pattern, replacement in _HINTS:
        text = pattern.sub(replacement, text)
    return text


def by_name(text: str, graph) -> str:
    """``text`` with the graph's node ids (and the labels around them) replaced by node names,
    and command-line advice given as the editor's menu path."""
    text = editor_hints(text)
    if not text or graph is None or not graph.nodes:
        return text
    names = display_names(graph)
    ids = "|".join(re.escape(i) for i in sorted(names, key=len, reverse=True))
    pattern = re.compile(rf"'(?P<label>{ids})' \([^()']*\)"  # 'id' (name, Kind): the core's node label
                         rf"|'(?P<quoted>{ids})'"  # 'id'
                         rf"|(?<![\w.'])(?P<end>{ids})\.(?P<port>\w+)")  # id.port: a wire end

    def replace(m: re.Match) -> str:
        if m.group("end") is not None:
            shown = names[m.group("end")]
            return (shown[1:-1] if shown.endswith("'") else shown) + "." + m.group("port")
        return names[m.group("label") or m.group("quoted")]

    return pattern.sub(replace, text)


def problem_text(problem, graph) -> str:
    """A validation problem without its "node 'x': " prefix (the error list has a node column)."""
    return by_name(problem.message, graph)
