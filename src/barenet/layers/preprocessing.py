"""Layers that prepare raw inputs."""

from __future__ import annotations

from barenet.errors import ConfigError
from barenet.layers.base import Layer


class Rescale(Layer):
    """Y = X·scale + offset: for example, standardise MNIST pixels in [0, 1] with
    ``Rescale(1 / 0.3081, -0.1307 / 0.3081)``.  dC/dX = dC/dY · scale."""

    def __init__(self, scale: float = 1.0, offset: float = 0.0):
        super().__init__()
        if not scale:
            raise ConfigError("Rescale: scale must be non-zero")
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x, training: bool = False):
        return x * x.dtype.type(self.scale) + x.dtype.type(self.offset)

    def backward(self, grad_out):
        return grad_out * grad_out.dtype.type(self.scale)

    def get_config(self) -> dict:
        return {"scale": self.scale, "offset": self.offset}
