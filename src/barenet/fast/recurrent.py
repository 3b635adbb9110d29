"""The kernel for ``LSTM`` (reference: ``layers/recurrent.py``).

The reference makes a few dozen small arrays per time step, and takes each gate as a block of
columns of an (N, 4H) array: a strided view, which NumPy walks one row at a time.  This
kernel works on the transposes instead, features by samples: a step's gates are one (4H, N)
array in which every gate is a contiguous (H, N) block, so each element-wise operation is one
pass over contiguous memory.  Every step's gates and cells live in arrays made once
((T, ·, N)) and are written in place; a prediction, with no backward pass to serve, keeps the
current step's only.  Changes of form, none of value:

* one product per step: the state, the input and a row of ones stacked as
  z_t = [h_{t-1}; x_t; 1] (H + F + 1, N), so that A_t = W·z_t with W = [W_hᵀ W_xᵀ b];
* the gate rows run [i f o g] instead of [i f g o], so the three sigmoids are one block; W is
  permuted on the way in, the gradients on the way out;
* the sigmoid rows of W are halved on the way in, so that σ(a) = ½(1 + tanh(a/2)) takes a/2
  straight from the product (halving is exact in floating point);
* backward, each step adds its share of dC/dW = Σ_t dA_t·z_tᵀ (dC/dW_h, dC/dW_x and dC/db at
  once) and of dC/dX while its gate gradients dA_t are still in the CPU cache, instead of
  keeping all T steps' in memory for products at the end.
"""

from __future__ import annotations

import numpy as np

from barenet.fast.kernel import Kernel


class LSTMKernel(Kernel):
    def forward(self, x, training: bool):
        layer = self.layer
        if not layer.built:
            layer.build(x.shape[1:], dtype=x.dtype)
        n, steps, features = x.shape
        u = layer.units
        order = np.arange(4 * u).reshape(4, u)[[0, 1, 3, 2]].reshape(-1)  # [i f g o] -> [i f o g]
        half = np.ones((4 * u, 1), dtype=x.dtype)
        half[: 3 * u] = 0.5
        params = layer.params
        # W = [W_hᵀ W_xᵀ b] (4H, H + F + 1), rows in [i f o g] order, sigmoid rows halved
        w = np.concatenate([params["W_h"].T, params["W_x"].T,
                            (params["b_x"] + params["b_h"])[:, None]], axis=1)[order] * half
        z = np.empty((steps, u + features + 1, n), dtype=x.dtype)  # z[t] = [h_{t-1}; x_t; 1]
        z[0, :u] = 0
        z[:, u:-1] = x.transpose(1, 2, 0)
        z[:, -1] = 1
        # every step's activated gates and cells, for backward; a prediction keeps one step's
        kept = steps if training else 1
        gates = np.empty((kept, 4 * u, n), dtype=x.dtype)
        c = np.zeros((kept + 1, u, n), dtype=x.dtype)  # c[t] = c_{t-1}ᵀ
        tanh_c = np.empty((kept, u, n), dtype=x.dtype)
        h_last = np.empty((u, n), dtype=x.dtype)
        ig = np.empty((u, n), dtype=x.dtype)
        for step in range(steps):
            t = step if training else 0
            a = gates[t]
            np.matmul(w, z[step], out=a)
            np.tanh(a, out=a)
            sig = a[: 3 * u]  # ½(1 + tanh(a/2)): a/2 came from the halved rows
            sig += 1
            sig *= 0.5
            i, f, o, g = a[:u], a[u : 2 * u], a[2 * u : 3 * u], a[3 * u :]
            np.multiply(f, c[t], out=c[t + 1])
            np.multiply(i, g, out=ig)
            c[t + 1] += ig
            np.tanh(c[t + 1], out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=z[step + 1, :u] if step + 1 < steps else h_last)
            if not training:
                c[0] = c[1]
        if training:  # what backward needs
            self.z, self.order = z, order
            self.gates, self.c, self.tanh_c = gates, c, tanh_c
        if not layer.return_sequences:
            return np.ascontiguousarray(h_last.T)
        out = np.empty((n, steps, u), dtype=x.dtype)
        out[:, :-1] = z[1:, :u].transpose(2, 0, 1)
        out[:, -1] = h_last.T
        return out

    def backward(self, grad, input_grad: bool = True):
        layer, u, order = self.layer, self.layer.units, self.order
        steps, _, n = self.tanh_c.shape
        gates, c, tanh_c, z = self.gates, self.c, self.tanh_c, self.z
        features = z.shape[1] - u - 1
        w_h = layer.params["W_h"][:, order]  # (H, 4H)
        if input_grad:
            w_x = layer.params["W_x"][:, order]  # (F, 4H)
            dx = np.empty((steps, features, n), dtype=grad.dtype)
        else:
            dx = None
        d_w = np.zeros((4 * u, z.shape[1]), dtype=grad.dtype)  # [dW_hᵀ dW_xᵀ db]
        share = np.empty_like(d_w)
        da = np.empty((4 * u, n), dtype=grad.dtype)  # rows in [i f o g] order
        d_i, d_f, d_o, d_g = da[:u], da[u : 2 * u], da[2 * u : 3 * u], da[3 * u :]
        d_h = np.zeros((u, n), dtype=grad.dtype)
        d_c = np.zeros((u, n), dtype=grad.dtype)
        tmp = np.empty((u, n), dtype=grad.dtype)
        slope = np.empty((3 * u, n), dtype=grad.dtype)
        for t in reversed(range(steps)):
            if layer.return_sequences:
                d_h += grad[:, t].T
            elif t == steps - 1:
                d_h += grad.T
            a = gates[t]
            i, f, o, g = a[:u], a[u : 2 * u], a[2 * u : 3 * u], a[3 * u :]
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
            np.matmul(da, z[t].T, out=share)    # dC/dW += dA_t·z_tᵀ
            d_w += share
            if dx is not None:
                np.matmul(w_x, da, out=dx[t])   # dC/dx_t = W_x·dA_t
            if t:
                np.matmul(w_h, da, out=d_h)     # to h_{t-1}
        d_w = d_w[np.argsort(order)].T
        d_b = np.ascontiguousarray(d_w[-1])
        layer.grads = {"W_x": np.ascontiguousarray(d_w[u:-1]),
                       "W_h": np.ascontiguousarray(d_w[:u]), "b_x": d_b, "b_h": d_b.copy()}
        return None if dx is None else dx.transpose(2, 0, 1)  # (T, F, N) -> (N, T, F)
