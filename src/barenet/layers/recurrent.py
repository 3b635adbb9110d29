"""Recurrent layers: SimpleRNN, LSTM and GRU, trained by back-propagation through time.

A recurrent layer reads a sequence x₁ … x_T (input (N, T, F), batch first) and carries a state
h_t (N, H) from step to step, starting from zeros.  Its gates are G blocks of H units computed
from two products, one with the input and one with the state::

    A_t = x_t·W_x + b_x   and   h_{t-1}·W_h + b_h        W_x (F, G·H), W_h (H, G·H)

The input's products for all T steps are one matrix product before the loop; only the
recurrent part runs step by step.  The output is h_T (N, H), or every h_t (N, T, H) with
``return_sequences=True`` (to feed another recurrent layer).

Back-propagation through time walks the steps backwards.  The gradient reaching h_t gathers
what the output sends it (dC/dY at step t, or at the last step only) and what step t + 1
sends back through W_h.  The gates' gradients of all steps, stacked, then give dC/dW_x,
dC/dW_h, dC/db and dC/dX in one product each (dC/dW_h = Σ_t h_{t-1}ᵀ·dA_t).  The cost in
memory is every step's gates and states: T·N·(G + 2)·H values kept for the backward pass.

PyTorch's ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` use the same gates in the same order:
``weight_ih_l0`` is W_xᵀ, ``weight_hh_l0`` W_hᵀ, ``bias_ih_l0`` b_x and ``bias_hh_l0`` b_h.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from barenet import initializers
from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, positive_int, shape_mismatch


def sigmoid(a):
    """1 / (1 + e^-a), as ½(1 + tanh(a/2)): the same function, and it never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * a))


class Recurrent(Layer):
    """What SimpleRNN, LSTM and GRU share: shapes, parameters and the loops over time.

    Args:
        units: H, the size of the state.
        return_sequences: output every step's state (N, T, H) instead of the last (N, H).
        init: initializer of W_x (Glorot uniform); ``recurrent_init`` of W_h (orthogonal);
            the biases start at zero.

    The parameters' shapes depend on the input's F: ``compile`` (or the first ``forward``)
    makes them.
    """

    gates: ClassVar[int] = 1

    def __init__(self, units: int, *, return_sequences: bool = False, init="glorot_uniform",
                 recurrent_init="orthogonal"):
        super().__init__()
        name = type(self).__name__
        self.units = positive_int(units, "units", name)
        if not isinstance(return_sequences, bool):
            raise ConfigError(f"{name}: return_sequences must be True or False, got "
                              f"{return_sequences!r}")
        self.return_sequences = return_sequences
        self.init = initializers.get(init)
        self.recurrent_init = initializers.get(recurrent_init)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2:
            raise shape_mismatch(self, "(T, F): T steps of F features (reshape images to "
                                 "(rows, columns) with Reshape((28, 28)))", input_shape)
        return (input_shape[0], self.units) if self.return_sequences else (self.units,)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        width = self.gates * self.units
        return {"W_x": (input_shape[-1], width), "W_h": (self.units, width),
                "b_x": (width,), "b_h": (width,)}

    def initialize(self, input_shape: Shape, rng, dtype) -> None:
        shapes = self.variable_shapes(input_shape)
        f, width = shapes["W_x"]
        self.set_variables({
            "W_x": self.init(shapes["W_x"], f, width, rng, dtype),
            "W_h": self.recurrent_init(shapes["W_h"], self.units, width, rng, dtype),
            "b_x": np.zeros(width, dtype), "b_h": self.bias_h(width, dtype)})

    def bias_h(self, width: int, dtype):
        return np.zeros(width, dtype)

    def forward(self, x, training: bool = False):
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype)
        n, steps, _ = x.shape
        a_x = x @ self.params["W_x"] + self.params["b_x"]  # (N, T, G·H): every step at once
        h = np.zeros((n, self.units), dtype=x.dtype)
        self.cache, states = [], [h]
        for t in range(steps):
            h, kept = self.step(a_x[:, t], h)
            self.cache.append(kept)
            states.append(h)
        self.x, self.h_prev = x, np.stack(states[:-1], axis=1)  # h_{t-1} for every step
        return np.stack(states[1:], axis=1) if self.return_sequences else h

    def backward(self, grad_out):
        n, steps, _ = self.x.shape
        w_h = self.params["W_h"]
        d_a_x = np.empty((n, steps, self.gates * self.units), dtype=grad_out.dtype)
        d_a_h = np.empty_like(d_a_x)
        d_h = np.zeros((n, self.units), dtype=grad_out.dtype)  # what step t + 1 sends back
        for t in reversed(range(steps)):
            if self.return_sequences:
                d_h = d_h + grad_out[:, t]
            elif t == steps - 1:
                d_h = d_h + grad_out
            d_a_x[:, t], d_a_h[:, t], d_h_direct = self.step_backward(d_h, self.cache[t])
            d_h = d_a_h[:, t] @ w_h.T + d_h_direct  # dC/dh_{t-1}
        # Every step's share of the parameters' gradients, summed in one product each.
        d_a_x, d_a_h = d_a_x.reshape(n * steps, -1), d_a_h.reshape(n * steps, -1)
        self.grads = {"W_x": self.x.reshape(n * steps, -1).T @ d_a_x,
                      "W_h": self.h_prev.reshape(n * steps, -1).T @ d_a_h,
                      "b_x": d_a_x.sum(axis=0), "b_h": d_a_h.sum(axis=0)}
        return (d_a_x @ self.params["W_x"].T).reshape(self.x.shape)

    def get_config(self) -> dict:
        return {"units": self.units, "return_sequences": self.return_sequences,
                "init": initializers.name_of(self.init),
                "recurrent_init": initializers.name_of(self.recurrent_init)}

    def extra_repr(self) -> str:
        return f"{self.units}" + (", return_sequences=True" if self.return_sequences else "")


