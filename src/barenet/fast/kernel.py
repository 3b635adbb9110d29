"""What a kernel of the fast path is."""

from __future__ import annotations


class Kernel:
    """Runs one layer with faster code than the layer's own, computing the same.

    ``forward(x, training)`` as the layer's; ``backward(grad, input_grad)`` sets the layer's
    ``grads`` as the layer's would, and returns dC/dX, or None when ``input_grad`` is False
    (the lowest layer that learns: nothing needs its dC/dX).  What the backward pass needs is
    kept on the kernel, never on the layer.
    """

    def __init__(self, layer):
        self.layer = layer

    def forward(self, x, training: bool):
        raise NotImplementedError

    def backward(self, grad, input_grad: bool = True):
        raise NotImplementedError
