"""Static types of a graph: each node's instance picked from what is wired, before anything runs.

Types flow in dataflow order: a node's wired input types are its sources' output types;
``Node.select`` picks the instance (the same call the runtime makes), whose type rules
give the node's output types from the wired types and the node's parameters. When the
wired types are not exact (``float[1+]``), the runtime may pick another fitting instance,
so the output types of every fitting instance are joined. A type rule may refuse a
combination with a ``HaibalError`` that names what is wrong (a layer fed a shape it cannot
take): that is a problem of the node ("bad-shape"), found before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..errors import HaibalError
from ..node.base import AUTOMATIC, Instance, Node
from ..node.types import ANY, Compat, PortType
from .parts import Connection, Problem

__all__ = ["TypeInfo", "port_types"]


@dataclass
class TypeInfo:
    """Static types of a graph, for the editor and for validation.

    - ``outputs[(node_id, port)]``: the type an output carries (``any`` when unknown);
    - ``inputs[(node_id, port)]``: the type the picked instance expects at an input;
    - ``wires[connection]``: a ``Compat`` (ok / coerced: LabVIEW's coercion dot / broken);
    - ``instances[node_id]``: the instance name picked (None: none fits, or unknown type);
    - ``wired[node_id]``: the types reaching each of its inputs (from wires and non-None defaults);
    - ``problems``: the type problems found (also part of ``Graph.validate``).

    Inside structures (loops, case structures) types flow from outside through their
    tunnels: the nodes of their diagrams are typed with them and listed here too (node ids
    are unique in the whole graph); their problems are the structure's (``validate``).
    """

    outputs: dict[tuple[str, str], PortType] = field(default_factory=dict)
    inputs: dict[tuple[str, str], PortType] = field(default_factory=dict)
    wires: dict[Connection, Compat] = field(default_factory=dict)
    instances: dict[str, str | None] = field(default_factory=dict)
    wired: dict[str, dict[str, PortType]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def merge(self, other: "TypeInfo") -> None:
        """Add the types of another graph's nodes (a structure's diagram), not its problems."""
        self.outputs.update(other.outputs)
        self.inputs.update(other.inputs)
        self.wires.update(other.wires)
        self.instances.update(other.instances)
        self.wired.update(other.wired)


def _exact(t: PortType) -> bool:
    return t.kind != "any" and t.max_rank is not None and t.min_rank == t.max_rank


def port_types(graph, sources: Mapping[str, PortType] | None = None) -> TypeInfo:
    """Static port types propagated through ``graph`` (see ``TypeInfo``). ``sources``: the
    types of some graph inputs by name, in place of their declared types (a structure's
    diagram: what its tunnels bring in); a given type must fit the declared one."""
    info = TypeInfo()
    order, stuck = graph.topological_order()
    stuck_set = set(stuck)
    for gid in order + stuck:
        gn = graph.nodes[gid]
        if gn.node is None:
            info.instances[gid] = None
            continue
        wired: dict[str, PortType] = {}
        wires: dict[str, Connection] = {}
        for c in graph.incoming(gid):
            if c.src not in graph.nodes or not gn.has_port(c.dst_port, False) or c.dst_port in wires:
                continue  # an unknown end, or a port fed twice (the first wire counts): validate reports it
            wired[c.dst_port] = info.outputs.get((c.src, c.src_port), ANY)
            wires[c.dst_port] = c
        for port in gn.node.inputs:
            if port.name not in wired and not port.required and port.default is not None:
                wired[port.name] = PortType.of_value(port.default)
        info.wired[gid] = wired
        if sources and gn.is_input and gn.name in sources:
            _type_source(gn, sources[gn.name], info)
            continue
        _type_node(gn, wired, wires, info, in_cycle=gid in stuck_set)
    return info


def _type_source(gn, given: PortType, info: TypeInfo) -> None:
    """A graph input whose type is given from outside (a structure's tunnel)."""
    declared = gn.node.declared_type
    info.instances[gn.id] = "value"
    compat = given.check(declared)
    if compat.ok and not compat.lossy:
        info.outputs[(gn.id, "value")] = declared if given.is_any else given
    else:
        info.outputs[(gn.id, "value")] = declared
        info.problems.append(Problem(gn.id, None, f"{gn.label} receives {given} from outside, but is declared "
                                     f"{declared}", "tunnel-type"))


def _type_node(gn, wired, wires, info: TypeInfo, in_cycle: bool) -> None:
    node, gid = gn.node, gn.id
    try:
        sel = node.select(wired)
    except HaibalError as exc:
        _explain_no_instance(gn, wired, wires, info, exc)
        info.instances[gid] = None
        for port in node.outputs:
            info.outputs[(gid, port.name)] = ANY
        for port in node.inputs:
            info.inputs[(gid, port.name)] = port.type
        return
    inst = sel.instance
    info.instances[gid] = inst.name
    accepts = inst.input_types(node.values)
    for port in node.inputs:
        info.inputs[(gid, port.name)] = accepts.get(port.name, port.type)
    for pname, conn in wires.items():
        info.wires[conn] = wired[pname].check(accepts.get(pname, ANY))
    try:
        outs = _output_types(node, inst, wired)
    except HaibalError as exc:  # a type rule refusing what is wired (a layer fed a shape it cannot take)
        msg = str(exc)
        info.problems.append(Problem(gid, None, f"{gn.label}: {msg[len(node.label) + 2:] if msg.startswith(node.label + ': ') else msg}",
                                     "bad-shape"))
        outs = {}
    for port in node.outputs:
        info.outputs[(gid, port.name)] = ANY if in_cycle else outs.get(port.name, port.type)
    for inner in node.static_inner_types(wired):  # a structure's diagrams, typed from its inputs
        info.merge(inner)


def _output_types(node: Node, picked: Instance, wired) -> dict[str, PortType]:
    """The picked instance's output types. A rule may refuse the wired types with a
    ``HaibalError`` (reported as a problem); any other failure means "not known statically"."""
    try:
        outs = node.static_output_types(picked, wired)
    except HaibalError:
        raise
    except Exception:  # a type rule that cannot cope with uncertain types
        outs = {}
    if node.instance != AUTOMATIC or all(_exact(t) for t in wired.values()):
        return outs
    fitting = []
    for inst in node.instances:
        accepts = inst.input_types(node.values)
        if all(p in accepts and t.check(accepts[p]).ok for p, t in wired.items()):
            fitting.append(inst)
    if len(fitting) <= 1:
        return outs
    joined: dict[str, list[PortType]] = {}
    for inst in fitting:
        try:
            for k, t in inst.output_types(wired, node.values).items():
                joined.setdefault(k, []).append(t)
        except Exception:
            pass
    return {k: PortType.join(ts) for k, ts in joined.items()}


def _explain_no_instance(gn, wired, wires, info: TypeInfo, exc: Exception) -> None:
    """Mark wires broken and name the ports at fault when no instance accepts the inputs."""
    node = gn.node
    candidates = node.instances if node.instance == AUTOMATIC else \
        tuple(i for i in node.instances if i.name == node.instance)
    accepts = [inst.input_types(node.values) for inst in candidates]
    blamed = []
    for pname, conn in wires.items():
        src = wired[pname]
        results = [src.check(a[pname]) for a in accepts if pname in a]
        ok = [r for r in results if r.ok]
        if ok:
            info.wires[conn] = Compat(True, coerced=all(r.coerced for r in ok))
            continue
        reason = results[0].reason if results else f"port {pname!r} is not used by instance {node.instance!r}"
        info.wires[conn] = Compat(False, reason=reason)
        expects = " | ".join(dict.fromkeys(str(a[pname]) for a in accepts if pname in a))
        blamed.append(Problem(gn.id, pname, f"type mismatch: {gn.label} expects {expects or 'nothing'}"
                              f" here, but {conn.src}.{conn.src_port} gives {src}", "type-mismatch"))
    if blamed:
        info.problems.extend(blamed)
    else:  # every wire fits some instance, but no instance fits them all together
        msg = str(exc)
        if msg.startswith(node.label + ": "):
            msg = msg[len(node.label) + 2:]
        info.problems.append(Problem(gn.id, None, f"{gn.label}: {msg}", "no-instance"))
