"""Shared test helpers: finite differences of a scalar, optional references, real MNIST."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest


def require(module: str):
    """Import ``module`` for a reference test: skip without it locally, fail under CI."""
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


def numeric_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every entry of ``array``
    (perturbed in place and restored)."""
    grad = np.zeros_like(array)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST, scaled and flattened: skipped without it locally, a failure under CI."""
    from barenet.data import datasets
    from barenet.errors import DatasetNotFoundError

    try:
        (x, y), (xt, yt) = datasets.load("mnist", download=False)
    except DatasetNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs MNIST (set BARENET_DATA): {exc}")
        pytest.skip("MNIST is not available on this machine")
    flat = [datasets.scale(a).reshape(len(a), -1) for a in (x, xt)]
    return flat[0], y, flat[1], yt


@pytest.fixture(scope="session")
def mnist_model_path(mnist, tmp_path_factory):
    """A small MLP trained on MNIST for two epochs, saved (about 95% accurate)."""
    import barenet as bn

    x, y, xt, yt = mnist
    net = (bn.Sequential([bn.Dense(784, 128), bn.ReLU(), bn.Dense(128, 10), bn.Softmax()])
           .watch("accuracy").compile(bn.Adam(2e-3), bn.CrossEntropy(), seed=0))
    net.fit(x, y, epochs=2, batch_size=100, seed=0, verbose=False)
    accuracy = net.evaluate(xt, yt)["accuracy"]
    path = tmp_path_factory.mktemp("model") / "model.safetensors"
    net.save(path, info={"dataset": "mnist", "test_accuracy": accuracy,
                         "classes": [str(d) for d in range(10)]})
    return path
