"""barenet's own exceptions: every error a user can cause is one of these.

Each message names the problem and how to fix it.  They subclass the matching built-in
(``ValueError``, ``FileNotFoundError``...) so ordinary ``except`` clauses keep working.
"""


class BarenetError(Exception):
    """Base class of every error barenet raises on purpose."""


class ShapeError(BarenetError, ValueError):
    """Layers, data or labels whose shapes do not fit together."""


class ConfigError(BarenetError, ValueError):
    """A bad argument, an unknown name, or a network that cannot be compiled."""


class DataError(BarenetError, ValueError):
    """Input data or labels that cannot be used (NaN, wrong dtype, empty, bad labels)."""


class FormatError(BarenetError, ValueError):
    """A file (IDX, model, checkpoint) that is malformed, truncated or tampered with."""


class DatasetNotFoundError(BarenetError, FileNotFoundError):
    """A dataset that is neither on disk nor downloadable."""


class TrainingDivergedError(BarenetError, ArithmeticError):
    """The loss or the gradients became NaN or infinite."""

    def __init__(self, message: str, epoch: int, batch: int):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch


class TrainingInterrupted(BarenetError):
    """Training stopped on request (SIGINT, SIGTERM) at a batch boundary.

    ``state`` is the ``TrainingState`` to checkpoint and resume from.
    """

    def __init__(self, state):
        super().__init__(f"training interrupted at epoch {state.epoch + 1}, batch {state.batch}")
        self.state = state


class GradientCheckError(BarenetError, AssertionError):
    """A layer's ``backward`` disagrees with finite differences (see ``barenet.gradcheck``).

    ``name`` is the worst array ("input" or a parameter name), ``error`` its relative error.
    """

    def __init__(self, message: str, name: str, error: float):
        super().__init__(message)
        self.name = name
        self.error = error
