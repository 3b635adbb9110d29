"""barenet: a sequential neural-network library written from scratch on NumPy.

    import barenet as bn
    net = (bn.Sequential()
           .push(bn.Dense(784, 256, init="he")).push(bn.ReLU())
           .push(bn.Dense(256, 10, init="glorot_uniform")).push(bn.Softmax())
           .watch("accuracy", "precision", "recall")
           .compile(bn.SGD(0.04), bn.CrossEntropy()))
"""

from barenet import fast, initializers, metrics, schedules
from barenet.callbacks import Callback, EarlyStopping, ProgressBar
from barenet.checkpoints import load_checkpoint, save_checkpoint
from barenet.errors import (
    BarenetError,
    ConfigError,
    DataError,
    DatasetNotFoundError,
    FormatError,
    GradientCheckError,
    ShapeError,
    TrainingDivergedError,
    TrainingInterrupted,
)
from barenet.gradcheck import gradcheck
from barenet.history import History
from barenet.initializers import seed
from barenet.layers import *  # noqa: F403 - the layers are the package's vocabulary
from barenet.layers import __all__ as _layer_names
from barenet.losses import MSE, BinaryCrossEntropy, Cost, CrossEntropy
from barenet.model import Sequential, load_model
from barenet.optimizers import SGD, Adam, AdamW, Optimizer, RMSProp
from barenet.schedules import CosineDecay, ExponentialDecay, LinearDecay, LinearWarmup, StepDecay
from barenet.training import TrainingState

__version__ = "0.1.0"

__all__ = [
    *_layer_names,
    "MSE", "SGD", "Adam", "AdamW", "BarenetError", "BinaryCrossEntropy", "Callback",
    "ConfigError", "CosineDecay", "Cost", "CrossEntropy", "DataError", "DatasetNotFoundError",
    "EarlyStopping", "ExponentialDecay", "FormatError", "GradientCheckError", "History",
    "LinearDecay", "LinearWarmup",
    "Optimizer",
    "ProgressBar", "RMSProp", "Sequential", "ShapeError", "StepDecay", "TrainingDivergedError",
    "TrainingInterrupted", "TrainingState", "fast", "gradcheck", "initializers", "load_checkpoint",
    "load_model", "metrics", "save_checkpoint", "schedules", "seed",
]
