"""Conv2D, pooling and BatchNorm, on the reference and the fast path, against direct loop
implementations written here, against PyTorch, and a small CNN on a toy image task."""

import numpy as np
import pytest
from conftest import require

import barenet as bn
from barenet.fast.runner import KERNELS

RNG = np.random.default_rng(0)
PATHS = ["reference", "fast"]


def run(layer, path: str):
    """``layer`` as the path runs it: itself, or its fast kernel."""
    return layer if path == "reference" else KERNELS[type(layer)](layer)


def conv_loops(x, w, b, stride, pad):
    """The definition, one output value at a time."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((n, o, out_h, out_w))
    for i in range(n):
        for k in range(o):
            for r in range(out_h):
                for s in range(out_w):
                    patch = x[i, :, r * stride : r * stride + kh, s * stride : s * stride + kw]
                    y[i, k, r, s] = (patch * w[k]).sum() + b[k]
    return y


def pool_loops(x, size, stride, reduce):
    n, c, h, w = x.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    y = np.zeros((n, c, out_h, out_w))
    for r in range(out_h):
        for s in range(out_w):
            y[:, :, r, s] = reduce(x[:, :, r * stride : r * stride + size,
                                     s * stride : s * stride + size], axis=(2, 3))
    return y


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("c, o, hw, k, stride, pad", [(1, 4, (8, 8), 3, 1, 0),
                                                      (3, 2, (9, 7), 3, 2, 1),
                                                      (2, 3, (6, 6), 5, 1, 2)])
def test_conv2d_matches_the_loop_definition(c, o, hw, k, stride, pad, path):
    layer = bn.Conv2D(c, o, k, stride=stride, padding=pad, seed=0).astype(np.float64)
    layer.params["b"][...] = RNG.normal(size=o)
    x = RNG.normal(size=(3, c, *hw))
    expected = conv_loops(x, layer.params["W"], layer.params["b"], stride, pad)
    np.testing.assert_allclose(run(layer, path).forward(x, False), expected, atol=1e-12)


@pytest.mark.parametrize("c, o, hw, pad", [(16, 3, (14, 14), 1), (17, 2, (7, 10), 0),
                                           (16, 2, (3, 3), 1), (16, 4, (5, 4), 2),
                                           (32, 1, (2, 9), 1)])
def test_winograd_convolution_matches_the_loop_definition(c, o, hw, pad):
    """Images that fill whole 4x4 output blocks or not, smaller than one block, and padded
    more than the kernel needs."""
    layer = bn.Conv2D(c, o, 3, padding=pad, seed=0).astype(np.float64)
    kernel = run(layer, "fast")
    assert kernel.winograd
    layer.params["b"][...] = RNG.normal(size=o)
    x = RNG.normal(size=(3, c, *hw))
    expected = conv_loops(x, layer.params["W"], layer.params["b"], 1, pad)
    np.testing.assert_allclose(kernel.forward(x, False), expected, atol=1e-11)


def test_winograd_and_im2col_agree_in_float32():
    """The cnn preset's second convolution, both ways: F(4x4, 3x3) rounds differently, by
    about 1e-6 of the values' scale."""
    x = RNG.normal(size=(4, 32, 14, 14)).astype(np.float32)
    g = RNG.normal(size=(4, 64, 14, 14)).astype(np.float32)
    results = []
    for winograd in (False, True):
        layer = bn.Conv2D(32, 64, 3, padding="same", bias_init=0.1, seed=0)
        kernel = run(layer, "fast")
        kernel.winograd = winograd
        y = kernel.forward(x, training=True)
        results.append((y, kernel.backward(g), layer.grads["W"].copy(), layer.grads["b"].copy()))
        assert all(a.dtype == np.float32 for a in results[-1])
    for im2col_value, winograd_value in zip(*results, strict=True):
        scale = np.abs(im2col_value).max()
        np.testing.assert_allclose(winograd_value, im2col_value, atol=1e-5 * scale)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("size, stride, hw", [(2, 2, (6, 6)), (2, 2, (7, 5)), (3, 2, (7, 7))])
def test_pooling_matches_the_loop_definition(size, stride, hw, path):
    x = RNG.normal(size=(2, 3, *hw))
    np.testing.assert_allclose(run(bn.MaxPool2D(size, stride=stride), path).forward(x, False),
                               pool_loops(x, size, stride, np.max))
    np.testing.assert_allclose(bn.AvgPool2D(size, stride=stride).forward(x),
                               pool_loops(x, size, stride, np.mean))


@pytest.mark.parametrize("path", PATHS)
def test_max_pool_routes_the_gradient_to_one_arg_max(path):
    x = np.zeros((1, 1, 2, 4))
    x[0, 0] = [[1, 5, 7, 7], [2, 3, 7, 0]]  # the second window ties three ways
    layer = run(bn.MaxPool2D(2), path)
    layer.forward(x, training=True)
    dx = layer.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(dx[0, 0], [[0, 10, 20, 0], [0, 0, 0, 0]])