class SimpleRNN(Recurrent):
    """h_t = f(x_t·W_x + b_x + h_{t-1}·W_h + b_h), f = tanh (or "relu").

    Backward through step t, with dh = dC/dh_t and a_t the sum inside f::

        da_t = dh ⊙ f'(a_t)        dC/dW_h += h_{t-1}ᵀ·da_t      dC/dh_{t-1} = da_t·W_hᵀ
    """

    def __init__(self, units: int, activation: str = "tanh", **options):
        super().__init__(units, **options)
        if activation not in ("tanh", "relu"):
            raise ConfigError(f"SimpleRNN: activation must be 'tanh' or 'relu', got {activation!r}")
        self.activation = activation

    def step(self, a_x, h):
        a = a_x + h @ self.params["W_h"] + self.params["b_h"]
        h_new = np.tanh(a) if self.activation == "tanh" else np.maximum(a, 0)
        return h_new, h_new

    def step_backward(self, d_h, kept):
        """(dC/dA_t for the input's product, the same for the state's, and what reaches
        h_{t-1} directly; the state's product sends it the rest)."""
        h = kept
        d_a = d_h * (1 - h * h) if self.activation == "tanh" else d_h * (h > 0)
        return d_a, d_a, 0

    def get_config(self) -> dict:
        return {**super().get_config(), "activation": self.activation}


