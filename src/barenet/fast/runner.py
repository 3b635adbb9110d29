"""The fast runner: a model's layers, each run by its kernel where ``barenet.fast`` has one."""

from __future__ import annotations

import math

import numpy as np

from barenet.fast import convolution, dense, parallel, pooling, recurrent
from barenet.fast.kernel import Kernel
from barenet.layers import LSTM, Conv2D, Dense, MaxPool2D, ReLU
from barenet.runner import LayerRunner

KERNELS: dict[type, type[Kernel]] = {
    Dense: dense.DenseKernel,
    Conv2D: convolution.Conv2DKernel,
    MaxPool2D: pooling.MaxPool2DKernel,
    LSTM: recurrent.LSTMKernel,
}
"""The kernel of each layer type.  Exact types only: a subclass may compute something else."""

THREADED = (Conv2D, MaxPool2D)
"""Layers whose element-wise work weighs as much as their matrix products: a model holding one
runs on barenet's threads, OpenBLAS on one (see ``parallel``)."""

THREADED_KERNELS: dict[type, type[Kernel]] = {**KERNELS, ReLU: dense.ReLUKernel}
"""The kernels of a model that runs on barenet's threads: there the ReLU's element-wise work
is split over them too (elsewhere NumPy's own ReLU is as fast)."""


class Runner(LayerRunner):
    """A :class:`~barenet.runner.LayerRunner` whose steps are kernels where there is one: the
    same numbers, sooner."""

    def __init__(self, layers):
        super().__init__(layers)
        self.threaded = any(isinstance(layer, THREADED) for layer in layers)
        kernels = THREADED_KERNELS if self.threaded else KERNELS
        self.steps = pool_before_relu(
            [kernels[type(layer)](layer) if type(layer) in kernels else layer
             for layer in layers])

    def running(self):
        return parallel.cores_in_use(self.threaded)

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


def pool_before_relu(steps: list) -> list:
    """``steps`` with every ReLU that a MaxPool2D follows moved after it.

    The two commute: max(relu(a), relu(b)) = relu(max(a, b)), and the gradient reaches the
    same input either way (relu' is 0 wherever the order could change the arg-max), so the
    numbers are the same, while the ReLU touches 1/(pool area) as many values.  Neither has
    parameters, so back-propagation still starts and stops at the same layers.  The last step
    stays last (the cost may use its input)."""
    steps = list(steps)
    for i in range(len(steps) - 2):
        if isinstance(steps[i], dense.ReLUKernel) and isinstance(steps[i + 1],
                                                                  pooling.MaxPool2DKernel):
            steps[i], steps[i + 1] = steps[i + 1], steps[i]
    return steps
