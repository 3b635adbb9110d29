"""The fully connected layer."""

from __future__ import annotations

from barenet import initializers
from barenet.layers.base import Layer, Shape, positive_int, shape_mismatch


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
        seed: where the initial weights come from: an integer, a ``numpy.random.Generator``,
            or None for barenet's default generator (``barenet.seed``).

    The weights exist as soon as the layer is made.  Input shape ``(N, in_features)``; output
    shape ``(N, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int, *, init="he", bias_init="zeros",
                 seed=None):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Dense")
        self.out_features = positive_int(out_features, "out_features", "Dense")
        self.init = initializers.get(init)
        self.bias_init = initializers.get(bias_init)
        self.build((self.in_features,), seed)

    def input_shape_hint(self) -> Shape:
        return (self.in_features,)

    def output_shape(self, input_shape: Shape) -> Shape:
        if tuple(input_shape) != (self.in_features,):
            raise shape_mismatch(self, f"({self.in_features},)", input_shape)
        return (self.out_features,)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        return {"W": (self.in_features, self.out_features), "b": (self.out_features,)}

    def initialize(self, input_shape: Shape, rng, dtype) -> None:
        fans = (self.in_features, self.out_features)
        shapes = self.variable_shapes(input_shape)
        self.set_variables({"W": self.init(shapes["W"], *fans, rng, dtype),
                            "b": self.bias_init(shapes["b"], *fans, rng, dtype)})

    def forward(self, x, training: bool = False):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, grad_out):
        self.grads["W"] = self.x.T @ grad_out
        self.grads["b"] = grad_out.sum(axis=0)
        return grad_out @ self.params["W"].T

    def get_config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "init": initializers.name_of(self.init),
            "bias_init": initializers.name_of(self.bias_init),
        }

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, init={initializers.name_of(self.init)}"
