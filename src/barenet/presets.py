"""Training presets for ``barenet train --preset NAME``.

A preset, like a ``--config`` file, is a JSON-ready dict::

    {"layers": [{"type": "Dense", "config": {...}}, ...],   # the network
     "optimizer": {"type": "SGD", "config": {"learning_rate": 0.04}},
     "cost": "cross_entropy", "metrics": ["accuracy", ...],
     "epochs": 15, "batch_size": 100,
     "augment": {"max_degrees": 10, "max_shift": 2},          # optional
     "pen_digits": 1}   # optional: add the UCI pen digits, drawn this many times each

Images reach the network as (N, 784) float32 in [0, 1]; convolutional networks start with
``Reshape([1, 28, 28])``.  A preset is a function of the number of steps per epoch (schedules
count optimizer steps), the number of epochs and the dataset it will train on.
"""

from __future__ import annotations

import math

from barenet.data.pendigits import TRAINING_DIGITS
from barenet.errors import ConfigError

METRICS = ["accuracy", "precision", "recall"]


def layer(kind: str, **config) -> dict:
    return {"type": kind, "config": config}


def _seed_mlp_layers() -> list[dict]:
    return [
        layer("Dense", in_features=784, out_features=256, init="he_normal"),
        layer("ReLU"),
        layer("Dense", in_features=256, out_features=256, init="he_normal"),
        layer("ReLU"),
        layer("Dense", in_features=256, out_features=10, init="glorot_uniform"),
        layer("Softmax"),
    ]


def seed_mlp(steps_per_epoch: int, epochs: int = 15, dataset: str = "mnist") -> dict:
    """The design's network: 784-256-256-10, ReLU, gradient descent 0.04, batch 100, 15 epochs
    (the design reports 97.31% test accuracy)."""
    return {"layers": _seed_mlp_layers(),
            "optimizer": {"type": "SGD", "config": {"learning_rate": 0.04}},
            "cost": "cross_entropy", "metrics": METRICS, "epochs": epochs, "batch_size": 100}


def seed_overfit(steps_per_epoch: int, epochs: int = 15, dataset: str = "mnist") -> dict:
    """The design's overfitting run: the seed network with mini-batches of 5, where the
    validation cost turns upward while the training cost keeps falling."""
    return {**seed_mlp(steps_per_epoch, epochs, dataset), "batch_size": 5}


