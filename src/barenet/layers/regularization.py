"""Dropout."""

from __future__ import annotations

import numpy as np

from barenet import initializers
from barenet.errors import ConfigError
from barenet.layers.base import Layer


class Dropout(Layer):
    """Inverted dropout: in training, Y = X ⊙ M / (1 - p) with M ~ Bernoulli(1 - p).

    Scaling the kept units by 1/(1 - p) keeps E[Y] = X, so evaluation is the identity and
    needs no rescaling.  Backward: dC/dX = dC/dY ⊙ M / (1 - p).

    The masks are drawn from ``self.rng``, a generator taken from barenet's default one
    (``barenet.seed``).  ``Sequential.fit`` gives it a stream of its own ``seed``, so that a
    training run is reproducible and resumable from that seed alone.
    """

    def __init__(self, rate: float = 0.5):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1:
            raise ConfigError(f"Dropout: rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.rng = np.random.default_rng(initializers.generator().integers(2**63))

    def forward(self, x, training: bool = False):
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.mask = keep * x.dtype.type(1 / (1 - self.rate))
        return x * self.mask

    def backward(self, grad_out):
        return grad_out if self.mask is None else grad_out * self.mask

    def get_config(self) -> dict:
        return {"rate": self.rate}
