"""The fast path computes what the reference path computes: each kernel against its layer
(values and gradients, on random inputs), a training step, a whole epoch, and the switch."""

import subprocess
import sys

import numpy as np
import pytest

import barenet as bn
from barenet.fast import parallel
from barenet.fast.runner import KERNELS, THREADED, THREADED_KERNELS
from barenet.runner import LayerRunner

RNG = np.random.default_rng(7)

def lstm(**options):
    layer = bn.LSTM(6, **options)
    layer.build((7, 4), seed=1)
    return layer


LAYERS = {
    "dense": (lambda: bn.Dense(30, 20, bias_init=0.1, seed=1), (64, 30)),
    "relu": (bn.ReLU, (16, 3, 9, 9)),
    "conv-im2col": (lambda: bn.Conv2D(3, 8, 3, stride=2, padding=1, seed=1), (6, 3, 11, 10)),
    "conv-first-layer": (lambda: bn.Conv2D(1, 8, 5, padding="same", seed=1), (6, 1, 12, 12)),
    "conv-winograd": (lambda: bn.Conv2D(16, 8, 3, padding="same", seed=1), (6, 16, 10, 9)),
    "conv-winograd-valid": (lambda: bn.Conv2D(32, 4, 3, seed=1), (5, 32, 13, 7)),
    "maxpool": (lambda: bn.MaxPool2D(2), (6, 4, 9, 8)),
    "maxpool-overlapping": (lambda: bn.MaxPool2D(3, stride=2), (6, 4, 9, 8)),
    "lstm": (lambda: lstm(forget_bias=1.0), (5, 7, 4)),
    "lstm-sequences": (lambda: lstm(return_sequences=True), (5, 7, 4)),
}


def test_every_kernel_is_tested():
    assert {type(make()) for make, _ in LAYERS.values()} == set(THREADED_KERNELS) >= set(KERNELS)


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("threads", [1, 3])
def test_a_kernel_computes_what_its_layer_computes(name, dtype, threads, monkeypatch):
    monkeypatch.setenv("BARENET_NUM_THREADS", str(threads))
    with parallel.cores_in_use():
        check_kernel(name, dtype)


def check_kernel(name, dtype):
    make, shape = LAYERS[name]
    x = RNG.normal(size=shape).astype(dtype)
    if name.startswith("maxpool"):
        x[0] = 1.0  # windows that tie
    g_seed = RNG.integers(1 << 30)
    results = []
    for fast in (False, True):
        layer = make().astype(dtype)
        step = THREADED_KERNELS[type(layer)](layer) if fast else layer
        y = step.forward(x, True)
        g = np.random.default_rng(g_seed).normal(size=y.shape).astype(dtype)
        dx = step.backward(g)
        results.append((y, dx, {k: np.array(v) for k, v in layer.grads.items()}))
        assert y.dtype == dx.dtype == dtype
    (y0, dx0, g0), (y1, dx1, g1) = results
    assert set(g1) == set(g0)
    for fast_value, reference in ((y1, y0), (dx1, dx0), *((g1[k], g0[k]) for k in g0)):
        # float32 sums in another order (Winograd's transforms too): within 2e-5 of the scale
        scale = 1e-12 if dtype == np.float64 else 2e-5 * np.abs(reference).max()
        np.testing.assert_allclose(fast_value, reference, rtol=1e-12, atol=scale)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_a_kernel_predicts_what_its_layer_predicts(name):
    make, shape = LAYERS[name]
    x = RNG.normal(size=shape)
    layer = make().astype(np.float64)
    kernel = THREADED_KERNELS[type(layer)](layer)
    np.testing.assert_allclose(kernel.forward(x, False), layer.forward(x, False), rtol=1e-12,
                               atol=1e-12)


def test_the_lowest_dense_layer_skips_its_input_gradient_with_the_same_parameter_gradients():
    layer = bn.Dense(10, 4, seed=0).astype(np.float64)
    x, g = RNG.normal(size=(8, 10)), RNG.normal(size=(8, 4))
    layer.forward(x, True)
    layer.backward(g)
    expected = {k: v.copy() for k, v in layer.grads.items()}
    runner = bn.fast.Runner([layer])
    runner.forward(x, True)
    assert runner.steps[0].backward(g, input_grad=False) is None
    for key, value in expected.items():
        np.testing.assert_allclose(layer.grads[key], value, rtol=1e-12)


