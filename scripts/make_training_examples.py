"""Write examples/train_digits.json and examples/train_digits_cnn.json: the digits trained from
node graphs (Load Dataset -> Train Test Split -> layers -> Model -> Training Session -> Fit ->
Evaluate / Save Weights / History Curve).

    .venv/bin/python scripts/make_training_examples.py

The graphs are saved untrained (no state): ``haibal run examples/train_digits.json
--progress`` trains (a few seconds), prints the test accuracy and writes the history and the
weights under examples/trained/. Saved from the editor after a run, a graph keeps its Fit's
trained weights and runs again without training (docs/training.md).
"""

from __future__ import annotations

from pathlib import Path

import haibal_py.nodes  # noqa: F401  (the catalog)
from haibal_py.graph.model import Graph

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Builder:
    """Nodes on a grid of columns (220) and rows (160): data on top, the layer chain below it
    (wrapped onto a second row when long), training to the right: compact, so that Zoom to
    Fit keeps the node titles readable in a default-sized window."""

    def __init__(self, name: str, description: str):
        self.graph = Graph(name=name, description=description)

    def node(self, type_id: str, node_id: str, params: dict | None = None, pos=(0, 0)) -> str:
        return self.graph.add_node(type_id, node_id, params or {}, pos=(pos[0] * 220.0, pos[1] * 160.0), id=node_id)

    def wire(self, src: str, src_port: str, dst: str, dst_port: str) -> None:
        self.graph.connect(src, src_port, dst, dst_port)

    def output(self, name: str, src: str, src_port: str, pos) -> None:
        out = self.graph.add_output(name, pos=(pos[0] * 220.0, pos[1] * 160.0))
        self.graph.connect(src, src_port, out, "value")


def data_and_session(b: Builder, images: bool, last_layer: str, model_name: str, lr: float, row: int) -> None:
    b.node("haibal.datasets.LoadDataset", "digits", {"dataset": "digits", "images": images, "scale": True}, (0, 0))
    b.node("haibal.datasets.TrainTestSplit", "split", {"test_size": 0.2, "seed": 0, "stratify": True}, (1, 0))
    b.wire("digits", "x", "split", "x")
    b.wire("digits", "y", "split", "y")
    b.node("haibal.model.Model", model_name, {"seed": 0}, (4, row))
    b.wire(last_layer, "y", model_name, "outputs")
    b.node("haibal.training.TrainingSession", "session",
           {"default_optimizer": "adam", "learning_rate": lr, "loss": "sparse_categorical_crossentropy",
            "metrics": "accuracy"}, (5, row))
    b.wire(model_name, "model", "session", "model")


def fit_and_outputs(b: Builder, model_name: str, epochs: int) -> None:
    b.node("haibal.training.Fit", "fit",
           {"epochs": epochs, "batch_size": 32, "validation_split": 0.1, "seed": 0,
            "history_path": f"trained/{model_name}_history.csv"}, (6, 0))
    b.wire("session", "session", "fit", "session")
    b.wire("split", "x_train", "fit", "x")
    b.wire("split", "y_train", "fit", "y")
    b.node("haibal.training.Evaluate", "evaluate", {"batch_size": 256}, (7, 0))
    b.wire("fit", "session", "evaluate", "session")
    b.wire("split", "x_test", "evaluate", "x")
    b.wire("split", "y_test", "evaluate", "y")
    b.node("haibal.model.SaveWeights", "save_weights", {"path": f"trained/{model_name}.weights.npz"}, (7, 1))
    b.wire("fit", "model", "save_weights", "model")
    b.node("haibal.training.HistoryCurve", "loss_curve", {"key": "loss"}, (7, 2))
    b.wire("fit", "history", "loss_curve", "history")
    b.node("haibal.training.HistoryCurve", "accuracy_curve", {"key": "accuracy"}, (7, 3))
    b.wire("fit", "history", "accuracy_curve", "history")
    b.output("test_accuracy", "evaluate", "metric", (8, 0))
    b.output("test_loss", "evaluate", "loss", (8, 0.6))
    b.output("train_loss", "loss_curve", "values", (8, 2))
    b.output("val_loss", "loss_curve", "val_values", (8, 2.6))
    b.output("val_accuracy", "accuracy_curve", "val_values", (8, 3.3))


