"""Sequential: a stack of layers, compiled with an optimizer and a cost, trained on mini-batches.

    net = (Sequential()
           .push(Dense(784, 256)).push(ReLU())
           .push(Dense(256, 10, init="glorot_uniform")).push(Softmax())
           .watch("accuracy")
           .compile(SGD(0.04), CrossEntropy()))
    history = net.fit(x, y, epochs=15, batch_size=100, validation_data=(xv, yv), seed=0)

One training step is the design's loop: forward through every layer, the cost's gradient
dC/dŶ, backward through the layers in reverse (each turns dC/dY into dC/dX and fills its
parameter gradients), then one optimizer update.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from barenet import backend, losses, metrics, optimizers, parallel
from barenet.callbacks import Callback, ProgressBar
from barenet.errors import (
    ConfigError,
    DataError,
    ShapeError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from barenet.history import History
from barenet.layers.activations import ReLU
from barenet.layers.base import Layer, Shape, add_bias, layer_from_dict, layer_to_dict
from barenet.layers.pooling import MaxPool2D

_DTYPES = {"float32": np.float32, "float64": np.float64}


def run_order(layers: list[Layer]) -> list[Layer]:
    """The layers in the order a model runs them: as declared, except that a ReLU followed by
    a MaxPool2D runs after it.  The two commute: max(relu(a), relu(b)) = relu(max(a, b)), and
    the gradient reaches the same input either way (relu' is 0 wherever the order could
    change the arg-max), so the numbers are the same, while the ReLU touches 1/(pool area)
    as many values.  The last layer stays last (the cost may be fused with it)."""
    order = list(layers)
    for i in range(len(order) - 2):
        if type(order[i]) is ReLU and type(order[i + 1]) is MaxPool2D:
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


@dataclass
class TrainingState:
    """Where a ``fit`` call stands, at a batch boundary: enough to resume it bit for bit.

    ``shuffle_state`` is the shuffling generator's state at the start of the current epoch (so
    the epoch's order can be drawn again); ``layer_rngs`` the dropout generators' states now.
    """

    seed: int
    epoch: int = 0
    batch: int = 0
    shuffle_state: dict | None = None
    layer_rngs: list = field(default_factory=list)
    loss_sum: float = 0.0
    samples: int = 0
    confusion: list | None = None
    skipped_batches: int = 0
    seconds: float = 0.0
    history: History = field(default_factory=History)

    def to_json(self) -> str:
        data = {k: v for k, v in vars(self).items() if k != "history"}
        data["history"] = self.history.to_dict()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> TrainingState:
        data = json.loads(text)
        data["history"] = History(data.get("history", {}))
        return cls(**data)


def _pack_parameters(layers: list[Layer], dtype) -> tuple[list, list]:
    """([θ], [g]): every layer's parameters, and their gradients, moved into one flat array
    each, of which the layers' arrays become views.  The finiteness check and the optimizer
    then make a few NumPy calls per step instead of a few per array (a few percent of the
    seed MLP's step)."""
    xp = backend.xp
    owned = [(layer, name) for layer in layers for name in layer.params]
    total = sum(layer.params[name].size for layer, name in owned)
    params, grads = xp.empty(total, dtype), xp.zeros(total, dtype)
    start = 0
    for layer, name in owned:
        value = layer.params[name]
        stop = start + value.size
        layer.params[name] = params[start:stop].reshape(value.shape)
        layer.params[name][...] = value
        layer.grads[name] = grads[start:stop].reshape(value.shape)
        start = stop
    return [params], [grads]


def optimizer_and_cost(config: dict) -> tuple[optimizers.Optimizer, losses.Cost]:
    """The optimizer and cost a network config names (SGD(0.01) when it names no optimizer)."""
    cost = config["cost"]
    cost = losses.from_config(cost["type"], cost.get("config", {})) \
        if isinstance(cost, dict) else losses.get(cost)
    opt = config.get("optimizer", {"type": "SGD", "config": {"learning_rate": 0.01}})
    opt = optimizers.from_dict(opt) if isinstance(opt, dict) else optimizers.get(opt)
    return opt, cost


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
        self._stop_requested = False
        for layer in layers or []:
            self.push(layer)

    def __setstate__(self, state: dict) -> None:
        # A copy (copy.deepcopy, pickle) copies each layer's parameters apart from the packed
        # arrays they were views of: pack them again, or the optimizer would update copies
        # that no layer uses.
        self.__dict__.update(state)
        if self.compiled:
            self._params, self._grads = _pack_parameters(self.layers, self.dtype)

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

    def compile(self, optimizer, cost, seed: int = 0, dtype="float32") -> Sequential:
        """Check that the layers fit together, initialise the weights from ``seed``, and attach
        ``optimizer`` (an Optimizer or a name) and ``cost`` (a Cost or a name)."""
        if not self.layers:
            raise ConfigError("the network has no layers: push some before compile")
        if dtype not in _DTYPES and dtype not in _DTYPES.values():
            raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = _DTYPES.get(dtype, dtype)
        shapes = self.layer_shapes()
        self._attach(optimizer, cost)
        rng = np.random.default_rng(seed)
        for layer, shape in zip(self.layers, shapes, strict=False):
            layer.build(shape, rng, self.dtype)
        self._finish_compile(shapes)
        return self

    def _attach(self, optimizer, cost) -> None:
        """Set the optimizer and the cost (instances or names), checking that they fit."""
        self.optimizer = optimizers.get(optimizer) if isinstance(optimizer, str) else optimizer
        if not isinstance(self.optimizer, optimizers.Optimizer):
            raise ConfigError(f"compile needs an optimizer such as SGD(0.04), got {optimizer!r}")
        self.cost = losses.get(cost)
        self.cost.check_output_layer(self.layers[-1])

    def _finish_compile(self, shapes: list[Shape]) -> None:
        # dC/dX is only needed once some layer below has parameters to train.
        trainable_below = False
        for i, layer in enumerate(self.layers):
            if trainable_below and not layer.differentiable:
                raise ConfigError(
                    f"layer {i + 1} {layer!r} prepares the data and has no backward pass, but "
                    "layers with parameters come before it: move it before them")
            layer.input_grad_needed = trainable_below
            trainable_below = trainable_below or bool(layer.params)
        self.output_shape = shapes[-1]
        fused = self.cost.fused_with
        self._fused = fused is not None and isinstance(self.layers[-1], fused)
        self._run_order = run_order(self.layers)
        # At inference a ReLU right after a layer whose output is scratch clips it in place.
        # (Not the last layer: the fused cost may still need its input, the logits.)
        self._in_place = [i > 0 and isinstance(layer, ReLU) and
                          self._run_order[i - 1].output_is_scratch
                          for i, layer in enumerate(self._run_order[:-1])]
        self._check_first_output = len(self._run_order) > 1 and \
            self._run_order[0].spreads_non_finite
        self._params, self._grads = _pack_parameters(self.layers, self.dtype)
        self.compiled = True

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

    # -- data checks ------------------------------------------------------------------------
    def _require_compiled(self) -> None:
        if not self.compiled:
            raise ConfigError("the network is not compiled: call compile(optimizer, cost) first")

    def check_inputs(self, x, name: str = "x", finite: bool = True) -> np.ndarray:
        """``x`` as an array of the model's dtype, after checking dtype, shape and values.

        ``finite=False`` leaves out the check for NaN and infinities, a pass over all of x,
        for a caller that checks each batch instead (with :meth:`_batches`)."""
        self._require_compiled()
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise DataError(f"{name} has dtype {x.dtype}; give real numbers (float32 images "
                            "scaled to [0, 1], or uint8 pixels)")
        if x.ndim == 0 or len(x) == 0:
            raise DataError(f"{name} is empty (shape {x.shape}): give at least one sample")
        try:
            self.layer_shapes(x.shape[1:])
        except ShapeError as exc:
            hint = self.layers[0].input_shape_hint() or self.input_shape
            raise ShapeError(f"{name} has samples of shape {x.shape[1:]}, which the network "
                             f"cannot take (it was built for {hint}): {exc}") from None
        x = np.asarray(x, dtype=self.dtype)
        if finite and not backend.all_finite(x):
            raise self._non_finite(x, name)
        return x

    @staticmethod
    def _non_finite(x, name: str) -> DataError:
        bad = np.argwhere(~np.isfinite(x.reshape(len(x), -1)).all(axis=1)).ravel()
        return DataError(f"{name} holds NaN or infinite values (in {len(bad)} samples, first "
                         f"at index {bad[0]}); clean or drop those samples")

    @property
    def num_outputs(self) -> int:
        return math.prod(self.output_shape)

    def check_targets(self, y, n: int, name: str = "y") -> np.ndarray:
        """Targets as integer class labels (N,) or real arrays shaped like the output."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise DataError(f"{name} has dtype {y.dtype}; give integer class labels or numbers")
        if y.ndim == 0 or len(y) != n:
            raise ShapeError(f"{name} has {len(y) if y.ndim else 0} labels for {n} samples: give "
                             "one label per sample")
        c = self.num_outputs
        if y.ndim == 1 and c > 1:
            if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
                raise DataError(f"{name} is 1-D with fractional values; class labels are "
                                f"integers 0..{c - 1}")
            y = y.astype(np.int64)
            if y.min() < 0 or y.max() >= c:
                raise DataError(f"{name} holds the label {y.max() if y.max() >= c else y.min()}, "
                                f"but the network has {c} outputs, so labels must be 0..{c - 1}")
            return y
        if y.shape[1:] != self.output_shape and not (c == 1 and y.ndim == 1):
            raise ShapeError(
                f"{name} has shape {y.shape} but the network outputs {(n, *self.output_shape)}: "
                f"give (N,) class labels or (N, {c}) one-hot rows"
            )
        y = np.asarray(y, dtype=self.dtype).reshape((n, *self.output_shape))
        if not np.isfinite(y).all():
            raise DataError(f"{name} holds NaN or infinite values")
        return y

    def _classes(self, values) -> np.ndarray:
        """Class indices from outputs or targets: arg-max over classes, or a 0.5 threshold."""
        if values.ndim == 1:
            return values
        if self.num_outputs == 1:
            return (values.reshape(len(values)) >= 0.5).astype(np.int64)
        return values.reshape(len(values), -1).argmax(axis=1)

    @property
    def num_classes(self) -> int:
        return max(self.num_outputs, 2)

    # -- one step ---------------------------------------------------------------------------
    def _forward_to_last(self, x, training: bool, first: int = 0, bias=None):
        """The last layer's input: ``x``, the input of layer ``first``, through the layers
        from there to the last, the last excluded.

        At inference, Dense layers leave their bias for later, and ``bias`` is a row vector
        that ``x`` still lacks (None: nothing; see ``Layer.forward_deferring_bias``).  A Dense
        layer takes it into its own, (X + c)·W + b = X·W + (c·W + b); a ReLU over a Dense
        output keeps it, since max(X, -c) = ReLU(X + c) - c; other layers add it first.  A
        Dense-ReLU pair then makes one pass over its output instead of two: the seed MLP's
        ``predict`` took 7% less time (medians of 40 alternating calls)."""
        if training:
            for layer in self._run_order[first:-1]:
                x = layer.forward(x, True)
            return x
        for layer, in_place in zip(self._run_order[first:-1], self._in_place[first:],
                                   strict=True):
            if in_place:  # a ReLU over the output of the layer before, which is scratch
                x = layer.forward_in_place(x, bias)
            else:
                x, bias = layer.forward_deferring_bias(x, bias)
        return add_bias(x, bias)

    def _forward(self, x, training: bool, first: int = 0, bias=None):
        """(output, logits): logits are the last layer's input when the cost fuses with it.
        ``x`` is the input of layer ``first`` (of the run order), which at inference still
        lacks ``bias`` (see :meth:`_forward_to_last`)."""
        out = self._forward_to_last(x, training, first, bias)
        logits = out if self._fused else None
        return self._run_order[-1].forward(out, training), logits

    def _loss(self, output, logits, target) -> float:
        if logits is not None:
            return self.cost.loss_from_logits(logits, target)
        return self.cost.loss(output, target)

    def train_step(self, x, y) -> tuple[float, object, bool]:
        """One forward, backward and update on a batch: (cost, output, applied).

        Nothing is updated, and ``applied`` is False, when the cost or a gradient is not finite.
        An applied update uses the layers' ``grads`` as scratch space (see ``optimizers``); with
        plain SGD they hold η·dC/dθ, the learning rate folded into the cost's gradient (see
        ``Optimizer.folded_rate``).
        """
        rate = self.optimizer.folded_rate()
        out = self._forward_to_last(x, True)
        if self._fused:
            loss, output, grad = self.cost.fused_forward(self._run_order[-1], out, y)
            backward_layers = self._run_order[-2::-1]
        else:
            output = self._run_order[-1].forward(out, True)
            loss = self.cost.loss(output, y)
            grad = self.cost.gradient(output, y)
            backward_layers = self._run_order[::-1]
        if not math.isfinite(loss):
            return loss, output, False
        if rate is not None:
            grad = grad * rate  # then every gradient below comes out multiplied by η
        for layer in backward_layers:
            grad = layer.backward(grad)
            if not layer.input_grad_needed:
                break
        if not backend.all_finite(*self._grads):
            return math.nan, output, False
        if rate is None:
            self.optimizer.step(self._params, self._grads)
        else:
            self.optimizer.step_folded(self._params, self._grads)
        return loss, output, True

    # -- training ---------------------------------------------------------------------------
    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
            validation_split: float = 0.0, shuffle: bool = True, seed: int = 0,
            callbacks: list[Callback] | None = None, verbose: bool = True,
            on_nan: str = "raise", augment=None, state: TrainingState | None = None) -> History:
        """Train for ``epochs`` passes over (x, y) in shuffled mini-batches.

        ``validation_data=(x_val, y_val)``, or ``validation_split`` (a fraction of x held out
        with ``seed``), is evaluated after every epoch.  ``on_nan="skip"`` skips a batch whose
        cost or gradients are not finite instead of stopping.  ``augment(x_batch, rng)`` returns
        a transformed copy of each training batch (see ``barenet.data.random_affine``).
        ``state`` resumes an interrupted call (see :class:`TrainingState`).  Returns the
        :class:`History`.
        """
        self._require_compiled()
        if on_nan not in ("raise", "skip"):
            raise ConfigError(f"on_nan must be 'raise' or 'skip', got {on_nan!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        x = self.check_inputs(x, "x")
        y = self.check_targets(y, len(x), "y")
        if validation_data is not None:
            if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
                raise ConfigError("validation_data must be a pair (x_val, y_val)")
            x_val = self.check_inputs(validation_data[0], "validation x")
            y_val = self.check_targets(validation_data[1], len(x_val), "validation y")
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ConfigError(f"validation_split must be in (0, 1), got {validation_split!r}")
            order = np.random.default_rng(seed).permutation(len(x))
            n_val = int(round(len(x) * validation_split))
            if n_val == 0 or n_val == len(x):
                raise DataError(f"validation_split={validation_split} of {len(x)} samples leaves "
                                "one of the two sets empty")
            x_val, y_val = x[order[:n_val]], y[order[:n_val]]
            x, y = x[order[n_val:]], y[order[n_val:]]
        else:
            x_val = y_val = None

        batches = math.ceil(len(x) / batch_size)
        shuffle_rng, layer_rngs = self._generators(seed, augment is not None)
        if state is None:
            state = TrainingState(seed=seed)
        else:
            self._restore_generators(state, shuffle_rng, layer_rngs)
        callbacks = list(callbacks or [])
        if verbose:
            callbacks.append(ProgressBar())
        for cb in callbacks:
            cb.set_model(self)
            cb.on_train_begin({"epochs": epochs, "batches": batches})

        self.stop_training = False
        self._stop_requested = False
        self.history = state.history
        self.training_state = state
        # Divergence is reported below; BLAS leaves the cores to barenet's own threads.
        with np.errstate(over="ignore", invalid="ignore"), self._cores_in_use():
            self._epochs(x, y, x_val, y_val, epochs, batch_size, batches, shuffle, on_nan,
                         augment, state, shuffle_rng, layer_rngs, callbacks)
        for cb in callbacks:
            cb.on_train_end({})
        return state.history

    def _epochs(self, x, y, x_val, y_val, epochs, batch_size, batches, shuffle, on_nan, augment,
                state, shuffle_rng, layer_rngs, callbacks) -> None:
        while state.epoch < epochs and not self.stop_training:
            epoch = state.epoch
            if state.batch == 0:
                state.shuffle_state = shuffle_rng.bit_generator.state
                state.loss_sum, state.samples, state.skipped_batches = 0.0, 0, 0
                state.confusion = np.zeros((self.num_classes,) * 2, np.int64).tolist()
            else:
                shuffle_rng.bit_generator.state = state.shuffle_state
            started = time.perf_counter()
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            order = shuffle_rng.permutation(len(x)) if shuffle else None
            confusion = np.asarray(state.confusion, dtype=np.int64)
            for b in range(state.batch, batches):
                # One vectorised gather per batch (a plain slice without shuffling): the rows go
                # straight from the data set to the first layer while still in cache.  take()
                # gathers the seed MLP's batch of 100 rows in 56 µs, x[rows] in 70 µs.
                rows = slice(b * batch_size, (b + 1) * batch_size)
                if order is None:
                    xb, yb = x[rows], y[rows]
                else:
                    rows = order[rows]
                    xb, yb = x.take(rows, axis=0), y[rows]
                if augment is not None:
                    xb = augment(xb, layer_rngs[-1])
                xb, yb = backend.xp.asarray(xb), backend.xp.asarray(yb)  # to the device, if any
                loss, output, applied = self.train_step(xb, yb)
                if not applied:
                    if on_nan == "raise":
                        self._record(state, layer_rngs, confusion, b)
                        raise TrainingDivergedError(
                            f"training diverged at epoch {epoch + 1}, batch {b + 1}: the cost or "
                            f"its gradients became {loss}. The weights are left as they were "
                            "before this batch. Lower the learning rate (it was "
                            f"{self.optimizer.learning_rate:g}), check that the inputs are scaled "
                            "(e.g. to [0, 1]), or clip gradients with clipnorm=...",
                            epoch=epoch + 1, batch=b + 1,
                        )
                    state.skipped_batches += 1
                else:
                    state.loss_sum += loss * len(xb)
                    state.samples += len(xb)
                    confusion += metrics.confusion_matrix(
                        self._classes(yb), self._classes(backend.to_numpy(output)),
                        self.num_classes)
                for cb in callbacks:
                    cb.on_batch_end(b, {"loss": state.loss_sum / max(state.samples, 1)})
                if self._stop_requested and b + 1 < batches:
                    state.seconds += time.perf_counter() - started
                    self._record(state, layer_rngs, confusion, b + 1)
                    raise TrainingInterrupted(state)
            if state.samples == 0:
                raise TrainingDivergedError(
                    f"every batch of epoch {epoch + 1} had a non-finite cost and was skipped; "
                    "lower the learning rate", epoch=epoch + 1, batch=batches)
            if state.skipped_batches:
                warnings.warn(f"epoch {epoch + 1}: skipped {state.skipped_batches} batches whose "
                              "cost or gradients were not finite (on_nan='skip')", stacklevel=3)
            logs = {"loss": state.loss_sum / state.samples}
            logs.update({m: metrics.METRICS[m](confusion) for m in self.metric_names})
            if x_val is not None:
                scores = self.evaluate(x_val, y_val, checked=True)
                logs.update({f"val_{k}": v for k, v in scores.items()})
            state.history.append(logs)
            state.seconds += time.perf_counter() - started
            state.epoch, state.batch = epoch + 1, 0
            state.shuffle_state = shuffle_rng.bit_generator.state  # the next epoch's start
            state.layer_rngs = [r.bit_generator.state for r in layer_rngs]
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self._stop_requested and state.epoch < epochs:
                raise TrainingInterrupted(state)

    def request_stop(self) -> None:
        """Ask ``fit`` to stop after the current batch (it raises TrainingInterrupted with the
        state needed to resume).  Safe to call from a signal handler."""
        self._stop_requested = True

    def _generators(self, seed: int, augment: bool):
        """From ``seed``: the shuffling generator, then one generator per stochastic layer
        (and a last one for augmentation), each an independent stream."""
        stochastic = [layer for layer in self.layers if getattr(layer, "stochastic", False)]
        children = np.random.SeedSequence(seed).spawn(2 + len(stochastic))
        shuffle_rng = np.random.default_rng(children[0])
        for layer, child in zip(stochastic, children[1:], strict=False):
            layer.rng = np.random.default_rng(child)
        others = [layer.rng for layer in stochastic]
        if augment:
            others.append(np.random.default_rng(children[-1]))
        return shuffle_rng, others

    def _restore_generators(self, state: TrainingState, shuffle_rng, layer_rngs) -> None:
        if state.shuffle_state is not None:
            shuffle_rng.bit_generator.state = state.shuffle_state
        if len(layer_rngs) != len(state.layer_rngs):
            raise ConfigError("the saved training state does not fit this model and these "
                              "options (a different number of random streams)")
        for rng, saved in zip(layer_rngs, state.layer_rngs, strict=True):
            rng.bit_generator.state = saved

    @staticmethod
    def _record(state: TrainingState, layer_rngs, confusion, batch: int) -> None:
        state.batch = batch
        state.layer_rngs = [r.bit_generator.state for r in layer_rngs]
        state.confusion = confusion.tolist()

    def _cores_in_use(self):
        """barenet's threads take the cores (see ``barenet.parallel``) when a layer's
        element-wise work weighs as much as its matrix products: with convolutions."""
        return parallel.cores_in_use(any(layer.splits_work for layer in self.layers))

    # -- inference --------------------------------------------------------------------------
    def _batches(self, x, batch_size: int, check: str | None = None):
        """(start, (output, logits)) for each batch of ``x`` at inference; with ``check`` (the
        name of x), each batch is checked for NaN and infinities as it is reached (see
        :meth:`_checked_forward`), not in a pass over all of x beforehand."""
        with self._cores_in_use():  # once for all the batches
            for start in range(0, len(x), batch_size):
                batch = backend.xp.asarray(x[start : start + batch_size])
                if check is None:
                    yield start, self._forward(batch, False)
                else:
                    yield start, self._checked_forward(batch, x, check)

    def _checked_forward(self, batch, x, name: str):
        """``_forward`` at inference of a batch of ``x``; a DataError if the batch holds NaN or
        infinities, which names the first bad sample of all of x.

        When the first layer spreads them to every value of a sample's output (Dense, see
        ``Layer.spreads_non_finite``), one value per sample of that fresh output tells as
        surely as the whole sample, without reading the batch from memory a second time: the
        seed MLP's ``predict`` takes 4% less time (medians of 40 alternating calls).  The
        batch itself is read only when such a value is not finite, which finite inputs can
        also cause by overflowing."""
        if not self._check_first_output:
            if not backend.all_finite(batch):
                raise self._non_finite(x, name)
            return self._forward(batch, False)
        with np.errstate(invalid="ignore", over="ignore"):  # bad inputs raise a DataError
            out, bias = self._run_order[0].forward_deferring_bias(batch)
        if not backend.xp.isfinite(out.reshape(len(out), -1)[:, 0]).all() and \
                not backend.all_finite(batch):
            raise self._non_finite(x, name)
        return self._forward(out, False, first=1, bias=bias)

    def inference_batch_size(self) -> int:
        """Samples per batch for ``predict`` and ``evaluate``: as many as keep the largest
        activation of a batch near 2²² values (16 MB of float32, about a CPU cache), so
        convolutions stay in cache; 32 to 1024.  Perceptrons reach the 1024 cap: their products
        run as fast with 1024 rows as with 4096, and the smaller arrays stay in cache and cost
        fewer page faults (the seed MLP's ``predict`` of 10,000 images: 4% faster once warm,
        61 ms instead of 71 on a first call, medians of five fresh processes)."""
        largest = max(math.prod(shape) for shape in self.layer_shapes())
        return max(32, min(1024, 2 ** int(math.log2(max(1, (1 << 22) // largest)))))

    def predict(self, x, batch_size: int | None = None) -> np.ndarray:
        """The network's outputs for ``x`` (class probabilities after a Softmax), in batches
        (of :meth:`inference_batch_size` samples unless given)."""
        x = self.check_inputs(x, "x", finite=False)
        batch_size = batch_size or self.inference_batch_size()
        out = np.empty((len(x), *self.output_shape), dtype=self.dtype)
        for start, (output, _) in self._batches(x, batch_size, check="x"):
            out[start : start + len(output)] = backend.to_numpy(output)
        return out

    def evaluate(self, x, y, batch_size: int | None = None,
                 checked: bool = False) -> dict[str, float]:
        """{"loss": ..., and each watched metric} on (x, y), without training."""
        if not checked:
            x = self.check_inputs(x, "x", finite=False)
            y = self.check_targets(y, len(x), "y")
        batch_size = batch_size or self.inference_batch_size()
        loss_sum = 0.0
        confusion = np.zeros((self.num_classes,) * 2, dtype=np.int64)
        for start, (output, logits) in self._batches(x, batch_size, None if checked else "x"):
            yb = y[start : start + len(output)]
            loss_sum += self._loss(output, logits, yb) * len(output)
            confusion += metrics.confusion_matrix(
                self._classes(yb), self._classes(backend.to_numpy(output)), self.num_classes)
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
        return [backend.to_numpy(v).copy() for _, v in self.variables()]

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
            var[...] = backend.xp.asarray(w)

    @property
    def num_params(self) -> int:
        return sum(layer.num_params for layer in self.layers)

    def _parameter_shapes(self) -> list[Shape]:
        """The parameters' shapes, layer by layer: their order in the packed array."""
        return [p.shape for layer in self.layers for p in layer.params.values()]

    def optimizer_state(self) -> dict[str, object]:
        """The optimizer's slots per parameter, ``{"<parameter index>.<slot>": array}``, the
        parameters numbered layer by layer: the layout of checkpoint files.  (The optimizer
        itself works on the packed parameters, one flat array.)"""
        shapes = self._parameter_shapes()
        out = {}
        for key, flat in self.optimizer.state_arrays().items():
            slot = key.split(".", 1)[1]
            start = 0
            for i, shape in enumerate(shapes):
                size = math.prod(shape)
                out[f"{i}.{slot}"] = flat[start : start + size].reshape(shape)
                start += size
        return out

    def load_optimizer_state(self, iterations: int, arrays: dict[str, object]) -> None:
        """Restore what :meth:`optimizer_state` gave, and the optimizer's step count."""
        shapes = self._parameter_shapes()
        slots: dict[str, dict[int, object]] = {}
        for key, value in arrays.items():
            index, slot = key.split(".", 1)
            slots.setdefault(slot, {})[int(index)] = value
        packed = {}
        for slot, parts in slots.items():
            if sorted(parts) != list(range(len(shapes))) or any(
                    parts[i].shape != shape for i, shape in enumerate(shapes)):
                raise ConfigError(f"the saved optimizer slot {slot!r} does not fit this model's "
                                  "parameters")
            packed[f"0.{slot}"] = backend.xp.concatenate(
                [parts[i].reshape(-1) for i in range(len(shapes))]).astype(self.dtype, copy=False)
        self.optimizer.load_state(iterations, packed, self._params)

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
    def from_config(cls, config: dict, seed: int = 0) -> Sequential:
        """Build (and compile, when the config names a cost) the model ``get_config`` gave."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ConfigError('a network config is an object with a "layers" list')
        model = cls([layer_from_dict(spec) for spec in config["layers"]],
                    input_shape=config.get("input_shape"))
        model.watch(*config.get("metrics", []))
        if "cost" in config:
            model.compile(*optimizer_and_cost(config), seed=seed,
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

    def save(self, path, info: dict | None = None) -> None:
        """Write the model to one safetensors file (atomically); see ``barenet.load_model``."""
        from barenet.model_io import save_model

        save_model(self, path, info=info)
