"""Model training (haibal_py/numeric/models/training.py): fit against a hand-written loop over
the step-level API (bit for bit), History, evaluate, train/test_on_batch, freezing, class and
sample weights, the validation split, penalties and constraints, multi-output models, the
progress bar, errors."""

from __future__ import annotations

import io
import contextlib

import numpy as np
import pytest

from haibal_py import callbacks, layers, losses, metrics, models, optimizers, regularizers
from haibal_py.errors import HaibalValueError
from haibal_py.numeric.models import CompileError, DataError, TrainingError
from haibal_py.numeric.seeding import global_rng, set_random_seed


def data(n=120, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d, c))
    y = (x @ w).argmax(axis=1)
    return x, y


def mlp(d=6, c=3, seed=1, dropout=0.0, dtype=None, **dense):
    set_random_seed(seed)
    stack = [layers.Input((d,), dtype=dtype), layers.Dense(8, activation="relu", dtype=dtype, **dense)]
    if dropout:
        stack.append(layers.Dropout(dropout, dtype=dtype))
    stack.append(layers.Dense(c, activation="softmax", dtype=dtype))
    return models.Sequential(stack)


def running_mean(values, counts):
    total = count = 0.0
    for v, n in zip(values, counts):
        total += float(v) * float(n)
        count += float(n)
    return total / count


# ------------------------------------------------------------------ the step-level API
@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_is_a_hand_written_loop_over_value_and_grad_bit_for_bit(shuffle):
    x, y = data()
    model = mlp(dropout=0.25)
    model.compile(optimizer=optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    set_random_seed(123)
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=shuffle, verbose=0)
    fitted = model.get_weights()

    by_hand = mlp(dropout=0.25)
    opt = optimizers.Adam(0.01)
    loss = losses.SparseCategoricalCrossentropy()
    set_random_seed(123)
    epoch_losses = []
    for _ in range(3):
        order = global_rng().permutation(len(x)) if shuffle else np.arange(len(x))
        values, counts = [], []
        for start in range(0, len(x), 32):
            idx = order[start:start + 32]
            value, grads = by_hand.value_and_grad(x[idx], y[idx], loss=loss)
            opt.apply(grads, by_hand.trainable_weights)
            values.append(value)
            counts.append(len(idx))
        epoch_losses.append(running_mean(values, counts))
    for a, b in zip(fitted, by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history.history["loss"] == epoch_losses
    assert opt.iterations == model.optimizer.iterations == 12


def test_seeded_fits_are_reproducible_and_seeds_matter():
    x, y = data()

    def run(seed):
        model = mlp(seed=seed, dropout=0.3)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        set_random_seed(seed)
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0, validation_split=0.2)
        return h.history, model.get_weights()

    h1, w1 = run(5)
    h2, w2 = run(5)
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    h3, _ = run(6)
    assert h3 != h1


def test_value_and_grad_is_the_gradient_of_the_loss_with_penalties_in_float64():
    set_random_seed(3)
    model = models.Sequential([
        layers.Input((4,), dtype="float64"),
        layers.Dense(5, activation="tanh", kernel_regularizer=regularizers.L2(0.03), dtype="float64",
                     activity_regularizer=regularizers.L1(0.02)),
        layers.Dense(3, activation="softmax", bias_regularizer=regularizers.L1L2(0.01, 0.02), dtype="float64"),
    ])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 4)), rng.integers(0, 3, 7)
    sw = rng.uniform(0.5, 2, 7)
    model.compile("sgd", "sparse_categorical_crossentropy")
    value, grads = model.value_and_grad(x, y, sample_weight=sw)
    data_loss = losses.SparseCategoricalCrossentropy()(y, model.predict(x), sample_weight=sw)
    model.forward(x)
    assert value == pytest.approx(float(data_loss) + sum(model.losses), rel=1e-9)

    def total(w_list):
        for arr, new in zip(model.trainable_weights, w_list):
            arr[...] = new
        return model.value_and_grad(x, y, sample_weight=sw)[0]

    base = [w.copy() for w in model.trainable_weights]
    for k, g in enumerate(grads):
        numeric = np.zeros_like(g)
        for i in range(g.size):
            for sign in (1, -1):
                ws = [w.copy() for w in base]
                ws[k].reshape(-1)[i] += sign * 1e-6
                numeric.reshape(-1)[i] += sign * total(ws) / 2e-6
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)
    total(base)


