"""Recurrent kernels: SimpleRNN, LSTM and GRU over whole sequences, forward and backward (BPTT).

Layouts are Keras 3's: kernel ``(features, G*units)``, recurrent kernel ``(units, G*units)``,
gates in column blocks (LSTM ``i, f, c, o``; GRU ``z, r, h``), LSTM/SimpleRNN bias ``(G*units,)``,
GRU bias ``(2, 3*units)`` (input, recurrent) with ``reset_after`` and ``(3*units,)`` without.

How the work is laid out (the speed of these layers is the speed of this file):

- the sequence is turned time-major and into processing order once (reversed for
  ``go_backwards``), so every per-step array is one contiguous ``(batch, n)`` block;
- the input projection of all steps is ONE GEMM ``(T*B, F) @ kernel`` before the loop, and
  in the backward pass ``d kernel``, ``d recurrent_kernel``, ``d bias`` and ``d inputs`` are
  one GEMM (or sum) each after the loop, over the gradients of the pre-activations of
  every step; the loops only hold the recurrent GEMM and a few in-place elementwise ops;
- activations whose derivative is a function of their output (tanh, sigmoid, ...) are
  differentiated from the stored outputs in one vectorised pass over all steps.

Keras semantics reproduced: ``mask`` (a step whose mask is False keeps the previous
states, and its output is the previous output, zeros before the first kept step),
outputs in processing order (reversed with ``go_backwards``, as Keras returns them),
dropout masks fixed over the steps of one call; with ``recurrent_dropout`` Keras' LSTM
and GRU use one mask per gate ("implementation 1"), which ``in_masks``/``rec_masks`` of
shape ``(G, B, n)`` express (``(1, B, n)``: one mask shared by the gates).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import HaibalValueError
from . import blas, engine

__all__ = ["StepActivation", "step_activation", "KNOWN", "RNNResult", "simple_rnn_forward", "simple_rnn_backward",
           "lstm_forward", "lstm_backward", "gru_forward", "gru_backward"]


# ----------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class StepActivation:
    """An activation applied in place, with its derivative from its output (or its input)."""

    name: str
    apply: Callable[[np.ndarray], None]          # in place
    grad: Callable[[np.ndarray, np.ndarray | None], np.ndarray]   # (y, x) -> dy/dx
    needs_input: bool = False


def _tanh_(v):
    np.tanh(v, out=v)


def _sigmoid_(v):
    # 1 / (1 + exp(-v)) = (1 + tanh(v / 2)) / 2: NumPy's tanh is vectorised and never overflows
    v *= 0.5
    np.tanh(v, out=v)
    v *= 0.5
    v += 0.5


def _relu_(v):
    np.maximum(v, 0, out=v)


def _hard_sigmoid_(v):
    v += 3
    np.clip(v, 0, 6, out=v)
    v /= 6


def _linear_(v):
    pass


KNOWN = {
    "tanh": StepActivation("tanh", _tanh_, lambda y, x: 1 - y * y),
    "sigmoid": StepActivation("sigmoid", _sigmoid_, lambda y, x: y * (1 - y)),
    "relu": StepActivation("relu", _relu_, lambda y, x: (y > 0).astype(y.dtype)),
    "hard_sigmoid": StepActivation("hard_sigmoid", _hard_sigmoid_,
                                   lambda y, x: ((y > 0) & (y < 1)).astype(y.dtype) / 6),
    "linear": StepActivation("linear", _linear_, lambda y, x: np.ones_like(y)),
}


def step_activation(identifier, derivative: Callable | None = None) -> StepActivation:
    """The ``StepActivation`` for a name of ``KNOWN`` (``None``: linear), or for a function
    ``fn(x)`` with its ``derivative(x)``: then applied out of place and differentiated
    from its stored input."""
    if identifier is None:
        return KNOWN["linear"]
    if isinstance(identifier, str) and identifier in KNOWN:
        return KNOWN[identifier]
    if not callable(identifier) or derivative is None:
        raise HaibalValueError(f"activation {identifier!r} needs a function and its derivative; "
                               f"the built-in ones are {', '.join(sorted(KNOWN))}")
    fn = identifier

    def apply(v):
        v[...] = fn(v)

    return StepActivation(getattr(fn, "__name__", "activation"), apply, lambda y, x: derivative(x),
                          needs_input=True)


# ----------------------------------------------------------------------------- common parts
def time_major(x: np.ndarray, go_backwards: bool) -> np.ndarray:
    """``(B, T, ...)`` as a contiguous ``(T, B, ...)`` in processing order."""
    if go_backwards:
        x = x[:, ::-1]
    return np.ascontiguousarray(np.swapaxes(x, 0, 1))


def batch_major(x_tm: np.ndarray, go_backwards: bool) -> np.ndarray:
    """The inverse of ``time_major``."""
    out = np.swapaxes(x_tm, 0, 1)
    if go_backwards:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def _mm(a: np.ndarray, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ w`` over the last axis of ``a`` (any leading shape), large ones split over the cores."""
    lead = a.shape[:-1]
    a2 = a.reshape(-1, a.shape[-1])
    o2 = None if out is None else out.reshape(-1, w.shape[1])
    res = blas.matmul(a2, w, out=o2)
    return res.reshape(lead + (w.shape[1],)) if out is None else out


