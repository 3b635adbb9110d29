"""Every optimizer against a hand computation of its formulas over several steps."""

import math

import numpy as np
import pytest

import barenet as bn
from barenet.optimizers import clip_by_global_norm

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.1, 0.0]), np.array([1.5, 0.2, -0.7]),
         np.array([0.05, -2.0, 0.4])]
START = np.array([1.0, -2.0, 0.5])


def run(optimizer):
    p = START.copy()
    for g in GRADS:
        optimizer.step([p], [g.copy()])
    return p


def test_sgd():
    expected = START - 0.1 * sum(GRADS)
    np.testing.assert_allclose(run(bn.SGD(0.1)), expected)


@pytest.mark.parametrize("optimizer", [
    bn.SGD(0.1), bn.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01, clipnorm=0.5),
    bn.RMSProp(0.01, weight_decay=0.01), bn.Adam(0.01, clipnorm=0.1), bn.AdamW(0.01)], ids=repr)
def test_a_step_leaves_the_gradients_as_they_were(optimizer):
    p = START.copy()
    grads = [g.copy() for g in GRADS]
    for g, original in zip(grads, GRADS, strict=True):
        optimizer.step([p], [g])
        np.testing.assert_array_equal(g, original)
    assert not np.array_equal(p, START)


def test_sgd_momentum_and_nesterov():
    p, v = START.copy(), np.zeros(3)
    q, u = START.copy(), np.zeros(3)
    for g in GRADS:
        v = 0.9 * v + g
        p = p - 0.1 * v
        u = 0.9 * u + g
        q = q - 0.1 * (g + 0.9 * u)
    np.testing.assert_allclose(run(bn.SGD(0.1, momentum=0.9)), p)
    np.testing.assert_allclose(run(bn.SGD(0.1, momentum=0.9, nesterov=True)), q)


def test_rmsprop():
    p, s = START.copy(), np.zeros(3)
    for g in GRADS:
        s = 0.9 * s + 0.1 * g**2
        p = p - 0.01 * g / (np.sqrt(s) + 1e-7)
    np.testing.assert_allclose(run(bn.RMSProp(0.01, rho=0.9)), p)


def adam_reference(weight_decay=0.0, decoupled=False):
    p, m, v = START.copy(), np.zeros(3), np.zeros(3)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def test_adam():
    np.testing.assert_allclose(run(bn.Adam(0.01)), adam_reference(), rtol=1e-12)


def test_adam_with_l2_and_adamw():
    np.testing.assert_allclose(run(bn.Adam(0.01, weight_decay=0.1)),
                               adam_reference(0.1), rtol=1e-12)
    np.testing.assert_allclose(run(bn.AdamW(0.01, weight_decay=0.1)),
                               adam_reference(0.1, decoupled=True), rtol=1e-12)


def test_sgd_weight_decay():
    p = START.copy()
    for g in GRADS:
        p = p - 0.1 * (g + 0.01 * p)
    np.testing.assert_allclose(run(bn.SGD(0.1, weight_decay=0.01)), p)


def test_clip_by_global_norm():
    grads = [np.array([3.0, 0.0]), np.array([[0.0, 4.0]])]  # global norm 5
    assert clip_by_global_norm(grads, 10.0) is grads
    clipped = clip_by_global_norm(grads, 1.0)
    total = math.sqrt(sum((g**2).sum() for g in clipped))
    assert total == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(clipped[1] / clipped[0][0], [[0.0, 4.0 / 3.0]])
    np.testing.assert_array_equal(grads[0], [3.0, 0.0])  # the originals are left alone


def test_schedules():
    assert bn.StepDecay(1.0, 0.5, every=10)(25) == 0.25
    assert bn.ExponentialDecay(1.0, 0.5, every=10)(5) == pytest.approx(0.5**0.5)
    cosine = bn.CosineDecay(1.0, total_steps=100, final=0.1)
    assert cosine(0) == 1.0 and cosine(100) == pytest.approx(0.1) and cosine(1000) == cosine(100)
    assert cosine(50) == pytest.approx(0.55)
    warm = bn.LinearWarmup(cosine, warmup_steps=10)
    assert [warm(i) for i in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert warm(60) == pytest.approx(cosine(50))
    linear = bn.LinearDecay(1.0, total_steps=100, start=60, final=0.2)
    assert [linear(t) for t in (0, 59, 60, 80, 100, 150)] == pytest.approx(
        [1.0, 1.0, 1.0, 0.6, 0.2, 0.2])
    again = bn.schedules.get(bn.schedules.to_dict(linear))
    assert [again(t) for t in range(0, 120, 7)] == [linear(t) for t in range(0, 120, 7)]
    with pytest.raises(bn.ConfigError, match="start < total_steps"):
        bn.LinearDecay(1.0, total_steps=10, start=10)


def test_schedule_drives_any_optimizer():
    schedule = bn.StepDecay(0.1, 0.5, every=2)
    p = START.copy()
    for t, g in enumerate(GRADS):
        p = p - schedule(t) * g
    np.testing.assert_allclose(run(bn.SGD(schedule)), p)
    adam = bn.Adam(schedule)
    run(adam)
    assert adam.learning_rate == schedule(4)


@pytest.mark.parametrize("make, match", [
    (lambda: bn.SGD(-1), "learning rate"),
    (lambda: bn.SGD(0.1, momentum=1.5), "momentum"),
    (lambda: bn.SGD(0.1, nesterov=True), "nesterov"),
    (lambda: bn.Adam(0.1, beta1=1.0), "beta1"),
    (lambda: bn.Adam(0.1, clipnorm=0), "clipnorm"),
])
def test_bad_arguments(make, match):
    with pytest.raises(bn.ConfigError, match=match):
        make()