def test_value_and_grad_with_a_given_loss_needs_no_compile():
    x, y = data()
    model = mlp()
    value, grads = model.value_and_grad(x[:10], y[:10], loss="sparse_categorical_crossentropy")
    assert len(grads) == len(model.trainable_weights)
    assert all(g.shape == w.shape for g, w in zip(grads, model.trainable_weights))
    with pytest.raises(CompileError, match="compile\\(\\)` before `value_and_grad"):
        model.value_and_grad(x[:10], y[:10])


# ------------------------------------------------------------------ history, evaluate
def test_history_contents_and_evaluate():
    x, y = data(n=100)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", "sparse_categorical_crossentropy"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_data=(x[:30], y[:30]), verbose=0)
    assert history is model.history
    assert list(history.history) == ["accuracy", "loss", "sparse_categorical_crossentropy", "val_accuracy",
                                     "val_loss", "val_sparse_categorical_crossentropy"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 7}
    assert all(isinstance(v, float) for v in history.history["loss"])
    loss, acc, scce = model.evaluate(x[:30], y[:30], batch_size=16, verbose=0)
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-12)
    assert acc == history.history["val_accuracy"][-1]
    logs = model.evaluate(x[:30], y[:30], batch_size=16, verbose=0, return_dict=True)
    assert logs == {"accuracy": acc, "loss": loss, "sparse_categorical_crossentropy": scce}
    assert model.metrics_names == ["loss", "accuracy", "sparse_categorical_crossentropy"]
    # the loss comes from the logits, the metric from the probabilities: equal up to rounding
    assert scce == pytest.approx(loss, rel=1e-5)
    # the accuracy is Keras' sparse accuracy for these labels, computed on the probabilities
    expected = np.mean(model.predict(x[:30]).argmax(1) == y[:30])
    assert acc == pytest.approx(expected)


def test_epoch_loss_is_the_running_mean_of_batch_losses_with_penalties():
    x, y = data(n=50)
    model = mlp(kernel_regularizer=regularizers.L2(0.1))
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")  # lr 0: the weights stay
    h = model.fit(x, y, batch_size=20, epochs=1, shuffle=False, verbose=0)
    values = [model.value_and_grad(x[i:i + 20], y[i:i + 20])[0] for i in range(0, 50, 20)]
    assert h.history["loss"][0] == pytest.approx(running_mean(values, [20, 20, 10]), rel=1e-12)
    assert min(values) > float(losses.SparseCategoricalCrossentropy()(y, model.predict(x)))  # penalty included


def test_metrics_reset_every_epoch_and_see_no_sample_weights():
    x, y = data(n=64)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    sw = np.where(y == 0, 0.0, 1.0)
    h = model.fit(x, y, sample_weight=sw, epochs=2, batch_size=64, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "weighted_accuracy"}
    logs = model.test_on_batch(x, y, sample_weight=sw, return_dict=True)
    right = model.predict(x).argmax(1) == y
    assert logs["accuracy"] == pytest.approx(right.mean())
    assert logs["weighted_accuracy"] == pytest.approx(right[y != 0].mean())


