"""Graph algorithms: dataflow order and cycles, over a graph's adjacency (any object with
``nodes`` in file order and ``successors(node_id)``)."""

from __future__ import annotations

from typing import Callable, Iterable, Mapping

__all__ = ["cycles", "topological_order"]


def topological_order(nodes: Iterable[str], successors: Callable[[str], Iterable[str]]
                      ) -> tuple[list[str], list[str]]:
    """(node ids in dataflow order, node ids on or behind a cycle). Ties keep file order.

    ``successors(id)`` lists the node fed by each wire out of ``id`` (once per wire).
    """
    ids = list(nodes)
    indeg = dict.fromkeys(ids, 0)
    for gid in ids:
        for nxt in successors(gid):
            if nxt in indeg:
                indeg[nxt] += 1
    ready = [gid for gid in ids if indeg[gid] == 0]
    order: list[str] = []
    i = 0
    while i < len(ready):
        gid = ready[i]
        i += 1
        order.append(gid)
        for nxt in successors(gid):
            if nxt in indeg:
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    ready.append(nxt)
    stuck = [gid for gid in ids if indeg[gid] > 0]
    return order, stuck


def cycles(stuck: list[str], successors: Callable[[str], Iterable[str]]) -> list[list[str]]:
    """The cycles among ``stuck`` nodes: strongly connected components of size > 1, or a
    node feeding itself (Tarjan's algorithm, iterative). Members in ``stuck`` order."""
    stuck_set = set(stuck)
    succ: Mapping[str, list[str]] = {gid: [n for n in successors(gid) if n in stuck_set] for gid in stuck}
    position = {gid: i for i, gid in enumerate(stuck)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0

    for root in stuck:
        if root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        work = [(root, iter(succ[root]))]
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ[w])))
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1 or node in succ[node]:
                        comps.append(sorted(comp, key=position.__getitem__))
    return comps
