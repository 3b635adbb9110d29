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
    def _rows(x):
        """x as a 2-D (values, features) array: (N, F) as is; (N, C, H, W) as (N·H·W, C), a
        free view when x is stored channels-last (as a convolution's output is)."""
        if x.ndim == 2:
            return x
        return x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1])

    @staticmethod
    def _unrows(rows, like):
        """Undo :meth:`_rows` for an array shaped like ``like`` (4-D results stay channels-last)."""
        if like.ndim == 2:
            return rows
        n, c, h, w = like.shape
        return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def forward(self, x, training: bool = False):
        xp = backend.xp
        rows = self._rows(x)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            count = rows.shape[0]
            mean = backend.column_sums(rows) / count
            centred = rows - mean
            var = xp.einsum("ij,ij->j", centred, centred) / count
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (count / max(count - 1, 1))
            inv_std = 1 / xp.sqrt(var + self.eps)
            xhat = centred
            xhat *= inv_std
            y = xhat * gamma
            y += beta
        else:
            inv_std = 1 / xp.sqrt(self.buffers["running_var"] + self.eps)
            xhat = (rows - self.buffers["running_mean"]) * inv_std
            y = xhat * gamma + beta
        self._xhat, self._inv_std, self._training = xhat, inv_std, training
        return self._unrows(y, x)

    def backward(self, grad_out):
        xp = backend.xp
        g, xhat = self._rows(grad_out), self._xhat
        self.grads["beta"][...] = backend.column_sums(g)
        self.grads["gamma"][...] = xp.einsum("ij,ij->j", g, xhat)
        scale = self.params["gamma"] * self._inv_std
        if not self._training:  # fixed statistics: x̂ is an affine function of x alone
            return self._unrows(g * scale, grad_out)
        count = g.shape[0]
        dx = g - self.grads["beta"] / count
        dx -= xhat * (self.grads["gamma"] / count)
        dx *= scale
        return self._unrows(dx, grad_out)

    def get_config(self) -> dict:
        return {"momentum": self.momentum, "eps": self.eps}
