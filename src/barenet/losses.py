"""Costs: a scalar C(Ŷ, T) and its gradient dC/dŶ.

Targets ``T`` come as the model's output shape, or, for the classification costs, as integer
class labels of shape (N,) that stand for one-hot rows.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import ConfigError
from barenet.layers.activations import Sigmoid, Softmax, log_softmax, softmax
from barenet.layers.base import Layer

_EPS = 1e-7  # keeps log(p) finite when a probability rounds to 0


def is_class_labels(t) -> bool:
    """True for integer labels of shape (N,), as opposed to one-hot or real targets."""
    return t.ndim == 1 and t.dtype.kind in "iu"


def one_hot(labels, num_classes: int, dtype):
    """(N,) integer labels -> (N, num_classes) rows of zeros with a one at each label."""
    out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


class Cost:
    """Base class: ``loss(Ŷ, T)`` and ``gradient(Ŷ, T)``.

    ``fused_with`` names an output layer (Softmax, Sigmoid) whose backward pass this cost
    replaces: a model that ends with it asks ``loss_from_logits(Z, T)`` and
    ``gradient_from_logits(Ŷ, T)`` = dC/dZ for the logits Z, the last layer's input, a
    simpler and exact form of the two backward steps.
    """

    fused_with: type[Layer] | None = None

    def check_output_layer(self, layer: Layer | None) -> None:
        """Raise if the network's last layer does not produce what this cost expects."""

    def loss(self, y_pred, target) -> float:
        raise NotImplementedError

    def gradient(self, y_pred, target):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MSE(Cost):
    """C = mean((Ŷ - T)²) over every entry;  dC/dŶ = 2(Ŷ - T) / size."""

    def _dense(self, y_pred, target):
        if is_class_labels(target) and y_pred.ndim == 2 and y_pred.shape[1] > 1:
            return one_hot(target, y_pred.shape[1], y_pred.dtype)
        return target.reshape(y_pred.shape)

    def loss(self, y_pred, target) -> float:
        diff = y_pred - self._dense(y_pred, target)
        return float((diff * diff).mean())

    def gradient(self, y_pred, target):
        return (y_pred - self._dense(y_pred, target)) * (2.0 / y_pred.size)


class CrossEntropy(Cost):
    """C = -(1/N) Σₙ Σₖ Tₙₖ log Pₙₖ, for P the rows of class probabilities.

    After a Softmax layer the model uses the fused form: from the logits Z,
    C = -(1/N) Σ T ⊙ log_softmax(Z), and dC/dZ = (P - T)/N, which is exact, cheap, and
    finite however large the logits.  ``from_logits=True`` applies that softmax itself, for a
    network that ends without one.
    """

    fused_with = Softmax

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def check_output_layer(self, layer: Layer | None) -> None:
        if not self.from_logits and not isinstance(layer, Softmax):
            raise ConfigError(
                f"CrossEntropy needs class probabilities, but the network ends with {layer!r}: "
                "push a Softmax() as the last layer, or use CrossEntropy(from_logits=True)"
            )

    def _picked(self, values, target):
        """Σₖ Tₙₖ·valuesₙₖ for each row n."""
        if is_class_labels(target):
            return values[np.arange(values.shape[0]), target]
        return (values * target).sum(axis=1)

    def loss(self, y_pred, target) -> float:
        if self.from_logits:
            return self.loss_from_logits(y_pred, target)
        logp = np.log(np.maximum(y_pred, _EPS))
        return float(-self._picked(logp, target).mean())

    def gradient(self, y_pred, target):
        if self.from_logits:
            return self.gradient_from_logits(softmax(y_pred), target)
        n = y_pred.shape[0]
        t = one_hot(target, y_pred.shape[1], y_pred.dtype) if is_class_labels(target) else target
        return -t / (np.maximum(y_pred, _EPS) * n)

    def loss_from_logits(self, logits, target) -> float:
        return float(-self._picked(log_softmax(logits), target).mean())

    def gradient_from_logits(self, probs, target):
        """The fused gradient dC/dZ = (P - T)/N, given P = softmax(Z)."""
        n = probs.shape[0]
        grad = probs.copy()
        if is_class_labels(target):
            grad[np.arange(n), target] -= 1
        else:
            grad -= target
        grad /= n
        return grad

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits} if self.from_logits else {}


class BinaryCrossEntropy(Cost):
    """C = -mean(T log P + (1 - T) log(1 - P)) over every entry, for P in (0, 1).

    After a Sigmoid layer the fused gradient from the logits Z is (P - T)/size, and the loss is
    computed as mean(max(Z, 0) - Z·T + log(1 + e^-|Z|)), which never overflows.
    """

    fused_with = Sigmoid

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def check_output_layer(self, layer: Layer | None) -> None:
        if not self.from_logits and not isinstance(layer, Sigmoid):
            raise ConfigError(
                f"BinaryCrossEntropy needs probabilities in (0, 1), but the network ends with "
                f"{layer!r}: push a Sigmoid() as the last layer, or use "
                "BinaryCrossEntropy(from_logits=True)"
            )

    def loss(self, y_pred, target) -> float:
        if self.from_logits:
            return self.loss_from_logits(y_pred, target)
        t = target.reshape(y_pred.shape)
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return float(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())

    def gradient(self, y_pred, target):
        if self.from_logits:
            return self.gradient_from_logits(0.5 * (1 + np.tanh(0.5 * y_pred)), target)
        t = target.reshape(y_pred.shape)
        p = np.clip(y_pred, _EPS, 1 - _EPS)
        return (p - t) / (p * (1 - p) * y_pred.size)

    def loss_from_logits(self, logits, target) -> float:
        t = target.reshape(logits.shape)
        return float((np.maximum(logits, 0) - logits * t + np.log1p(np.exp(-abs(logits)))).mean())

    def gradient_from_logits(self, probs, target):
        return (probs - target.reshape(probs.shape)) / probs.size

    def get_config(self) -> dict:
        return {"from_logits": self.from_logits} if self.from_logits else {}


_BY_NAME = {
    "mse": MSE,
    "cross_entropy": CrossEntropy,
    "crossentropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
}


def get(spec) -> Cost:
    """A cost from an instance or a name ("mse", "cross_entropy", "binary_cross_entropy")."""
    if isinstance(spec, Cost):
        return spec
    if isinstance(spec, type) and issubclass(spec, Cost):
        return spec()
    if isinstance(spec, str) and spec.lower().replace("-", "_") in _BY_NAME:
        return _BY_NAME[spec.lower().replace("-", "_")]()
    raise ConfigError(f"unknown cost {spec!r}; use a Cost instance or one of {sorted(_BY_NAME)}")


def from_config(name: str, config: dict) -> Cost:
    classes = {cls.__name__: cls for cls in (MSE, CrossEntropy, BinaryCrossEntropy)}
    if name not in classes:
        raise ConfigError(f"unknown cost type {name!r}; known: {sorted(classes)}")
    return classes[name](**config)

