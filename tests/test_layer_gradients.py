"""Finite differences in float64, through the public ``barenet.gradcheck``, for every layer's
input and parameter gradients, and for whole networks."""

import numpy as np
import pytest

import barenet as bn

RNG = np.random.default_rng(42)


def away_from_kinks(x, kink=0.0, margin=1e-3):
    """Push entries off a non-differentiable point so finite differences stay on one side."""
    close = np.abs(x - kink) < margin
    x[close] += 2 * margin
    return x


@pytest.mark.parametrize("n, fan_in, fan_out", [(1, 1, 1), (4, 7, 3), (9, 5, 11)])
def test_dense(n, fan_in, fan_out):
    layer = bn.Dense(fan_in, fan_out, init="glorot_normal", bias_init="glorot_normal", seed=0)
    assert bn.gradcheck(layer, RNG.normal(size=(n, fan_in))) < 1e-6


@pytest.mark.parametrize("layer", [
    bn.Identity(), bn.ReLU(), bn.LeakyReLU(0.1), bn.ELU(0.7), bn.GELU(), bn.Sigmoid(), bn.Tanh(),
    bn.Softmax(),
], ids=repr)
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 5)])
def test_activations(layer, shape):
    x = away_from_kinks(RNG.normal(scale=2.0, size=shape))
    assert bn.gradcheck(layer, x) < 1e-6


def test_activations_by_name():
    assert isinstance(bn.Activation("relu"), bn.ReLU)
    assert bn.Activation("leaky_relu", alpha=0.2).alpha == 0.2
    with pytest.raises(bn.ConfigError, match="unknown activation 'relux'"):
        bn.Activation("relux")


def test_flatten_and_reshape():
    assert bn.gradcheck(bn.Flatten(), RNG.normal(size=(3, 2, 3, 4))) < 1e-6
    assert bn.gradcheck(bn.Reshape((2, 6)), RNG.normal(size=(3, 12))) < 1e-6
    assert bn.Reshape((1, 28, 28)).output_shape((28, 28)) == (1, 28, 28)
    with pytest.raises(bn.ShapeError):
        bn.Reshape((1, 28, 28)).output_shape((27, 28))


def test_dropout_in_training_and_evaluation():
    layer = bn.Dropout(0.4)
    assert bn.gradcheck(layer, RNG.normal(size=(6, 10))) < 1e-6  # the same mask each pass
    x = np.ones((2000, 50))
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
    (16, 3, (6, 5), 3, 1, 1),
    (5, 2, (7, 7), (3, 2), 2, 0),
])
def test_conv2d(c_in, c_out, hw, k, stride, padding):
    layer = bn.Conv2D(c_in, c_out, k, stride=stride, padding=padding, bias_init=0.3, seed=0)
    assert bn.gradcheck(layer, RNG.normal(size=(2, c_in, *hw)), max_entries=60) < 1e-6


@pytest.mark.parametrize("cls", [bn.MaxPool2D, bn.AvgPool2D])
@pytest.mark.parametrize("pool, stride, hw", [(2, None, (4, 4)), (2, None, (5, 7)),
                                               (3, 2, (7, 6)), ((2, 3), 1, (5, 5))])
def test_pooling(cls, pool, stride, hw):
    layer = cls(pool, stride=stride)
    assert bn.gradcheck(layer, RNG.normal(size=(2, 3, *hw))) < 1e-6


def test_global_average_pooling():
    assert bn.gradcheck(bn.GlobalAvgPool2D(), RNG.normal(size=(3, 4, 5, 3))) < 1e-6


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5, 6)])
def test_batchnorm_training(shape):
    layer = bn.BatchNorm()
    layer.build(shape[1:])
    layer.params["gamma"][...] = RNG.normal(size=shape[1])
    layer.params["beta"][...] = RNG.normal(size=shape[1])
    assert bn.gradcheck(layer, RNG.normal(loc=1.0, scale=2.0, size=shape)) < 1e-6


def test_batchnorm_evaluation_gradient():
    layer = bn.BatchNorm()
    layer.build((3, 4, 4))
    layer.buffers["running_mean"][...] = [0.5, -1, 2]
    layer.buffers["running_var"][...] = [0.3, 2, 1.5]
    assert bn.gradcheck(layer, RNG.normal(size=(2, 3, 4, 4)), training=False) < 1e-6


def test_rescale():
    assert bn.gradcheck(bn.Rescale(2.5, offset=-0.5), RNG.normal(size=(4, 6))) < 1e-6


class WrongBias(bn.Dense):
    """A Dense layer whose backward forgets half of dC/db."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.grads["b"] = self.grads["b"] / 2
        return dx


def test_gradcheck_names_the_parameter_that_disagrees():
    with pytest.raises(bn.GradientCheckError, match="gradient of b disagrees") as info:
        bn.gradcheck(WrongBias(4, 3, seed=0), RNG.normal(size=(5, 4)))
    assert info.value.name == "b" and info.value.error > 0.1
    with pytest.raises(bn.ConfigError, match="no backward pass"):
        bn.gradcheck(bn.Deskew(), RNG.random((2, 1, 8, 8)))


def test_gradcheck_leaves_the_layer_as_it_was():
    layer = bn.Dense(3, 2, seed=0)
    before = {k: v.copy() for k, v in layer.params.items()}
    bn.gradcheck(layer, RNG.normal(size=(4, 3)))
    for name, value in layer.params.items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, before[name])


NETWORKS = {
    "dense": lambda: [bn.Dense(6, 5, seed=1), bn.Tanh(), bn.Dense(5, 4, seed=2), bn.ReLU(),
                      bn.Dense(4, 3, seed=3), bn.Softmax()],
    "convolutional": lambda: [bn.Reshape((1, 6, 6)), bn.Conv2D(1, 2, 3, padding=1, seed=1),
                              bn.ReLU(), bn.MaxPool2D(2), bn.Conv2D(2, 3, 2, seed=2),
                              bn.Tanh(), bn.Flatten(), bn.Dense(12, 3, seed=3),
                              bn.Softmax()],
}


@pytest.mark.parametrize("fast", [False, True], ids=["reference", "fast"])
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_a_whole_network_against_finite_differences(network, fast, monkeypatch):
    """After one training step every layer's ``grads`` hold dC/dθ of the batch at the weights
    before the step; central differences of the batch's cost there (``evaluate``, in float64)
    agree."""
    monkeypatch.setenv("BARENET_FAST", "1" if fast else "0")
    rng = np.random.default_rng(0)
    x = away_from_kinks(rng.normal(size=(8, 36 if network == "convolutional" else 6)), 0, 1e-2)
    y = rng.integers(0, 3, 8)
    net = bn.Sequential(NETWORKS[network]()).compile(bn.SGD(0.1), "cross_entropy",
                                                      dtype="float64")
    before = net.get_weights()
    net.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=False)
    net.set_weights(before)
    h = 1e-6
    for layer in net.layers:
        for name, value in layer.params.items():
            flat, analytic = value.reshape(-1), layer.grads[name].reshape(-1)
            for i in rng.choice(flat.size, min(flat.size, 8), replace=False):
                old = flat[i]
                flat[i] = old + h
                up = net.evaluate(x, y)["loss"]
                flat[i] = old - h
                down = net.evaluate(x, y)["loss"]
                flat[i] = old
                assert analytic[i] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8), \
                    f"{layer!r} {name}[{i}]"
