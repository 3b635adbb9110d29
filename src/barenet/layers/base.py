"""The layer contract, stated once.

Every layer is a function of its input with a hand-written derivative:

* ``forward(x, training=False)`` returns the output Y and keeps what ``backward`` needs;
* ``backward(grad_out)`` takes dC/dY (shape of Y) and returns dC/dX (shape of X), after
  setting ``grads[name]`` to dC/dθ for every parameter θ = ``params[name]``.

``params`` and ``grads`` are dicts from a name to an array, with the same keys, so optimizers
treat every layer alike.  ``buffers`` holds state saved with the model but not trained
(BatchNorm's running statistics).  Shapes given to ``output_shape`` and ``build`` leave out the
batch dimension: a batch of 28x28 images has input shape ``(28, 28)``.

A layer whose arguments fix its parameter shapes (``Dense(784, 256)``) has its parameters as
soon as it is made; one whose shapes come from its input (``BatchNorm()``) makes them in
``build(input_shape)``, which a model's ``compile`` calls, or on its first ``forward``.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import numpy as np

from barenet import initializers
from barenet.errors import ConfigError, ShapeError
from barenet.layers import registry

Shape = tuple[int, ...]

_deferring = False


@contextlib.contextmanager
def deferred_initialization():
    """Within, layers are made without parameters (``build`` leaves them unbuilt): loading a
    file checks its tensors against the architecture before it allocates anything."""
    global _deferring
    saved, _deferring = _deferring, True
    try:
        yield
    finally:
        _deferring = saved


class Layer:
    """Base class: a layer with no parameters whose output has the shape of its input.

    Subclasses are registered under their class name for loading saved models (see
    ``barenet.register_layer`` for another name).
    """

    buffer_names: ClassVar[tuple[str, ...]] = ()
    """The names in ``buffers``: saved with the model, not trained."""
    differentiable: ClassVar[bool] = True
    """False for layers that only prepare the data (``Deskew``): they have no backward pass,
    so ``compile`` refuses them after a layer with parameters."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}
        self.input_shape: Shape | None = None
        """The input shape the layer was built for (None until built)."""
        # A layer without variables has nothing to build.
        self.built = type(self).initialize is Layer.initialize

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        registry.register(cls, cls.__name__, explicit=False)

    # -- shapes -----------------------------------------------------------------------------
    def input_shape_hint(self) -> Shape | None:
        """The input shape this layer requires, when its arguments fix it (else ``None``)."""
        return None

    def output_shape(self, input_shape: Shape) -> Shape:
        """The shape of one output sample for one input sample of ``input_shape``; a
        ``ShapeError`` saying what the layer needs when the input does not fit."""
        return tuple(input_shape)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """The shape of every parameter and buffer, for inputs of ``input_shape``."""
        return {}

    # -- parameters -------------------------------------------------------------------------
    def build(self, input_shape: Shape, seed=None, dtype=np.float32) -> None:
        """Make the parameters for inputs of ``input_shape``, unless they exist already.

        ``seed`` is an integer, a ``numpy.random.Generator``, or None for barenet's default
        generator (``barenet.seed`` sets it).  ``input_shape`` may be None for a layer whose
        parameters' shapes do not depend on it (``Conv2D``)."""
        if input_shape is not None:
            input_shape = tuple(int(d) for d in input_shape)
            self.output_shape(input_shape)  # refuses an input that does not fit
        if not self.built and not _deferring:
            self.input_shape = input_shape
            self.initialize(input_shape, initializers.generator(seed), np.dtype(dtype))
            self.built = True

    def initialize(self, input_shape: Shape, rng: np.random.Generator, dtype) -> None:
        """Set every parameter and buffer to its initial value (layers with variables
        override this, through :meth:`set_variables`)."""

    def reset_parameters(self, seed=None) -> None:
        """Initialise the parameters again, as a new layer would have them (``seed`` as in
        :meth:`build`).  A layer that is not built yet is left as it is."""
        if self.built and (self.params or self.buffers):
            self.initialize(self.input_shape, initializers.generator(seed), self.dtype)

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters and buffers (float32 for a layer without any)."""
        for value in (*self.params.values(), *self.buffers.values()):
            return value.dtype
        return np.dtype(np.float32)

    def astype(self, dtype) -> Layer:
        """The layer, its parameters and buffers converted to ``dtype`` (float32 or float64)."""
        arrays = {**self.params, **self.buffers}
        if arrays:
            self.set_variables({k: np.asarray(v, dtype) for k, v in arrays.items()})
        return self

    def set_variables(self, arrays: dict, input_shape: Shape | None = None) -> None:
        """Adopt ``arrays`` (named as :meth:`variable_shapes` says) as the parameters and
        buffers; their gradients start at zero."""
        self.params = {k: v for k, v in arrays.items() if k not in self.buffer_names}
        self.buffers = {k: v for k, v in arrays.items() if k in self.buffer_names}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        if input_shape is not None:
            self.input_shape = tuple(input_shape)
        self.built = True

    # -- computation ------------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        """Y for the batch ``x``; in training, also keep what :meth:`backward` needs."""
        raise NotImplementedError

    def backward(self, grad_out):
        """dC/dX from dC/dY = ``grad_out``, after setting ``grads`` to dC/dθ."""
        raise NotImplementedError

    # -- description ------------------------------------------------------------------------
    @property
    def num_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer: ``type(self)(**config)``."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


def shape_mismatch(layer: Layer, expected: str, got: Shape) -> ShapeError:
    """The error a layer raises when an input sample does not have the shape it needs."""
    return ShapeError(f"{layer!r} expects input samples of shape {expected}, got {tuple(got)}")


def positive_int(value, what: str, layer: str) -> int:
    """``value`` as an int, or a ConfigError naming ``layer`` and ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{layer}: {what} must be a positive integer, got {value!r}")
    return int(value)
