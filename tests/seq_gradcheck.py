"""Finite-difference checks for the sequence/normalization layers (float64, central differences).

``check_layer(layer, inputs, training=False, seed=0)`` runs ``call_forward`` on ``inputs``
(an array or a list), draws a random cotangent ``dy`` for every output, and compares
``call_backward``'s input and weight gradients with central differences of
``L = sum_k sum(y_k * dy_k)``. Layers whose forward pass changes their state (BatchNorm's
moving statistics in training) get their weights restored around every evaluation.
"""

from __future__ import annotations

import numpy as np


def _flat(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def check_layer(layer, inputs, training: bool = False, seed: int = 0, eps: float = 1e-6, rtol: float = 1e-6,
                atol: float = 1e-8, forward=None, backward=None):
    """Assert that backward's gradients equal finite differences; return (dx, grads)."""
    rng = np.random.default_rng(seed)
    forward = forward or (lambda xs: layer.call_forward(xs, training=training))
    backward = backward or (lambda ctx, dy: layer.call_backward(ctx, dy, True))
    multi = isinstance(inputs, (list, tuple))
    xs = [np.array(x, dtype=np.float64) for x in inputs] if multi else [np.array(inputs, dtype=np.float64)]
    snapshot = [w.copy() for w in layer.weights] if layer.built else None

    def restore():
        if snapshot is not None:
            for w, s in zip(layer.weights, snapshot):
                w[...] = s

    out, ctx = forward(xs if multi else xs[0])
    if snapshot is None:
        snapshot = [w.copy() for w in layer.weights]
        # the first call built the layer (and may have moved its statistics): start again from here
    outs = _flat(out)
    dys = [rng.normal(size=np.shape(o)) for o in outs]
    dy = dys if isinstance(out, (list, tuple)) else dys[0]
    restore()
    out, ctx = forward(xs if multi else xs[0])
    dx, grads = backward(ctx, dy)
    restore()

    def loss():
        o, _ = forward(xs if multi else xs[0])
        restore()
        return sum(float(np.sum(a * b)) for a, b in zip(_flat(o), dys))

    def numeric(arr):
        g = np.zeros(arr.shape)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + eps
            lp = loss()
            arr[idx] = old - eps
            lm = loss()
            arr[idx] = old
            g[idx] = (lp - lm) / (2 * eps)
        return g

    dxs = dx if multi else [dx]
    for i, (x, d) in enumerate(zip(xs, dxs)):
        if d is None:
            continue
        np.testing.assert_allclose(d, numeric(x), rtol=rtol, atol=atol, err_msg=f"d input {i}")
    weights = layer.trainable_weights
    assert len(grads) == len(weights), (len(grads), len(weights))
    for i, (w, g) in enumerate(zip(weights, grads)):
        np.testing.assert_allclose(g, numeric(w), rtol=rtol, atol=atol, err_msg=f"d weight {i}")
    return dx, grads
