"""Training a compiled model: the step, the loop over epochs and mini-batches, and resuming.

One training step is the design's loop::

    Ŷ = forward through every layer
    g = dC/dŶ                     (or dC/dZ for the logits Z, when the cost fuses with the
                                   last layer: (P - T)/N for softmax and cross-entropy)
    backward through the layers in reverse: each turns dC/dY into dC/dX and sets its grads
    θ ← optimizer update of θ from dC/dθ, for every parameter

``fit`` runs it on shuffled mini-batches, reports the cost and the watched metrics every
epoch, stops cleanly on request, and keeps in a :class:`TrainingState` what resuming needs.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from barenet import metrics
from barenet.callbacks import Callback, ProgressBar
from barenet.errors import ConfigError, DataError, TrainingDivergedError, TrainingInterrupted
from barenet.history import History
from barenet.layers.base import positive_int
from barenet.validation import check_inputs, check_targets


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


def lowest_trainable(layers) -> int:
    """The index of the first layer with parameters: back-propagation stops there."""
    return next((i for i, layer in enumerate(layers) if layer.params), len(layers))


def train_step(model, runner, x, y) -> tuple[float, object, bool]:
    """One forward, backward and update on a batch: (cost, output, applied).

    Nothing is updated, and ``applied`` is False, when the cost or a gradient is not finite.
    """
    output, logits = runner.forward(x, True)
    layers = model.layers
    loss = model.loss(output, logits, y)
    if model.cost_fuses:
        grad, top = model.cost.gradient_from_logits(output, y), len(layers) - 1
    else:
        grad, top = model.cost.gradient(output, y), len(layers)
    if not math.isfinite(loss):
        return loss, output, False
    runner.backward(grad, top, lowest_trainable(layers))
    params, grads = model.parameters()
    if not runner.all_finite(grads):
        return math.nan, output, False
    model.optimizer.step(params, grads)
    return loss, output, True


def fit(model, x, y, epochs: int = 1, batch_size: int = 32, validation_data=None,
        validation_split: float = 0.0, shuffle: bool = True, seed: int = 0,
        callbacks: list[Callback] | None = None, verbose: bool = True,
        on_nan: str = "raise", augment=None, state: TrainingState | None = None) -> History:
    """Train ``model`` for ``epochs`` passes over (x, y) in shuffled mini-batches.

    ``validation_data=(x_val, y_val)``, or ``validation_split`` (a fraction of x held out
    with ``seed``), is evaluated after every epoch.  ``seed`` also draws the shuffling and the
    dropout masks.  ``on_nan="skip"`` skips a batch whose cost or gradients are not finite
    instead of stopping.  ``augment(x_batch, rng)`` returns a transformed copy of each
    training batch (see ``barenet.data.random_affine``).  ``state`` resumes an interrupted
    call (see :class:`TrainingState`).  Returns the :class:`History`.
    """
    model.require_compiled()
    if on_nan not in ("raise", "skip"):
        raise ConfigError(f"on_nan must be 'raise' or 'skip', got {on_nan!r}")
    epochs = positive_int(epochs, "epochs", "fit")
    batch_size = positive_int(batch_size, "batch_size", "fit")
    x = check_inputs(model, x, "x")
    y = check_targets(model, y, len(x), "y")
    if validation_data is not None:
        if not (isinstance(validation_data, tuple | list) and len(validation_data) == 2):
            raise ConfigError("validation_data must be a pair (x_val, y_val)")
        x_val = check_inputs(model, validation_data[0], "validation x")
        y_val = check_targets(model, validation_data[1], len(x_val), "validation y")
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

    shuffle_rng, layer_rngs = _generators(model, seed, augment is not None)
    if state is None:
        state = TrainingState(seed=seed)
    else:
        _restore_generators(state, shuffle_rng, layer_rngs)
    callbacks = list(callbacks or [])
    if verbose:
        callbacks.append(ProgressBar())
    batches = math.ceil(len(x) / batch_size)
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin({"epochs": epochs, "batches": batches})

    model.stop_training = False
    model.stop_requested = False
    model.history = state.history
    model.training_state = state
    runner = model.runner()
    # Divergence is reported below, as an error or a skipped batch, not as a warning.
    with np.errstate(over="ignore", invalid="ignore"), runner.running():
        while state.epoch < epochs and not model.stop_training:
            logs = _epoch(model, runner, x, y, batch_size, shuffle, on_nan, augment, state,
                          shuffle_rng, layer_rngs, callbacks)
            if x_val is not None:
                scores = model.evaluate(x_val, y_val, checked=True)
                logs.update({f"val_{k}": v for k, v in scores.items()})
            state.history.append(logs)
            for cb in callbacks:
                cb.on_epoch_end(state.epoch - 1, logs)
            if model.stop_requested and state.epoch < epochs:
                raise TrainingInterrupted(state)
    for cb in callbacks:
        cb.on_train_end({})
    return state.history


def _epoch(model, runner, x, y, batch_size, shuffle, on_nan, augment, state, shuffle_rng,
           layer_rngs, callbacks) -> dict:
    """One epoch from ``state``'s position; the epoch's training logs."""
    epoch, batches = state.epoch, math.ceil(len(x) / batch_size)
    if state.batch == 0:
        state.shuffle_state = shuffle_rng.bit_generator.state
        state.loss_sum, state.samples, state.skipped_batches = 0.0, 0, 0
        state.confusion = np.zeros((model.num_classes,) * 2, np.int64).tolist()
    else:
        shuffle_rng.bit_generator.state = state.shuffle_state
    started = time.perf_counter()
    for cb in callbacks:
        cb.on_epoch_begin(epoch, {})
    order = shuffle_rng.permutation(len(x)) if shuffle else np.arange(len(x))
    confusion = np.asarray(state.confusion, dtype=np.int64)
    for b in range(state.batch, batches):
        rows = order[b * batch_size : (b + 1) * batch_size]
        xb, yb = x[rows], y[rows]
        if augment is not None:
            xb = augment(xb, layer_rngs[-1])
        loss, output, applied = train_step(model, runner, xb, yb)
        if not applied:
            if on_nan == "raise":
                _record(state, layer_rngs, confusion, b)
                raise TrainingDivergedError(
                    f"training diverged at epoch {epoch + 1}, batch {b + 1}: the cost or its "
                    f"gradients became {loss}. The weights are left as they were before this "
                    f"batch. Lower the learning rate (it was {model.optimizer.learning_rate:g}), "
                    "check that the inputs are scaled (e.g. to [0, 1]), or clip gradients with "
                    "clipnorm=...", epoch=epoch + 1, batch=b + 1)
            state.skipped_batches += 1
        else:
            state.loss_sum += loss * len(xb)
            state.samples += len(xb)
            confusion += metrics.confusion_matrix(model.classes(yb), model.classes(output),
                                                  model.num_classes)
        for cb in callbacks:
            cb.on_batch_end(b, {"loss": state.loss_sum / max(state.samples, 1)})
        if model.stop_requested and b + 1 < batches:
            state.seconds += time.perf_counter() - started
            _record(state, layer_rngs, confusion, b + 1)
            raise TrainingInterrupted(state)
    if state.samples == 0:
        raise TrainingDivergedError(
            f"every batch of epoch {epoch + 1} had a non-finite cost and was skipped; "
            "lower the learning rate", epoch=epoch + 1, batch=batches)
    if state.skipped_batches:
        warnings.warn(f"epoch {epoch + 1}: skipped {state.skipped_batches} batches whose "
                      "cost or gradients were not finite (on_nan='skip')", stacklevel=4)
    logs = {"loss": state.loss_sum / state.samples}
    logs.update({m: metrics.METRICS[m](confusion) for m in model.metric_names})
    state.seconds += time.perf_counter() - started
    state.epoch, state.batch = epoch + 1, 0
    state.shuffle_state = shuffle_rng.bit_generator.state  # the next epoch's start
    state.layer_rngs = [r.bit_generator.state for r in layer_rngs]
    return logs


def _generators(model, seed: int, augment: bool):
    """From ``seed``: the shuffling generator, then one generator per layer that draws random
    numbers (a layer with an ``rng``, such as Dropout), and a last one for augmentation,
    each an independent stream."""
    drawing = [layer for layer in model.layers
               if isinstance(getattr(layer, "rng", None), np.random.Generator)]
    children = np.random.SeedSequence(seed).spawn(2 + len(drawing))
    shuffle_rng = np.random.default_rng(children[0])
    for layer, child in zip(drawing, children[1:], strict=False):
        layer.rng = np.random.default_rng(child)
    others = [layer.rng for layer in drawing]
    if augment:
        others.append(np.random.default_rng(children[-1]))
    return shuffle_rng, others


def _restore_generators(state: TrainingState, shuffle_rng, layer_rngs) -> None:
    if state.shuffle_state is not None:
        shuffle_rng.bit_generator.state = state.shuffle_state
    if len(layer_rngs) != len(state.layer_rngs):
        raise ConfigError("the saved training state does not fit this model and these "
                          "options (a different number of random streams)")
    for rng, saved in zip(layer_rngs, state.layer_rngs, strict=True):
        rng.bit_generator.state = saved


def _record(state: TrainingState, layer_rngs, confusion, batch: int) -> None:
    state.batch = batch
    state.layer_rngs = [r.bit_generator.state for r in layer_rngs]
    state.confusion = confusion.tolist()
