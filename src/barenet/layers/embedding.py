"""Embedding: integer tokens to learned vectors."""

from __future__ import annotations

import numpy as np

from barenet import initializers
from barenet.errors import DataError
from barenet.layers.base import Layer, Shape, positive_int


class Embedding(Layer):
    """Y[n, t] = W[X[n, t]]: row X[n, t] of the table W (vocab_size, dim).

    Input (N, T) integer tokens in [0, vocab_size) (given as integers or whole floats);
    output (N, T, dim).  Backward: each row of W gets the sum of the gradients of the
    positions that read it, a scatter-add::

        dC/dW[k] = Σ_{n,t: X[n,t] = k} dC/dY[n, t]

    Tokens are not differentiable: dC/dX is zero.

    Args:
        vocab_size, dim: the table's shape.
        init: initializer of W (N(0, 1), as PyTorch's ``nn.Embedding``).
        seed: where the initial table comes from (as for ``Dense``).
    """

    def __init__(self, vocab_size: int, dim: int, *, init=None, seed=None):
        super().__init__()
        self.vocab_size = positive_int(vocab_size, "vocab_size", "Embedding")
        self.dim = positive_int(dim, "dim", "Embedding")
        self.init = initializers.get(init) if init is not None else None
        self.build(None, seed)

    def output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape, self.dim)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {"W": (self.vocab_size, self.dim)}

    def initialize(self, input_shape: Shape, rng, dtype) -> None:
        shape = (self.vocab_size, self.dim)
        table = rng.normal(size=shape) if self.init is None else \
            self.init(shape, self.vocab_size, self.dim, rng, dtype)
        self.set_variables({"W": np.asarray(table, dtype)})

    def forward(self, x, training: bool = False):
        tokens = np.asarray(x).astype(np.int64)
        if (tokens != x).any() or tokens.min() < 0 or tokens.max() >= self.vocab_size:
            bad = x[(tokens != x) | (tokens < 0) | (tokens >= self.vocab_size)].flat[0]
            raise DataError(f"Embedding({self.vocab_size}, {self.dim}) was given the token "
                            f"{float(bad):g}; tokens are integers 0..{self.vocab_size - 1}")
        self.x, self.tokens = x, tokens
        return self.params["W"][tokens]

    def backward(self, grad_out):
        d_w = np.zeros_like(self.params["W"])
        np.add.at(d_w, self.tokens.reshape(-1), grad_out.reshape(-1, self.dim))
        self.grads["W"] = d_w
        return np.zeros(self.x.shape, dtype=grad_out.dtype)

    def get_config(self) -> dict:
        config = {"vocab_size": self.vocab_size, "dim": self.dim}
        if self.init is not None:
            config["init"] = initializers.name_of(self.init)
        return config

    def extra_repr(self) -> str:
        return f"{self.vocab_size}, {self.dim}"
