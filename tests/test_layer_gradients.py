"""Finite-difference checks, in float64, of every layer's input and parameter gradients."""

import numpy as np
import pytest
from conftest import check_layer_gradients

import barenet as bn


def built(layer, input_shape, seed=0):
    layer.build(input_shape, np.random.default_rng(seed), np.float64)
    return layer


def away_from_kinks(x, kink=0.0, margin=1e-3):
    """Push entries off a non-differentiable point so finite differences stay on one side."""
    close = np.abs(x - kink) < margin
    x[close] += 2 * margin
    return x


RNG = np.random.default_rng(42)


@pytest.mark.parametrize("n, fan_in, fan_out", [(1, 1, 1), (4, 7, 3), (9, 5, 11)])
def test_dense(n, fan_in, fan_out):
    layer = built(bn.Dense(fan_in, fan_out, init="glorot_normal", bias_init="glorot_normal"),
                  (fan_in,))
    check_layer_gradients(layer, RNG.normal(size=(n, fan_in)))


@pytest.mark.parametrize("layer", [
    bn.Identity(), bn.ReLU(), bn.LeakyReLU(0.1), bn.ELU(0.7), bn.GELU(), bn.Sigmoid(), bn.Tanh(),
    bn.Softmax(),
], ids=repr)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 5)])
def test_activations(layer, shape):
    x = away_from_kinks(RNG.normal(scale=2.0, size=shape))
    check_layer_gradients(layer, x)


def test_activations_by_name():
    assert isinstance(bn.Activation("relu"), bn.ReLU)
    assert bn.Activation("leaky_relu", alpha=0.2).alpha == 0.2
    with pytest.raises(bn.ConfigError, match="unknown activation 'relux'"):
        bn.Activation("relux")


def test_flatten_and_reshape():
    check_layer_gradients(bn.Flatten(), RNG.normal(size=(3, 2, 3, 4)))
    check_layer_gradients(bn.Reshape((2, 6)), RNG.normal(size=(3, 12)))
    assert bn.Reshape((1, 28, 28)).output_shape((28, 28)) == (1, 28, 28)
    with pytest.raises(bn.ShapeError):
        bn.Reshape((1, 28, 28)).output_shape((27, 28))


def test_dropout_in_training_and_evaluation():
    layer = bn.Dropout(0.4)

    def fixed_mask():
        layer.rng = np.random.default_rng(7)

    check_layer_gradients(layer, RNG.normal(size=(6, 10)), before_forward=fixed_mask)
    x = np.ones((2000, 50))
    fixed_mask()
    y = layer.forward(x, training=True)
    kept = y != 0
    assert abs(kept.mean() - 0.6) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.6)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


@pytest.mark.parametrize("c_in, c_out, hw, k, stride, padding", [
    (1, 2, (5, 5), 3, 1, 0),
    (2, 3, (6, 7), 3, 2, 1),
    (3, 2, (7, 5), (2, 3), 1, 0),
    (2, 2, (5, 6), 3, 1, "same"),
    (1, 1, (4, 4), 1, 1, 0),
    (2, 3, (9, 8), 5, 3, 2),
    (8, 3, (6, 5), 3, 1, 1),
    (16, 3, (6, 5), 3, 1, 1),  # this and the next two: Winograd (3x3, stride 1, 16+ channels)
    (17, 2, (9, 7), 3, 1, 0),
    (16, 2, (3, 4), 3, 1, 2),
    (5, 2, (7, 7), (3, 2), 2, 0),
])
def test_conv2d(c_in, c_out, hw, k, stride, padding):
    layer = built(bn.Conv2D(c_in, c_out, k, stride=stride, padding=padding, bias_init=0.3),
                  (c_in, *hw))
    layer.params["b"][...] = RNG.normal(size=c_out)
    check_layer_gradients(layer, RNG.normal(size=(2, c_in, *hw)))


@pytest.mark.parametrize("cls", [bn.MaxPool2D, bn.AvgPool2D])
@pytest.mark.parametrize("pool, stride, hw", [(2, None, (4, 4)), (2, None, (5, 7)),
                                               (3, 2, (7, 6)), ((2, 3), 1, (5, 5))])
def test_pooling(cls, pool, stride, hw):
    layer = cls(pool, stride)
    check_layer_gradients(layer, RNG.normal(size=(2, 3, *hw)))


def test_global_average_pooling():
    check_layer_gradients(bn.GlobalAvgPool2D(), RNG.normal(size=(3, 4, 5, 3)))


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 6)])
def test_batchnorm_training(shape):
    layer = built(bn.BatchNorm(), shape[1:])
    layer.params["gamma"][...] = RNG.normal(size=shape[1])
    layer.params["beta"][...] = RNG.normal(size=shape[1])
    check_layer_gradients(layer, RNG.normal(loc=1.0, scale=2.0, size=shape))


def test_batchnorm_evaluation_gradient():
    layer = built(bn.BatchNorm(), (3, 4, 4))
    layer.buffers["running_mean"][...] = [0.5, -1, 2]
    layer.buffers["running_var"][...] = [0.3, 2, 1.5]
    check_layer_gradients(layer, RNG.normal(size=(2, 3, 4, 4)), training=False)
