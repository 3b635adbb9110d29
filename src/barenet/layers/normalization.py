"""Batch normalisation."""

from __future__ import annotations

import numpy as np

from barenet import backend
from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, shape_mismatch


class BatchNorm(Layer):
    """Normalise each feature over the batch, then scale and shift (Ioffe and Szegedy, 2015).

    For dense inputs (N, F) the statistics are over N; for images (N, C, H, W) over N, H and W
    of each channel, so γ, β and the running statistics have one entry per feature/channel::

        x̂ = (x - μ) / √(σ² + ε),   y = γ·x̂ + β

    Training uses the batch's μ and σ² and updates running averages (momentum m):
    running ← (1 - m)·running + m·batch, with the unbiased variance, as PyTorch does.
    Evaluation uses the running statistics (then dC/dx = dC/dy·γ/√(σ² + ε)).  Backward in
    training, over the M values of a feature::

        dC/dγ = Σ dC/dy·x̂      dC/dβ = Σ dC/dy
        dC/dx = γ/(M·√(σ² + ε)) · (M·dC/dy - Σ dC/dy - x̂·Σ dC/dy·x̂)
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        if not 0 < momentum <= 1:
            raise ConfigError(f"BatchNorm: momentum must be in (0, 1], got {momentum!r}")
        if not eps > 0:
            raise ConfigError(f"BatchNorm: eps must be positive, got {eps!r}")
        self.momentum, self.eps = float(momentum), float(eps)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) not in (1, 3):
            raise shape_mismatch(self, "(F,) or (C, H, W)", input_shape)
        return tuple(input_shape)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        f = (input_shape[0],)
        return {"gamma": f, "beta": f, "running_mean": f, "running_var": f}

    def build(self, input_shape: Shape, rng, dtype=np.float32) -> None:
        xp, f = backend.xp, input_shape[0]
        self.load_variables({"gamma": xp.ones(f, dtype), "beta": xp.zeros(f, dtype),
                             "running_mean": xp.zeros(f, dtype), "running_var": xp.ones(f, dtype)})

    @staticmethod
    def _axes_and_view(x):
        """Axes to reduce over, and the shape that broadcasts a per-feature vector onto x."""
        if x.ndim == 4:
            return (0, 2, 3), (1, -1, 1, 1)
        return (0,), (1, -1)

    def forward(self, x, training: bool = False):
        xp = backend.xp
        axes, view = self._axes_and_view(x)
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            count = x.size // mean.size
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (count / max(count - 1, 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1 / xp.sqrt(var + self.eps)
        self._xhat = (x - mean.reshape(view)) * inv_std.reshape(view)
        self._inv_std, self._training = inv_std, training
        return self._xhat * self.params["gamma"].reshape(view) + self.params["beta"].reshape(view)

    def backward(self, grad_out):
        axes, view = self._axes_and_view(grad_out)
        xhat = self._xhat
        self.grads["gamma"][...] = (grad_out * xhat).sum(axis=axes)
        self.grads["beta"][...] = grad_out.sum(axis=axes)
        if not self._training:  # fixed statistics: x̂ is an affine function of x alone
            return grad_out * (self.params["gamma"] * self._inv_std).reshape(view)
        count = grad_out.size // self.grads["beta"].size
        scale = (self.params["gamma"] * self._inv_std / count).reshape(view)
        return scale * (count * grad_out - self.grads["beta"].reshape(view)
                        - xhat * self.grads["gamma"].reshape(view))

    def get_config(self) -> dict:
        return {"momentum": self.momentum, "eps": self.eps}
