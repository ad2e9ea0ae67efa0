"""Validation: every reason a graph cannot run, found at once, each naming the node and port.

``validate(graph)`` checks node types, parameters, instances, terminal names, wires
(unknown ends, inputs fed twice, required inputs left unwired), cycles, static types
(``typecheck``) and, inside each composite node, its template's own graph (problems
there are reported on the composite node, naming the inner node); then what the graph
would touch outside itself (``resources``): files its file policy refuses, and sizes
beyond its limits (expanded node count, nesting, each node's ``check_limits``).
"""

from __future__ import annotations

from ..errors import HaibalError, UnknownNodeTypeError
from ..files.png_chunks import SnippetError
from ..node.base import AUTOMATIC
from ..node.types import PortType
from ..files.limits import Limits
from ..files.policy import FilePolicy
from . import algorithms, resources, typecheck
from .composite import CompositeNode
from .parts import Connection, Problem
from .terminals import as_declared

__all__ = ["check_template", "validate"]

#: graph problems that make a snippet document malformed (type problems are left to validate/run)
STRUCTURAL = ("unknown-node", "unknown-port", "fed-twice", "duplicate-terminal", "bad-instance")


def validate(graph, policy: FilePolicy | None = None, limits: Limits | None = None,
             outside: bool = True, sources=None, types=None) -> list[Problem]:
    """Every reason ``graph`` cannot run, in a stable order; [] when it can run. ``outside``:
    also check files against ``policy`` and sizes against ``limits`` (defaults: the
    graph's folder, ``Limits()``); inner graphs are checked through their composite node.
    ``sources``: the types of graph inputs given from outside (a structure's diagram);
    ``types``: the graph's ``TypeInfo`` when already computed with them."""
    problems: list[Problem] = []
    if outside:
        too_large = resources.resource_problems(graph, policy, limits)
        if any(p.code == "too-large" and p.node is None for p in too_large):
            return too_large  # nesting or expanded size: looking further would be what the limit prevents
    problems += _node_problems(graph)
    fed, wire_problems = _wire_problems(graph)
    problems += wire_problems
    for gid, gn in graph.nodes.items():
        if gn.node is None:
            continue
        for port in gn.node.inputs:
            if port.required and (gid, port.name) not in fed:
                problems.append(Problem(gid, port.name, f"required input of {gn.label} is not wired "
                                        f"and has no default", "unwired"))
    order, stuck = graph.topological_order()
    for cycle in algorithms.cycles(stuck, graph.successors):
        problems.append(Problem(cycle[0], None, "cycle: " + " -> ".join(cycle + [cycle[0]])
                                + " (a dataflow graph cannot feed a node its own output)", "cycle"))
    info = types if types is not None else typecheck.port_types(graph, sources)
    problems.extend(info.problems)
    problems.extend(_inner_problems(graph, info))
    if outside:
        problems.extend(too_large)
    return problems


def _node_problems(graph) -> list[Problem]:
    problems = []
    names: dict[tuple[bool, str], str] = {}
    for gid, gn in graph.nodes.items():
        if gn.node is None:
            try:
                graph.node_class(gn.type_id)
                msg = f"node type {gn.type_id!r} could not be created"
            except UnknownNodeTypeError as exc:
                msg = str(exc)
            problems.append(Problem(gid, None, msg, "unknown-type"))
            continue
        for pname, (_raw, msg) in gn.bad_params.items():
            problems.append(Problem(gid, pname, msg, "bad-param"))
        if gn.raw_instance != gn.instance and gn.raw_instance != AUTOMATIC:
            problems.append(Problem(gid, None, f"unknown instance {gn.raw_instance!r}; choose "
                                    f"'automatic' or one of {list(gn.cls.instance_names())}", "bad-instance"))
        if gn.is_input and gn.node.values.get("default") is not None and "type" not in gn.bad_params:
            problems.extend(_check_default(gn))
        if gn.is_input or gn.is_output:
            key = (gn.is_input, gn.name)
            if key in names:
                problems.append(Problem(gid, None, f"another graph {'input' if gn.is_input else 'output'} "
                                        f"is named {gn.name!r} ({names[key]})", "duplicate-terminal"))
            else:
                names[key] = gid
    return problems