def mlp() -> Graph:
    b = Builder("train_digits", "An MLP trained on the 8x8 digits: Load Dataset (digits, scaled to [0, 1]) -> "
                "Train Test Split (20% test, stratified, seed 0); Input 64 -> Dense 128 relu -> Dense 64 relu -> "
                "Dense 10 softmax -> Model; Training Session (Adam 1e-3, sparse categorical crossentropy, "
                "accuracy) -> Fit (20 epochs, batch 32, 10% validation, seed 0) -> Evaluate on the test part "
                "(accuracy above 0.95), Save Weights and the history (trained/).")
    b.node("haibal.layers.Input", "pixels", {"shape": "64"}, (0, 1))
    b.node("haibal.layers.Dense", "hidden1", {"units": 128, "activation": "relu"}, (1, 1))
    b.node("haibal.layers.Dense", "hidden2", {"units": 64, "activation": "relu"}, (2, 1))
    b.node("haibal.layers.Dense", "classifier", {"units": 10, "activation": "softmax"}, (3, 1))
    b.wire("pixels", "y", "hidden1", "x")
    b.wire("hidden1", "y", "hidden2", "x")
    b.wire("hidden2", "y", "classifier", "x")
    data_and_session(b, False, "classifier", "digits_mlp", 0.001, row=1)
    fit_and_outputs(b, "digits_mlp", 20)
    return b.graph


def cnn() -> Graph:
    b = Builder("train_digits_cnn", "A small CNN trained on the 8x8 digits as images: Load Dataset (digits as "
                "8x8x1 images in [0, 1]) -> Train Test Split (20% test, stratified, seed 0); Input 8x8x1 -> "
                "Conv2D 32 3x3 same relu -> MaxPooling2D -> Conv2D 64 3x3 same relu -> MaxPooling2D -> Flatten -> "
                "Dropout 0.3 -> Dense 10 softmax -> Model; Training Session (Adam 2e-3) -> Fit (20 epochs, batch "
                "32, 10% validation, seed 0) -> Evaluate on the test part (accuracy above 0.97), Save Weights and "
                "the history (trained/).")
    b.node("haibal.layers.Input", "image", {"shape": "8, 8, 1"}, (0, 1))
    b.node("haibal.layers.Conv2D", "conv1", {"filters": 32, "kernel_size": "3", "padding": "same",
                                             "activation": "relu"}, (1, 1))
    b.node("haibal.layers.MaxPooling2D", "pool1", {}, (2, 1))
    b.node("haibal.layers.Conv2D", "conv2", {"filters": 64, "kernel_size": "3", "padding": "same",
                                             "activation": "relu"}, (3, 1))
    b.node("haibal.layers.MaxPooling2D", "pool2", {}, (0, 2))
    b.node("haibal.layers.Flatten", "flatten", {}, (1, 2))
    b.node("haibal.layers.Dropout", "dropout", {"rate": 0.3}, (2, 2))
    b.node("haibal.layers.Dense", "classifier", {"units": 10, "activation": "softmax"}, (3, 2))
    chain = ["image", "conv1", "pool1", "conv2", "pool2", "flatten", "dropout", "classifier"]
    for a, c in zip(chain, chain[1:]):
        b.wire(a, "y", c, "x")
    data_and_session(b, True, "classifier", "digits_cnn", 0.002, row=2)
    fit_and_outputs(b, "digits_cnn", 20)
    return b.graph


def main() -> None:
    for name, make in (("train_digits.json", mlp), ("train_digits_cnn.json", cnn)):
        graph = make()
        problems = graph.validate()
        if problems:
            raise SystemExit(f"{name}: {problems}")
        graph.save(EXAMPLES / name)
        print(f"wrote examples/{name}")


if __name__ == "__main__":
    main()
