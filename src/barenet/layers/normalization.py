"""Batch normalisation."""

from __future__ import annotations

import numpy as np

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

    The parameters' shape comes from the input: they are made by ``build(input_shape)``
    (``compile`` calls it) or on the first ``forward``.

    Args (keyword-only):
        momentum: m, in (0, 1].
        eps: ε > 0.
    """

    buffer_names = ("running_mean", "running_var")

    def __init__(self, *, momentum: float = 0.1, eps: float = 1e-5):
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

    def initialize(self, input_shape: Shape, rng, dtype) -> None:
        f = input_shape[0]
        self.set_variables({"gamma": np.ones(f, dtype), "beta": np.zeros(f, dtype),
                            "running_mean": np.zeros(f, dtype), "running_var": np.ones(f, dtype)})

    def forward(self, x, training: bool = False):
        if not self.built:
            self.build(x.shape[1:], dtype=x.dtype)
        # Statistics over every axis but the feature (channel) axis 1.
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1, 1)
        if training:
            mean, var = x.mean(axis=axes), x.var(axis=axes)
            m, count = self.momentum, x.size // x.shape[1]
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (count / max(count - 1, 1))
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        self.inv_std = (1 / np.sqrt(var + self.eps)).reshape(shape)
        self.xhat = (x - mean.reshape(shape)) * self.inv_std
        self.training, self.axes, self.shape = training, axes, shape
        return self.params["gamma"].reshape(shape) * self.xhat + self.params["beta"].reshape(shape)

    def backward(self, grad_out):
        axes, shape, xhat = self.axes, self.shape, self.xhat
        self.grads["gamma"] = (grad_out * xhat).sum(axis=axes)
        self.grads["beta"] = grad_out.sum(axis=axes)
        scale = self.params["gamma"].reshape(shape) * self.inv_std
        if not self.training:  # fixed statistics: x̂ is an affine function of x alone
            return grad_out * scale
        count = grad_out.size // grad_out.shape[1]
        mean_g = self.grads["beta"].reshape(shape) / count
        mean_gx = self.grads["gamma"].reshape(shape) / count
        return scale * (grad_out - mean_g - xhat * mean_gx)

    def get_config(self) -> dict:
        return {"momentum": self.momentum, "eps": self.eps}
