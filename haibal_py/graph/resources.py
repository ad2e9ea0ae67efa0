"""What a graph would touch outside itself, found before anything runs: files and sizes.

- ``file_accesses(graph, policy)``: every file the graph's nodes would read or write
  (``Node.files()``, inner nodes of composite nodes included), each resolved against the
  file policy: where it leads, or why it is refused. ``haibal validate``/``info`` list them,
  the editor shows them before running a graph or snippet from elsewhere.
- ``resource_problems(graph, policy, limits)``: the ``Problem`` s of ``validate`` for
  refused files (code ``file-refused``) and for what exceeds the limits (``too-large``):
  the graph's expanded size (composite nodes counted with their inner graphs, without
  expanding them), nesting depth, and each node's ``check_limits``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import HaibalError
from ..files.limits import DEFAULT_LIMITS, LimitError, Limits
from ..files.policy import DEFAULT_POLICY, FileAccessError, FilePolicy, FileUse
from ..node.base import Node
from .composite import expanded_size
from .parts import Problem

__all__ = ["FileAccess", "check_nodes", "file_accesses", "resource_problems"]


@dataclass(frozen=True)
class FileAccess:
    """A file a node of the graph would read or write: ``resolved`` where it leads, or
    ``refused`` why the policy refuses it (one of the two is None)."""

    node: str
    use: FileUse
    resolved: Path | None
    refused: str | None

    @property
    def where(self) -> str:
        """The node naming the file: ``sub1/w1`` for node ``w1`` inside composite node ``sub1``."""
        return "/".join((self.node,) + self.use.via)

    def __str__(self) -> str:
        target = f"-> {self.resolved}" if self.resolved is not None else f"REFUSED: {self.refused}"
        return f"{self.use.mode:<5}  {self.where}  {self.use.path!r}  {target}"


def _declares(node: Node) -> bool:
    cls = type(node)
    return cls.files is not Node.files


def file_accesses(graph, policy: FilePolicy | None = None) -> list[FileAccess]:
    """Every file ``graph`` would read or write, in node order, checked against ``policy``
    (the default: the graph's folder and below)."""
    policy = policy or DEFAULT_POLICY
    out = []
    for gid, gn in graph.nodes.items():
        if gn.node is None or not _declares(gn.node):
            continue
        try:
            uses = gn.node.files()
        except HaibalError:
            continue  # a parameter the node refuses: validation reports it
        for use in uses:
            try:
                out.append(FileAccess(gid, use, policy.resolve(use.path, graph.base_dir, use.mode), None))
            except FileAccessError as exc:
                out.append(FileAccess(gid, use, None, str(exc)))
    return out


def resource_problems(graph, policy: FilePolicy | None = None, limits: Limits | None = None) -> list[Problem]:
    """The problems of files the policy refuses and of sizes beyond the limits."""
    limits = limits or DEFAULT_LIMITS
    nodes, depth = expanded_size(graph)
    problems = []
    if depth > limits.max_nesting:
        problems.append(Problem(None, None, f"composite nodes nest {depth} levels deep, more than the limit "
                                f"max_nesting = {limits.max_nesting} (raise it on purpose: --limit "
                                f"max_nesting=N)", "too-large"))
    if nodes > limits.max_expanded_nodes:
        problems.append(Problem(None, None, f"the graph expands to {nodes:,} nodes (composite nodes counted with "
                                f"their inner graphs), more than the limit max_expanded_nodes = "
                                f"{limits.max_expanded_nodes:,} (raise it on purpose: --limit "
                                f"max_expanded_nodes=N)", "too-large"))
    if problems:
        return problems  # the inner graphs are too large to look through
    for access in file_accesses(graph, policy):
        if access.refused is not None:
            inside = f" (inside it, node {'/'.join(access.use.via)!r})" if access.use.via else ""
            problems.append(Problem(access.node, None, f"{access.refused}{inside}", "file-refused"))
    for gid, gn in graph.nodes.items():
        if gn.node is None or type(gn.node).check_limits is Node.check_limits:
            continue
        try:
            gn.node.check_limits(limits)
        except LimitError as exc:
            problems.append(Problem(gid, None, str(exc), "too-large"))
        except HaibalError:
            pass  # a parameter the node refuses: validation reports it
    return problems


def check_nodes(nodes, base_dir, policy: FilePolicy, limits: Limits) -> None:
    """Raise the first ``FileAccessError`` or ``LimitError`` of these (node id, node) pairs:
    the runtime's check of the nodes it is about to run, before the first one runs."""
    for gid, node in nodes:
        cls = type(node)
        if cls.files is not Node.files:
            for use in node.files():
                try:
                    policy.resolve(use.path, base_dir, use.mode)
                except FileAccessError as exc:
                    inside = f" (inside it, node {'/'.join(use.via)!r})" if use.via else ""
                    raise FileAccessError(f"node {gid!r}: {exc}{inside}") from None
        if cls.check_limits is not Node.check_limits:
            try:
                node.check_limits(limits)
            except LimitError as exc:
                raise LimitError(f"node {gid!r}: {exc}") from None

