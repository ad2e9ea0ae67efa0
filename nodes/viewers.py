"""Viewer nodes: HAIBAL's indicators, headless.

Each viewer is a sink that passes its value through unchanged, so a graph holding
viewers runs with ``haibal run`` exactly as in the editor; the editor attaches a
pyqtgraph display to each one (value, table/summary, line plot, image).
"""

from __future__ import annotations

from haibal_py.node import ANY, Instance, Node, Port, PortType
from haibal_py.node.factory import declare_node

VALUE = "value"


def _same_type(wired, params=None) -> PortType:
    return wired.get(VALUE, ANY)


def _pass_through(node: Node, values: dict) -> dict:
    return {VALUE: values[VALUE]}


def _viewer(class_name: str, display_name: str, accepts: PortType, description: str,
            use_cases: tuple[str, ...]) -> type[Node]:
    return declare_node(
        type_id=f"haibal.viewers.{display_name.replace(' ', '')}", category="Viewers", display_name=display_name,
        description=description, use_cases=use_cases, module=__name__, class_name=class_name,
        inputs=(Port(VALUE, accepts, "the value to look at."),),
        outputs=(Port(VALUE, accepts, "the same value, passed through unchanged."),),
        instances=(Instance("any", {VALUE: accepts}, {VALUE: _same_type}, _pass_through,
                            "shows the value and passes it on", passes={VALUE: VALUE}),))


ValueDisplay = _viewer(
    "ValueDisplay", "Value Display", ANY,
    "Shows a value as text: a scalar in full, an array as its shape, dtype and statistics.",
    ("Read the mean loss of a batch.", "Check a parameter that flows through the graph."))
ArrayTable = _viewer(
    "ArrayTable", "Array Table", ANY,
    "Shows an array as a table of its values, with a summary line (shape, dtype, min, mean, max).",
    ("Inspect per-sample losses.", "Check integer labels before a loss node."))
LinePlot = _viewer(
    "LinePlot", "Line Plot", PortType("any", 0, 2),
    "Plots a 1-D array as a line (a 2-D array as one line per row); a scalar is one point.",
    ("Plot the loss of each sample or batch.", "Compare predictions of several classes."))
ImageView = _viewer(
    "ImageView", "Image View", PortType("any", 2, 3),
    "Shows a 2-D array as an image with a colour bar (a 3-D array: one image per index of the first axis).",
    ("Look at a label map.", "Look at the per-pixel loss of a segmentation."))