def _wire_problems(graph) -> tuple[dict[tuple[str, str], Connection], list[Problem]]:
    problems = []
    fed: dict[tuple[str, str], Connection] = {}
    for c in graph.connections:
        ok = True
        for end, port, output in ((c.src, c.src_port, True), (c.dst, c.dst_port, False)):
            gn = graph.nodes.get(end)
            if gn is None:
                problems.append(Problem(end, None, f"connection {c} names a node that is not in the graph",
                                        "unknown-node"))
                ok = False
            elif gn.node is not None and not gn.has_port(port, output):
                ports = gn.node.outputs if output else gn.node.inputs
                what = "output" if output else "input"
                problems.append(Problem(end, port, f"{gn.label} has no {what} port {port!r} ({what}s: "
                                        f"{', '.join(p.name for p in ports) or 'none'}); used by {c}",
                                        "unknown-port"))
                ok = False
        if not ok:
            continue
        key = (c.dst, c.dst_port)
        if key in fed:
            problems.append(Problem(c.dst, c.dst_port, f"input is fed twice ({fed[key].src}.{fed[key].src_port} "
                                    f"and {c.src}.{c.src_port}); an input takes one wire", "fed-twice"))
        else:
            fed[key] = c
    return fed, problems


def _check_default(gn) -> list[Problem]:
    declared = gn.node.declared_type
    try:
        got = PortType.of_value(as_declared(gn.node.values["default"], declared))
    except HaibalError as exc:
        return [Problem(gn.id, "default", str(exc), "bad-default")]
    if got.check(declared).ok:
        return []
    return [Problem(gn.id, "default", f"the default value of graph input {gn.name!r} is {got}, "
                    f"but the input is declared {declared}", "bad-default")]


def _inner_problems(graph, info) -> list[Problem]:
    """Problems inside each composite node's graphs (a template's, a structure's diagrams),
    reported on the composite node (``Problem.inner``: the problem inside)."""
    problems = []
    for gid, gn in graph.nodes.items():
        if not isinstance(gn.node, CompositeNode):
            continue
        for template, p in gn.node.inner_problems(info.wired.get(gid, {}), template_problems):
            if template is None:  # the node's own (a structure's terminals, its cases)
                problems.append(Problem(gid, p.port, p.message, p.code))
            else:
                problems.append(Problem(gid, None, f"inside {gn.node.where(template)}: {p}", "inner", inner=p))
    return problems


def template_problems(template) -> list[Problem]:
    """The problems of a template's graph, kept on the template until that graph changes."""
    key = ("problems", template.graph.revision)
    cached = template.cache.get("problems")
    if cached is not None and cached[0] == key:
        return cached[1]
    problems = validate(template.graph, outside=False)
    template.cache["problems"] = (key, problems)
    return problems


def check_template(template, source: str) -> None:
    """SnippetError unless a template can be used: known node types, accepted parameter
    values, well-formed wiring, exposed parameters that exist, and a document that can be
    written back (no NaN or infinity inline)."""
    graph = template.graph
    unknown = sorted({gn.type_id for gn in graph.nodes.values() if gn.node is None})
    if unknown:
        raise SnippetError(f"{source}: snippet {template.name!r} uses node types this haibal-py does not know: "
                           f"{', '.join(unknown)} (install the catalog that provides them)")
    bad = [f"{gid}.{p} ({msg})" for gid, gn in graph.nodes.items() for p, (_, msg) in gn.bad_params.items()]
    if bad:
        raise SnippetError(f"{source}: snippet {template.name!r} has bad parameter values: {'; '.join(bad)}")
    broken = [str(p) for p in validate(graph, outside=False) if p.code in STRUCTURAL]
    if broken:
        raise SnippetError(f"{source}: snippet {template.name!r} is malformed: {'; '.join(broken)}")
    try:
        template.check()
        template.to_dict()  # what is accepted can be written back (no NaN/infinity inline)
    except SnippetError as exc:
        raise SnippetError(f"{source}: {exc}") from None
