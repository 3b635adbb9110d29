"""Against PyTorch, through the public API, in float32 to 1e-4 relative: Dense, every
activation, the costs (and the fused softmax cross-entropy a model uses), and every optimizer
over several steps.  (Convolution, pooling and BatchNorm: test_convolution_reference.py.)"""

import numpy as np
import pytest
from conftest import require

import barenet as bn

pytestmark = pytest.mark.torch
RNG = np.random.default_rng(0)
CLOSE = {"rtol": 1e-4, "atol": 1e-6}


def torch_grads(fn, *arrays):
    """fn(*tensors) with every array as a leaf that needs a gradient: (output, [grads]) after
    back-propagating a fixed random dC/dY, and that dC/dY."""
    torch = require("torch")
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    g = RNG.normal(size=tuple(out.shape)).astype(np.float32)
    out.backward(torch.from_numpy(g))
    return out.detach().numpy(), [leaf.grad.numpy() for leaf in leaves], g


def test_dense():
    torch = require("torch")
    layer = bn.Dense(7, 5, bias_init=0.1, seed=0)
    x = RNG.normal(size=(9, 7)).astype(np.float32)
    y, (dx, dw, db), g = torch_grads(
        lambda x_, w, b: torch.nn.functional.linear(x_, w, b), x,
        np.ascontiguousarray(layer.params["W"].T), layer.params["b"])
    np.testing.assert_allclose(layer.forward(x, True), y, **CLOSE)
    np.testing.assert_allclose(layer.backward(g), dx, **CLOSE)
    np.testing.assert_allclose(layer.grads["W"], dw.T, **CLOSE)  # PyTorch stores Wᵀ
    np.testing.assert_allclose(layer.grads["b"], db, **CLOSE)


ACTIVATIONS = {
    "relu": (bn.ReLU(), lambda t: t.relu()),
    "leaky_relu": (bn.LeakyReLU(0.1), lambda t: __import__("torch").nn.functional.leaky_relu(t, 0.1)),
    "elu": (bn.ELU(0.7), lambda t: __import__("torch").nn.functional.elu(t, 0.7)),
    "gelu": (bn.GELU(), lambda t: __import__("torch").nn.functional.gelu(t, approximate="tanh")),
    "sigmoid": (bn.Sigmoid(), lambda t: t.sigmoid()),
    "tanh": (bn.Tanh(), lambda t: t.tanh()),
    "softmax": (bn.Softmax(), lambda t: t.softmax(dim=-1)),
    "identity": (bn.Identity(), lambda t: t * 1),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name):
    require("torch")
    layer, reference = ACTIVATIONS[name]
    x = (RNG.normal(size=(6, 5)) * 3).astype(np.float32)
    y, (dx,), g = torch_grads(reference, x)
    np.testing.assert_allclose(layer.forward(x, True), y, **CLOSE)
    np.testing.assert_allclose(layer.backward(g), dx, **CLOSE)


@pytest.mark.parametrize("targets", ["labels", "one_hot"])
def test_cross_entropy_after_softmax_from_the_logits(targets):
    """What a model ending in Softmax uses: C from the logits Z, and dC/dZ = (P - T)/N."""
    torch = require("torch")
    z = (RNG.normal(size=(8, 5)) * 4).astype(np.float32)
    labels = RNG.integers(0, 5, 8)
    t = labels if targets == "labels" else np.eye(5, dtype=np.float32)[labels]
    leaf = torch.tensor(z, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(leaf, torch.from_numpy(t))
    loss.backward()
    cost = bn.CrossEntropy()
    p = bn.Softmax().forward(z)
    assert cost.loss_from_logits(z, t) == pytest.approx(loss.item(), rel=1e-5)
    assert cost.loss(p, t) == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(cost.gradient_from_logits(p, t), leaf.grad.numpy(), **CLOSE)


@pytest.mark.parametrize("cost, reference, final", [
    (bn.MSE(), lambda p, t: ((p - t) ** 2).mean(), "identity"),
    (bn.BinaryCrossEntropy(), lambda p, t: __import__("torch").nn.functional.binary_cross_entropy(p, t),
     "sigmoid"),
    (bn.BinaryCrossEntropy(from_logits=True),
     lambda z, t: __import__("torch").nn.functional.binary_cross_entropy_with_logits(z, t), "none"),
    (bn.CrossEntropy(from_logits=True),
     lambda z, t: -(__import__("torch").log_softmax(z, -1) * t).sum(-1).mean(), "none"),
], ids=["mse", "bce", "bce-logits", "ce-logits-soft"])
def test_costs_and_their_gradients(cost, reference, final):
    torch = require("torch")
    z = RNG.normal(size=(8, 3)).astype(np.float32)
    p = 1 / (1 + np.exp(-z)) if final == "sigmoid" else z
    t = RNG.random((8, 3)).astype(np.float32)
    if isinstance(cost, bn.CrossEntropy):
        t /= t.sum(axis=1, keepdims=True)
    leaf = torch.tensor(p, requires_grad=True)
    loss = reference(leaf, torch.from_numpy(t))
    loss.backward()
    assert cost.loss(p, t) == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(cost.gradient(p, t), leaf.grad.numpy(), **CLOSE)


OPTIMIZERS = {
    "sgd": (lambda: bn.SGD(0.1), lambda torch, p: torch.optim.SGD(p, lr=0.1)),
    "sgd-momentum": (lambda: bn.SGD(0.1, momentum=0.9, weight_decay=0.01),
                     lambda torch, p: torch.optim.SGD(p, lr=0.1, momentum=0.9,
                                                      weight_decay=0.01)),
    "sgd-nesterov": (lambda: bn.SGD(0.1, momentum=0.9, nesterov=True),
                     lambda torch, p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "rmsprop": (lambda: bn.RMSProp(0.01, rho=0.9, eps=1e-7),
                lambda torch, p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7)),
    "adam": (lambda: bn.Adam(0.01), lambda torch, p: torch.optim.Adam(p, lr=0.01)),
    "adamw": (lambda: bn.AdamW(0.01, weight_decay=0.1),
              lambda torch, p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizers_over_five_steps(name):
    torch = require("torch")
    ours, theirs = OPTIMIZERS[name]
    start = [RNG.normal(size=(4, 3)).astype(np.float32), RNG.normal(size=3).astype(np.float32)]
    grads = [[RNG.normal(size=a.shape).astype(np.float32) for a in start] for _ in range(5)]
    params = [a.copy() for a in start]
    optimizer = ours()
    tensors = [torch.tensor(a, requires_grad=True) for a in start]
    reference = theirs(torch, tensors)
    for step in grads:
        optimizer.step(params, step)
        for tensor, g in zip(tensors, step, strict=True):
            tensor.grad = torch.from_numpy(g)
        reference.step()
    for mine, tensor in zip(params, tensors, strict=True):
        np.testing.assert_allclose(mine, tensor.detach().numpy(), **CLOSE)
