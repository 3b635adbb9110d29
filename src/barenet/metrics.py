"""Classification metrics, all derived from one confusion matrix.

``confusion[i, j]`` counts the samples of true class i predicted as class j.  Precision and
recall are per class, then macro-averaged (the plain mean over classes).  A class that is never
predicted has precision 0 (there is no correct prediction of it to count), and a class absent
from the labels has recall 0, as scikit-learn does with ``zero_division=0``.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import ConfigError


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """(num_classes, num_classes) int64 counts; rows are true classes, columns predictions."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(num.shape, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def accuracy(confusion: np.ndarray) -> float:
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else 0.0


def precision_per_class(confusion: np.ndarray) -> np.ndarray:
    """TPₖ / (TPₖ + FPₖ): of the samples predicted as k, the share that are k."""
    return _safe_divide(np.diag(confusion), confusion.sum(axis=0))


def recall_per_class(confusion: np.ndarray) -> np.ndarray:
    """TPₖ / (TPₖ + FNₖ): of the samples of class k, the share predicted as k."""
    return _safe_divide(np.diag(confusion), confusion.sum(axis=1))


def f1_per_class(confusion: np.ndarray) -> np.ndarray:
    """2PR / (P + R), the harmonic mean of precision and recall."""
    p, r = precision_per_class(confusion), recall_per_class(confusion)
    return _safe_divide(2 * p * r, p + r)


def precision(confusion: np.ndarray) -> float:
    return float(precision_per_class(confusion).mean())


def recall(confusion: np.ndarray) -> float:
    return float(recall_per_class(confusion).mean())


def f1(confusion: np.ndarray) -> float:
    return float(f1_per_class(confusion).mean())


METRICS = {"accuracy": accuracy, "precision": precision, "recall": recall, "f1": f1}


def check_names(names) -> tuple[str, ...]:
    for name in names:
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r}; watch any of {sorted(METRICS)}")
    return tuple(dict.fromkeys(names))


def report(confusion: np.ndarray) -> dict:
    """Every metric, macro and per class, plus the matrix itself (JSON-ready)."""
    return {
        "accuracy": accuracy(confusion),
        "precision": precision(confusion),
        "recall": recall(confusion),
        "f1": f1(confusion),
        "per_class": {
            "precision": precision_per_class(confusion).tolist(),
            "recall": recall_per_class(confusion).tolist(),
            "f1": f1_per_class(confusion).tolist(),
            "support": confusion.sum(axis=1).tolist(),
        },
        "confusion_matrix": confusion.tolist(),
    }
