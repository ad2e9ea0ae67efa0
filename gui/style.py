"""How the editor looks: wire colours by port kind, node and state colours, the two themes.

LabVIEW's wire colours: floating point orange, integers blue, booleans green, strings
pink, "any" grey; HAIBAL's model wire violet and drawn thickest; the object kinds
(optimizer, history, object) teal, amber and olive. A kind a plug-in registers gets a
colour from its name. Every colour is adjusted per theme until it reaches the contrast
asked of graphics against the canvas (3:1, WCAG 2.1 "non-text contrast"); text reaches
4.5:1 against what it is drawn on (WCAG AA). ``contrast`` is the WCAG ratio.
"""

from __future__ import annotations

import colorsys
import zlib
from dataclasses import dataclass
from functools import lru_cache

from haibal_py.node.types import PortType

#: the colour each kind starts from (the dark theme's, before the contrast check)
BASE_KIND_COLORS = {
    "float": (255, 140, 26),
    "int": (60, 125, 240),
    "bool": (40, 180, 80),
    "str": (240, 100, 180),
    "any": (150, 150, 150),
    "model": (170, 110, 255),
    "optimizer": (0, 180, 175),
    "history": (225, 170, 40),
    "object": (170, 170, 100),
}
WIRE_CONTRAST = 3.0  # WCAG 2.1 non-text contrast
TEXT_CONTRAST = 4.5  # WCAG AA, normal text


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0..255 channels)."""
    def lin(c):
        c = c / 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb[:3]
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (1 .. 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def blend(fg, bg, alpha: float) -> tuple[int, int, int]:
    """``fg`` drawn with opacity ``alpha`` over ``bg``."""
    return tuple(round(f * alpha + b * (1 - alpha)) for f, b in zip(fg[:3], bg[:3]))


def with_contrast(rgb, background, ratio: float) -> tuple[int, int, int]:
    """``rgb`` made lighter or darker (same hue) until it has ``ratio`` against ``background``."""
    if contrast(rgb, background) >= ratio:
        return tuple(rgb[:3])
    h, l, s = colorsys.rgb_to_hls(*(c / 255.0 for c in rgb[:3]))
    lighter = luminance(background) < 0.18  # on a dark background, go lighter
    best = tuple(rgb[:3])
    for step in range(1, 101):
        l2 = min(1.0, l + step / 100) if lighter else max(0.0, l - step / 100)
        best = tuple(round(c * 255) for c in colorsys.hls_to_rgb(h, l2, s))
        if contrast(best, background) >= ratio:
            break
    return best


def _kind_base(kind: str) -> tuple[int, int, int]:
    base = BASE_KIND_COLORS.get(kind)
    if base is not None:
        return base
    hue = (zlib.crc32(kind.encode()) % 360) / 360.0  # a plug-in's kind: a stable colour from its name
    return tuple(round(c * 255) for c in colorsys.hls_to_rgb(hue, 0.55, 0.6))


@lru_cache(maxsize=None)
def _kind_color(kind: str, canvas: tuple) -> tuple[int, int, int]:
    return with_contrast(_kind_base(kind), canvas, WIRE_CONTRAST)


@dataclass(frozen=True)
class Theme:
    """Every colour a window draws with."""

    name: str
    canvas: tuple[int, int, int]  # canvas background
    grid: tuple[int, int, int]
    window: tuple[int, int, int]  # panels
    base: tuple[int, int, int]  # text fields, lists
    text: tuple[int, int, int]
    mid: tuple[int, int, int]  # disabled text, frames
    highlight: tuple[int, int, int]
    node_text: tuple[int, int, int]
    error: tuple[int, int, int]
    warning: tuple[int, int, int]

    def kind_color(self, kind: str) -> tuple[int, int, int]:
        """The wire/port colour of a kind on this theme's canvas (3:1 at least)."""
        return _kind_color(kind, self.canvas)


DARK = Theme("dark", canvas=(32, 33, 36), grid=(44, 45, 50), window=(45, 46, 50), base=(30, 31, 34),
             text=(225, 225, 225), mid=(120, 122, 128), highlight=(60, 110, 190), node_text=(240, 240, 240),
             error=(255, 110, 100), warning=(240, 180, 60))
LIGHT = Theme("light", canvas=(228, 230, 234), grid=(212, 214, 220), window=(240, 240, 242), base=(255, 255, 255),
              text=(25, 25, 28), mid=(110, 112, 118), highlight=(50, 100, 190), node_text=(240, 240, 240),
              error=(180, 20, 20), warning=(150, 90, 0))
THEMES = {"dark": DARK, "light": LIGHT}

#: node body colours by category (title text ``node_text`` on them reaches 4.5:1)
CATEGORY_COLORS = [(70, 52, 30), (30, 55, 85), (32, 70, 46), (72, 36, 66), (64, 62, 30), (36, 60, 72)]
SUBGRAPH_COLOR = (58, 44, 88)

#: run states: node frame colour (bright, on any canvas) and a word for tooltips and the legend
STATE_COLORS = {
    "idle": None,  # the node's own frame
    "running": (255, 215, 0),
    "done": (60, 200, 90),  # ran in the last run
    "cached": (80, 170, 255),  # kept from an earlier run: its inputs did not change
    "stale": (150, 150, 150),  # its value is from before an edit or a failed run
    "failed": (255, 60, 60),
}
STATE_WORDS = {
    "idle": "not run yet", "running": "running", "done": "ran in the last run",
    "cached": "from the cache (nothing it depends on changed)", "stale": "stale: edited or not recomputed since",
    "failed": "failed",
}
RUNNING_NODE_COLOR = (120, 96, 10)
FAILED_NODE_COLOR = (150, 25, 25)
BROKEN_COLOR = (230, 30, 30)
LOSSY_COLOR = (245, 170, 20)  # a wire that converts and may fail at run time


def category_color(category: str) -> tuple[int, int, int]:
    return CATEGORY_COLORS[sum(map(ord, category or "x")) % len(CATEGORY_COLORS)]


def kind_color(ptype: PortType, theme: Theme = DARK) -> tuple[int, int, int]:
    """The colour of a port or wire carrying ``ptype``."""
    return theme.kind_color(ptype.kind)


def wire_width(ptype: PortType) -> int:
    """Scalars draw thin wires, arrays thicker ones, sequences of batches thicker still, models thickest."""
    if ptype.kind == "model":
        return 5
    rank = ptype.min_rank if ptype.max_rank is None else ptype.max_rank
    width = 2 if rank == 0 else 3 if rank == 1 else 4
    if ptype.max_rank is None and ptype.min_rank == 0:
        width = 2  # any rank: no claim
    return width + (1 if ptype.sequence else 0)
