"""Activation layers: element-wise functions (and Softmax), kept apart from Dense.

For an element-wise f, Y = f(X) and the backward pass is dC/dX = dC/dY ⊙ f'(X).
Each layer keeps whichever of X or Y gives f' most cheaply.
"""

from __future__ import annotations

import math

import numpy as np

from barenet.errors import ConfigError
from barenet.layers.base import Layer


class ActivationLayer(Layer):
    """Base class of the activation layers (no parameters, output shape = input shape)."""


class Identity(ActivationLayer):
    """Y = X (a linear output layer, for regression with MSE)."""

    def forward(self, x, training: bool = False):
        return x

    def backward(self, grad_out):
        return grad_out


class ReLU(ActivationLayer):
    """Y = max(X, 0);  dC/dX = dC/dY ⊙ [X > 0]."""

    def forward(self, x, training: bool = False):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, grad_out):
        return grad_out * (self.x > 0)


class LeakyReLU(ActivationLayer):
    """Y = X if X > 0 else α·X;  f'(X) = 1 or α."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        if not 0 <= alpha < 1:
            raise ConfigError(f"LeakyReLU: alpha must be in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x, training: bool = False):
        self.positive = x > 0
        return np.where(self.positive, x, x * self.alpha)

    def backward(self, grad_out):
        return np.where(self.positive, grad_out, grad_out * self.alpha)

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class ELU(ActivationLayer):
    """Y = X if X > 0 else α(eˣ - 1);  f'(X) = 1 or Y + α."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        if alpha <= 0:
            raise ConfigError(f"ELU: alpha must be positive, got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, x, training: bool = False):
        self.positive = x > 0
        # expm1 of min(x, 0) never overflows, whatever the positive entries hold.
        self.y = np.where(self.positive, x, self.alpha * np.expm1(np.minimum(x, 0)))
        return self.y

    def backward(self, grad_out):
        return grad_out * np.where(self.positive, 1, self.y + self.alpha)

    def get_config(self) -> dict:
        return {"alpha": self.alpha}


class GELU(ActivationLayer):
    """Y = ½X(1 + tanh(u)), u = √(2/π)(X + 0.044715X³)  (the tanh form of Hendrycks & Gimpel).

    f'(X) = ½(1 + tanh u) + ½X(1 - tanh²u)·√(2/π)(1 + 3·0.044715X²).
    """

    C = math.sqrt(2.0 / math.pi)

    def forward(self, x, training: bool = False):
        self.x = x
        self.t = np.tanh(self.C * (x + 0.044715 * x**3))
        return 0.5 * x * (1 + self.t)

    def backward(self, grad_out):
        x, t = self.x, self.t
        du = self.C * (1 + 3 * 0.044715 * x**2)
        return grad_out * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


class Sigmoid(ActivationLayer):
    """Y = 1 / (1 + e^-X);  f'(X) = Y(1 - Y).

    Computed as ½(1 + tanh(X/2)), which is the same function and never overflows.
    """

    def forward(self, x, training: bool = False):
        self.y = 0.5 * (1 + np.tanh(0.5 * x))
        return self.y

    def backward(self, grad_out):
        return grad_out * self.y * (1 - self.y)


class Tanh(ActivationLayer):
    """Y = tanh(X);  f'(X) = 1 - Y²."""

    def forward(self, x, training: bool = False):
        self.y = np.tanh(x)
        return self.y

    def backward(self, grad_out):
        return grad_out * (1 - self.y * self.y)


def softmax(z):
    """Row-wise softmax over the last axis.

    Subtracting each row's maximum first changes nothing mathematically (the factor e^-max
    cancels) but keeps every exponent <= 0, so e^z cannot overflow even for logits like 1e4.
    """
    e = z - z.max(axis=-1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(z):
    """log(softmax(z)) = z - max - log Σ e^(z - max), finite for any finite z."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class Softmax(ActivationLayer):
    """Yᵢ = e^Xᵢ / Σⱼ e^Xⱼ over the last axis.

    Its Jacobian is not diagonal: dC/dX = Y ⊙ (dC/dY - Σⱼ dC/dYⱼ Yⱼ).  Followed by
    CrossEntropy, the model skips this and uses the fused gradient (Y - T)/N instead.
    """

    def forward(self, x, training: bool = False):
        self.y = softmax(x)
        return self.y

    def backward(self, grad_out):
        y = self.y
        return y * (grad_out - (grad_out * y).sum(axis=-1, keepdims=True))


_BY_NAME = {
    "identity": Identity,
    "linear": Identity,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softmax": Softmax,
}


def Activation(name: str, **kwargs) -> ActivationLayer:  # noqa: N802 - reads as a layer
    """An activation layer by name: ``Activation("relu")`` is ``ReLU()``.

    Mirrors the design's ``ActivationLayer::from(Activation::ReLU)``; keyword arguments go to
    the layer (``Activation("leaky_relu", alpha=0.1)``).
    """
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key not in _BY_NAME:
        raise ConfigError(f"unknown activation {name!r}; choose one of {sorted(_BY_NAME)}")
    return _BY_NAME[key](**kwargs)