def project(a: np.ndarray, w: np.ndarray, masks: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ w`` where ``a`` is first multiplied by a dropout mask per gate block of ``w``."""
    if masks is None:
        return _mm(a, w, out=out)
    gates = masks.shape[0]
    if gates == 1:
        return _mm(a * masks[0], w, out=out)
    u = w.shape[1] // gates
    if out is None:
        out = np.empty(a.shape[:-1] + (w.shape[1],), dtype=w.dtype)
    for g in range(gates):
        out[..., g * u:(g + 1) * u] = _mm(a * masks[g], w[:, g * u:(g + 1) * u])
    return out


def project_backward(a: np.ndarray, w: np.ndarray, masks: np.ndarray | None, dz: np.ndarray,
                     need_da: bool = True):
    """``(da, dw)`` of ``project(a, w, masks)`` for the gradient ``dz``; ``a`` is ``(..., n)``."""
    n = a.shape[-1]
    a2 = a.reshape(-1, n)
    dz2 = dz.reshape(-1, dz.shape[-1])
    if masks is None or masks.shape[0] == 1:
        am = a2 if masks is None else (a * masks[0]).reshape(-1, n)
        dw = blas.matmul(am.T, dz2)
        da = None
        if need_da:
            da = _mm(dz, w.T)
            if masks is not None:
                da *= masks[0]
        return da, dw
    gates = masks.shape[0]
    u = w.shape[1] // gates
    dw = np.empty_like(w)
    da = np.zeros(a.shape, dtype=a.dtype) if need_da else None
    for g in range(gates):
        blk = slice(g * u, (g + 1) * u)
        dw[:, blk] = blas.matmul((a * masks[g]).reshape(-1, n).T, np.ascontiguousarray(dz2[:, blk]))
        if need_da:
            da += _mm(np.ascontiguousarray(dz[..., blk]), w[:, blk].T) * masks[g]
    return da, dw


def _mask_tm(mask, go_backwards: bool, shape: tuple) -> np.ndarray | None:
    """A ``(B, T)`` mask as ``(T, B, 1)`` booleans in processing order (None if all kept)."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != shape:
        raise HaibalValueError(f"mask must have shape (batch, timesteps) = {shape}, got {m.shape}")
    m = m.astype(bool)
    return time_major(m, go_backwards)[:, :, None]


@dataclass
class RNNResult:
    """What a forward pass returns: outputs (batch-major), final states, and the backward context."""

    output: np.ndarray          # (B, T, u) in processing order, or (B, u)
    states: list                # final states [h] or [h, c]
    ctx: dict


def _outputs(O_tm: np.ndarray, return_sequences: bool) -> np.ndarray:
    return np.ascontiguousarray(np.swapaxes(O_tm, 0, 1)) if return_sequences else O_tm[-1].copy()


def _d_outputs(dy, T: int, B: int, u: int, dtype, return_sequences: bool) -> np.ndarray | None:
    """The gradient of the output as ``(T, B, u)`` in processing order (None if zero)."""
    if dy is None:
        return None
    if return_sequences:
        return np.ascontiguousarray(np.swapaxes(np.asarray(dy, dtype=dtype), 0, 1))
    d = np.zeros((T, B, u), dtype=dtype)
    d[-1] = dy
    return d


class _MaskedOutputs:
    """Outputs under a mask: ``O_s = m_s ? h_s : O_{s-1}`` (zeros before the first kept step),
    or ``m_s ? h_s : 0`` with ``zero_output_for_mask``."""

    def __init__(self, T, B, u, dtype, zero: bool):
        self.O = np.empty((T, B, u), dtype=dtype)
        self.prev = np.zeros((B, u), dtype=dtype)
        self.zero = zero

    def step(self, s, m, h_cand):
        np.copyto(self.O[s], self.prev)
        np.copyto(self.O[s], h_cand, where=m)
        if not self.zero:
            self.prev = self.O[s]


def _output_grads(dO: np.ndarray | None, M: np.ndarray | None, zero: bool = False) -> np.ndarray | None:
    """Under a mask, the gradient reaching each step's candidate output (carried back through
    the masked steps that copied it); without a mask, ``dO`` itself."""
    if dO is None or M is None:
        return dO
    if zero:
        return dO * M
    out = np.empty_like(dO)
    carry = np.zeros_like(dO[0])
    for s in range(dO.shape[0] - 1, -1, -1):
        carry = carry + dO[s]
        out[s] = np.where(M[s], carry, 0)
        carry = np.where(M[s], 0, carry)
    return out


def _check_state(h, B, u, dtype, what):
    if h is None:
        return np.zeros((B, u), dtype=dtype)
    h = np.asarray(h, dtype=dtype)
    if h.shape != (B, u):
        raise HaibalValueError(f"initial state {what} must have shape (batch, units) = {(B, u)}, got {h.shape}")
    return h


# ----------------------------------------------------------------------------- SimpleRNN
@blas.in_single_thread
def simple_rnn_forward(x, kernel, recurrent_kernel, bias, *, activation: StepActivation,
                       initial_state=None, mask=None, go_backwards=False, return_sequences=False,
                       in_masks=None, rec_masks=None, zero_output_for_mask=False) -> RNNResult:
    """``h_t = act(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)``."""
    B, T = x.shape[:2]
    u = recurrent_kernel.shape[0]
    X = time_major(x, go_backwards)
    M = _mask_tm(mask, go_backwards, (B, T))
    A = project(X, kernel, in_masks)                 # (T, B, u): pre-activations, then outputs
    if bias is not None:
        A += bias
    P = A.copy() if activation.needs_input else None
    H = np.empty((T + 1, B, u), dtype=x.dtype)
    H[0] = _check_state(initial_state, B, u, x.dtype, "h")
    outs = _MaskedOutputs(T, B, u, x.dtype, zero_output_for_mask) if M is not None else None
    tmp = np.empty((B, u), dtype=x.dtype)
    for s in range(T):
        a = A[s]
        project(H[s], recurrent_kernel, rec_masks, out=tmp)
        a += tmp
        if P is not None:
            P[s] = a
        activation.apply(a)
        if M is None:
            H[s + 1] = a
        else:
            np.copyto(H[s + 1], H[s])
            np.copyto(H[s + 1], a, where=M[s])
            outs.step(s, M[s], a)
    O = H[1:] if M is None else outs.O
    ctx = dict(X=X, M=M, A=A, P=P, H=H, go_backwards=go_backwards, return_sequences=return_sequences,
               in_masks=in_masks, rec_masks=rec_masks, zero_output=zero_output_for_mask)
    return RNNResult(_outputs(O, return_sequences), [H[T].copy()], ctx)


@blas.in_single_thread
def simple_rnn_backward(ctx, kernel, recurrent_kernel, bias, dy, d_states, *, activation: StepActivation,
                        need_dx=True):
    """``(dx, [dh0], dkernel, drecurrent, dbias)`` for output gradient ``dy`` and final-state grads."""
    X, M, A, H = ctx["X"], ctx["M"], ctx["A"], ctx["H"]
    T, B, u = A.shape
    dO = _output_grads(_d_outputs(dy, T, B, u, A.dtype, ctx["return_sequences"]), M, ctx["zero_output"])
    D = activation.grad(A, ctx["P"])                  # act'(pre) for every step
    dA = np.empty_like(A)
    dh = np.zeros((B, u), dtype=A.dtype) if d_states[0] is None else np.array(d_states[0], dtype=A.dtype)
    rec_masks = ctx["rec_masks"]
    for s in range(T - 1, -1, -1):
        if M is None:
            g = dh if dO is None else dh + dO[s]
            np.multiply(g, D[s], out=dA[s])
            dh, _ = _rec_back(dA[s], recurrent_kernel, rec_masks)
        else:
            m = M[s]
            g = np.where(m, dh, 0)
            if dO is not None:
                g += dO[s]
            np.multiply(g, D[s], out=dA[s])
            back, _ = _rec_back(dA[s], recurrent_kernel, rec_masks)
            dh = np.where(m, back, dh + back)
    _, drec = project_backward(H[:-1], recurrent_kernel, rec_masks, dA, need_da=False)
    dX, dker = project_backward(X, kernel, ctx["in_masks"], dA, need_da=need_dx)
    dbias = dA.sum(axis=(0, 1)) if bias is not None else None
    dx = batch_major(dX, ctx["go_backwards"]) if need_dx else None
    return dx, [dh], dker, drec, dbias


def _rec_back(dz, w, masks):
    """dh_{t-1} of ``project(h_{t-1}, w, masks)`` for one step."""
    if masks is None:
        return dz @ w.T, None
    gates = masks.shape[0]
    if gates == 1:
        return (dz @ w.T) * masks[0], None
    u = w.shape[1] // gates
    out = np.zeros((dz.shape[0], w.shape[0]), dtype=dz.dtype)
    for g in range(gates):
        blk = slice(g * u, (g + 1) * u)
        out += (dz[:, blk] @ w[:, blk].T) * masks[g]
    return out, None


# ----------------------------------------------------------------------------- LSTM, the default activations
def _lstm_fast(activation, recurrent_activation, mask, in_masks, rec_masks) -> bool:
    """tanh/sigmoid, no sequence mask, no per-gate masks: the path with the fewest operations."""
    return (activation.name == "tanh" and recurrent_activation.name == "sigmoid" and mask is None
            and rec_masks is None and (in_masks is None or in_masks.shape[0] == 1))


def _ifog(u: int) -> np.ndarray:
    """Column order i, f, o, c of Keras' i, f, c, o: the three sigmoid gates side by side."""
    return np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u]


