"""Running a model's layers: forward through all, backward through those that need it."""

from __future__ import annotations

import contextlib

import numpy as np

from barenet.layers.base import Layer


class LayerRunner:
    """Runs a model's layers through their own ``forward`` and ``backward``: the reference
    path.  (``barenet.fast`` runs some layers with faster code that computes the same.)"""

    def __init__(self, layers: list[Layer]):
        self.layers = layers
        self.steps = layers
        """What runs each layer: here the layer itself."""

    def running(self):
        """A context entered around a whole ``fit``, ``predict`` or ``evaluate`` call."""
        return contextlib.nullcontext()

    def forward(self, x, training: bool):
        """(output, the last layer's input) for the batch ``x``."""
        for step in self.steps[:-1]:
            x = step.forward(x, training)
        return self.steps[-1].forward(x, training), x

    def backward(self, grad, top: int, bottom: int) -> None:
        """Back-propagate ``grad`` = dC/dY of layer ``top - 1`` down to layer ``bottom``,
        which fills every layer's ``grads`` on the way (dC/dX of layer ``bottom`` is not
        needed: nothing below it learns)."""
        for layer in reversed(self.layers[bottom:top]):
            grad = layer.backward(grad)

    @staticmethod
    def all_finite(arrays) -> bool:
        """True when no entry of any of ``arrays`` is NaN or infinite."""
        return all(np.isfinite(a).all() for a in arrays)
