"""Figures of a training run, drawn with matplotlib (off-screen) and written atomically."""

from __future__ import annotations

import io

import numpy as np

from barenet.serialization import write_atomic


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    write_atomic(path, buffer.getvalue())


def curves(history: dict[str, list[float]], path, title: str = "") -> None:
    """Training versus validation cost and accuracy, by epoch, side by side."""
    plt = _pyplot()
    panels = [k for k in ("loss", "accuracy") if k in history]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, key in zip(axes[0], panels, strict=True):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], "o-", label="training")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("cost" if key == "loss" else key)
        ax.set_title(("Cost" if key == "loss" else key.capitalize()) + " by epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    _save(fig, path)


def confusion(matrix, classes, path, title: str = "Confusion matrix (test set)") -> None:
    """The confusion matrix as a heat map with the count in each cell."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=45 if len(classes[0]) > 1 else 0,
                  ha="right" if len(classes[0]) > 1 else "center")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = np.log1p(matrix).max() / 2
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if np.log1p(count) > threshold else "black")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    _save(fig, path)


def compare(runs: list[tuple[str, dict]], path) -> None:
    """Validation cost and accuracy of several runs on shared axes."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in runs:
        for ax, key in zip(axes, ("val_loss", "val_accuracy"), strict=True):
            if key in history:
                ax.plot(np.arange(1, len(history[key]) + 1), history[key], "o-", label=name)
    for ax, label in zip(axes, ("validation cost", "validation accuracy"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Validation curves")
    _save(fig, path)
