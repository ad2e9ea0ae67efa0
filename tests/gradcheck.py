"""Gradient checks for layers and models, shared by every layer test file.

``check_gradients(layer, inputs)`` runs one forward pass, draws a random output gradient
``dy``, runs the backward pass, and compares its ``dx`` (for each float input) and its
weight gradients (for each entry of ``trainable_weights``) with float64 central
differences of ``L = sum(y * dy)``. The layer (or every layer of the model) must be
float64: build it with ``dtype="float64"`` or under ``float64_layers()``. Layers whose
forward pass changes their state (BatchNormalization's moving statistics in training) get
their weights restored around every evaluation.

``check_layer(layer, inputs)`` is the same check with the sequence layers' conventions:
a tighter default ``rtol``, inputs whose ``dx`` is None (initial states, masks) skipped,
and ``(dx, grads)`` returned.

The forward pass must be deterministic for the given ``training`` flag (for Dropout in
training, test the mask directly instead).
"""

from __future__ import annotations

import contextlib

import numpy as np

from haibal_py.numeric import config


@contextlib.contextmanager
def float64_layers():
    """Layers created inside the block default to float64 (``config.set_floatx``)."""
    old = config.floatx()
    config.set_floatx("float64")
    try:
        yield
    finally:
        config.set_floatx(old)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _loss(outputs, dys) -> float:
    return float(sum(np.sum(np.asarray(y, dtype=np.float64) * d) for y, d in zip(_as_list(outputs), dys)))


def numeric_gradient(f, arr: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to ``arr`` (changed in place, restored)."""
    grad = np.zeros(arr.shape, dtype=np.float64)
    for idx in np.ndindex(arr.shape):
        old = arr[idx]
        arr[idx] = old + eps
        up = f()
        arr[idx] = old - eps
        down = f()
        arr[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


def check_gradients(layer, inputs, *, training: bool = False, seed: int = 0, eps: float = 1e-6,
                    rtol: float = 1e-5, atol: float = 1e-8, call_kwargs: dict | None = None,
                    dy=None, forward=None, backward=None, every_dx: bool = True) -> dict:
    """Assert that ``layer``'s backward pass matches central differences (see the module
    docstring); returns ``{"dx": [...], "grads": [...]}``, the analytic gradients.

    ``forward(inputs) -> (y, ctx)`` and ``backward(ctx, dy) -> (dx, grads)`` replace the
    layer's own calls (to pass a mask, say); ``every_dx=False`` lets ``dx`` be None for an input."""
    kwargs = call_kwargs or {}
    forward = forward or (lambda packed: layer.call_forward(packed, training, **kwargs))
    backward = backward or (lambda ctx, dys: layer.call_backward(ctx, dys, True))
    multi = isinstance(inputs, (list, tuple))
    xs = [np.array(x, dtype=np.float64) if np.asarray(x).dtype.kind == "f" else np.asarray(x)
          for x in _as_list(inputs)]

    def packed():
        return xs if multi else xs[0]

    snapshot = [w.copy() for w in layer.weights] if layer.built else None

    def restore():
        for w, s in zip(layer.weights, snapshot):
            w[...] = s

    y, ctx = forward(packed())
    if snapshot is None:  # the first call built the layer (and may have moved its state): start from here
        snapshot = [w.copy() for w in layer.weights]
    for spec in layer.weight_specs():
        assert spec.value.dtype == np.float64, f"{layer.name}: weight {spec.name} is {spec.value.dtype}, not float64"
    ys = _as_list(y)
    for out in ys:
        assert np.asarray(out).dtype == np.float64, f"{layer.name}: output dtype {np.asarray(out).dtype}"
    rng = np.random.default_rng(seed)
    dys = _as_list(dy) if dy is not None else [rng.normal(size=np.shape(o)) for o in ys]
    restore()
    _, ctx = forward(packed())
    dx, grads = backward(ctx, dys if isinstance(y, (list, tuple)) else dys[0])
    restore()

    def loss():
        out, _ = forward(packed())
        restore()
        return _loss(out, dys)

    dxs = _as_list(dx) if multi else [dx]
    for i, x in enumerate(xs):
        d = dxs[i] if i < len(dxs) else None
        if x.dtype.kind != "f" or (d is None and not every_dx):
            continue
        assert d is not None, f"{layer.name}: backward gave no dx for input {i}"
        assert np.shape(d) == x.shape, f"{layer.name}: dx {i} has shape {np.shape(d)}, input {x.shape}"
        num = numeric_gradient(loss, x, eps)
        np.testing.assert_allclose(d, num, rtol=rtol, atol=atol, err_msg=f"{layer.name}: dx for input {i}")
    specs = layer.weight_specs(True)
    assert len(grads) == len(specs), f"{layer.name}: {len(grads)} weight gradients for {len(specs)} weights"
    for spec, g in zip(specs, grads):
        assert np.shape(g) == spec.value.shape, f"{layer.name}: gradient of {spec.name} has shape {np.shape(g)}"
        num = numeric_gradient(loss, spec.value, eps)
        np.testing.assert_allclose(g, num, rtol=rtol, atol=atol, err_msg=f"{layer.name}: gradient of {spec.name}")
    return {"dx": dxs, "grads": list(grads)}


def check_layer(layer, inputs, training: bool = False, seed: int = 0, eps: float = 1e-6, rtol: float = 1e-6,
                atol: float = 1e-8, forward=None, backward=None):
    """``check_gradients`` for the sequence and normalization layers; returns ``(dx, grads)``
    (``dx`` a list for a list of inputs)."""
    result = check_gradients(layer, inputs, training=training, seed=seed, eps=eps, rtol=rtol, atol=atol,
                             forward=forward, backward=backward, every_dx=False)
    multi = isinstance(inputs, (list, tuple))
    return (result["dx"] if multi else result["dx"][0]), result["grads"]