def _cosine_adam(initial: float, epochs: int, steps_per_epoch: int, kind: str = "Adam",
                 **extra) -> dict:
    total = epochs * steps_per_epoch
    schedule = {"type": "LinearWarmup", "config": {
        "after": {"type": "CosineDecay", "config": {"initial": initial, "total_steps": total,
                                                     "final": initial / 100}},
        "warmup_steps": steps_per_epoch // 2}}
    return {"type": kind, "config": {"learning_rate": schedule, **extra}}


def mlp(steps_per_epoch: int, epochs: int = 30, dataset: str = "mnist") -> dict:
    """The best perceptron here: two wide ReLU layers with dropout, AdamW with a cosine
    schedule, and small random shifts and rotations of the training images."""
    return {
        "layers": [
            layer("Dense", in_features=784, out_features=1024, init="he_normal"),
            layer("ReLU"),
            layer("Dropout", rate=0.3),
            layer("Dense", in_features=1024, out_features=1024, init="he_normal"),
            layer("ReLU"),
            layer("Dropout", rate=0.3),
            layer("Dense", in_features=1024, out_features=10, init="glorot_uniform"),
            layer("Softmax"),
        ],
        "optimizer": _cosine_adam(1e-3, epochs, steps_per_epoch, "AdamW", weight_decay=1e-4),
        "cost": "cross_entropy", "metrics": METRICS, "epochs": epochs, "batch_size": 128,
        "augment": {"max_degrees": 10.0, "max_shift": 2.0},
    }


def cnn(steps_per_epoch: int, epochs: int = 3, dataset: str = "mnist") -> dict:
    """The classic small CNN: conv 3x3x32, pool, conv 3x3x64, pool, dropout 0.5, dense 10;
    Adam 1e-3, batch 128, 3 epochs.

    Three additions keep that recipe and bring it to 99% (the README gives the figures): a
    Deskew layer straightens the handwriting (it is saved with the model, so predictions
    deskew too; Fashion-MNIST's clothes go without it); the rate falls linearly to 0 over the
    last epoch; "same" padding keeps the borders."""
    return {
        "layers": [
            layer("Reshape", shape=[1, 28, 28]),
            *([layer("Deskew")] if dataset == "mnist" else []),
            layer("Conv2D", in_channels=1, out_channels=32, kernel_size=3, padding="same"),
            layer("ReLU"),
            layer("MaxPool2D", pool_size=2),
            layer("Conv2D", in_channels=32, out_channels=64, kernel_size=3, padding="same"),
            layer("ReLU"),
            layer("MaxPool2D", pool_size=2),
            layer("Flatten"),
            layer("Dropout", rate=0.5),
            layer("Dense", in_features=64 * 7 * 7, out_features=10, init="glorot_uniform"),
            layer("Softmax"),
        ],
        "optimizer": {"type": "Adam", "config": {"learning_rate": {
            "type": "LinearDecay", "config": {"initial": 1e-3, "total_steps": epochs * steps_per_epoch,
                                              "start": (epochs - 1) * steps_per_epoch}}}},
        "cost": "cross_entropy", "metrics": METRICS, "epochs": epochs, "batch_size": 128,
    }


def cnn_best(steps_per_epoch: int, epochs: int = 10, dataset: str = "mnist") -> dict:
    """The best CNN here: three convolution blocks (3x3, batch norm, ReLU, max-pool) of 32, 64
    and 128 channels, a dense layer of 128 with dropout; Adam with warm-up and cosine decay.
    Sized to train in under 15 minutes on two cores.  Augmented with random shifts, and
    rotations for handwriting (MNIST) or left-right mirroring for clothes."""

    def block(c_in: int, c_out: int) -> list[dict]:
        return [layer("Conv2D", in_channels=c_in, out_channels=c_out, kernel_size=3,
                      padding="same"), layer("BatchNorm"), layer("ReLU"),
                layer("MaxPool2D", pool_size=2)]

    return {
        "layers": [
            layer("Reshape", shape=[1, 28, 28]),
            *block(1, 32), *block(32, 64), *block(64, 128),
            layer("Flatten"),
            layer("Dense", in_features=128 * 3 * 3, out_features=128, init="he_normal"),
            layer("ReLU"),
            layer("Dropout", rate=0.3),
            layer("Dense", in_features=128, out_features=10, init="glorot_uniform"),
            layer("Softmax"),
        ],
        "optimizer": _cosine_adam(3e-3, epochs, steps_per_epoch),
        "cost": "cross_entropy", "metrics": METRICS, "epochs": epochs, "batch_size": 128,
        "augment": ({"max_degrees": 10.0, "max_shift": 2.0} if dataset == "mnist"
                    else {"max_degrees": 0.0, "max_shift": 2.0, "flip": True}),
    }


def draw(steps_per_epoch: int, epochs: int = 12, dataset: str = "mnist") -> dict:
    """The drawing mode's network, trained to read people rather than MNIST's test set: the
    ``cnn-best`` blocks after a ``Deskew`` layer, with a narrower dense layer (167,562
    parameters, 0.7 MB saved); MNIST and the pen digits of 30 more writers drawn as on the page
    (``data.pendigits``), every training image distorted the way people's writing differs from
    MNIST's: rotated, scaled, sheared, shifted, elastically warped, with thinner or thicker
    strokes."""
    config = cnn_best(steps_per_epoch, epochs, dataset)
    dense = next(i for i, spec in enumerate(config["layers"]) if spec["type"] == "Dense")
    config["layers"][dense]["config"]["out_features"] = 64
    config["layers"][dense + 3]["config"]["in_features"] = 64
    config["augment"] = {"max_degrees": 12.0, "max_shift": 2.0, "max_scale": 0.12,
                         "max_shear": 0.3, "elastic": 30.0, "elastic_sigma": 4.0, "stroke": 1.0}
    if dataset == "mnist":
        config["layers"].insert(1, layer("Deskew"))
        config["pen_digits"] = 1
    return config


def _recurrent(kind: str):
    def preset(steps_per_epoch: int, epochs: int = 8, dataset: str = "mnist") -> dict:
        return {
            "layers": [
                layer("Reshape", shape=[28, 28]),  # read row by row: 28 steps of 28 pixels
                layer(kind, units=128),
                layer("Dense", in_features=128, out_features=10, init="glorot_uniform"),
                layer("Softmax"),
            ],
            "optimizer": _cosine_adam(2e-3, epochs, steps_per_epoch, clipnorm=1.0),
            "cost": "cross_entropy", "metrics": METRICS, "epochs": epochs, "batch_size": 128,
        }

    preset.__doc__ = (f"A recurrent network that reads an image row by row: 28 steps of 28 "
                      f"pixels into one {kind} layer of 128 units, then a dense layer; Adam with "
                      "warm-up and cosine decay, gradients clipped to a global norm of 1.")
    return preset


lstm, gru = _recurrent("LSTM"), _recurrent("GRU")

PRESETS = {"seed-mlp": seed_mlp, "seed-overfit": seed_overfit, "mlp": mlp, "cnn": cnn,
           "cnn-best": cnn_best, "draw": draw, "lstm": lstm, "gru": gru}
DEFAULT = "seed-mlp"


def get(name: str, train_size: int, batch_size: int | None = None,
        epochs: int | None = None, dataset: str = "mnist") -> dict:
    """The preset ``name`` for ``train_size`` training images of ``dataset``, plus the pen
    digits it adds (with its schedule stretched to ``epochs`` and ``batch_size`` when those
    are overridden)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    build = PRESETS[name]
    defaults = build(1, dataset=dataset)
    batch_size = batch_size or defaults["batch_size"]
    train_size += defaults.get("pen_digits", 0) * TRAINING_DIGITS
    config = build(math.ceil(train_size / batch_size), *([epochs] if epochs else []),
                   dataset=dataset)
    config["batch_size"] = batch_size
    return config
