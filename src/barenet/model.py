"""Sequential: a stack of layers, compiled with an optimizer and a cost.

    net = (Sequential()
           .push(Dense(784, 256)).push(ReLU())
           .push(Dense(256, 10, init="glorot_uniform")).push(Softmax())
           .watch("accuracy")
           .compile(SGD(0.04), CrossEntropy()))
    history = net.fit(x, y, epochs=15, batch_size=100, validation_data=(xv, yv), seed=0)

This module holds the model: its layers and their shapes, the runner that takes a batch
forward and back through them, predictions, weights, configuration and summary.  Training lives in
:mod:`barenet.training`, the checks of user data in :mod:`barenet.validation`, files in
:mod:`barenet.model_io`.
"""

from __future__ import annotations

import math

import numpy as np

from barenet import fast, initializers, losses, metrics, model_io, optimizers, training
from barenet.errors import ConfigError, ShapeError
from barenet.layers.base import Layer, Shape, deferred_initialization
from barenet.layers.registry import layer_from_dict, layer_to_dict
from barenet.runner import LayerRunner
from barenet.validation import check_inputs, check_targets, check_variables, non_finite_error

_DTYPES = {"float32": np.float32, "float64": np.float64}


class Sequential:
    """A network whose layers each feed the next.

    Args:
        layers: optional list of layers (``push`` adds more).
        input_shape: shape of one input sample; optional when the first layer fixes it
            (``Dense(784, ...)`` means (784,)).
    """

    def __init__(self, layers: list[Layer] | None = None, input_shape: Shape | None = None):
        self.layers: list[Layer] = []
        self.input_shape = None if input_shape is None else tuple(int(d) for d in input_shape)
        self.metric_names: tuple[str, ...] = ()
        self.optimizer: optimizers.Optimizer | None = None
        self.cost: losses.Cost | None = None
        self.dtype = np.float32
        self.compiled = False
        self.stop_training = False
        self.stop_requested = False
        for layer in layers or []:
            self.push(layer)

    # -- building ---------------------------------------------------------------------------
    def push(self, layer: Layer) -> Sequential:
        """Append ``layer``; returns the model so calls chain."""
        if isinstance(layer, type) and issubclass(layer, Layer):
            raise ConfigError(f"push an instance, not the class: push({layer.__name__}(...))")
        if not isinstance(layer, Layer):
            raise ConfigError(f"push takes a barenet layer, got {layer!r}")
        self.layers.append(layer)
        self.compiled = False
        return self

    def watch(self, *names: str) -> Sequential:
        """Report these metrics ("accuracy", "precision", "recall", "f1") every epoch."""
        self.metric_names = metrics.check_names(self.metric_names + names)
        return self

    def compile(self, optimizer, cost, seed=None, dtype="float32") -> Sequential:
        """Check that the layers fit together, build the layers that have no parameters yet
        (drawing from ``seed``: an integer, a Generator, or None for barenet's default
        generator), and attach ``optimizer`` (an Optimizer or a name) and ``cost`` (a Cost or
        a name).  Weights that exist are kept: a trained model can be compiled again, with a
        new optimizer; :meth:`reset_parameters` starts the weights again."""
        if not self.layers:
            raise ConfigError("the network has no layers: push some before compile")
        if dtype not in _DTYPES and dtype not in _DTYPES.values():
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = _DTYPES.get(dtype, dtype)
        shapes = self.layer_shapes()
        self.optimizer = optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
        if not isinstance(self.optimizer, optimizers.Optimizer):
            raise ConfigError(f"compile needs an optimizer such as SGD(0.04), got {optimizer!r}")
        self.cost = losses.get(cost)
        self.cost.check_output_layer(self.layers[-1])
        rng = initializers.generator(seed)
        for layer, shape in zip(self.layers, shapes, strict=False):
            layer.build(shape, rng, self.dtype)
        check_variables(self, shapes)
        trainable_below = False
        for i, layer in enumerate(self.layers):
            if trainable_below and not layer.differentiable:
                raise ConfigError(
                    f"layer {i + 1} {layer!r} prepares the data and has no backward pass, but "
                    "layers with parameters come before it: move it before them")
            trainable_below = trainable_below or bool(layer.params)
        self.output_shape = shapes[-1]
        self.compiled = True
        return self

    def reset_parameters(self, seed=None) -> None:
        """Initialise every layer's parameters again (``seed`` as in :meth:`compile`)."""
        rng = initializers.generator(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)

    def layer_shapes(self, input_shape: Shape | None = None) -> list[Shape]:
        """[input shape, output of layer 1, ..., output of the last layer], checked."""
        shape = input_shape or self.input_shape or self.layers[0].input_shape_hint()
        if shape is None:
            raise ConfigError(
                f"cannot tell the input shape of the first layer {self.layers[0]!r}: "
                "give it with Sequential(input_shape=(1, 28, 28)), or start with Reshape(...)"
            )
        shapes = [tuple(shape)]
        for i, layer in enumerate(self.layers):
            try:
                shapes.append(tuple(layer.output_shape(shapes[-1])))
            except ShapeError as exc:
                source = f"layer {i} {self.layers[i - 1]!r} gives" if i else "the input is"
                raise ShapeError(
                    f"layer {i + 1} {layer!r} does not fit: {source} samples of shape "
                    f"{shapes[-1]} ({exc})"
                ) from None
        return shapes

    def require_compiled(self) -> None:
        """Refuse to run a model that is not compiled, or whose parameters no longer fit
        (an array of another shape assigned to ``layer.params``)."""
        if not self.compiled:
            raise ConfigError("the network is not compiled: call compile(optimizer, cost) first")
        check_variables(self, self.layer_shapes())

    # -- running the layers -----------------------------------------------------------------
    def runner(self) -> LayerRunner:
        """What runs the layers now: the fast path unless ``barenet.fast`` is switched off."""
        return fast.Runner(self.layers) if fast.enabled() else LayerRunner(self.layers)

    def parameters(self) -> tuple[list, list]:
        """([θ], [dC/dθ]): every layer's parameters and gradients, layer by layer, as the
        layers hold them now (an array assigned to ``layer.params`` is trained)."""
        params, grads = [], []
        for i, layer in enumerate(self.layers):
            for name, value in layer.params.items():
                grad = layer.grads.get(name)
                if grad is None or np.shape(grad) != np.shape(value):
                    raise ShapeError(f"layer {i + 1} {layer!r}: params[{name!r}] has shape "
                                     f"{np.shape(value)} but grads[{name!r}] "
                                     f"{np.shape(grad) if grad is not None else 'is missing'}")
                params.append(value)
                grads.append(grad)
        return params, grads

    @property
    def num_outputs(self) -> int:
        return math.prod(self.output_shape)

    @property
    def num_classes(self) -> int:
        return max(self.num_outputs, 2)

    def classes(self, values) -> np.ndarray:
        """Class indices from outputs or targets: arg-max over classes, or a 0.5 threshold."""
        if values.ndim == 1:
            return values
        if self.num_outputs == 1:
            return (values.reshape(len(values)) >= 0.5).astype(np.int64)
        return values.reshape(len(values), -1).argmax(axis=1)

    @property
    def cost_fuses(self) -> bool:
        """True when the cost takes the logits, the last layer's input (CrossEntropy after a
        Softmax): its gradient for them replaces the last layer's backward pass."""
        return isinstance(self.layers[-1], self.cost.fused_with or ())

    def loss(self, output, logits, target) -> float:
        """The cost of a batch, from the logits when the cost fuses with the last layer."""
        if self.cost_fuses:
            return self.cost.loss_from_logits(logits, target)
        return self.cost.loss(output, target)

    fit = training.fit

    def request_stop(self) -> None:
        """Ask ``fit`` to stop after the current batch (it raises TrainingInterrupted with the
        state needed to resume).  Safe to call from a signal handler."""
        self.stop_requested = True

    # -- inference --------------------------------------------------------------------------
    def _batches(self, x, batch_size: int, name: str | None):
        """(start, output, logits) for each batch of ``x`` at inference; with ``name``, each
        batch is first checked for NaN and infinities (naming the first bad sample of x)."""
        runner = self.runner()
        with runner.running():
            for start in range(0, len(x), batch_size):
                batch = x[start : start + batch_size]
                if name is not None and not np.isfinite(batch).all():
                    raise non_finite_error(x, name)
                output, logits = runner.forward(batch, False)
                yield start, output, logits

    def predict(self, x, batch_size: int = 1024) -> np.ndarray:
        """The network's outputs for ``x`` (class probabilities after a Softmax), in batches."""
        self.require_compiled()
        x = check_inputs(self, x, "x", finite=False)
        out = np.empty((len(x), *self.output_shape), dtype=self.dtype)
        for start, output, _ in self._batches(x, batch_size, "x"):
            out[start : start + len(output)] = output
        return out

    def evaluate(self, x, y, batch_size: int = 1024, checked: bool = False) -> dict[str, float]:
        """{"loss": ..., and each watched metric} on (x, y), without training.  The
        confusion matrix is kept as ``last_confusion``."""
        self.require_compiled()
        if not checked:
            x = check_inputs(self, x, "x", finite=False)
            y = check_targets(self, y, len(x), "y")
        loss_sum = 0.0
        confusion = np.zeros((self.num_classes,) * 2, dtype=np.int64)
        for start, output, logits in self._batches(x, batch_size, None if checked else "x"):
            yb = y[start : start + len(output)]
            loss_sum += self.loss(output, logits, yb) * len(output)
            confusion += metrics.confusion_matrix(self.classes(yb), self.classes(output),
                                                  self.num_classes)
        scores = {"loss": loss_sum / len(x)}
        scores.update({m: metrics.METRICS[m](confusion) for m in self.metric_names})
        self.last_confusion = confusion
        return scores

    # -- weights ----------------------------------------------------------------------------
    def variables(self) -> list[tuple[str, object]]:
        """Every parameter and buffer as ("<layer index>.<name>", array), in a fixed order."""
        out = []
        for i, layer in enumerate(self.layers):
            out += [(f"{i}.{k}", v) for k, v in layer.params.items()]
            out += [(f"{i}.{k}", v) for k, v in layer.buffers.items()]
        return out

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every parameter and buffer (see :meth:`variables`)."""
        return [np.array(v) for _, v in self.variables()]

    def set_weights(self, weights: list) -> None:
        """Copy ``weights`` (as from :meth:`get_weights`) into the model, in place."""
        variables = self.variables()
        if len(weights) != len(variables):
            raise ShapeError(f"set_weights got {len(weights)} arrays; the model has "
                             f"{len(variables)}")
        for (name, var), w in zip(variables, weights, strict=True):
            if tuple(np.shape(w)) != var.shape:
                raise ShapeError(f"set_weights: {name} has shape {var.shape}, got {np.shape(w)}")
        for (_, var), w in zip(variables, weights, strict=True):
            var[...] = w

    @property
    def num_params(self) -> int:
        return sum(layer.num_params for layer in self.layers)

    # -- description ------------------------------------------------------------------------
    def get_config(self) -> dict:
        """A JSON-ready description of the architecture, cost, optimizer and metrics."""
        config = {
            "input_shape": list(self.layer_shapes()[0]),
            "layers": [layer_to_dict(layer) for layer in self.layers],
            "metrics": list(self.metric_names),
            "dtype": np.dtype(self.dtype).name,
        }
        if self.cost is not None:
            config["cost"] = {"type": type(self.cost).__name__, "config": self.cost.get_config()}
        if self.optimizer is not None:
            config["optimizer"] = optimizers.to_dict(self.optimizer)
        return config

    @classmethod
    def from_config(cls, config: dict, seed=0) -> Sequential:
        """Build (and compile, when the config names a cost) the model ``get_config`` gave,
        its weights drawn from ``seed``."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ConfigError('a network config is an object with a "layers" list')
        with initializers.seeded(seed):
            model = cls([layer_from_dict(spec) for spec in config["layers"]],
                        input_shape=config.get("input_shape"))
        model.watch(*config.get("metrics", []))
        if "cost" in config:
            model.compile(*model_io.optimizer_and_cost(config), seed=seed,
                          dtype=config.get("dtype", "float32"))
        return model

    def summary(self, print_fn=print) -> None:
        """Print each layer with its output shape and parameter count."""
        shapes = self.layer_shapes()
        rows = [(f"{i + 1}  {layer!r}", str((None, *shapes[i + 1])), f"{layer.num_params:,}")
                for i, layer in enumerate(self.layers)]
        widths = [max(len(r[c]) for r in [*rows, ("Layer", "Output shape", "Params")])
                  for c in range(3)]
        line = "-" * (sum(widths) + 4)

        def fmt(r):
            return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"

        print_fn(fmt(("Layer", "Output shape", "Params")))
        print_fn(line)
        for r in rows:
            print_fn(fmt(r))
        print_fn(line)
        print_fn(f"Input shape: {(None, *shapes[0])}   Total parameters: {self.num_params:,}")
        if self.compiled:
            print_fn(f"Optimizer: {self.optimizer!r}   Cost: {self.cost!r}")

    def __repr__(self) -> str:
        lines = [f"  ({i + 1}) {layer!r}" for i, layer in enumerate(self.layers)]
        tail = f" compiled with {self.optimizer!r}, {self.cost!r}" if self.compiled else ""
        return "Sequential(\n" + "\n".join(lines) + "\n)" + tail

    # -- files ------------------------------------------------------------------------------
    def save(self, path, info: dict | None = None) -> None:
        """Write the model to one safetensors file (atomically); ``info`` (JSON-ready) is
        kept with it.  :func:`load_model` reads it back."""
        self.require_compiled()
        model_io.write(path, model_io.FORMAT_MODEL, self.get_config(), dict(self.variables()),
                       {"info": info or {}})

    @classmethod
    def load(cls, path) -> Sequential:
        """The model saved at ``path`` (a checkpoint file works too), compiled when the file
        names a cost.  A damaged or inconsistent file raises FormatError naming the problem."""
        tensors, meta, config = model_io.read(path, (model_io.FORMAT_MODEL,
                                                     model_io.FORMAT_CHECKPOINT))
        model = cls.from_saved(path, config, tensors)
        info = meta.get("info")
        model.info = info if isinstance(info, dict) else {}
        return model

    @classmethod
    def from_saved(cls, path, config: dict, tensors: dict) -> Sequential:
        """The model of a file's architecture ``config`` with the file's ``tensors`` as its
        variables (``path`` names the file in errors)."""
        with model_io.reading(path):
            model_io.check_dtype(config)
            with deferred_initialization():  # the file's tensors are checked before any allocation
                model = cls.from_config({k: v for k, v in config.items() if k != "cost"})
            model.dtype = _DTYPES[config.get("dtype", "float32")]
            model_io.adopt_variables(path, model, tensors)
            if "cost" in config:
                model.compile(*model_io.optimizer_and_cost(config), dtype=model.dtype)
        return model


load_model = Sequential.load