def _lstm_forward_fast(x, kernel, recurrent_kernel, bias, initial_state, go_backwards, return_sequences,
                       in_masks) -> RNNResult:
    """The default LSTM, laid out feature-major: every step's arrays are ``(features, batch)``,
    the gates ``(4 * units, batch)`` in i, f, o, c order, so that each gate is one contiguous
    block and every elementwise operation runs NumPy's contiguous loop (on ``(batch, 4u)`` rows
    the gate slices are strided views, 2.5-3x slower per value).

    ``sigmoid(a) = (1 + tanh(a / 2)) / 2``: the sigmoid rows of the weights are halved
    (exactly: a power of two), so ONE tanh per step activates all four gates. The bias rides
    in the input projection (a row of ones under the inputs), so its gradient comes out of
    the kernel's product."""
    B, T, F = x.shape
    u = recurrent_kernel.shape[0]
    dt = x.dtype
    perm = _ifog(u)
    half = np.ones(4 * u, dtype=dt)
    half[:3 * u] = 0.5
    XT = np.empty((T, F + 1, B), dtype=dt)                  # x_t^T with a row of ones (the bias)
    np.copyto(XT[:, :F], (x[:, ::-1] if go_backwards else x).transpose(1, 2, 0))
    if in_masks is not None:
        XT[:, :F] *= in_masks[0].T
    XT[:, F] = 1
    W1 = np.zeros((4 * u, F + 1), dtype=dt)
    W1[:, :F] = (kernel[:, perm] * half).T
    if bias is not None:
        W1[:, F] = bias[perm] * half
    Z = np.empty((T, 4 * u, B), dtype=dt)                  # pre-activations, then gates
    U = np.ascontiguousarray((recurrent_kernel[:, perm] * half).T)
    h0, c0 = (None, None) if initial_state is None else initial_state
    H = np.empty((T + 1, u, B), dtype=dt)
    C = np.empty((T + 1, u, B), dtype=dt)
    H[0] = _check_state(h0, B, u, dt, "h").T
    C[0] = _check_state(c0, B, u, dt, "c").T
    TC = np.empty((T, u, B), dtype=dt)
    tmp = np.empty((4 * u, B), dtype=dt)
    ig = np.empty((u, B), dtype=dt)

    def project(a, b):
        np.matmul(W1, XT[a:b], out=Z[a:b])

    # the input projection of the next block of steps runs in the background during this one's
    pipe = engine.Pipeline()
    chunks = _step_chunks(T)
    if chunks:
        project(*chunks[0])
    for k, (a, b) in enumerate(chunks):
        ahead = pipe.submit(functools.partial(project, *chunks[k + 1])) if k + 1 < len(chunks) else None
        for s in range(a, b):
            z = Z[s]
            np.matmul(U, H[s], out=tmp)
            z += tmp
            np.tanh(z, out=z)
            sg = z[:3 * u]
            sg *= 0.5
            sg += 0.5
            np.multiply(z[u:2 * u], C[s], out=C[s + 1])
            np.multiply(z[:u], z[3 * u:], out=ig)
            C[s + 1] += ig
            np.tanh(C[s + 1], out=TC[s])
            np.multiply(z[2 * u:3 * u], TC[s], out=H[s + 1])
        pipe.wait(ahead)
    pipe.finish()
    ctx = dict(fast=True, XT=XT, Z=Z, H=H, C=C, TC=TC, perm=perm, go_backwards=go_backwards,
               return_sequences=return_sequences, in_masks=in_masks)
    out = np.ascontiguousarray(H[1:].transpose(2, 0, 1)) if return_sequences else H[T].T.copy()
    return RNNResult(out, [H[T].T.copy(), C[T].T.copy()], ctx)


