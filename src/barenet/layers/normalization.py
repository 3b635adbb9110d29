"""Batch normalisation."""

from __future__ import annotations

import numpy as np

from barenet import backend, parallel
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
        # Every step writes into an array made once (out=...), one slice of rows per core: a
        # fresh (rows, channels) result of a broadcast operation costs NumPy several times more.
        xp = backend.xp
        rows = self._rows(x)
        count = rows.shape[0]
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            mean = backend.column_sums(rows) / count
        else:
            mean = self.buffers["running_mean"]
        xhat = xp.empty(rows.shape, dtype=rows.dtype)

        def centre(s):  # x - μ, and this slice's share of Σ (x - μ)²
            xp.subtract(rows[s], mean, out=xhat[s])
            return (xp.einsum("ij,ij->j", xhat[s], xhat[s]),) if training else ()

        if training:
            (squares,) = parallel.sum_over_slices(count, centre, rows[:1].nbytes)
            var = squares / count
            m = self.momentum
            self.buffers["running_mean"] *= 1 - m
            self.buffers["running_mean"] += m * mean
            self.buffers["running_var"] *= 1 - m
            self.buffers["running_var"] += m * var * (count / max(count - 1, 1))
        else:
            parallel.for_slices(count, centre, rows[:1].nbytes)
            var = self.buffers["running_var"]
        inv_std = 1 / xp.sqrt(var + self.eps)
        y = xp.empty_like(xhat)

        def scale_and_shift(s):
            xhat[s] *= inv_std
            xp.multiply(xhat[s], gamma, out=y[s])
            y[s] += beta

        parallel.for_slices(count, scale_and_shift, rows[:1].nbytes)
        self._xhat, self._inv_std, self._training = xhat, inv_std, training
        return self._unrows(y, x)

    def backward(self, grad_out):
        xp = backend.xp
        g, xhat = self._rows(grad_out), self._xhat
        count = g.shape[0]
        self.grads["beta"][...], self.grads["gamma"][...] = parallel.sum_over_slices(
            count, lambda s: (backend.column_sums(g[s]), xp.einsum("ij,ij->j", g[s], xhat[s])),
            g[:1].nbytes)
        scale = self.params["gamma"] * self._inv_std
        mean_g, mean_gx = self.grads["beta"] / count, self.grads["gamma"] / count
        dx = xp.empty(g.shape, dtype=g.dtype)

        def input_gradient(s):
            if not self._training:  # fixed statistics: x̂ is an affine function of x alone
                xp.multiply(g[s], scale, out=dx[s])
                return
            xp.subtract(g[s], mean_g, out=dx[s])
            dx[s] -= xhat[s] * mean_gx
            dx[s] *= scale

        parallel.for_slices(count, input_gradient, g[:1].nbytes)
        return self._unrows(dx, grad_out)

    def get_config(self) -> dict:
        return {"momentum": self.momentum, "eps": self.eps}
