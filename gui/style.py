"""How port types look on the canvas: LabVIEW's wire colours and widths.

Floating point is orange, integers blue, booleans green, strings pink and "any" grey;
higher ranks draw thicker wires, and a broken wire is dashed red.
"""

from __future__ import annotations

from haibal_py.node.types import PortType

KIND_COLORS = {
    "float": (255, 140, 26),
    "int": (40, 110, 235),
    "bool": (30, 170, 70),
    "str": (240, 100, 180),
    "any": (150, 150, 150),
}
BROKEN_COLOR = (230, 30, 30)
RUNNING_COLOR = (255, 215, 0)
DONE_COLOR = (60, 200, 90)
FAILED_COLOR = (220, 40, 40)
NODE_COLOR = (35, 45, 60)
FAILED_NODE_COLOR = (150, 25, 25)
RUNNING_NODE_COLOR = (150, 120, 10)


def kind_color(ptype: PortType) -> tuple[int, int, int]:
    """The colour of a port or wire carrying ``ptype``."""
    return KIND_COLORS.get(ptype.kind, KIND_COLORS["any"])


def wire_width(ptype: PortType) -> int:
    """Scalars draw thin wires, arrays thicker ones, sequences of batches the thickest."""
    rank = ptype.min_rank if ptype.max_rank is None else ptype.max_rank
    width = 2 if rank == 0 else 3 if rank == 1 else 4
    if ptype.max_rank is None and ptype.min_rank == 0:
        width = 2  # any rank: no claim
    return width + (1 if ptype.sequence else 0)
