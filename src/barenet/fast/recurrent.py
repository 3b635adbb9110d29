"""The kernel for ``LSTM`` (reference: ``layers/recurrent.py``).

The reference makes a few dozen small arrays per time step, and takes each gate as a block of
columns of an (N, 4H) array: a strided view, which NumPy walks one row at a time.  This
kernel works on the transposes instead, features by samples: a step's gates are one (4H, N)
array, ``W_hᵀ·h_{t-1}ᵀ``, in which every gate is a contiguous (H, N) block, so each
element-wise operation is one pass over contiguous memory.  Every step's gates, states and
cells live in arrays made once ((T, ·, N)) and are written in place, forward and backward.
The gate rows run [i f o g] instead of [i f g o], so the three sigmoids are one block; W and
b are permuted on the way in, their gradients on the way out.
"""

from __future__ import annotations

import numpy as np

from barenet.fast.kernel import Kernel


def _sigmoid_in_place(a) -> None:
    """a ← σ(a) = ½(1 + tanh(a/2))."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1
    a *= 0.5


def _steps_product(a, b):
    """Σ_t a[t]·b[t]ᵀ for a (T, P, N) and b (T, Q, N): (P, Q), as one product over the T·N
    columns."""
    return np.tensordot(a, b, axes=([0, 2], [0, 2]))


class LSTMKernel(Kernel):
    def _order(self, units: int) -> np.ndarray:
        """Columns [i f g o] -> [i f o g]."""
        blocks = np.arange(4 * units).reshape(4, units)
        return blocks[[0, 1, 3, 2]].reshape(-1)

    def forward(self, x, training: bool):
        layer = self.layer
        if not layer.built:
            layer.build(x.shape[1:], dtype=x.dtype)
        n, steps, _ = x.shape
        u = layer.units
        order = self._order(u)
        w_h = layer.params["W_h"][:, order]  # (H, 4H)
        bias = (layer.params["b_x"] + layer.params["b_h"])[order]
        x_t = np.ascontiguousarray(x.transpose(1, 2, 0))  # (T, F, N)
        # (T, 4H, N): the input's share of every step, then the activated gates
        gates = np.matmul(np.ascontiguousarray(layer.params["W_x"][:, order].T), x_t)
        gates += bias[:, None]
        h = np.zeros((steps + 1, u, n), dtype=x.dtype)  # h[t] = h_{t-1}ᵀ
        c = np.zeros((steps + 1, u, n), dtype=x.dtype)
        tanh_c = np.empty((steps, u, n), dtype=x.dtype)
        recurrent = np.empty((4 * u, n), dtype=x.dtype)
        ig = np.empty((u, n), dtype=x.dtype)
        w_h_t = np.ascontiguousarray(w_h.T)
        for t in range(steps):
            a = gates[t]
            np.matmul(w_h_t, h[t], out=recurrent)
            a += recurrent
            _sigmoid_in_place(a[: 3 * u])
            np.tanh(a[3 * u :], out=a[3 * u :])
            i, f, o, g = a[:u], a[u : 2 * u], a[2 * u : 3 * u], a[3 * u :]
            np.multiply(f, c[t], out=c[t + 1])
            np.multiply(i, g, out=ig)
            c[t + 1] += ig
            np.tanh(c[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=h[t + 1])
        self.x_t, self.w_h, self.order = x_t, w_h, order
        self.gates, self.h, self.c, self.tanh_c = gates, h, c, tanh_c
        if layer.return_sequences:
            return np.ascontiguousarray(h[1:].transpose(2, 0, 1))
        return np.ascontiguousarray(h[steps].T)

    def backward(self, grad, input_grad: bool = True):
        layer, u = self.layer, self.layer.units
        steps, _, n = self.tanh_c.shape
        gates, c, tanh_c, w_h = self.gates, self.c, self.tanh_c, self.w_h
        d_a = np.empty_like(gates)  # (T, 4H, N), rows in [i f o g] order
        d_h = np.zeros((u, n), dtype=grad.dtype)
        d_c = np.zeros((u, n), dtype=grad.dtype)
        tmp = np.empty((u, n), dtype=grad.dtype)
        slope = np.empty((3 * u, n), dtype=grad.dtype)
        for t in reversed(range(steps)):
            if layer.return_sequences:
                d_h += grad[:, t].T
            elif t == steps - 1:
                d_h += grad.T
            a, da = gates[t], d_a[t]
            i, f, o, g = a[:u], a[u : 2 * u], a[2 * u : 3 * u], a[3 * u :]
            d_i, d_f, d_o, d_g = da[:u], da[u : 2 * u], da[2 * u : 3 * u], da[3 * u :]
            # dc += dh ⊙ o ⊙ (1 - tanh²c);  do = dh ⊙ tanh c
            np.multiply(tanh_c[t], tanh_c[t], out=tmp)
            np.subtract(1, tmp, out=tmp)
            tmp *= o
            tmp *= d_h
            d_c += tmp
            np.multiply(d_h, tanh_c[t], out=d_o)
            np.multiply(d_c, g, out=d_i)       # then ⊙ σ' below
            np.multiply(d_c, c[t], out=d_f)
            np.multiply(d_c, i, out=d_g)
            np.subtract(1, a[: 3 * u], out=slope)
            slope *= a[: 3 * u]
            da[: 3 * u] *= slope                # σ' = σ(1 - σ)
            np.multiply(g, g, out=tmp)
            np.subtract(1, tmp, out=tmp)
            d_g *= tmp                          # tanh' = 1 - g²
            d_c *= f                            # to c_{t-1}
            np.matmul(w_h, da, out=d_h)         # to h_{t-1}
        inverse = np.argsort(self.order)
        d_b = d_a.sum(axis=(0, 2))[inverse]
        layer.grads = {"W_x": _steps_product(d_a, self.x_t).T[:, inverse],
                       "W_h": _steps_product(d_a, self.h[:-1]).T[:, inverse],
                       "b_x": d_b, "b_h": d_b.copy()}
        if not input_grad:
            return None
        w_x = layer.params["W_x"][:, self.order]  # (F, 4H)
        return np.matmul(w_x, d_a).transpose(2, 0, 1)  # (T, F, N) -> (N, T, F)
