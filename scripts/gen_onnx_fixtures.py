"""Make the ONNX fixtures of tests/reference/onnx/: small models exported from PyTorch and
from Keras (an MLP, a CNN, an LSTM classifier; plus a bidirectional GRU from PyTorch),
with their inputs and expected outputs.

Run by hand with the reference environment (torch, Keras, onnx, onnxruntime):

    /work/venv-ref/bin/python scripts/gen_onnx_fixtures.py

PyTorch and Keras each run in a process of their own (Keras on its torch backend: its
TensorFlow backend exports ONNX through tf2onnx, which does not install beside
TensorFlow 2.21); this process loads neither and runs every file with onnxruntime. Each
``<name>.npz`` holds ``x`` (fixed inputs, a batch of 3 where the model's batch size is
free), ``y`` (onnxruntime's outputs on ``x``: what the tests compare with) and
``framework_y`` (the exporting framework's own outputs). Tests never need torch or
TensorFlow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "reference" / "onnx"
OPSET = 17


def _inputs(name: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------------------- PyTorch
def torch_models() -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(20, 32), nn.Linear(32, 16), nn.Linear(16, 4)
            self.drop = nn.Dropout(0.2)

        def forward(self, x):
            x = self.drop(torch.relu(self.fc1(x)))
            x = torch.tanh(self.fc2(x))
            return torch.softmax(self.fc3(x), dim=-1)

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 16, 3)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(16 * 6 * 6, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.bn1(self.conv1(x))))
            x = self.pool(torch.relu(self.conv2(x)))
            x = x.view(x.size(0), -1)
            return self.fc(x)

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.fc = nn.Linear(16, 3)

        def forward(self, x):
            y, _ = self.lstm(x)
            return torch.log_softmax(self.fc(y[:, -1]), dim=-1)

    class BiGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(6, 5, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(10, 2)

        def forward(self, x):
            y, h = self.gru(x)
            return self.fc(y.mean(dim=1))

    specs = [("torch_mlp", MLP(), (3, 20), True), ("torch_cnn", CNN(), (3, 1, 28, 28), False),
             ("torch_lstm", LSTMClassifier(), (3, 10, 8), True), ("torch_bigru", BiGRU(), (3, 7, 6), True)]
    for k, (name, model, shape, fold) in enumerate(specs):
        model.eval()
        if name == "torch_cnn":  # give the batch norm statistics of its own
            with torch.no_grad():
                model.bn1.running_mean.uniform_(-0.5, 0.5)
                model.bn1.running_var.uniform_(0.5, 1.5)
                model.bn1.weight.uniform_(0.5, 1.5)
                model.bn1.bias.uniform_(-0.2, 0.2)
        x = _inputs(name, shape, 100 + k)
        with torch.no_grad():
            y = model(torch.from_numpy(x)).numpy()
        torch.onnx.export(model, (torch.from_numpy(x),), str(OUT / f"{name}.onnx"), dynamo=False,
                          input_names=["input"], output_names=["output"], opset_version=OPSET,
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          do_constant_folding=fold)
        np.savez(OUT / f"{name}.framework.npz", x=x, framework_y=y)


# ---------------------------------------------------------------------------- Keras
def keras_models() -> None:
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)

    def mlp():
        x = keras.Input((12,), name="features")
        h = layers.Dense(24, activation="relu")(x)
        h = layers.Dropout(0.1)(h)
        h = layers.Dense(12, activation="sigmoid")(h)
        return keras.Model(x, layers.Dense(3, activation="softmax")(h), name="keras_mlp")

    def cnn():
        x = keras.Input((16, 16, 3), name="image")
        h = layers.Conv2D(6, 3, padding="same", activation="relu")(x)
        h = layers.MaxPooling2D()(h)
        h = layers.BatchNormalization()(h)
        h = layers.Conv2D(8, 3, activation="relu")(h)
        h = layers.GlobalAveragePooling2D()(h)
        return keras.Model(x, layers.Dense(5, activation="softmax")(h), name="keras_cnn")

    def lstm():
        x = keras.Input((6, 4), name="sequence")
        h = layers.LSTM(10)(x)
        return keras.Model(x, layers.Dense(2, activation="softmax")(h), name="keras_lstm")

    for k, (name, make, shape) in enumerate([("keras_mlp", mlp, (3, 12)), ("keras_cnn", cnn, (3, 16, 16, 3)),
                                             ("keras_lstm", lstm, (3, 6, 4))]):
        model = make()
        for layer in model.layers:  # statistics of its own for the batch norm
            if isinstance(layer, layers.BatchNormalization):
                c = layer.moving_mean.shape[0]
                rng = np.random.default_rng(7)
                layer.moving_mean.assign(rng.uniform(-0.5, 0.5, c).astype("float32"))
                layer.moving_variance.assign(rng.uniform(0.5, 1.5, c).astype("float32"))
        x = _inputs(name, shape, 200 + k)
        y = np.asarray(model.predict(x, verbose=0))
        model.export(str(OUT / f"{name}.onnx"), format="onnx", verbose=False, opset_version=OPSET)
        np.savez(OUT / f"{name}.framework.npz", x=x, framework_y=y)


# ---------------------------------------------------------------------------- driver
def _run(flag: str, env: dict | None = None) -> None:
    subprocess.run([sys.executable, __file__, flag], check=True, env={**os.environ, **(env or {})})


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    _run("--torch")
    _run("--keras", {"KERAS_BACKEND": "torch"})
    import onnx
    import onnxruntime as ort
    summary = {}
    for path in sorted(OUT.glob("*.onnx")):
        name = path.stem
        fw = np.load(OUT / f"{name}.framework.npz")
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: fw["x"]}
        y = sess.run(None, feed)[0]
        np.savez(OUT / f"{name}.npz", x=fw["x"], y=y, framework_y=fw["framework_y"])
        (OUT / f"{name}.framework.npz").unlink()
        diff = float(np.abs(y - fw["framework_y"]).max())
        first = sess.get_inputs()[0]
        summary[name] = {"input": first.name, "input_shape": [str(d) for d in first.shape],
                         "output": sess.get_outputs()[0].name, "nodes": len(model.graph.node),
                         "onnxruntime_vs_framework": diff}
        print(f"{name}: {len(model.graph.node)} nodes, onnxruntime vs framework {diff:.2e}")
    (OUT / "fixtures.json").write_text(json.dumps(summary, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"{total / 1024:.0f} KiB in {OUT}")


def _block_tensorflow() -> None:
    """Keep TensorFlow out of the process (it slows torch, and neither exporter needs it)."""
    import builtins
    real = builtins.__import__

    def guarded(name, *args, **kwargs):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("TensorFlow is kept out of this process")
        return real(name, *args, **kwargs)

    builtins.__import__ = guarded


if __name__ == "__main__":
    if "--torch" in sys.argv or "--keras" in sys.argv:
        _block_tensorflow()
    if "--torch" in sys.argv:
        torch_models()
    elif "--keras" in sys.argv:
        keras_models()
    else:
        main()
