"""Callbacks (haibal_py/numeric/callbacks.py) during real fits: EarlyStopping,
ModelCheckpoint, ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN,
LambdaCallback, LiveMonitor (the runtime's protocol: points and stop requests), the order
of hooks, and their argument errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from haibal_py import callbacks, layers, models, optimizers
from haibal_py.numeric.callbacks import CallbackError
from haibal_py.numeric.seeding import set_random_seed


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    return x, (x @ rng.normal(size=(5, 3))).argmax(1)


def model(lr=0.01, seed=1, metrics=("accuracy",)):
    set_random_seed(seed)
    m = models.Sequential([layers.Input((5,)), layers.Dense(8, activation="relu", name="hidden"),
                           layers.Dense(3, activation="softmax", name="out")])
    m.compile(optimizers.Adam(lr), "sparse_categorical_crossentropy", metrics=list(metrics))
    return m


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None): self.calls.append(("train_begin",))
    def on_epoch_begin(self, epoch, logs=None): self.calls.append(("epoch_begin", epoch))
    def on_train_batch_begin(self, batch, logs=None): self.calls.append(("batch_begin", batch))
    def on_train_batch_end(self, batch, logs=None): self.calls.append(("batch_end", batch, sorted(logs)))
    def on_test_begin(self, logs=None): self.calls.append(("test_begin",))
    def on_test_end(self, logs=None): self.calls.append(("test_end", sorted(logs)))
    def on_epoch_end(self, epoch, logs=None): self.calls.append(("epoch_end", epoch, sorted(logs)))
    def on_train_end(self, logs=None): self.calls.append(("train_end", sorted(logs)))


def test_hooks_are_called_in_keras_order_with_sorted_logs():
    x, y = data(n=20)
    m = model()
    rec = Recorder()
    m.fit(x, y, batch_size=10, epochs=1, validation_data=(x, y), callbacks=[rec], verbose=0)
    assert rec.calls == [
        ("train_begin",), ("epoch_begin", 0),
        ("batch_begin", 0), ("batch_end", 0, ["accuracy", "loss"]),
        ("batch_begin", 1), ("batch_end", 1, ["accuracy", "loss"]),
        ("test_begin",), ("test_end", ["accuracy", "loss"]),
        ("epoch_end", 0, ["accuracy", "loss", "val_accuracy", "val_loss"]),
        ("train_end", ["accuracy", "loss", "val_accuracy", "val_loss"]),
    ]
    assert rec.model is m and rec.params == {"verbose": 0, "epochs": 1, "steps": 2}


def test_early_stopping_patience_and_best_weights():
    x, y = data()
    m = model(lr=0.0)  # nothing improves: stops after `patience` epochs without improvement
    stop = callbacks.EarlyStopping(monitor="loss", patience=2)
    h = m.fit(x, y, epochs=10, callbacks=[stop], shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 3 and stop.stopped_epoch == 2

    m = model(lr=0.05)
    best = callbacks.EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True, mode="auto")
    snapshots = []
    keep = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(m.get_weights()))
    h = m.fit(x, y, epochs=30, callbacks=[keep, best], validation_data=(x[:20], y[:20]), verbose=0)
    for a, b in zip(m.get_weights(), snapshots[best.best_epoch]):
        np.testing.assert_array_equal(a, b)
    assert best.best == max(h.history["val_accuracy"][:best.best_epoch + 1])


def test_early_stopping_warns_on_a_missing_metric_and_needs_a_direction():
    x, y = data(n=20)
    m = model()
    with pytest.warns(UserWarning, match="`val_loss` which is not available"):
        m.fit(x, y, epochs=1, callbacks=[callbacks.EarlyStopping()], verbose=0)
    with pytest.raises(CallbackError, match="mode='max'"):
        m.fit(x, y, epochs=1, callbacks=[callbacks.EarlyStopping(monitor="something")], verbose=0)


def test_model_checkpoint_writes_safe_weights_files(tmp_path):
    x, y = data()
    m = model(lr=0.05)
    path = tmp_path / "ckpt-{epoch:02d}-{loss:.3f}.weights.npz"
    h = m.fit(x, y, epochs=2, callbacks=[callbacks.ModelCheckpoint(path, monitor="loss")], verbose=0)
    files = sorted(p.name for p in tmp_path.glob("*.weights.npz"))
    assert files == [f"ckpt-{e + 1:02d}-{loss:.3f}.weights.npz" for e, loss in enumerate(h.history["loss"])]
    again = model(seed=99)
    again.load_weights(tmp_path / files[-1])
    for a, b in zip(again.get_weights(), m.get_weights()):
        np.testing.assert_array_equal(a, b)

    best = tmp_path / "best.safetensors"
    m = model(lr=0.0)
    saver = callbacks.ModelCheckpoint(best, monitor="loss", save_best_only=True)
    m.fit(x, y, epochs=1, callbacks=[saver], shuffle=False, verbose=0)
    stamp = best.stat().st_mtime_ns
    m.fit(x, y, epochs=2, callbacks=[saver], shuffle=False, verbose=0)  # lr 0: never better, never rewritten
    assert best.stat().st_mtime_ns == stamp and saver.best is not None

    batches = tmp_path / "b"
    m.fit(x, y, batch_size=20, epochs=1, verbose=0,
          callbacks=[callbacks.ModelCheckpoint(str(batches / "s{epoch}-{batch}.weights.npz"), save_freq=2)])
    assert sorted(p.name for p in batches.iterdir()) == ["s1-2.optimizer.npz", "s1-2.weights.npz"]


def test_model_checkpoint_keeps_the_optimizer_unless_weights_only(tmp_path):
    x, y = data()
    m = model(lr=0.05)
    path = tmp_path / "ckpt.weights.npz"
    m.fit(x, y, epochs=2, callbacks=[callbacks.ModelCheckpoint(path, monitor="loss")], verbose=0)
    assert (tmp_path / "ckpt.optimizer.npz").is_file()
    again = model(seed=5, lr=0.05)
    callbacks.restore_checkpoint(again, path)
    assert again.optimizer.iterations == m.optimizer.iterations
    # both continue identically
    set_random_seed(3)
    m.fit(x, y, epochs=1, verbose=0)
    set_random_seed(3)
    again.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(m.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    only = tmp_path / "w.weights.npz"
    m.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(only, monitor="loss",
                                                                          save_weights_only=True)])
    assert only.is_file() and not (tmp_path / "w.optimizer.npz").exists()


def test_model_checkpoint_refuses_other_formats():
    with pytest.raises(CallbackError, match="must end in '.weights.npz' or '.safetensors'"):
        callbacks.ModelCheckpoint("model.keras")
    with pytest.raises(CallbackError, match="Unrecognized save_freq"):
        callbacks.ModelCheckpoint("a.weights.npz", save_freq="batch")


def test_reduce_lr_on_plateau():
    x, y = data()
    m = model()
    m.compile(optimizers.SGD(1e-9), "sparse_categorical_crossentropy")  # practically no progress: a plateau
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=1e-3, min_lr=2e-10)
    h = m.fit(x, y, epochs=4, callbacks=[reduce], verbose=0)
    # each epoch logs the rate it trained with; a reduction counts from the next epoch (Keras)
    assert h.history["learning_rate"] == pytest.approx([1e-9, 1e-9, 5e-10, 2.5e-10])
    assert float(m.optimizer.learning_rate) == pytest.approx(2e-10)  # floored at min_lr
    with pytest.raises(CallbackError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler():
    x, y = data(n=20)
    m = model()
    seen = []
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    spy = callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(float(m.optimizer.learning_rate)))
    h = m.fit(x, y, epochs=3, callbacks=[sched, spy], verbose=0)
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    m.compile(optimizers.Adam(optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), "sparse_categorical_crossentropy")
    with pytest.raises(optimizers.OptimizerTypeError, match="not settable"):
        m.fit(x, y, epochs=1, callbacks=[sched], verbose=0)
    with pytest.raises(CallbackError, match="should be a float"):
        model().fit(x, y, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")], verbose=0)


def test_csv_logger(tmp_path):
    x, y = data(n=20)
    path = tmp_path / "log.csv"
    h = model().fit(x, y, epochs=2, validation_split=0.5, callbacks=[callbacks.CSVLogger(path)], verbose=0)
    rows = list(csv.DictReader(path.open()))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [float(r["loss"]) for r in rows] == pytest.approx(h.history["loss"])
    model().fit(x, y, epochs=1, callbacks=[callbacks.CSVLogger(path, append=True, separator=";")], verbose=0)
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;")


def test_terminate_on_nan():
    x, y = data(n=40)
    m = model()
    m.layers[0].kernel[0, 0] = np.nan
    h = m.fit(x, y, batch_size=10, epochs=3, callbacks=[callbacks.TerminateOnNaN()], verbose=0)
    assert len(h.history["loss"]) == 1 and m.optimizer.iterations == 1


def test_live_monitor_streams_points_and_stops_after_the_current_batch():
    x, y = data(n=40)
    m = model()
    points, progress = [], []

    def should_stop():  # asked after each batch; true from the second epoch's second batch on
        return sum(p["stage"] == "batch" for p in points) >= 6

    live = callbacks.LiveMonitor(emit=points.append, should_stop=should_stop,
                                 progress=lambda done, total: progress.append((done, total)))
    before = m.get_weights()
    h = m.fit(x, y, batch_size=10, epochs=5, validation_data=(x, y), callbacks=[live], verbose=0)
    batch_points = [p for p in points if p["stage"] == "batch"]
    epoch_points = [p for p in points if p["stage"] == "epoch"]
    assert [(p["epoch"], p["batch"], p["step"]) for p in batch_points] == \
        [(0, 0, 1), (0, 1, 2), (0, 2, 3), (0, 3, 4), (1, 0, 5), (1, 1, 6)]
    assert set(batch_points[0]) == {"stage", "epoch", "batch", "step", "loss", "accuracy"}
    assert len(epoch_points) == 2 and "val_loss" in epoch_points[1]
    assert progress[:2] == [(1, 20), (2, 20)] and progress[-1] == (6, 20)
    assert live.stopped and m.optimizer.iterations == 6 and len(h.history["loss"]) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    with pytest.raises(CallbackError, match="batch_every"):
        callbacks.LiveMonitor(batch_every=0)


def test_live_monitor_batch_every():
    x, y = data(n=40)
    points = []
    model().fit(x, y, batch_size=10, epochs=1, callbacks=[callbacks.LiveMonitor(points.append, batch_every=2)],
                verbose=0)
    assert [p.get("batch") for p in points] == [1, 3, None]


def test_callback_list_refuses_other_objects():
    x, y = data(n=20)
    with pytest.raises(CallbackError, match="Callback instances"):
        model().fit(x, y, callbacks=[print], verbose=0)
