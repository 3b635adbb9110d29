"""Optimizers: turn each parameter's gradient into an in-place update of the parameter.

``step(params, grads)`` takes the model's parameters as a list of arrays and their gradients
dC/dθ as the matching list; per-parameter state ("slots": velocities, moments) lives in
``self.slots[i]``.  Each update reads the gradients and never writes them, so after a step
every layer's ``grads`` still holds dC/dθ of the batch.  Options shared by all:

* ``learning_rate``: a number or a :mod:`barenet.schedules` schedule of the step count;
* ``weight_decay``: L2 penalty λ, added as g ← g + λθ (AdamW decouples it instead);
* ``clipnorm``: if the global norm ‖g‖ = √(Σ g²) over all parameters exceeds it, every
  gradient is scaled by clipnorm/‖g‖ before the update.
"""

from __future__ import annotations

import math

import numpy as np

from barenet import schedules
from barenet.errors import ConfigError


def _check_fraction(name: str, value: float, optimizer: str) -> float:
    if not 0 <= value < 1:
        raise ConfigError(f"{optimizer}: {name} must be in [0, 1), got {value!r}")
    return float(value)


class Optimizer:
    slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate=0.01, *, weight_decay: float = 0.0,
                 clipnorm: float | None = None):
        self.schedule = schedules.get(learning_rate)
        if weight_decay < 0:
            raise ConfigError(f"{type(self).__name__}: weight_decay must be >= 0, got {weight_decay!r}")
        if clipnorm is not None and not clipnorm > 0:
            raise ConfigError(f"{type(self).__name__}: clipnorm must be positive, got {clipnorm!r}")
        self.weight_decay = float(weight_decay)
        self.clipnorm = None if clipnorm is None else float(clipnorm)
        self.iterations = 0
        self.slots: list[dict] = []

    @property
    def learning_rate(self) -> float:
        """The rate the next step will use."""
        return self.schedule(self.iterations)

    def step(self, params: list, grads: list) -> None:
        """Update every array in ``params`` in place from ``grads``."""
        if len(self.slots) != len(params) or any(
                a.shape != p.shape for s, p in zip(self.slots, params, strict=False) for a in s.values()):
            if self.slots:
                raise ConfigError(
                    f"{type(self).__name__} holds state for {len(self.slots)} parameters of other "
                    "shapes than the model's now: compile the model again to start a new optimizer")
            self.slots = [{n: np.zeros_like(p) for n in self.slot_names} for p in params]
        if self.clipnorm is not None:
            grads = clip_by_global_norm(grads, self.clipnorm)
        lr = self.schedule(self.iterations)
        self.iterations += 1
        for p, g, slots in zip(params, grads, self.slots, strict=True):
            if self.weight_decay and not self.decoupled_decay:
                g = g + self.weight_decay * p
            self.update(p, g, slots, lr)

    decoupled_decay = False

    def update(self, p, g, slots: dict, lr: float) -> None:
        raise NotImplementedError

    # -- saving and restoring ---------------------------------------------------------------
    def get_config(self) -> dict:
        config = {"learning_rate": schedules.to_dict(self.schedule)}
        if self.weight_decay:
            config["weight_decay"] = self.weight_decay
        if self.clipnorm is not None:
            config["clipnorm"] = self.clipnorm
        return config

    def state_arrays(self) -> dict[str, object]:
        """The slots as ``{"<param index>.<slot>": array}``, for a checkpoint."""
        return {f"{i}.{n}": a for i, s in enumerate(self.slots) for n, a in s.items()}

    def load_state(self, iterations: int, arrays: dict[str, object], params: list) -> None:
        """Restore what :meth:`state_arrays` and ``iterations`` described."""
        slots = [{} for _ in params]
        for key, value in arrays.items():
            index, name = key.split(".", 1)
            slots[int(index)][name] = value
        for i, (p, s) in enumerate(zip(params, slots, strict=True)):
            if set(s) != set(self.slot_names) or any(a.shape != p.shape for a in s.values()):
                raise ConfigError(f"{type(self).__name__}: saved state of parameter {i} does not "
                                  "fit the model")
        self.slots = slots
        self.iterations = int(iterations)

    def __repr__(self) -> str:
        cfg = self.get_config()
        cfg["learning_rate"] = self.schedule.rate if isinstance(self.schedule, schedules.Constant) \
            else self.schedule
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in cfg.items())})"