def _step_chunks(T: int, size: int = 8) -> list[tuple[int, int]]:
    """Blocks of ``size`` steps: a recurrent loop hands each block's large products to the background."""
    return [(a, min(a + size, T)) for a in range(0, T, size)]


def _time_columns(a: np.ndarray) -> np.ndarray:
    """``(T, n, B)`` as ``(n, T * B)``: every step's columns side by side, for one product over all steps."""
    T, n, B = a.shape
    return np.ascontiguousarray(a.transpose(1, 0, 2)).reshape(n, T * B)


def _lstm_backward_fast(ctx, kernel, recurrent_kernel, bias, dy, d_states, need_dx):
    XT, Z, H, C, TC, perm = ctx["XT"], ctx["Z"], ctx["H"], ctx["C"], ctx["TC"], ctx["perm"]
    T, u4, B = Z.shape
    u = u4 // 4
    F = XT.shape[1] - 1
    dt = Z.dtype
    dO = None
    if ctx["return_sequences"] and dy is not None:
        dO = np.ascontiguousarray(np.asarray(dy, dtype=dt).transpose(1, 2, 0))   # (T, u, B)
    D = np.empty_like(Z)                                     # gate derivatives, all steps at once
    np.subtract(1, Z[:, :3 * u], out=D[:, :3 * u])
    D[:, :3 * u] *= Z[:, :3 * u]
    np.multiply(Z[:, 3 * u:], Z[:, 3 * u:], out=D[:, 3 * u:])
    np.subtract(1, D[:, 3 * u:], out=D[:, 3 * u:])
    DTC = np.multiply(TC, TC)
    np.subtract(1, DTC, out=DTC)
    Up = np.ascontiguousarray(recurrent_kernel[:, perm])     # (u, 4u), not halved
    dZ = np.empty_like(Z)
    dh = np.zeros((u, B), dtype=dt) if d_states[0] is None else np.array(np.asarray(d_states[0], dtype=dt).T)
    dc = np.zeros((u, B), dtype=dt) if d_states[1] is None else np.array(np.asarray(d_states[1], dtype=dt).T)
    if not ctx["return_sequences"] and dy is not None:
        dh += np.asarray(dy, dtype=dt).T
    tmp = np.empty((u, B), dtype=dt)
    Wp = np.ascontiguousarray(kernel[:, perm]) if need_dx else None
    dXT = np.empty((F, T * B), dtype=dt) if need_dx else None
    chunks = _step_chunks(T)
    parts = [None] * len(chunks)

    def grads(k, a, b):  # the weights' (and inputs') gradients from steps a .. b - 1, one product each
        dzc = _time_columns(dZ[a:b])
        parts[k] = (_time_columns(H[a:b]) @ dzc.T, dzc @ _time_columns(XT[a:b]).T)
        if need_dx:
            np.matmul(Wp, dzc, out=dXT[:, a * B:b * B])

    # the products of each finished block of steps run in the background during the next block
    pipe = engine.Pipeline()
    for k in range(len(chunks) - 1, -1, -1):
        a, b = chunks[k]
        for s in range(b - 1, a - 1, -1):
            z = Z[s]
            if dO is not None:
                dh += dO[s]
            dz = dZ[s]
            np.multiply(dh, z[2 * u:3 * u], out=tmp)         # dh * o * a'(c)
            tmp *= DTC[s]
            dc += tmp
            np.multiply(dc, z[3 * u:], out=dz[:u])           # i
            np.multiply(dc, C[s], out=dz[u:2 * u])           # f
            np.multiply(dh, TC[s], out=dz[2 * u:3 * u])      # o
            np.multiply(dc, z[:u], out=dz[3 * u:])           # c candidate
            dz *= D[s]
            np.matmul(Up, dz, out=dh)
            dc *= z[u:2 * u]
        pipe.submit(functools.partial(grads, k, a, b))
    pipe.finish()
    drec, dk1 = np.zeros((u, 4 * u), dtype=dt), np.zeros((4 * u, F + 1), dtype=dt)
    for p_rec, p_k1 in parts:                                # in step order: the same bits on every run
        drec += p_rec
        dk1 += p_k1
    inv = np.argsort(perm)
    drec = drec[:, inv]
    dker = np.ascontiguousarray(dk1[inv, :F].T)              # dk1 (4u, F + 1): the kernel's and the bias' gradients
    dbias = dk1[inv, F].copy() if bias is not None else None
    dx = None
    if need_dx:
        dX = dXT.reshape(F, T, B)
        if ctx["in_masks"] is not None:
            dX *= ctx["in_masks"][0].T[:, None, :]
        dx = dX.transpose(2, 1, 0)
        dx = np.ascontiguousarray(dx[:, ::-1] if ctx["go_backwards"] else dx)
    return dx, [dh.T.copy(), dc.T.copy()], dker, drec, dbias


