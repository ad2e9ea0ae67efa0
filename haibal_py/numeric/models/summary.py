"""``model.summary()``: Keras 3's table, character for character, and the same rows as data.

Keras draws the summary with ``rich`` (a heavy-head box, one rule between rows); this
module lays the table out by the same rules without depending on ``rich``: column
widths from ``positions`` times ``line_length`` (by default 88, or 108 with the
"Connected to" column, capped at the terminal width minus 4), shrunk evenly to fit the
borders and the one-space padding; cell text word-wrapped, over-long words cut with "…";
header cells bottom-aligned; every line cropped at the terminal width, as rich's console.
The editor reads ``summary_rows`` instead of parsing text.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass, field

from ...errors import LayerError

__all__ = ["SummaryRow", "summary_rows", "summary_text", "readable_memory_size", "keras_shape"]


@dataclass
class SummaryRow:
    """One row of the summary table: a layer (indented ``level`` times when nested)."""

    name: str
    class_name: str
    output_shape: str
    params: int | None               # None when the layer is not built ("0 (unbuilt)")
    connected_to: list[str] = field(default_factory=list)
    trainable: bool | None = None    # None when the layer has no weights ("-")
    level: int = 0


def keras_shape(shape) -> str:
    """A shape as Keras' summary writes it: ``(None, 4)``, ``(None)`` for one axis."""
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _output_shape(layer) -> str:
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return "?"
    shapes = [keras_shape(t.shape) for t in nodes[-1].outputs]   # Keras shows the last call's
    if nodes[-1].single_output:
        return shapes[0]
    return "[" + ", ".join(shapes) + "]"


def _connections(layer, network: set[int] | None) -> list[str]:
    out = []
    for node in getattr(layer, "_inbound_nodes", []):
        if network and id(node) not in network:
            continue
        for t in node.all_inputs:
            src, node_index, tensor_index = t._keras_history
            out.append(f"{src.name}[{node_index}][{tensor_index}]")
    return out


def _is_sequential_like(model) -> bool:
    graph = getattr(model, "_graph", None)
    if graph is None or getattr(model, "_is_sequential", False):
        return True
    for nodes in graph.nodes_by_depth.values():
        if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].all_inputs) > 1):
            return False
    for layer in model.layers:
        if sum(id(n) in graph.network_nodes for n in layer._inbound_nodes) > 1:
            return False
    return True


def _layer_rows(layer, network, level: int, expand_nested: bool) -> list[SummaryRow]:
    params = layer.count_params() if layer.built else None
    specs = layer.weight_specs()
    row = SummaryRow(name=layer.name, class_name=type(layer).__name__, output_shape=_output_shape(layer),
                     params=params, connected_to=_connections(layer, network),
                     trainable=(layer.trainable if specs else None), level=level)
    rows = [row]
    if expand_nested and hasattr(layer, "_graph") and layer.layers:
        for inner in layer.layers:
            rows.extend(_layer_rows(inner, network, level + 1, expand_nested))
    return rows