def test_batchnorm_training_and_evaluation_modes():
    layer = bn.BatchNorm(momentum=0.5)
    layer.build((2, 3, 3), dtype=np.float64)
    x = RNG.normal(loc=[[[3.0]], [[-1.0]]], scale=[[[2.0]], [[0.5]]], size=(10, 2, 3, 3))
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-3)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.5 * mean)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.5 + 0.5 * var)
    y_eval = layer.forward(x, training=False)
    rm, rv = layer.buffers["running_mean"], layer.buffers["running_var"]
    np.testing.assert_allclose(
        y_eval, (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + 1e-5))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("c, o, stride, pad", [(3, 5, 2, 1), (16, 4, 1, 1)])
def test_conv2d_matches_pytorch(path, c, o, stride, pad):
    """In float32, with PyTorch's own random weights: the reference im2col, and the fast
    path's im2col or (16 channels, stride 1) Winograd."""
    torch = require("torch")
    x = RNG.normal(size=(4, c, 11, 10)).astype(np.float32)
    tconv = torch.nn.Conv2d(c, o, 3, stride=stride, padding=pad)
    conv = bn.Conv2D(c, o, 3, stride=stride, padding=pad)
    conv.params["W"] = tconv.weight.detach().numpy().copy()
    conv.params["b"] = tconv.bias.detach().numpy().copy()
    tx = torch.from_numpy(x).requires_grad_()
    ty = tconv(tx)
    g = RNG.normal(size=ty.shape).astype(np.float32)
    ty.backward(torch.from_numpy(g))
    layer = run(conv, path)

    def close(actual, expected):  # float32 sums: within 1e-5 of the values' scale
        np.testing.assert_allclose(actual, expected, rtol=1e-4,
                                   atol=1e-5 * np.abs(expected).max())

    close(layer.forward(x, True), ty.detach().numpy())
    close(layer.backward(g), tx.grad.numpy())
    close(conv.grads["W"], tconv.weight.grad.numpy())
    close(conv.grads["b"], tconv.bias.grad.numpy())


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("size, stride", [(2, 2), (3, 2)])
def test_pooling_matches_pytorch(path, size, stride):
    torch = require("torch")
    x = RNG.normal(size=(4, 3, 11, 10))
    for layer, function in ((bn.MaxPool2D(size, stride=stride), torch.nn.functional.max_pool2d),
                            (bn.AvgPool2D(size, stride=stride), torch.nn.functional.avg_pool2d)):
        if path == "fast" and type(layer) not in KERNELS:
            continue
        tx = torch.from_numpy(x).requires_grad_()
        ty = function(tx, size, stride)
        g = RNG.normal(size=ty.shape)
        ty.backward(torch.from_numpy(g))
        layer = run(layer, path)
        np.testing.assert_allclose(layer.forward(x, True), ty.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(layer.backward(g), tx.grad.numpy(), atol=1e-12)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tx.mean(dim=(2, 3))
    g = RNG.normal(size=ty.shape)
    ty.backward(torch.from_numpy(g))
    pool = bn.GlobalAvgPool2D()
    np.testing.assert_allclose(pool.forward(x, True), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(pool.backward(g), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 11, 10)])
def test_batchnorm_matches_pytorch(shape):
    torch = require("torch")
    x = RNG.normal(size=shape)
    norm = bn.BatchNorm()
    norm.build(shape[1:], dtype=np.float64)
    tnorm = (torch.nn.BatchNorm1d(3) if len(shape) == 2 else torch.nn.BatchNorm2d(3)).double()
    tx = torch.from_numpy(x).requires_grad_()
    ty = tnorm(tx)
    g = RNG.normal(size=ty.shape)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_allclose(norm.forward(x, training=True), ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.backward(g), tx.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.grads["gamma"], tnorm.weight.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.grads["beta"], tnorm.bias.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(norm.buffers["running_var"], tnorm.running_var.numpy())
    tnorm.eval()
    np.testing.assert_allclose(norm.forward(x), tnorm(torch.from_numpy(x)).detach().numpy(),
                               atol=1e-10)


def toy_images(n, seed):
    """8x8 images holding a horizontal or a vertical bar at a random place, in noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.3, size=(n, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    where = rng.integers(1, 7, size=n)
    rows = np.arange(n)
    x[rows[y == 0], 0, where[y == 0], 1:7] += 1.5
    x[rows[y == 1], 0, 1:7, where[y == 1]] += 1.5
    return x, y


def test_small_cnn_learns_a_toy_image_task():
    x, y = toy_images(600, seed=0)
    xt, yt = toy_images(200, seed=1)
    net = (bn.Sequential([
        bn.Conv2D(1, 4, 3, padding="same"), bn.BatchNorm(), bn.ReLU(), bn.MaxPool2D(2),
        bn.Conv2D(4, 8, 3), bn.ReLU(), bn.GlobalAvgPool2D(), bn.Dense(8, 2), bn.Softmax(),
    ], input_shape=(1, 8, 8)).watch("accuracy").compile(bn.Adam(0.01), bn.CrossEntropy()))
    net.fit(x, y, epochs=8, batch_size=32, seed=0, verbose=False)
    assert net.evaluate(xt, yt)["accuracy"] > 0.95
