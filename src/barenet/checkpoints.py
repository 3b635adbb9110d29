"""Training checkpoints: a model file plus what resuming ``fit`` bit for bit needs.

Besides the model's tensors and architecture, a checkpoint holds the optimizer's slots, one
tensor per parameter and slot ("optimizer.<parameter index>.<slot>", the parameters numbered
layer by layer), its step count, and the :class:`~barenet.training.TrainingState`.
"""

from __future__ import annotations

import numpy as np

from barenet import model_io
from barenet.errors import BarenetError, FormatError
from barenet.model import Sequential
from barenet.training import TrainingState


def save_checkpoint(model: Sequential, state: TrainingState, path) -> None:
    """Model, optimizer state and training position, atomically, for ``load_checkpoint``."""
    model.require_compiled()
    optimizer = model.optimizer
    slots = {f"optimizer.{k}": v for k, v in optimizer.state_arrays().items()}
    model_io.write(path, model_io.FORMAT_CHECKPOINT, model.get_config(),
                   {**dict(model.variables()), **slots},
                   {"optimizer_iterations": optimizer.iterations,
                    "training_state": state.to_json()})


def load_checkpoint(path) -> tuple[Sequential, TrainingState]:
    """The model (with its optimizer state restored) and the state to pass to ``fit``."""
    tensors, meta, config = model_io.read(path, (model_io.FORMAT_CHECKPOINT,))
    model = Sequential.from_saved(path, config, tensors)
    try:
        state = TrainingState.from_json(meta["training_state"])
        slots = {k.removeprefix("optimizer."): np.array(v, dtype=model.dtype)
                 for k, v in tensors.items() if k.startswith("optimizer.")}
        model.optimizer.load_state(int(meta["optimizer_iterations"]), slots,
                                   model.parameters()[0])
    except (KeyError, IndexError, ValueError, TypeError, BarenetError) as exc:
        raise FormatError(f"{path}: the training state is damaged ({exc!r})") from None
    return model, state
