"""The layer contract, stated once.

Every layer is a function of its input with a hand-written derivative:

* ``forward(x, training=False)`` returns the output and keeps what ``backward`` needs;
* ``backward(grad_out)`` takes dC/dY (shape of the output) and returns dC/dX (shape of the
  input), after filling ``grads`` with dC/dθ for every parameter θ in ``params``.

``params`` and ``grads`` are dicts from a name to an array, with the same keys, so an optimizer
updates every layer the same way.  ``buffers`` holds state that is saved with the model but not
trained (BatchNorm's running statistics).  Shapes given to ``output_shape`` and ``build`` leave
out the batch dimension: a batch of 28x28 images has input shape ``(28, 28)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from barenet import backend
from barenet.errors import ConfigError, ShapeError

Shape = tuple[int, ...]

REGISTRY: dict[str, type[Layer]] = {}


class Layer:
    """Base class: a layer with no parameters whose output has the shape of its input."""

    buffer_names: ClassVar[tuple[str, ...]] = ()
    splits_work: ClassVar[bool] = False
    """True for layers whose element-wise work outweighs their matrix products (convolution,
    pooling): a model holding one runs them on barenet's threads (``barenet.parallel``)."""
    differentiable: ClassVar[bool] = True
    """False for layers that only prepare the data (``Deskew``): they have no backward pass,
    so ``compile`` refuses them after a layer with parameters."""
    output_is_scratch: ClassVar[bool] = False
    """True when ``forward`` returns a new array that the layer keeps no reference to (Dense,
    Conv2D): at inference a model lets the next layer write over it (``ReLU.forward_in_place``)."""
    spreads_non_finite: ClassVar[bool] = False
    """True when a NaN or infinity anywhere in a sample's input makes every value of that
    sample's output NaN or infinite (Dense).  ``predict`` then looks for NaN in one value of
    this layer's output per sample instead of reading the whole input (see
    ``Sequential._checked_forward``)."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}
        # The model turns this off for its first layer: nobody needs dC/dX of the data.
        self.input_grad_needed = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        REGISTRY[cls.__name__] = cls

    # -- shapes -----------------------------------------------------------------------------
    def input_shape_hint(self) -> Shape | None:
        """The input shape this layer requires, when its arguments fix it (else ``None``)."""
        return None

    def output_shape(self, input_shape: Shape) -> Shape:
        """The shape of one output sample for one input sample of ``input_shape``."""
        return tuple(input_shape)

    def variable_shapes(self, input_shape: Shape) -> dict[str, Shape]:
        """The shape of every parameter and buffer, for inputs of ``input_shape``."""
        return {}

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype=np.float32) -> None:
        """Create the parameters for inputs of ``input_shape`` (no-op without parameters)."""

    def load_variables(self, arrays: dict) -> None:
        """Adopt ``arrays`` (shaped as ``variable_shapes`` says) as parameters and buffers."""
        self.params = {k: v for k, v in arrays.items() if k not in self.buffer_names}
        self.buffers = {k: v for k, v in arrays.items() if k in self.buffer_names}
        self.grads = {k: backend.xp.zeros_like(v) for k, v in self.params.items()}

    # -- computation ------------------------------------------------------------------------
    def forward(self, x, training: bool = False):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def forward_deferring_bias(self, x, bias=None):
        """Inference on the input X + ``bias``, where ``bias`` is a row vector that ``x``
        still lacks (None: nothing): (Y', c) with the output Y = Y' + c, c a row vector or
        None.  Here c is None: the bias is added to ``x`` first.  Dense layers leave their
        own for the next layer instead, which saves a pass over their output (see
        ``Sequential._forward_to_last``)."""
        return self.forward(add_bias(x, bias), False), None

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


def add_bias(x, bias):
    """``x`` with the row vector ``bias`` added, in place (None: ``x`` as it is).  Only for
    the deferred biases of inference (``Layer.forward_deferring_bias``): ``x`` is then always
    an array made during the same forward pass."""
    if bias is not None:
        x += bias
    return x


def shape_mismatch(layer: Layer, expected: str, got: Shape) -> ShapeError:
    """The error a layer raises when an input sample does not have the shape it needs."""
    return ShapeError(f"{layer!r} expects input samples of shape {expected}, got {tuple(got)}")


def layer_to_dict(layer: Layer) -> dict:
    """``{"type": ..., "config": ...}``: a JSON-ready description of ``layer``."""
    return {"type": type(layer).__name__, "config": layer.get_config()}


def layer_from_dict(spec: Any) -> Layer:
    """Rebuild a layer from :func:`layer_to_dict`'s output; unknown types are refused."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ConfigError(f'a layer is described as {{"type": NAME, "config": {{...}}}}, got {spec!r}')
    cls = REGISTRY.get(spec["type"])
    if cls is None:
        raise ConfigError(f"unknown layer type {spec['type']!r}; known types: {sorted(REGISTRY)}")
    config = spec.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"the config of layer {spec['type']} must be an object, got {config!r}")
    try:
        return cls.from_config(config)
    except TypeError as exc:
        raise ConfigError(f"bad config for layer {spec['type']}: {exc}") from None
