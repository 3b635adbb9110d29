"""Learning-rate schedules: ``schedule(step) -> learning rate``, step = optimizer updates so far.

Any optimizer takes a schedule wherever it takes a number.  The position in the schedule is
the optimizer's step count, so a checkpoint that restores the optimizer restores it too.
"""

from __future__ import annotations

import math

from barenet.errors import ConfigError


class Schedule:
    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        return dict(vars(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Constant(Schedule):
    """lr(t) = rate."""

    def __init__(self, rate: float):
        self.rate = float(rate)

    def __call__(self, step: int) -> float:
        return self.rate


class StepDecay(Schedule):
    """lr(t) = initial · factor^⌊t / every⌋: multiply by ``factor`` every ``every`` steps."""

    def __init__(self, initial: float, factor: float = 0.1, every: int = 1000):
        if every < 1:
            raise ConfigError(f"StepDecay: every must be >= 1 step, got {every!r}")
        self.initial, self.factor, self.every = float(initial), float(factor), int(every)

    def __call__(self, step: int) -> float:
        return self.initial * self.factor ** (step // self.every)


class ExponentialDecay(Schedule):
    """lr(t) = initial · rate^(t / every): a smooth decay by ``rate`` each ``every`` steps."""

    def __init__(self, initial: float, rate: float = 0.96, every: int = 1000):
        if every < 1:
            raise ConfigError(f"ExponentialDecay: every must be >= 1 step, got {every!r}")
        self.initial, self.rate, self.every = float(initial), float(rate), int(every)

    def __call__(self, step: int) -> float:
        return self.initial * self.rate ** (step / self.every)


class CosineDecay(Schedule):
    """lr(t) = final + ½(initial - final)(1 + cos(π·min(t, total)/total))."""

    def __init__(self, initial: float, total_steps: int, final: float = 0.0):
        if total_steps < 1:
            raise ConfigError(f"CosineDecay: total_steps must be >= 1, got {total_steps!r}")
        self.initial, self.total_steps, self.final = float(initial), int(total_steps), float(final)

    def __call__(self, step: int) -> float:
        progress = min(step, self.total_steps) / self.total_steps
        return self.final + 0.5 * (self.initial - self.final) * (1 + math.cos(math.pi * progress))


class LinearDecay(Schedule):
    """Hold ``initial`` until step ``start``, then fall linearly to ``final`` at ``total_steps``::

        lr(t) = initial                                               for t < start
        lr(t) = final + (initial - final)·(total - t)/(total - start)  for start <= t <= total

    Decaying only at the end keeps the full rate while it helps most, then lets the weights
    settle, much as averaging the last steps' weights would."""

    def __init__(self, initial: float, total_steps: int, start: int = 0, final: float = 0.0):
        if not 0 <= start < total_steps:
            raise ConfigError(f"LinearDecay: need 0 <= start < total_steps, got start={start!r}, "
                              f"total_steps={total_steps!r}")
        self.initial, self.total_steps = float(initial), int(total_steps)
        self.start, self.final = int(start), float(final)

    def __call__(self, step: int) -> float:
        if step < self.start:
            return self.initial
        left = max(self.total_steps - step, 0) / (self.total_steps - self.start)
        return self.final + (self.initial - self.final) * left


class LinearWarmup(Schedule):
    """Ramp linearly from 0 to ``after(0)`` over ``warmup_steps``, then follow ``after``
    (shifted so that it starts when the warm-up ends).  ``after`` is a schedule or a number."""

    def __init__(self, after, warmup_steps: int):
        if warmup_steps < 0:
            raise ConfigError(f"LinearWarmup: warmup_steps must be >= 0, got {warmup_steps!r}")
        self.after = get(after)
        self.warmup_steps = int(warmup_steps)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.after(0) * (step + 1) / self.warmup_steps
        return self.after(step - self.warmup_steps)

    def get_config(self) -> dict:
        return {"after": to_dict(self.after), "warmup_steps": self.warmup_steps}


_CLASSES = {c.__name__: c for c in (Constant, StepDecay, ExponentialDecay, CosineDecay,
                                    LinearDecay, LinearWarmup)}


def get(spec) -> Schedule:
    """A schedule from a schedule, a number (constant rate) or a dict from :func:`to_dict`."""
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        if not (spec > 0 and math.isfinite(spec)):
            raise ConfigError(f"a learning rate must be a positive number, got {spec!r}")
        return Constant(spec)
    if isinstance(spec, dict):
        return from_dict(spec)
    raise ConfigError(f"a learning rate is a positive number or a Schedule, got {spec!r}")


def to_dict(schedule: Schedule) -> dict:
    return {"type": type(schedule).__name__, "config": schedule.get_config()}


def from_dict(spec: dict) -> Schedule:
    cls = _CLASSES.get(spec.get("type"))
    if cls is None:
        raise ConfigError(f"unknown schedule {spec.get('type')!r}; known: {sorted(_CLASSES)}")
    config = dict(spec.get("config", {}))
    if cls is LinearWarmup:
        config["after"] = get(config["after"])
    return cls(**config)