def _layer_range(layers, layer_range):
    if layer_range is None:
        return 0, len(layers)
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2 \
            or not all(isinstance(s, str) for s in layer_range):
        raise LayerError(f"layer_range must be a pair of layer names (or regexes), got {layer_range!r}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise LayerError(f"layer_range {list(layer_range)} matches no layer of the model")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def summary_rows(model, expand_nested: bool = False, layer_range=None) -> list[SummaryRow]:
    """The rows of ``model.summary()`` as data."""
    graph = getattr(model, "_graph", None)
    network = graph.network_nodes if graph is not None else None
    layers = model.layers
    lo, hi = _layer_range(layers, layer_range)
    rows = []
    for layer in layers[lo:hi]:
        rows.extend(_layer_rows(layer, network, 0, expand_nested))
    return rows


def _bytes(specs) -> int:
    seen = {}
    for s in specs:
        seen[id(s.value)] = s.value
    return sum(v.size * v.dtype.itemsize for v in seen.values())


def readable_memory_size(size: float) -> str:
    """Bytes as Keras writes them: ``184.00 B``, ``1.50 KB`` (powers of 1024)."""
    for unit in ["B", "KB", "MB", "GB", "TB", "PB"]:
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


# ---------------------------------------------------------------------------- table layout
def _ratio_reduce(total: int, ratios: list[int], maximums: list[int], values: list[int]) -> list[int]:
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining = total
    out = []
    for ratio, maximum, value in zip(ratios, maximums, values):
        if ratio and total_ratio > 0:
            cut = min(maximum, round(ratio * remaining / total_ratio))
            out.append(value - cut)
            remaining -= cut
            total_ratio -= ratio
        else:
            out.append(value)
    return out


def _ratio_distribute(total: int, ratios: list[int]) -> list[int]:
    total_ratio = sum(ratios)
    remaining = total
    out = []
    for ratio in ratios:
        share = math.ceil(ratio * remaining / total_ratio) if total_ratio > 0 else remaining
        out.append(share)
        total_ratio -= ratio
        remaining -= share
    return out


def _wrap(text: str, width: int, justify: str) -> list[str]:
    lines = []
    for para in text.split("\n"):
        pieces, start, offset = [], 0, 0
        for m in re.finditer(r"\s*\S+\s*", para):
            word = m.group(0)
            length = len(word.rstrip())
            if width - offset >= length:
                offset += len(word)
            elif length > width:
                if m.start():
                    pieces.append(para[start:m.start()])
                    start = m.start()
                offset = len(word)
            elif offset and m.start():
                pieces.append(para[start:m.start()])
                start = m.start()
                offset = len(word)
        pieces.append(para[start:])
        for line in pieces:
            if len(line) > width:                      # trailing spaces past the edge go first
                trail = len(line) - len(line.rstrip())
                line = line[:len(line) - min(trail, len(line) - width)]
            if justify != "left":
                line = line.rstrip()
            if len(line) > width:
                line = line[:width - 1] + "…"
            if justify == "right":
                line = " " * (width - len(line)) + line
            elif justify == "center":
                left = (width - len(line)) // 2
                line = " " * left + line
            lines.append(line.ljust(width))
    return lines


def _table(header: list[str], justify: list[str], rows: list[list[str]], line_length: int,
           positions: list[float]) -> list[str]:
    widths, current = [], 0
    for pos in positions:
        w = int(pos * line_length) - current
        if w < 4:
            raise LayerError("the summary does not fit: line_length is too small for its columns")
        widths.append(w)
        current += w
    cols = [w + 2 for w in widths]                     # one space of padding each side
    room = line_length - (len(cols) + 1)               # the vertical borders
    if sum(cols) > room:
        cols = _ratio_reduce(sum(cols) - room, [1] * len(cols), cols, cols)
    elif sum(cols) < room:
        cols = [c + p for c, p in zip(cols, _ratio_distribute(room - sum(cols), cols))]

    def render(cells: list[str], bar: str, bottom: bool = False) -> list[str]:
        wrapped = [_wrap(c, w - 2, j) for c, w, j in zip(cells, cols, justify)]
        height = max(len(x) for x in wrapped)
        blank = [" " * (w - 2) for w in cols]
        if bottom:   # header cells sit on the last line of the header row, as rich draws them
            wrapped = [[b] * (height - len(x)) + x for x, b in zip(wrapped, blank)]
        else:
            wrapped = [x + [b] * (height - len(x)) for x, b in zip(wrapped, blank)]
        return [bar + bar.join(f" {x[i]} " for x in wrapped) + bar for i in range(height)]

    lines = ["┏" + "┳".join("━" * w for w in cols) + "┓"]
    lines += render(header, "┃", bottom=True)
    lines.append("┡" + "╇".join("━" * w for w in cols) + "┩")
    for i, row in enumerate(rows):
        if i:
            lines.append("├" + "┼".join("─" * w for w in cols) + "┤")
        lines += render(row, "│")
    lines.append("└" + "┴".join("─" * w for w in cols) + "┘")
    return lines


def summary_text(model, line_length=None, positions=None, expand_nested=False, show_trainable=False,
                 layer_range=None, columns: int | None = None) -> str:
    """The text ``model.summary()`` prints (ending with a newline). ``columns`` is the
    terminal width the table is laid out for (None: this process's terminal); a node
    passes a fixed width so that its text does not depend on where it runs."""
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header, justify = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    positions = list(positions)
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        justify.append("center")
    if columns is None:
        columns = shutil.get_terminal_size().columns
    default_length = min(default_length, columns - 4)
    line_length = line_length or default_length

    rows = []
    for r in summary_rows(model, expand_nested, layer_range):
        prefix = "   " * r.level + "└ " if r.level else ""
        params = "0 (unbuilt)" if r.params is None else f"{r.params:,}"
        cells = [f"{prefix}{r.name} ({r.class_name})", r.output_shape, params]
        if not sequential_like:
            cells.append(", ".join(r.connected_to) or "-")
        if show_trainable:
            cells.append("-" if r.trainable is None else ("Y" if r.trainable else "N"))
        rows.append(cells)

    trainable = model.weight_specs(True)
    non_trainable = model.weight_specs(False)
    n_train = int(sum(s.value.size for s in {id(s.value): s for s in trainable}.values()))
    n_non = int(sum(s.value.size for s in {id(s.value): s for s in non_trainable}.values()))
    b_train, b_non = _bytes(trainable), _bytes(non_trainable)
    lines = [f'Model: "{model.name}"']
    lines += _table(header, justify, rows, line_length, positions)
    lines.append(f" Total params: {n_train + n_non:,} ({readable_memory_size(b_train + b_non)})")
    lines.append(f" Trainable params: {n_train:,} ({readable_memory_size(b_train)})")
    lines.append(f" Non-trainable params: {n_non:,} ({readable_memory_size(b_non)})")
    # Keras' console crops every line at the terminal width (a line_length wider than the
    # terminal loses its right edge there too)
    return "\n".join(line[:columns] for line in lines) + "\n"