class LSTM(Recurrent):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), gates in PyTorch's order:

        [i f g o] = x_t·W_x + b_x + h_{t-1}·W_h + b_h      (N, 4H)
        i, f, o = σ(·), g = tanh(·)                          input, forget, cell, output
        c_t = f ⊙ c_{t-1} + i ⊙ g,    h_t = o ⊙ tanh(c_t)

    Backward through step t, with dh = dC/dh_t and dc the gradient reaching c_t from step
    t + 1 (dc_{t+1} ⊙ f_{t+1})::

        do = dh ⊙ tanh(c_t)          dc += dh ⊙ o ⊙ (1 - tanh²(c_t))
        di = dc ⊙ g    dg = dc ⊙ i    df = dc ⊙ c_{t-1}    dc_{t-1} = dc ⊙ f
        the pre-activations: di·i(1 - i), df·f(1 - f), dg·(1 - g²), do·o(1 - o)

    ``forget_bias=1.0`` starts b_h's forget block at 1, so the cell remembers at first
    (Jozefowicz et al., 2015); the default 0 is PyTorch's.
    """

    gates = 4

    def __init__(self, units: int, *, forget_bias: float = 0.0, **options):
        super().__init__(units, **options)
        self.forget_bias = float(forget_bias)

    def bias_h(self, width: int, dtype):
        b = np.zeros(width, dtype)
        b[self.units : 2 * self.units] = self.forget_bias
        return b

    def forward(self, x, training: bool = False):
        self.c = np.zeros((len(x), self.units), dtype=x.dtype)
        return super().forward(x, training)

    def step(self, a_x, h):
        u = self.units
        a = a_x + h @ self.params["W_h"] + self.params["b_h"]
        gates = sigmoid(a)  # one call for all blocks: i, f and o are taken from it
        i, f, o = gates[:, :u], gates[:, u : 2 * u], gates[:, 3 * u :]
        g = np.tanh(a[:, 2 * u : 3 * u])
        c_prev = self.c
        self.c = f * c_prev + i * g
        tanh_c = np.tanh(self.c)
        return o * tanh_c, (c_prev, i, f, g, o, tanh_c)

    def backward(self, grad_out):
        self.d_c = 0.0
        return super().backward(grad_out)

    def step_backward(self, d_h, kept):
        c_prev, i, f, g, o, tanh_c = kept
        d_o = d_h * tanh_c
        d_c = self.d_c + d_h * o * (1 - tanh_c * tanh_c)
        self.d_c = d_c * f
        d_a = np.concatenate([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f),
                              d_c * i * (1 - g * g), d_o * o * (1 - o)], axis=1)
        return d_a, d_a, 0

    def get_config(self) -> dict:
        return {**super().get_config(), "forget_bias": self.forget_bias}


class GRU(Recurrent):
    """Gated recurrent unit (Cho et al., 2014), gates in PyTorch's order, the reset gate
    applied after the recurrent product:

        [r z n]_x = x_t·W_x + b_x,   [r z n]_h = h_{t-1}·W_h + b_h
        r = σ(r_x + r_h),   z = σ(z_x + z_h),   n = tanh(n_x + r ⊙ n_h)
        h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}

    Backward through step t, with dh = dC/dh_t::

        dn = dh ⊙ (1 - z)      dz = dh ⊙ (h_{t-1} - n)      dh_{t-1} = dh ⊙ z + (…)·W_hᵀ
        da_n = dn ⊙ (1 - n²)   dr = da_n ⊙ n_h
        for the input: [dr·r(1 - r), dz·z(1 - z), da_n];  for the state: the same with da_n ⊙ r
    """

    gates = 3

    def step(self, a_x, h):
        u = self.units
        a_h = h @ self.params["W_h"] + self.params["b_h"]
        r = sigmoid(a_x[:, :u] + a_h[:, :u])
        z = sigmoid(a_x[:, u : 2 * u] + a_h[:, u : 2 * u])
        n_h = a_h[:, 2 * u :]
        n = np.tanh(a_x[:, 2 * u :] + r * n_h)
        return (1 - z) * n + z * h, (h, r, z, n, n_h)

    def step_backward(self, d_h, kept):
        h_prev, r, z, n, n_h = kept
        d_an = d_h * (1 - z) * (1 - n * n)
        d_ar = d_an * n_h * r * (1 - r)
        d_az = d_h * (h_prev - n) * z * (1 - z)
        return (np.concatenate([d_ar, d_az, d_an], axis=1),
                np.concatenate([d_ar, d_az, d_an * r], axis=1), d_h * z)