def network():
    return [bn.Reshape((1, 12, 12)), bn.Conv2D(1, 16, 3, padding="same"), bn.ReLU(),
            bn.MaxPool2D(2), bn.Conv2D(16, 16, 3), bn.ReLU(), bn.MaxPool2D(2),
            bn.Flatten(), bn.Dropout(0.3), bn.Dense(64, 32), bn.ReLU(), bn.Dense(32, 3),
            bn.Softmax()]


def trained(fast: bool, epochs: int, dtype: str):
    bn.fast.use(fast)
    try:
        bn.seed(3)
        net = (bn.Sequential(network()).watch("accuracy")
               .compile(bn.Adam(3e-3), "cross_entropy", dtype=dtype))
        rng = np.random.default_rng(0)
        x = rng.random((96, 144)).astype(dtype)
        y = (x.reshape(96, 12, 12)[:, :6].mean(axis=(1, 2)) * 6).astype(int) % 3
        history = net.fit(x, y, epochs=epochs, batch_size=32, seed=1, verbose=False)
        return net, history, net.predict(x)
    finally:
        bn.fast.use(None)


def test_a_training_step_is_the_same_on_both_paths():
    """float64, one step: every gradient and weight agrees to rounding."""
    (ref, _, _), (fast, _, _) = trained(False, 1, "float64"), trained(True, 1, "float64")
    assert any(isinstance(layer, THREADED) for layer in ref.layers)
    for a, b in zip(ref.layers, fast.layers, strict=True):
        for key in a.grads:
            np.testing.assert_allclose(b.grads[key], a.grads[key], rtol=1e-9, atol=1e-12)
    for a, b in zip(ref.get_weights(), fast.get_weights(), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)


def test_a_whole_run_gives_the_same_predictions_to_float32_tolerance():
    _, h_ref, p_ref = trained(False, 4, "float32")
    _, h_fast, p_fast = trained(True, 4, "float32")
    np.testing.assert_allclose(p_fast, p_ref, atol=2e-4)
    np.testing.assert_allclose(h_fast["loss"], h_ref["loss"], rtol=1e-4)


@pytest.mark.parametrize("value, expected", [("0", False), ("1", True), ("", True)])
def test_barenet_fast_in_the_environment_switches_the_path(value, expected):
    code = "import barenet; print(barenet.fast.enabled())"
    env = {"BARENET_FAST": value, "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == str(expected)


def test_the_python_switch_wins_and_a_bad_setting_is_refused(monkeypatch):
    monkeypatch.setenv("BARENET_FAST", "0")
    assert not bn.fast.enabled()
    bn.fast.use(True)
    try:
        assert bn.fast.enabled()
        assert isinstance(bn.Sequential([bn.Dense(2, 2)]).runner(), bn.fast.Runner)
    finally:
        bn.fast.use(None)
    assert isinstance(bn.Sequential([bn.Dense(2, 2)]).runner(), LayerRunner)
    monkeypatch.setenv("BARENET_FAST", "maybe")
    with pytest.raises(bn.ConfigError, match="BARENET_FAST must be 0 or 1"):
        bn.fast.enabled()


def test_the_fast_runner_pools_before_a_relu_that_a_max_pool_follows():
    layers = [bn.Conv2D(1, 2, 3), bn.ReLU(), bn.MaxPool2D(2), bn.Flatten(), bn.Dense(2, 2),
              bn.ReLU(), bn.Softmax()]
    kinds = [type(step.layer if hasattr(step, "layer") else step).__name__
             for step in bn.fast.Runner(layers).steps]
    assert kinds == ["Conv2D", "MaxPool2D", "ReLU", "Flatten", "Dense", "ReLU", "Softmax"]
    perceptron = bn.fast.Runner([bn.Dense(3, 2), bn.ReLU(), bn.Dense(2, 2), bn.Softmax()])
    assert perceptron.steps[1] is perceptron.layers[1]  # no threads: NumPy's ReLU
