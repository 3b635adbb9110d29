"""Kernels for ``Dense`` and ``ReLU`` (references: ``layers/dense.py``, ``layers/activations.py``)."""

from __future__ import annotations

import numpy as np

from barenet.fast import parallel
from barenet.fast.kernel import Kernel


def column_sums(a, out=None):
    """Σ over the rows of a 2-D array as a product with a vector of ones, which BLAS runs
    several times faster than NumPy's pairwise ``sum(axis=0)``."""
    return np.matmul(np.ones(a.shape[0], dtype=a.dtype), a, out=out)


class DenseKernel(Kernel):
    """``Dense``: Y = X·W + b with the bias added in place; the gradients written over those of
    the last step; dC/dX only when asked for; the products split over barenet's threads when
    a model runs them."""

    def forward(self, x, training: bool):
        self.x = x
        y = parallel.matmul(x, self.layer.params["W"])
        y += self.layer.params["b"]
        return y

    def backward(self, grad, input_grad: bool = True):
        layer = self.layer
        w, b = layer.grads.get("W"), layer.grads.get("b")
        if w is None or w.shape != layer.params["W"].shape or w.dtype != grad.dtype:
            w, b = np.empty_like(layer.params["W"]), np.empty_like(layer.params["b"])
        # Into the arrays of the last step: no new array, and they stay in cache.
        layer.grads["W"] = parallel.matmul(self.x.T, grad, out=w)
        layer.grads["b"] = column_sums(grad, out=b)
        return parallel.matmul(grad, layer.params["W"].T) if input_grad else None


class ReLUKernel(Kernel):
    """``ReLU`` in slices over barenet's threads (NumPy's element-wise loops use one core)."""

    def forward(self, x, training: bool):
        y = np.empty_like(x)  # keeps x's memory layout (channels-last after a convolution)
        parallel.for_slices(len(x), lambda s: np.maximum(x[s], 0, out=y[s]), x[:1].nbytes)
        self.y = y
        return y

    def backward(self, grad, input_grad: bool = True):
        y = self.y
        dx = np.empty_like(y)
        parallel.for_slices(len(dx), lambda s: np.multiply(grad[s], y[s] > 0, out=dx[s]),
                            dx[:1].nbytes)
        return dx
