"""Metrics against hand-built confusion matrices."""

import numpy as np
import pytest

from barenet import metrics


def test_confusion_matrix_counts():
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 0, 1]
    expected = np.array([[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 3), expected)


def test_metrics_with_a_class_never_predicted():
    # Class 2 is never predicted: its precision is 0 by convention, its recall is 0.
    cm = np.array([[1, 1, 0], [1, 2, 0], [0, 1, 0]])
    assert metrics.accuracy(cm) == pytest.approx(3 / 6)
    np.testing.assert_allclose(metrics.precision_per_class(cm), [1 / 2, 2 / 4, 0.0])
    np.testing.assert_allclose(metrics.recall_per_class(cm), [1 / 2, 2 / 3, 0.0])
    assert metrics.precision(cm) == pytest.approx((0.5 + 0.5 + 0) / 3)
    assert metrics.recall(cm) == pytest.approx((0.5 + 2 / 3 + 0) / 3)
    f1_class1 = 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3)
    assert metrics.f1(cm) == pytest.approx((0.5 + f1_class1 + 0) / 3)


def test_perfect_and_report():
    cm = np.diag([3, 4])
    assert metrics.accuracy(cm) == metrics.precision(cm) == metrics.recall(cm) == 1.0
    report = metrics.report(cm)
    assert report["per_class"]["support"] == [3, 4]
    assert report["confusion_matrix"] == [[3, 0], [0, 4]]


def test_unknown_metric_name():
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        metrics.check_names(["acc"])