# ----------------------------------------------------------------------------- LSTM
@blas.in_single_thread
def lstm_forward(x, kernel, recurrent_kernel, bias, *, activation: StepActivation,
                 recurrent_activation: StepActivation, initial_state=None, mask=None, go_backwards=False,
                 return_sequences=False, in_masks=None, rec_masks=None, zero_output_for_mask=False) -> RNNResult:
    """Keras' LSTM: ``z = x W + h U + b``; ``i, f, o = ra(z_i), ra(z_f), ra(z_o)``, ``g = a(z_c)``;
    ``c = f c + i g``; ``h = o a(c)``."""
    if _lstm_fast(activation, recurrent_activation, mask, in_masks, rec_masks):
        return _lstm_forward_fast(x, kernel, recurrent_kernel, bias, initial_state, go_backwards, return_sequences,
                                  in_masks)
    B, T = x.shape[:2]
    u = recurrent_kernel.shape[0]
    X = time_major(x, go_backwards)
    M = _mask_tm(mask, go_backwards, (B, T))
    Z = project(X, kernel, in_masks)                 # (T, B, 4u): pre-activations, then gates
    if bias is not None:
        Z += bias
    need_pre = activation.needs_input or recurrent_activation.needs_input
    P = np.empty_like(Z) if need_pre else None
    h0, c0 = (None, None) if initial_state is None else initial_state
    H = np.empty((T + 1, B, u), dtype=x.dtype)
    C = np.empty((T + 1, B, u), dtype=x.dtype)
    H[0] = _check_state(h0, B, u, x.dtype, "h")
    C[0] = _check_state(c0, B, u, x.dtype, "c")
    TC = np.empty((T, B, u), dtype=x.dtype)          # a(c_t)
    PC = np.empty((T, B, u), dtype=x.dtype) if activation.needs_input else None
    outs = _MaskedOutputs(T, B, u, x.dtype, zero_output_for_mask) if M is not None else None
    tmp = np.empty((B, 4 * u), dtype=x.dtype)
    ig = np.empty((B, u), dtype=x.dtype)
    hc = np.empty((B, u), dtype=x.dtype)
    ra, act = recurrent_activation.apply, activation.apply
    for s in range(T):
        z = Z[s]
        project(H[s], recurrent_kernel, rec_masks, out=tmp)
        z += tmp
        if P is not None:
            P[s] = z
        ra(z[:, :2 * u])
        act(z[:, 2 * u:3 * u])
        ra(z[:, 3 * u:])
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        c = C[s + 1]
        np.multiply(f, C[s], out=c)
        np.multiply(i, g, out=ig)
        c += ig
        tc = TC[s]
        tc[...] = c
        if PC is not None:
            PC[s] = c
        act(tc)
        if M is None:
            np.multiply(o, tc, out=H[s + 1])
        else:
            m = M[s]
            np.multiply(o, tc, out=hc)
            outs.step(s, m, hc)
            np.copyto(H[s + 1], H[s])
            np.copyto(H[s + 1], hc, where=m)
            np.copyto(c, C[s], where=~m)
    O = H[1:] if M is None else outs.O
    ctx = dict(X=X, M=M, Z=Z, P=P, H=H, C=C, TC=TC, PC=PC, go_backwards=go_backwards,
               return_sequences=return_sequences, in_masks=in_masks, rec_masks=rec_masks,
               zero_output=zero_output_for_mask)
    return RNNResult(_outputs(O, return_sequences), [H[T].copy(), C[T].copy()], ctx)


