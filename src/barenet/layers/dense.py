"""The fully connected layer."""

from __future__ import annotations

import numpy as np

from barenet import backend, initializers, parallel
from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, shape_mismatch


def _positive_int(value, what: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{layer}: {what} must be a positive integer, got {value!r}")
    return int(value)


class Dense(Layer):
    """Y = X·W + b.

    Backward (the design's formulas)::

        dC/dW = Xᵀ · dC/dY        (in, out)
        dC/db = Σ_rows dC/dY      (out,)
        dC/dX = dC/dY · Wᵀ        (N, in)

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        init: initializer of ``W`` ("he", "glorot_uniform", ... see ``barenet.initializers``).
        bias_init: initializer of ``b`` (zeros by default).

    Input shape ``(N, in_features)``; output shape ``(N, out_features)``.

    A NaN or infinity in a row of X makes every value of that row of Y NaN or infinite
    (``spreads_non_finite``): each is a sum over the whole row, and NaN·w, ±inf·0 = NaN and
    ±inf·w = ±inf stay NaN or infinite through any sum.
    """

    output_is_scratch = True
    spreads_non_finite = True

    def __init__(self, in_features: int, out_features: int, init="he", bias_init="zeros"):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features", "Dense")
        self.out_features = _positive_int(out_features, "out_features", "Dense")
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)

    def input_shape_hint(self) -> Shape:
        return (self.in_features,)

    def output_shape(self, input_shape: Shape) -> Shape:
        if tuple(input_shape) != (self.in_features,):
            raise shape_mismatch(self, f"({self.in_features},)", input_shape)
        return (self.out_features,)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {"W": (self.in_features, self.out_features), "b": (self.out_features,)}

    def build(self, input_shape: Shape, rng, dtype=np.float32) -> None:
        fans = (self.in_features, self.out_features)
        shapes = self.variable_shapes(input_shape)
        self.load_variables({
            "W": self.init(shapes["W"], *fans, rng, dtype),
            "b": self.bias_init(shapes["b"], *fans, rng, dtype),
        })

    def forward(self, x, training: bool = False):
        self._x = x
        y = parallel.matmul(x, self.params["W"])
        y += self.params["b"]
        return y

    def forward_deferring_bias(self, x, bias=None):
        """Inference on X + ``bias`` (a row vector that X still lacks, or None), leaving this
        layer's bias to the next layer: (X·W, c·W + b), since (X + c)·W + b = X·W + (c·W + b)."""
        w = self.params["W"]
        y = parallel.matmul(x, w)
        return y, self.params["b"] if bias is None else bias @ w + self.params["b"]

    def backward(self, grad_out):
        parallel.matmul(self._x.T, grad_out, out=self.grads["W"])
        backend.column_sums(grad_out, out=self.grads["b"])
        if not self.input_grad_needed:
            return None
        return parallel.matmul(grad_out, self.params["W"].T)

    def get_config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "init": initializers.name_of(self.init),
            "bias_init": initializers.name_of(self.bias_init),
        }

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, init={initializers.name_of(self.init)}"
