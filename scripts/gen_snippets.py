"""Generate the built-in snippet library, examples/snippets/ (NAME.snippet.json + NAME.png).

    python scripts/gen_snippets.py            # (re)write examples/snippets/
    python scripts/gen_snippets.py --check    # exit 1 if a committed JSON differs from a fresh build
    python scripts/gen_snippets.py --headless # plain pictures, without Qt

Each snippet is built with the Graph API from fixed data (the Keras documentation's arrays,
or a seeded generator), so the JSON is reproducible byte for byte. Every template input has
a default, so ``haibal run examples/snippets/NAME.png`` works with no argument. The PNG
picture is the subgraph rendered from the editor's scene offscreen when Qt is available
(pixels may differ between machines and fonts; the JSON chunk they carry does not).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from haibal_py.graph import Graph
from haibal_py.snippets import JSON_SUFFIX, Snippet, file_stem

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "examples" / "snippets"
SCCE = "haibal.metrics.SparseCategoricalCrossentropy"
SCCE_PARAMS = ("from_logits", "axis", "ignore_class")


def _template(name: str, description: str, inputs, scce_params: dict, instance: str = "automatic",
              output: str = "loss", output_type: str = "float[1]", category: str = "Metrics") -> Snippet:
    """inputs -> one SCCE node -> ``output``: the selection of an evaluation graph.

    Laid out for the editor's node sizes (a Graph Input about 180 x 135, the crossentropy
    270 x 200, a Graph Output 165 x 110): three columns 60 apart, nothing overlapping."""
    g = Graph(name)
    ids = []
    for i, (tname, value, ptype, doc) in enumerate(inputs):
        ids.append(g.add_input(tname, default=value, type=ptype, doc=doc, pos=(0.0, 175.0 * i)))
    scc = g.add_node(SCCE, params=scce_params, instance=instance, pos=(245.0, 40.0))
    g.connect(ids[0], "value", scc, "y_true")
    g.connect(ids[1], "value", scc, "y_pred")
    g.connect(scc, "result", g.add_output(output, type=output_type, pos=(580.0, 85.0)), "value")
    return Snippet.from_selection(g, list(g.nodes), name, description, category,
                                  expose={p: (scc, p) for p in SCCE_PARAMS})


def build_all() -> list[Snippet]:
    """The built-in snippets, from fixed data only."""
    out = []
    out.append(_template(
        "SCCE documentation example",
        "The Keras documentation example of sparse categorical crossentropy: labels [1, 2] and two "
        "probability rows; the loss per sample is [0.0513, 2.303].",
        [("y_true", np.array([1, 2]), "int[1]", "integer class ids, one per sample"),
         ("y_pred", np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]]), "float[2]", "class probabilities")],
        {}))
    out.append(_template(
        "SCCE from logits",
        "Sparse categorical crossentropy of raw scores (logits): from_logits is true, so a "
        "log-softmax is applied inside; no separate SoftMax node is needed.",
        [("y_true", np.array([1, 2]), "int[1]", "integer class ids, one per sample"),
         ("logits", np.array([[1.0, 2.0, 0.5], [0.2, 0.1, 3.0]]), "float[2]", "raw class scores")],
        {"from_logits": True}))
    y_true = np.array([[[0, 2], [-1, -1]], [[0, 2], [-1, -1]]])
    y_pred = np.array([[[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]],
                       [[[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], [[0.2, 0.5, 0.3], [0.0, 1.0, 0.0]]]])
    out.append(_template(
        "Segmentation evaluation with ignore_class",
        "Per-pixel sparse categorical crossentropy of label maps whose 'void' pixels (-1) are "
        "ignored (ignore_class = -1): they get loss 0. The Keras documentation's 2x2x2 example.",
        [("label_map", y_true, "int[3]", "class id per pixel, -1 for void"),
         ("class_probs", y_pred, "float[4]", "class probabilities per pixel")],
        {"ignore_class": -1}, output="pixel_loss", output_type="float[3]"))
    rng = np.random.default_rng(2024)
    n_batches, batch, classes = 4, 8, 5
    labels = rng.integers(0, classes, size=(n_batches, batch))
    scores = rng.random((n_batches, batch, classes)) + 0.05
    probs = np.round(scores / scores.sum(axis=-1, keepdims=True), 4)
    out.append(_template(
        "Streaming metric over batches",
        "The SparseCategoricalCrossentropy metric accumulated over a sequence of batches (the "
        "batch instance: update_state per batch, then result): one mean over every sample. The "
        "defaults are 4 batches of 8 samples and 5 classes from a seeded generator (seed 2024).",
        [("labels", labels, "seq<int[1]>", "one batch of labels per row"),
         ("probabilities", probs, "seq<float[2]>", "one batch of probability rows per entry")],
        {}, instance="batch", output="mean_loss", output_type="float[0]"))
    return out


def render_pictures(snippets: list[Snippet]) -> dict[str, bytes]:
    """Each snippet drawn by the editor, offscreen (needs Qt and NodeGraphQt)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from Qt import QtWidgets

    from haibal_py.gui.canvas import Canvas
    from haibal_py.gui.layout import overlapping
    from haibal_py.gui.snippets import render_png

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    pictures = {}
    for sn in snippets:
        canvas = Canvas()
        canvas.model.load(sn.graph.__class__.from_dict(sn.graph.to_dict()))
        canvas.restyle()
        app.processEvents()
        crowded = overlapping({gid: canvas.box(gid) for gid in canvas.items}, gap=10.0)
        if crowded:  # a picture where a node covers another (or a port) is a bad picture
            raise SystemExit(f"{sn.name}: nodes {crowded} overlap in the editor; move them in _template")
        pictures[sn.name] = render_png(canvas, list(canvas.items))
        canvas.graph.widget.deleteLater()
    return pictures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed JSON, write nothing")
    ap.add_argument("--headless", action="store_true", help="plain pictures, without Qt")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    snippets = build_all()
    if args.check:
        bad = [sn.name for sn in snippets
               if not (args.out / f"{file_stem(sn.name)}{JSON_SUFFIX}").is_file()
               or (args.out / f"{file_stem(sn.name)}{JSON_SUFFIX}").read_text("utf-8") != sn.to_json()]
        for name in bad:
            print(f"out of date: {name}", file=sys.stderr)
        return 1 if bad else 0
    pictures = {}
    if not args.headless:
        try:
            pictures = render_pictures(snippets)
        except ImportError as exc:
            print(f"Qt is not available ({exc}); writing plain pictures", file=sys.stderr)
    for sn in snippets:
        jpath, ppath = sn.save(args.out, picture=pictures.get(sn.name) or sn.placeholder())
        print(f"wrote {jpath.relative_to(ROOT) if jpath.is_relative_to(ROOT) else jpath} and {ppath.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