@blas.in_single_thread
def lstm_backward(ctx, kernel, recurrent_kernel, bias, dy, d_states, *, activation: StepActivation,
                  recurrent_activation: StepActivation, need_dx=True):
    """``(dx, [dh0, dc0], dkernel, drecurrent, dbias)``."""
    if ctx.get("fast"):
        return _lstm_backward_fast(ctx, kernel, recurrent_kernel, bias, dy, d_states, need_dx)
    X, M, Z, H, C, TC = ctx["X"], ctx["M"], ctx["Z"], ctx["H"], ctx["C"], ctx["TC"]
    T, B, u4 = Z.shape
    u = u4 // 4
    dt = Z.dtype
    dO = _output_grads(_d_outputs(dy, T, B, u, dt, ctx["return_sequences"]), M, ctx["zero_output"])
    P = ctx["P"]
    # derivative factors of the gates and of a(c), for every step at once
    D = np.empty_like(Z)
    D[..., :2 * u] = recurrent_activation.grad(Z[..., :2 * u], None if P is None else P[..., :2 * u])
    D[..., 3 * u:] = recurrent_activation.grad(Z[..., 3 * u:], None if P is None else P[..., 3 * u:])
    D[..., 2 * u:3 * u] = activation.grad(Z[..., 2 * u:3 * u], None if P is None else P[..., 2 * u:3 * u])
    DTC = activation.grad(TC, ctx["PC"])
    dZ = np.empty_like(Z)
    dh = np.zeros((B, u), dtype=dt) if d_states[0] is None else np.array(d_states[0], dtype=dt)
    dc = np.zeros((B, u), dtype=dt) if d_states[1] is None else np.array(d_states[1], dtype=dt)
    rec_masks = ctx["rec_masks"]
    g_h = np.empty((B, u), dtype=dt)
    dct = np.empty((B, u), dtype=dt)
    for s in range(T - 1, -1, -1):
        z = Z[s]
        i, f, g, o = z[:, :u], z[:, u:2 * u], z[:, 2 * u:3 * u], z[:, 3 * u:]
        dz = dZ[s]
        if M is None:
            np.add(dh, dO[s], out=g_h) if dO is not None else np.copyto(g_h, dh)
            np.copyto(dct, dc)
        else:
            m = M[s]
            np.multiply(dh, m, out=g_h)
            if dO is not None:
                g_h += dO[s]
            np.multiply(dc, m, out=dct)
        # h = o * a(c): do, and dc += dh * o * a'(c)
        np.multiply(g_h, TC[s], out=dz[:, 3 * u:])
        g_h *= o
        g_h *= DTC[s]
        dct += g_h
        # c = f * c_prev + i * g
        np.multiply(dct, g, out=dz[:, :u])
        np.multiply(dct, C[s], out=dz[:, u:2 * u])
        np.multiply(dct, i, out=dz[:, 2 * u:3 * u])
        dz *= D[s]
        back, _ = _rec_back(dz, recurrent_kernel, rec_masks)
        if M is None:
            np.multiply(dct, f, out=dc)
            dh = back
        else:
            dc = np.where(m, dct * f, dc)
            dh = np.where(m, back, dh + back)
    _, drec = project_backward(H[:-1], recurrent_kernel, rec_masks, dZ, need_da=False)
    dX, dker = project_backward(X, kernel, ctx["in_masks"], dZ, need_da=need_dx)
    dbias = dZ.sum(axis=(0, 1)) if bias is not None else None
    dx = batch_major(dX, ctx["go_backwards"]) if need_dx else None
    return dx, [dh, dc], dker, drec, dbias


