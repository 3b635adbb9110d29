"""The kernel for ``LSTM`` (reference: ``layers/recurrent.py``).

The reference makes a few dozen small arrays per time step.  This kernel lays every step's
values out in arrays made once, time-major ((T, N, ·): a step's block is contiguous), and
writes into them: the gates, states and cells of all steps in forward, their gradients in
backward.  Its gate columns run [i f o g] instead of [i f g o], so the three sigmoids are one
contiguous block; W and b are permuted on the way in, their gradients on the way out.
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
        w_x, w_h = layer.params["W_x"][:, order], layer.params["W_h"][:, order]
        bias = (layer.params["b_x"] + layer.params["b_h"])[order]
        x_t = np.ascontiguousarray(x.transpose(1, 0, 2))  # (T, N, F)
        gates = x_t @ w_x + bias  # (T, N, 4H): the input's share, then the activated gates
        h = np.zeros((steps + 1, n, u), dtype=x.dtype)  # h[t] = h_{t-1}
        c = np.zeros((steps + 1, n, u), dtype=x.dtype)
        tanh_c = np.empty((steps, n, u), dtype=x.dtype)
        recurrent = np.empty((n, 4 * u), dtype=x.dtype)
        ig = np.empty((n, u), dtype=x.dtype)
        for t in range(steps):
            a = gates[t]
            np.matmul(h[t], w_h, out=recurrent)
            a += recurrent
            _sigmoid_in_place(a[:, : 3 * u])
            np.tanh(a[:, 3 * u :], out=a[:, 3 * u :])
            i, f, o, g = a[:, :u], a[:, u : 2 * u], a[:, 2 * u : 3 * u], a[:, 3 * u :]
            np.multiply(f, c[t], out=c[t + 1])
            np.multiply(i, g, out=ig)
            c[t + 1] += ig
            np.tanh(c[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=h[t + 1])
        self.x_t, self.w_h, self.order = x_t, w_h, order
        self.gates, self.h, self.c, self.tanh_c = gates, h, c, tanh_c
        if layer.return_sequences:
            return h[1:].transpose(1, 0, 2)
        return h[steps].copy()

    def backward(self, grad, input_grad: bool = True):
        layer, u = self.layer, self.layer.units
        steps, n, _ = self.tanh_c.shape
        gates, c, tanh_c, w_h_t = self.gates, self.c, self.tanh_c, self.w_h.T
        d_a = np.empty_like(gates)  # (T, N, 4H) in [i f o g] order
        d_h = np.zeros((n, u), dtype=grad.dtype)
        d_c = np.zeros((n, u), dtype=grad.dtype)
        tmp = np.empty((n, u), dtype=grad.dtype)
        slope = np.empty((n, 3 * u), dtype=grad.dtype)
        for t in reversed(range(steps)):
            if layer.return_sequences:
                d_h += grad[:, t]
            elif t == steps - 1:
                d_h += grad
            a, da = gates[t], d_a[t]
            i, f, o, g = a[:, :u], a[:, u : 2 * u], a[:, 2 * u : 3 * u], a[:, 3 * u :]
            d_i, d_f, d_o, d_g = da[:, :u], da[:, u : 2 * u], da[:, 2 * u : 3 * u], da[:, 3 * u :]
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
            np.subtract(1, a[:, : 3 * u], out=slope)
            slope *= a[:, : 3 * u]
            da[:, : 3 * u] *= slope             # σ' = σ(1 - σ)
            np.multiply(g, g, out=tmp)
            np.subtract(1, tmp, out=tmp)
            d_g *= tmp                          # tanh' = 1 - g²
            d_c *= f                            # to c_{t-1}
            np.matmul(da, w_h_t, out=d_h)       # to h_{t-1}
        inverse = np.argsort(self.order)
        flat = d_a.reshape(steps * n, -1)
        rows = self.x_t.reshape(steps * n, -1)
        d_b = flat.sum(axis=0)[inverse]
        layer.grads = {"W_x": (rows.T @ flat)[:, inverse],
                       "W_h": (self.h[:-1].reshape(steps * n, -1).T @ flat)[:, inverse],
                       "b_x": d_b, "b_h": d_b.copy()}
        if not input_grad:
            return None
        w_x = layer.params["W_x"][:, self.order]
        return (d_a @ w_x.T).transpose(1, 0, 2)