def test_accuracy_resolves_as_keras_does():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    for out_units, act, labels, loss, cls in [
        (1, "sigmoid", rng.integers(0, 2, (20, 1)), "binary_crossentropy", metrics.BinaryAccuracy),
        (4, "softmax", rng.integers(0, 4, 20), "sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
        (4, "softmax", np.eye(4)[rng.integers(0, 4, 20)], "categorical_crossentropy", metrics.CategoricalAccuracy),
    ]:
        model = models.Sequential([layers.Input((3,)), layers.Dense(out_units, activation=act)])
        model.compile("adam", loss, metrics=["acc"])
        model.fit(x, labels, epochs=1, verbose=0)
        (metric,) = model.compiled_metrics_list()
        assert type(metric) is cls and metric.name == "acc"
    # "crossentropy" picks the loss the same way
    model = models.Sequential([layers.Input((3,)), layers.Dense(4, activation="softmax")])
    model.compile("adam", "crossentropy")
    model.fit(x, rng.integers(0, 4, 20), epochs=1, verbose=0)
    assert model._compiled.heads[0].loss.fn is losses.sparse_categorical_crossentropy


def test_train_and_test_on_batch():
    x, y = data(n=40)
    model = mlp()
    model.compile(optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    before = model.test_on_batch(x, y)
    loss, acc = model.train_on_batch(x, y)
    assert loss == pytest.approx(before[0], rel=1e-6)  # the loss before the update
    after = model.test_on_batch(x, y, return_dict=True)
    assert after["loss"] < loss
    np.testing.assert_array_equal(model.predict_on_batch(x), model.predict(x))


# ------------------------------------------------------------------ data handling
def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = data(n=100)
    a = mlp()
    a.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    set_random_seed(9)
    ha = a.fit(x, y, validation_split=0.25, epochs=2, batch_size=10, verbose=0)
    b = mlp()
    b.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    set_random_seed(9)
    hb = b.fit(x[:75], y[:75], validation_data=(x[75:], y[75:]), epochs=2, batch_size=10, verbose=0)
    assert ha.history == hb.history
    assert ha.params["steps"] == 8


def test_class_weight_is_sample_weight_from_the_labels():
    x, y = data(n=60)
    cw = {0: 0.5, 1: 2.0}
    runs = []
    for kwargs in ({"class_weight": cw}, {"sample_weight": np.array([cw.get(int(v), 1.0) for v in y])}):
        model = mlp()
        model.compile(optimizers.Adam(0.01), "sparse_categorical_crossentropy")
        set_random_seed(1)
        h = model.fit(x, y, epochs=2, batch_size=16, verbose=0, **kwargs)
        runs.append((h.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    # one-hot labels use their argmax; a zero weight removes a class from the loss
    model = mlp()
    model.compile(optimizers.SGD(0.0), "categorical_crossentropy")
    onehot = np.eye(3)[y]
    h = model.fit(x, onehot, class_weight={0: 0.0, 1: 0.0, 2: 1.0}, batch_size=60, verbose=0, shuffle=False)
    keep = y == 2
    expected = losses.CategoricalCrossentropy()(onehot, model.predict(x), sample_weight=keep.astype(float))
    assert h.history["loss"][0] == pytest.approx(float(expected), rel=1e-5)


def test_class_weight_weighs_the_training_part_only():
    x, y = data(n=40)
    model = mlp()
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    h = model.fit(x, y, class_weight={0: 3.0, 1: 3.0, 2: 3.0}, validation_split=0.5, batch_size=20, verbose=0,
                  shuffle=False)
    plain = model.evaluate(x[20:], y[20:], batch_size=20, verbose=0)
    assert h.history["val_loss"][0] == pytest.approx(plain, rel=1e-6)       # validation: unweighted
    assert h.history["loss"][0] == pytest.approx(3 * model.evaluate(x[:20], y[:20], verbose=0), rel=1e-5)


def test_sample_weight_scales_the_loss():
    x, y = data(n=30)
    model = mlp()
    model.compile(optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    plain = model.evaluate(x, y, verbose=0, batch_size=30)
    doubled = model.evaluate(x, y, sample_weight=np.full(30, 2.0), verbose=0, batch_size=30)
    assert doubled == pytest.approx(2 * plain, rel=1e-6)


def test_steps_per_epoch_continues_the_pass_across_epochs():
    x, y = data(n=40)
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    h = model.fit(x, y, batch_size=10, epochs=2, steps_per_epoch=2, verbose=0)
    assert h.params["steps"] == 2 and model.optimizer.iterations == 4
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(x, y, batch_size=10, epochs=1, steps_per_epoch=6, verbose=0)
    assert model.optimizer.iterations == 8


def test_shuffle_batch_and_validation_freq():
    x, y = data(n=40)
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    h = model.fit(x, y, batch_size=10, epochs=4, shuffle="batch", validation_data=(x, y), validation_freq=2,
                  verbose=0)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    h = model.fit(x, y, epochs=3, validation_data=(x, y), validation_freq=[1, 3], verbose=0)
    assert len(h.history["val_loss"]) == 2


def test_inputs_and_labels_as_dicts_and_lists():
    x, y = data(n=30)
    inp = layers.Input((6,), name="features")
    out = layers.Dense(3, activation="softmax", name="probs")(inp)
    model = models.Model(inp, out)
    model.compile("adam", {"probs": "sparse_categorical_crossentropy"}, metrics={"probs": ["accuracy"]})
    h = model.fit({"features": x}, {"probs": y}, epochs=1, verbose=0)
    assert set(h.history) == {"loss", "accuracy"}
    assert model.output_names == ["probs"]


# ------------------------------------------------------------------ freezing, constraints, optimizers
def test_frozen_layers_keep_their_weights():
    x, y = data()
    model = mlp()
    first = model.layers[0]
    first.trainable = False
    model.compile(optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    frozen = [w.copy() for w in first.weights]
    last = [w.copy() for w in model.layers[-1].weights]
    model.fit(x, y, epochs=2, verbose=0)
    for a, b in zip(first.weights, frozen):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(model.layers[-1].weights, last))
    # unfreezing after the optimizer was built on fewer weights is refused clearly
    first.trainable = True
    with pytest.raises(TrainingError, match="unfrozen.*compile\\(\\) again with a new optimizer"):
        model.fit(x, y, epochs=1, verbose=0)
    model.compile(optimizers.Adam(0.05), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b) for a, b in zip(first.weights, frozen))


def test_constraints_apply_after_each_step():
    x, y = data()
    model = mlp(kernel_constraint=lambda w: np.clip(w, -0.05, 0.05))
    model.compile(optimizers.SGD(1.0), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    assert np.abs(model.layers[0].kernel).max() <= 0.05


def test_gradient_accumulation_and_schedules_come_from_the_optimizer():
    x, y = data(n=64)
    model = mlp()
    schedule = optimizers.schedules.CosineDecay(0.0, 100, warmup_target=0.01, warmup_steps=8)
    model.compile(optimizers.Adam(schedule, gradient_accumulation_steps=2), "sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert model.optimizer.iterations == 4


def test_float64_models_train():
    x, y = data()
    model = mlp(dtype="float64")
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x.astype(np.float64), y, epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert all(w.dtype == np.float64 for w in model.weights)


def test_a_model_learns():
    x, y = data(n=300, seed=4)
    model = mlp(seed=2)
    model.compile(optimizers.Adam(0.02), "sparse_categorical_crossentropy", metrics=["accuracy"])
    set_random_seed(0)
    h = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert h.history["accuracy"][-1] > 0.9


def test_regression_with_mse_and_no_fusion():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    model = models.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizers.SGD(0.1), "mse", metrics=["mae"])
    h = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 1e-3
    np.testing.assert_allclose(model.layers[0].kernel[:, 0], [1.0, -2.0, 0.5], atol=0.02)
    assert model._compiled.heads[0].fused_layer is None


# ------------------------------------------------------------------ several outputs
def test_multi_output_models():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5)).astype(np.float32)
    ya, yb = rng.integers(0, 3, 40), rng.normal(size=(40, 2)).astype(np.float32)
    inp = layers.Input((5,))
    h = layers.Dense(8, activation="relu")(inp)
    a = layers.Dense(3, activation="softmax", name="cls")(h)
    b = layers.Dense(2, name="reg")(h)
    model = models.Model(inp, [a, b])
    model.compile(optimizers.Adam(0.01), loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics={"cls": ["accuracy"], "reg": ["mae"]})
    hist = model.fit(x, [ya, yb], epochs=2, batch_size=8, verbose=0)
    assert set(hist.history) == {"loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"}
    logs = model.evaluate(x, {"cls": ya, "reg": yb}, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-5)
    out = model.evaluate(x, [ya, yb], verbose=0)
    assert out[0] == logs["loss"] and len(out) == 5
    # one loss for every output; a None loss leaves an output out
    model.compile("sgd", loss=[None, "mse"])
    assert list(model.fit(x, [None, yb], verbose=0).history) == ["loss"]


# ------------------------------------------------------------------ progress bar
def test_progress_bar_formats():
    x, y = data(n=40)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.fit(x, y, batch_size=10, epochs=2, verbose=1, validation_data=(x, y))
    text = out.getvalue()
    assert "Epoch 1/2\n" in text and "Epoch 2/2\n" in text
    assert "\x1b[1m4/4\x1b[0m \x1b[32m━━━━━━━━━━━━━━━━━━━━\x1b[0m" in text
    assert "/step - accuracy: " in text and " - val_loss: " in text and text.endswith("\n")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.fit(x, y, batch_size=10, epochs=1, verbose=2)
    line = out.getvalue()
    assert line.startswith("4/4 - ") and "/step - accuracy: " in line and line.count("\n") == 1
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        model.fit(x, y, epochs=1, verbose=0)
        model.evaluate(x, y, verbose=0)
    assert out.getvalue() == ""


# ------------------------------------------------------------------ errors
def test_errors_name_what_is_wrong():
    x, y = data(n=20)
    model = mlp()
    with pytest.raises(CompileError, match="must call `compile\\(\\)` before `fit\\(\\)`"):
        model.fit(x, y)
    with pytest.raises(CompileError, match="unknown loss 'nope'"):
        model.compile("adam", "nope")
    with pytest.raises(CompileError, match="unknown metric 'nope'"):
        model.compile("adam", "mse", metrics=["nope"])
    with pytest.raises(CompileError, match="optimizer 'nope' is not known"):
        model.compile("nope", "mse")
    with pytest.raises(CompileError, match="a loss is needed"):
        model.compile("adam")
    with pytest.raises(CompileError, match="Expected `metrics` argument to be a list"):
        model.compile("adam", "mse", metrics="accuracy")
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(DataError, match="cardinality.*x\\[.*\\]: 20, y\\[.*\\]: 19"):
        model.fit(x, y[:19])
    with pytest.raises(TrainingError, match="batch_size must be a positive integer, got 0"):
        model.fit(x, y, batch_size=0)
    with pytest.raises(DataError, match="validation_split must be a float in \\[0, 1\\), got 1.5"):
        model.fit(x, y, validation_split=1.5)
    with pytest.raises(DataError, match="not sufficient to split"):
        model.fit(x, y, validation_split=0.99)
    with pytest.raises(DataError, match="cannot `class_weight` and `sample_weight`"):
        model.fit(x, y, class_weight={0: 1.0}, sample_weight=np.ones(20))
    with pytest.raises(TrainingError, match="verbose must be"):
        model.fit(x, y, verbose=3)
    with pytest.raises(HaibalValueError, match="expects shape \\(None, 6\\), got \\(20, 5\\)"):
        model.fit(x[:, :5], y)
    with pytest.raises(HaibalValueError, match="label 7, outside the valid range \\[0, 3\\)"):
        model.fit(x, np.full(20, 7))
    with pytest.raises(DataError, match="validation_data must be a tuple"):
        model.fit(x, y, validation_data=x)


def test_forward_pass_then_backward_is_value_and_grad():
    x, y = data(n=16)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    fp = model.forward_pass(x)
    np.testing.assert_allclose(fp.y_pred, model.predict(x), rtol=1e-6)  # probabilities, not logits
    loss, grads = fp.backward(y)
    loss2, grads2 = model.value_and_grad(x, y)
    assert loss == loss2
    for a, b in zip(grads, grads2):
        np.testing.assert_array_equal(a, b)
    # the output layer keeps its softmax between the two halves
    assert model.layers[-1].activation.name == "softmax"


def test_a_sequential_without_input_compiles_and_is_built_by_its_first_data():
    """Keras' deferred build: compile (with metrics) before the model knows its input shape;
    fit builds it from x and trains exactly as the same model declared with an Input."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype(np.float32)
    y = np.arange(32) % 3

    def train(with_input):
        set_random_seed(1)
        stack = [layers.Dense(4, activation="relu"), layers.Dense(3, activation="softmax")]
        model = models.Sequential(([layers.Input((5,))] if with_input else []) + stack)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        assert model.output_names == [stack[-1].name]
        return model, model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history

    deferred, history = train(False)
    declared, expected = train(True)
    assert history.keys() == expected.keys() == {"loss", "accuracy"}
    for key in expected:
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-6)
    np.testing.assert_allclose(deferred.predict(x, verbose=0), declared.predict(x, verbose=0), rtol=1e-6)