# ----------------------------------------------------------------------------- GRU
@blas.in_single_thread
def gru_forward(x, kernel, recurrent_kernel, bias, *, activation: StepActivation,
                recurrent_activation: StepActivation, reset_after=True, initial_state=None, mask=None,
                go_backwards=False, return_sequences=False, in_masks=None, rec_masks=None,
                zero_output_for_mask=False) -> RNNResult:
    """Keras' GRU: ``z, r = ra(x W_zr + b + h U_zr (+ b_rec))``; with ``reset_after``
    ``hh = a(x W_h + b_h + r * (h U_h + b_rec_h))``, else ``hh = a(x W_h + b_h + (r * h) U_h)``;
    ``h = z * h_prev + (1 - z) * hh``."""
    B, T = x.shape[:2]
    u = recurrent_kernel.shape[0]
    X = time_major(x, go_backwards)
    M = _mask_tm(mask, go_backwards, (B, T))
    Z = project(X, kernel, in_masks)                 # (T, B, 3u): pre-activations, then z, r, hh
    b_in, b_rec = _gru_biases(bias, reset_after)
    if b_in is not None:
        Z += b_in
    need_pre = activation.needs_input or recurrent_activation.needs_input
    P = np.empty_like(Z) if need_pre else None
    H = np.empty((T + 1, B, u), dtype=x.dtype)
    H[0] = _check_state(initial_state, B, u, x.dtype, "h")
    # reset_after: the recurrent h block (h U_h + b); otherwise r * h (the input of U_h)
    RH = np.empty((T, B, u), dtype=x.dtype)
    outs = _MaskedOutputs(T, B, u, x.dtype, zero_output_for_mask) if M is not None else None
    rec = np.empty((B, 3 * u), dtype=x.dtype)
    rec_zr = np.empty((B, 2 * u), dtype=x.dtype)
    hc = np.empty((B, u), dtype=x.dtype)
    ra, act = recurrent_activation.apply, activation.apply
    U_zr, U_h = recurrent_kernel[:, :2 * u], recurrent_kernel[:, 2 * u:]
    masks_zr, mask_h = _gru_rec_masks(rec_masks)
    for s in range(T):
        z = Z[s]
        hp = H[s]
        if reset_after:
            project(hp, recurrent_kernel, rec_masks, out=rec)
            if b_rec is not None:
                rec += b_rec
            z[:, :2 * u] += rec[:, :2 * u]
            RH[s] = rec[:, 2 * u:]
        else:
            project(hp, U_zr, masks_zr, out=rec_zr)
            z[:, :2 * u] += rec_zr
        if P is not None:
            P[s, :, :2 * u] = z[:, :2 * u]
        ra(z[:, :2 * u])
        zg, r, hh = z[:, :u], z[:, u:2 * u], z[:, 2 * u:]
        if reset_after:
            hh += r * RH[s]
        else:
            np.multiply(r, hp if mask_h is None else hp * mask_h, out=RH[s])
            hh += RH[s] @ U_h
        if P is not None:
            P[s, :, 2 * u:] = hh
        act(hh)
        # h = hh + z * (h_prev - hh)
        np.subtract(hp, hh, out=hc)
        hc *= zg
        hc += hh
        if M is None:
            H[s + 1] = hc
        else:
            m = M[s]
            outs.step(s, m, hc)
            np.copyto(H[s + 1], hp)
            np.copyto(H[s + 1], hc, where=m)
    O = H[1:] if M is None else outs.O
    ctx = dict(X=X, M=M, Z=Z, P=P, H=H, RH=RH, go_backwards=go_backwards, reset_after=reset_after,
               return_sequences=return_sequences, in_masks=in_masks, rec_masks=rec_masks,
               zero_output=zero_output_for_mask)
    return RNNResult(_outputs(O, return_sequences), [H[T].copy()], ctx)


