"""Costs: finite-difference gradients, the fused softmax/sigmoid forms, and stability."""

import numpy as np
import pytest
from conftest import numeric_gradient

import barenet as bn
from barenet.layers.activations import softmax

RNG = np.random.default_rng(3)


def check_cost_gradient(cost, y_pred, target):
    analytic = cost.gradient(y_pred, target)
    numeric = numeric_gradient(lambda: cost.loss(y_pred, target), y_pred)
    np.testing.assert_allclose(analytic, numeric, atol=1e-7, rtol=1e-5)


def test_mse_value_and_gradient():
    y, t = RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))
    assert bn.MSE().loss(y, t) == pytest.approx(((y - t) ** 2).mean())
    check_cost_gradient(bn.MSE(), y, t)
    labels = np.array([0, 2, 1, 2])
    check_cost_gradient(bn.MSE(), y, labels)
    assert bn.MSE().loss(y, labels) == pytest.approx(((y - np.eye(3)[labels]) ** 2).mean())


@pytest.mark.parametrize("labels", ["integer", "one_hot"])
def test_cross_entropy_on_probabilities(labels):
    p = softmax(RNG.normal(size=(5, 4)))
    t = RNG.integers(0, 4, size=5)
    target = t if labels == "integer" else np.eye(4)[t]
    assert bn.CrossEntropy().loss(p, target) == pytest.approx(-np.log(p[np.arange(5), t]).mean())
    check_cost_gradient(bn.CrossEntropy(), p, target)


@pytest.mark.parametrize("labels", ["integer", "one_hot"])
def test_cross_entropy_fused_with_softmax(labels):
    """The fused gradient (P - T)/N equals the chain rule through Softmax, and from_logits
    gives the same loss as Softmax followed by CrossEntropy."""
    z = RNG.normal(size=(6, 5))
    t = RNG.integers(0, 5, size=6)
    target = t if labels == "integer" else np.eye(5)[t]
    cost, layer = bn.CrossEntropy(), bn.Softmax()
    p = layer.forward(z)
    chain = layer.backward(cost.gradient(p, target))
    np.testing.assert_allclose(cost.gradient_from_logits(p, target), chain, atol=1e-12)
    np.testing.assert_allclose((p - np.eye(5)[t]) / 6, chain, atol=1e-12)
    logits_cost = bn.CrossEntropy(from_logits=True)
    assert logits_cost.loss(z, target) == pytest.approx(cost.loss(p, target))
    check_cost_gradient(logits_cost, z, target)


@pytest.mark.parametrize("targets", ["integer", "one_hot", "soft"])
def test_the_fused_cross_entropy_gradient_is_the_chain_through_softmax(targets):
    """dC/dZ = (P - T)/N, which a model uses after a Softmax, equals Softmax's backward pass
    of CrossEntropy's own gradient, for labels, one-hot rows and soft targets (which sum to 1);
    the cost from the logits equals the cost of the probabilities."""
    z = RNG.normal(size=(7, 4)) * 3
    t = RNG.integers(0, 4, size=7)
    target = {"integer": t, "one_hot": np.eye(4)[t], "soft": softmax(RNG.normal(size=(7, 4)))}
    target = target[targets]
    cost, layer = bn.CrossEntropy(), bn.Softmax()
    p = layer.forward(z)
    chain = layer.backward(cost.gradient(p, target))
    np.testing.assert_allclose(cost.gradient_from_logits(p, target), chain, atol=1e-12)
    assert cost.loss_from_logits(z, target) == pytest.approx(cost.loss(p, target), rel=1e-9)


def test_cross_entropy_huge_logits_stay_finite():
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]], dtype=np.float32)
    t = np.array([2, 1])
    loss = bn.CrossEntropy(from_logits=True).loss(z, t)
    assert np.isfinite(loss)
    assert loss == pytest.approx(2e4 / 2, rel=1e-6)  # -log p = 2e4 for the first row, 0 after
    p = softmax(z)
    assert np.isfinite(p).all()
    assert np.isfinite(bn.CrossEntropy().gradient_from_logits(p, t)).all()


def test_binary_cross_entropy():
    z = RNG.normal(size=(7, 1))
    p = 0.5 * (1 + np.tanh(z / 2))
    t = RNG.integers(0, 2, size=(7, 1)).astype(float)
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert bn.BinaryCrossEntropy().loss(p, t) == pytest.approx(expected)
    assert bn.BinaryCrossEntropy(from_logits=True).loss(z, t) == pytest.approx(expected)
    check_cost_gradient(bn.BinaryCrossEntropy(), p, t)
    check_cost_gradient(bn.BinaryCrossEntropy(from_logits=True), z, t)
    sigmoid = bn.Sigmoid()
    chain = sigmoid.backward(bn.BinaryCrossEntropy().gradient(sigmoid.forward(z), t))
    np.testing.assert_allclose(bn.BinaryCrossEntropy().gradient_from_logits(p, t), chain,
                               atol=1e-12)
    big = np.array([[1e4], [-1e4]])
    assert np.isfinite(bn.BinaryCrossEntropy(from_logits=True).loss(big, np.array([[0.0], [1.0]])))


def test_costs_refuse_a_last_layer_that_does_not_fit():
    net = bn.Sequential().push(bn.Dense(3, 2))
    with pytest.raises(bn.ConfigError, match="push a Softmax"):
        net.compile(bn.SGD(0.1), bn.CrossEntropy())
    with pytest.raises(bn.ConfigError, match="push a Sigmoid"):
        net.compile(bn.SGD(0.1), bn.BinaryCrossEntropy())
    net.compile(bn.SGD(0.1), bn.CrossEntropy(from_logits=True))
