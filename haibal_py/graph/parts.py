"""The graph layer's plain data: wires, problems, errors, and a graph's parts as a file holds them.

``GraphParts`` is a graph as data (node specs, wires, the templates it defines), what
``Graph.to_parts`` gives and ``Graph.from_parts`` (the one public constructor the loader
uses) takes; ``graph.document`` turns parts into JSON documents and back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import HaibalError, HaibalValueError

__all__ = ["Connection", "DiagramParts", "ExposedParam", "GraphError", "GraphParts", "GraphValidationError",
           "NodeSpec", "Problem", "StructureParts", "TemplateParts", "TerminalSpec"]


class GraphError(HaibalError, KeyError):
    """A graph edit names a node or port that does not exist, or breaks a rule at once."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Problem:
    """One reason a graph cannot run. ``node`` is a node id, ``port`` a port or parameter name."""

    node: str | None
    port: str | None
    message: str
    code: str = "invalid"  # unknown-type, unknown-node, unknown-port, fed-twice, unwired, cycle,
    #                  type-mismatch, no-instance, bad-param, bad-default, bad-instance, duplicate-terminal,
    #                  inner (a problem inside a composite node or structure), too-large (beyond the Limits),
    #                  file-refused (outside the FilePolicy's folders); structures: structure (terminals
    #                  and their inner nodes), tunnel-type, shift-register-type, case-output, case-selector
    #: for an ``inner`` problem: the problem inside (its ``node`` an inner node id), else None
    inner: "Problem | None" = field(default=None, compare=False, repr=False)

    def innermost(self) -> "Problem":
        """The problem at the bottom of a chain of ``inner`` problems (the inner node at fault)."""
        p = self
        while p.inner is not None:
            p = p.inner
        return p

    def __str__(self) -> str:
        where = ""
        if self.node is not None:
            where = f"node {self.node!r}"
            if self.port is not None:
                where += f", {'parameter' if self.code in ('bad-param', 'bad-default') else 'port'} {self.port!r}"
            where += ": "
        return where + self.message


class GraphValidationError(HaibalValueError):
    """A graph cannot run: ``problems`` lists every reason (each naming node and port)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"the graph has {len(self.problems)} problem(s):\n{lines}")


@dataclass(frozen=True)
class Connection:
    """A wire from an output port to an input port (node ids and port names)."""

    src: str
    src_port: str
    dst: str
    dst_port: str

    def __str__(self) -> str:
        return f"{self.src}.{self.src_port} -> {self.dst}.{self.dst_port}"


@dataclass(frozen=True)
class ExposedParam:
    """A template parameter: the name users set, and the node parameter it stands for."""

    name: str
    node: str
    param: str
    doc: str = ""

    def to_dict(self) -> dict:
        out = {"name": self.name, "node": self.node, "param": self.param}
        if self.doc:
            out["doc"] = self.doc
        return out


@dataclass(frozen=True)
class TerminalSpec:
    """A terminal on a structure's border, as a file holds it: a ``tunnel`` (``direction``
    "in" or "out", ``indexing`` on or off) or a ``shift`` register (a value carried from
    one iteration to the next). Its ``name`` is the structure's port and the name of the
    terminal nodes inside each diagram."""

    name: str
    kind: str  # "tunnel" | "shift"
    direction: str = "in"  # tunnels: "in" | "out"; shift registers: "in" (both sides)
    indexing: bool = False
    doc: str = ""


@dataclass
class DiagramParts:
    """One subdiagram of a structure: its graph; for a Case Structure, the selector values
    it handles (``values``) and whether it is the default case."""

    graph: "GraphParts"
    values: tuple = ()
    default: bool = False


@dataclass
class StructureParts:
    """What a structure node (For Loop, While Loop, Case Structure) holds besides its
    parameters: its border terminals, its diagrams, and its frame's size on the canvas."""

    terminals: list[TerminalSpec] = field(default_factory=list)
    diagrams: list[DiagramParts] = field(default_factory=list)
    size: tuple[float, float] | None = None


@dataclass
class NodeSpec:
    """A node as a file holds it: parameter values as read (not yet checked by the node)."""

    id: str
    type_id: str
    name: str | None = None
    instance: str = "automatic"
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] | None = None
    state: dict[str, np.ndarray] = field(default_factory=dict)
    structure: StructureParts | None = None  # structure nodes only


@dataclass
class GraphParts:
    """A graph as data: what a graph file holds."""

    name: str = ""
    description: str = ""
    nodes: list[NodeSpec] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    editor: dict[str, Any] = field(default_factory=dict)
    subgraphs: list["TemplateParts"] = field(default_factory=list)


@dataclass
class TemplateParts:
    """A template (snippet, collapsed subgraph) as data: what a snippet document holds."""

    name: str
    graph: GraphParts
    description: str = ""
    category: str = ""
    params: list[ExposedParam] = field(default_factory=list)
