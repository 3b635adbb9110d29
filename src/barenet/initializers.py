"""Weight initializers: ``init(shape, fan_in, fan_out, rng, dtype) -> array``.

``fan_in`` is the number of inputs that feed one output unit (``in`` for a dense layer,
``in_channels * kh * kw`` for a convolution) and ``fan_out`` the number of outputs one input
feeds.  Randomness comes only from the ``numpy.random.Generator`` passed in.

A layer made without a ``seed`` draws from barenet's default generator, which starts from
seed 0 when barenet is imported: the same script makes the same weights every run, and
``barenet.seed(n)`` starts it again from ``n``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import numpy as np

from barenet.errors import ConfigError

Initializer = Callable[..., object]

_default = np.random.default_rng(0)


def seed(value: int) -> None:
    """Start barenet's default generator again from ``value``."""
    global _default
    _default = np.random.default_rng(value)


@contextlib.contextmanager
def seeded(value: int):
    """Within, layers made without a seed draw from a generator started from ``value``;
    the default generator is left as it was."""
    global _default
    saved, _default = _default, np.random.default_rng(value)
    try:
        yield
    finally:
        _default = saved


def generator(spec=None) -> np.random.Generator:
    """A generator from ``spec``: a ``numpy.random.Generator`` as it is, an integer seed, or
    None for barenet's default generator."""
    if spec is None:
        return _default
    if isinstance(spec, np.random.Generator):
        return spec
    if isinstance(spec, int | np.integer) and not isinstance(spec, bool) and spec >= 0:
        return np.random.default_rng(int(spec))
    raise ConfigError(f"seed must be a non-negative integer, a numpy Generator or None, got {spec!r}")


def _draw(sample: np.ndarray, dtype) -> np.ndarray:
    return sample.astype(dtype)


def he_normal(shape, fan_in, fan_out, rng, dtype=np.float32):
    """N(0, 2 / fan_in): keeps the variance of ReLU activations constant (He et al., 2015)."""
    return _draw(rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape), dtype)


def he_uniform(shape, fan_in, fan_out, rng, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / fan_in): the uniform law with He's variance."""
    limit = math.sqrt(6.0 / fan_in)
    return _draw(rng.uniform(-limit, limit, size=shape), dtype)


def glorot_uniform(shape, fan_in, fan_out, rng, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return _draw(rng.uniform(-limit, limit, size=shape), dtype)


def glorot_normal(shape, fan_in, fan_out, rng, dtype=np.float32):
    """N(0, 2 / (fan_in + fan_out))."""
    return _draw(rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape), dtype)


def lecun_normal(shape, fan_in, fan_out, rng, dtype=np.float32):
    """N(0, 1 / fan_in): the initializer SELU-style networks expect."""
    return _draw(rng.normal(0.0, math.sqrt(1.0 / fan_in), size=shape), dtype)


def orthogonal(shape, fan_in, fan_out, rng, dtype=np.float32):
    """A matrix with orthonormal rows or columns (Saxe et al., 2014): the Q of the QR
    decomposition of a Gaussian matrix, signs fixed so that Q is uniformly distributed.
    Multiplying by it keeps norms, so a recurrent state neither explodes nor vanishes at
    the start of training."""
    rows, cols = shape[0], math.prod(shape[1:])
    q, r = np.linalg.qr(rng.normal(size=(max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    q = q if rows >= cols else q.T
    return _draw(np.ascontiguousarray(q).reshape(shape), dtype)


def zeros(shape, fan_in, fan_out, rng, dtype=np.float32):
    """All zeros (the usual bias initializer)."""
    return np.zeros(shape, dtype=dtype)


class constant:  # noqa: N801 - used like the functions above
    """Every entry equal to ``value``: ``constant(0.1)`` is an initializer."""

    def __init__(self, value: float):
        self.value = float(value)

    def __call__(self, shape, fan_in, fan_out, rng, dtype=np.float32):
        return np.full(shape, self.value, dtype=dtype)

    def __repr__(self) -> str:
        return f"constant({self.value})"


_BY_NAME = {
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "glorot": glorot_uniform,
    "glorot_uniform": glorot_uniform,
    "xavier": glorot_uniform,
    "glorot_normal": glorot_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
    "zeros": zeros,
}


def get(spec) -> Initializer:
    """An initializer from a name (``"he"``, ``"glorot_uniform"``...), a number or a callable."""
    if callable(spec):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return constant(spec)
    if isinstance(spec, str) and spec in _BY_NAME:
        return _BY_NAME[spec]
    if isinstance(spec, str) and spec.startswith("constant(") and spec.endswith(")"):
        return constant(float(spec[len("constant(") : -1]))
    raise ConfigError(
        f"unknown initializer {spec!r}: use one of {sorted(_BY_NAME)}, a number for a constant, "
        "or a function (shape, fan_in, fan_out, rng, dtype) -> array"
    )


def name_of(init: Initializer) -> str:
    """The name under which ``get`` finds ``init`` again (used by ``get_config``)."""
    if isinstance(init, constant):
        return repr(init)
    for name, fn in _BY_NAME.items():
        if fn is init and name == fn.__name__:
            return name
    raise ConfigError(f"initializer {init!r} has no name and cannot be saved in a config")
