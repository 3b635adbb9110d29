"""Layers that only change the shape of each sample."""

from __future__ import annotations

import math

from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, shape_mismatch


class Flatten(Layer):
    """(N, d₁, d₂, ...) -> (N, d₁·d₂·...);  dC/dX is dC/dY reshaped back."""

    def output_shape(self, input_shape: Shape) -> Shape:
        return (math.prod(input_shape),)

    def forward(self, x, training: bool = False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out):
        return grad_out.reshape(self._shape)


class Reshape(Layer):
    """(N, *any) -> (N, *shape), for inputs holding prod(shape) values per sample.

    ``Reshape((1, 28, 28))`` lets a convolutional network take (N, 784) or (N, 28, 28) images.
    """

    def __init__(self, shape):
        super().__init__()
        try:
            self.shape = tuple(int(d) for d in shape)
        except (TypeError, ValueError):
            raise ConfigError(f"Reshape: shape must be a tuple of integers, got {shape!r}") from None
        if not self.shape or any(d < 1 for d in self.shape):
            raise ConfigError(f"Reshape: every dimension must be positive, got {shape!r}")

    def input_shape_hint(self) -> Shape:
        return (math.prod(self.shape),)

    def output_shape(self, input_shape: Shape) -> Shape:
        if math.prod(input_shape) != math.prod(self.shape):
            raise shape_mismatch(self, f"with {math.prod(self.shape)} values", input_shape)
        return self.shape

    def forward(self, x, training: bool = False):
        self._shape = x.shape
        return x.reshape((x.shape[0], *self.shape))

    def backward(self, grad_out):
        return grad_out.reshape(self._shape)

    def get_config(self) -> dict:
        return {"shape": list(self.shape)}
