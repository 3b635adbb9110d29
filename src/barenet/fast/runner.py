"""The fast runner: a model's layers, each run by its kernel where ``barenet.fast`` has one."""

from __future__ import annotations

import math

import numpy as np

from barenet.fast import convolution, dense, parallel, pooling
from barenet.fast.kernel import Kernel
from barenet.layers import Conv2D, Dense, MaxPool2D, ReLU

KERNELS: dict[type, type[Kernel]] = {
    Dense: dense.DenseKernel,
    ReLU: dense.ReLUKernel,
    Conv2D: convolution.Conv2DKernel,
    MaxPool2D: pooling.MaxPool2DKernel,
}
"""The kernel of each layer type.  Exact types only: a subclass may compute something else."""

THREADED = (Conv2D, MaxPool2D)
"""Layers whose element-wise work weighs as much as their matrix products: a model holding one
runs on barenet's threads, OpenBLAS on one (see ``parallel``)."""


class Runner:
    """``model.LayerRunner``'s interface, with kernels: the same numbers, sooner."""

    def __init__(self, layers):
        self.layers = layers
        self.steps = [KERNELS[type(layer)](layer) if type(layer) in KERNELS else layer
                      for layer in layers]

    def running(self):
        return parallel.cores_in_use(any(isinstance(layer, THREADED) for layer in self.layers))

    def forward(self, x, training: bool):
        for step in self.steps[:-1]:
            x = step.forward(x, training)
        return self.steps[-1].forward(x, training), x

    def backward(self, grad, top: int, bottom: int) -> None:
        for i in range(top - 1, bottom - 1, -1):
            step = self.steps[i]
            if isinstance(step, Kernel):
                grad = step.backward(grad, input_grad=i > bottom)
            else:
                grad = step.backward(grad)

    @staticmethod
    def all_finite(arrays) -> bool:
        """``LayerRunner.all_finite``, faster: Σa² is finite exactly when every entry is finite
        and none is so large (above ~1e19 in float32) that its square overflows.  As one BLAS
        dot product it takes a third of the time of ``isfinite(a).all()``, which then decides
        only the rare case where the sum is not finite."""
        with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the signal here
            for a in arrays:
                flat = a.reshape(-1)
                if not math.isfinite(float(flat @ flat)) and not np.isfinite(a).all():
                    return False
        return True