def _gru_rec_masks(rec_masks):
    """The recurrent dropout masks of the z, r blocks and of the h block."""
    if rec_masks is None:
        return None, None
    return (rec_masks if rec_masks.shape[0] == 1 else rec_masks[:2]), rec_masks[-1]


def _gru_biases(bias, reset_after):
    if bias is None:
        return None, None
    if reset_after:
        return bias[0], bias[1]
    return bias, None


@blas.in_single_thread
def gru_backward(ctx, kernel, recurrent_kernel, bias, dy, d_states, *, activation: StepActivation,
                 recurrent_activation: StepActivation, need_dx=True):
    """``(dx, [dh0], dkernel, drecurrent, dbias)``."""
    X, M, Z, H, RH = ctx["X"], ctx["M"], ctx["Z"], ctx["H"], ctx["RH"]
    reset_after = ctx["reset_after"]
    T, B, u3 = Z.shape
    u = u3 // 3
    dt = Z.dtype
    dO = _output_grads(_d_outputs(dy, T, B, u, dt, ctx["return_sequences"]), M, ctx["zero_output"])
    P = ctx["P"]
    D = np.empty_like(Z)
    D[..., :2 * u] = recurrent_activation.grad(Z[..., :2 * u], None if P is None else P[..., :2 * u])
    D[..., 2 * u:] = activation.grad(Z[..., 2 * u:], None if P is None else P[..., 2 * u:])
    dZ = np.empty_like(Z)                             # d pre-activations, input side
    dR = np.empty_like(Z) if reset_after else None    # d of the recurrent projection (h block differs)
    dh = np.zeros((B, u), dtype=dt) if d_states[0] is None else np.array(d_states[0], dtype=dt)
    rec_masks = ctx["rec_masks"]
    U_zr, U_h = recurrent_kernel[:, :2 * u], recurrent_kernel[:, 2 * u:]
    masks_zr, mask_h = _gru_rec_masks(rec_masks)
    g_h = np.empty((B, u), dtype=dt)
    for s in range(T - 1, -1, -1):
        z = Z[s]
        zg, r, hh = z[:, :u], z[:, u:2 * u], z[:, 2 * u:]
        hp = H[s]
        dz = dZ[s]
        if M is None:
            np.add(dh, dO[s], out=g_h) if dO is not None else np.copyto(g_h, dh)
        else:
            m = M[s]
            np.multiply(dh, m, out=g_h)
            if dO is not None:
                g_h += dO[s]
        # h = z * hp + (1 - z) * hh
        np.subtract(hp, hh, out=dz[:, :u])
        dz[:, :u] *= g_h
        np.subtract(g_h, g_h * zg, out=dz[:, 2 * u:])     # d hh
        dz[:, 2 * u:] *= D[s, :, 2 * u:]                   # d pre-activation of hh
        dpre = dz[:, 2 * u:]
        back = g_h * zg
        if reset_after:
            np.multiply(dpre, RH[s], out=dz[:, u:2 * u])
            dz[:, :2 * u] *= D[s, :, :2 * u]
            dr = dR[s]
            dr[:, :2 * u] = dz[:, :2 * u]
            np.multiply(dpre, r, out=dr[:, 2 * u:])
            rb, _ = _rec_back(dr, recurrent_kernel, rec_masks)
            back += rb
        else:
            drh = dpre @ U_h.T
            hm = hp if mask_h is None else hp * mask_h
            np.multiply(drh, hm, out=dz[:, u:2 * u])
            dz[:, :2 * u] *= D[s, :, :2 * u]
            drh *= r
            back += drh if mask_h is None else drh * mask_h
            rb, _ = _rec_back(dz[:, :2 * u], U_zr, masks_zr)
            back += rb
        if M is None:
            dh = back
        else:
            dh = np.where(m, back, dh + back)
    dX, dker = project_backward(X, kernel, ctx["in_masks"], dZ, need_da=need_dx)
    if reset_after:
        _, drec = project_backward(H[:-1], recurrent_kernel, rec_masks, dR, need_da=False)
    else:
        drec = np.empty_like(recurrent_kernel)
        _, drec[:, :2 * u] = project_backward(H[:-1], U_zr, masks_zr, dZ[..., :2 * u], need_da=False)
        drec[:, 2 * u:] = blas.matmul(RH.reshape(-1, u).T, np.ascontiguousarray(dZ[..., 2 * u:]).reshape(-1, u))
    dbias = None
    if bias is not None:
        din = dZ.sum(axis=(0, 1))
        dbias = np.stack([din, dR.sum(axis=(0, 1))]) if reset_after else din
    dx = batch_major(dX, ctx["go_backwards"]) if need_dx else None
    return dx, [dh], dker, drec, dbias