def clip_by_global_norm(grads: list, max_norm: float) -> list:
    """``grads`` scaled so that √(Σ‖g‖²) <= max_norm (new arrays when scaled)."""
    norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
    if norm <= max_norm:
        return grads
    scale = max_norm / (norm + 1e-6)
    return [g * scale for g in grads]


class SGD(Optimizer):
    """Gradient descent, the design's ``θ ← θ - η·g``.

    With momentum μ: v ← μv + g, θ ← θ - η·v; with Nesterov: θ ← θ - η(g + μv).
    """

    def __init__(self, learning_rate=0.01, *, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, clipnorm: float | None = None):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm)
        self.momentum = _check_fraction("momentum", momentum, "SGD")
        if nesterov and not momentum:
            raise ConfigError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = bool(nesterov)
        self.slot_names = ("velocity",) if self.momentum else ()

    def update(self, p, g, slots, lr):
        if self.momentum:
            v = slots["velocity"]
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        p -= lr * g

    def get_config(self) -> dict:
        config = super().get_config()
        if self.momentum:
            config.update(momentum=self.momentum, nesterov=self.nesterov)
        return config


class RMSProp(Optimizer):
    """s ← ρs + (1 - ρ)g²;  θ ← θ - η·g / (√s + ε)."""

    slot_names = ("square_avg",)

    def __init__(self, learning_rate=0.001, *, rho: float = 0.9, eps: float = 1e-7,
                 weight_decay: float = 0.0, clipnorm: float | None = None):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm)
        self.rho = _check_fraction("rho", rho, "RMSProp")
        self.eps = float(eps)

    def update(self, p, g, slots, lr):
        s = slots["square_avg"]
        s *= self.rho
        s += (1 - self.rho) * g * g
        p -= lr * g / (np.sqrt(s) + self.eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Adam (Kingma and Ba), with the design's moments and bias correction, at step t:

        m ← β₁m + (1 - β₁)g        v ← β₂v + (1 - β₂)g²
        m̂ = m / (1 - β₁ᵗ)          v̂ = v / (1 - β₂ᵗ)
        θ ← θ - η·m̂ / (√v̂ + ε)
    """

    slot_names = ("m", "v")

    def __init__(self, learning_rate=0.001, *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0, clipnorm: float | None = None):
        super().__init__(learning_rate, weight_decay=weight_decay, clipnorm=clipnorm)
        self.beta1 = _check_fraction("beta1", beta1, type(self).__name__)
        self.beta2 = _check_fraction("beta2", beta2, type(self).__name__)
        self.eps = float(eps)

    def update(self, p, g, slots, lr):
        m, v = slots["m"], slots["v"]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        t = self.iterations  # already counts this step
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        p -= lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def get_config(self) -> dict:
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): θ ← θ - η·λθ, then Adam."""

    decoupled_decay = True

    def __init__(self, learning_rate=0.001, *, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.01, clipnorm: float | None = None):
        super().__init__(learning_rate, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
                         clipnorm=clipnorm)

    def update(self, p, g, slots, lr):
        p *= 1 - lr * self.weight_decay
        super().update(p, g, slots, lr)


_CLASSES = {c.__name__: c for c in (SGD, RMSProp, Adam, AdamW)}
_ALIASES = {"sgd": SGD, "gd": SGD, "rmsprop": RMSProp, "adam": Adam, "adamw": AdamW}


def get(name: str, **kwargs) -> Optimizer:
    """An optimizer by name ("sgd", "rmsprop", "adam", "adamw") with keyword arguments."""
    cls = _ALIASES.get(str(name).lower()) or _CLASSES.get(name)
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of {sorted(_ALIASES)}")
    return cls(**kwargs)


def from_dict(spec: dict) -> Optimizer:
    config = dict(spec.get("config", {}))
    if "learning_rate" in config:
        config["learning_rate"] = schedules.get(config["learning_rate"])
    return get(spec.get("type", ""), **config)


def to_dict(optimizer: Optimizer) -> dict:
    return {"type": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSProp", "clip_by_global_norm", "get"]
