"""The promises of the public API, one test each: layers usable on their own, compile keeping
weights, assigned parameters trained, gradients left intact, unambiguous arguments and layer
names, and a user's own layer from definition to file."""

import runpy
from pathlib import Path

import numpy as np
import pytest

import barenet as bn
from barenet.layers import registry

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)


def data(n=120, dim=6, classes=3):
    x = RNG.normal(size=(n, dim)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)


def test_layers_with_fixed_shapes_have_weights_at_once():
    dense = bn.Dense(3, 2)
    assert dense.params["W"].shape == (3, 2) and dense.params["b"].shape == (2,)
    y = dense.forward(np.ones((4, 3), np.float32))
    assert y.shape == (4, 2) and dense.backward(np.ones((4, 2), np.float32)).shape == (4, 3)
    conv = bn.Conv2D(2, 5, 3)
    assert conv.params["W"].shape == (5, 2, 3, 3)
    assert conv.forward(np.zeros((1, 2, 6, 6), np.float32)).shape == (1, 5, 4, 4)


def test_a_seed_fixes_the_weights_and_the_default_generator_is_reproducible():
    np.testing.assert_array_equal(bn.Dense(4, 3, seed=7).params["W"],
                                  bn.Dense(4, 3, seed=7).params["W"])
    bn.seed(11)
    first = [bn.Dense(4, 3).params["W"], bn.Dense(4, 3).params["W"]]
    bn.seed(11)
    again = [bn.Dense(4, 3).params["W"], bn.Dense(4, 3).params["W"]]
    assert not np.array_equal(*first)  # the default generator moves on
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_layers_whose_shapes_come_from_the_input_build_on_first_use():
    norm = bn.BatchNorm()
    assert not norm.built and norm.params == {}
    y = norm.forward(RNG.normal(size=(8, 3)).astype(np.float32), training=True)
    assert norm.built and norm.params["gamma"].shape == (3,) and y.shape == (8, 3)
    other = bn.BatchNorm()
    other.build((4, 5, 5))
    assert other.params["beta"].shape == (4,) and other.buffers["running_var"].shape == (4,)
    with pytest.raises(bn.ShapeError, match=r"\(F,\) or \(C, H, W\)"):
        bn.BatchNorm().build((2, 3))


def test_compile_keeps_weights_and_reset_parameters_starts_again():
    x, y = data()
    net = bn.Sequential([bn.Dense(6, 8), bn.ReLU(), bn.Dense(8, 3), bn.Softmax()])
    net.compile(bn.SGD(0.1), "cross_entropy")
    net.fit(x, y, epochs=3, verbose=False)
    trained = net.get_weights()
    net.compile(bn.Adam(1e-3), "cross_entropy", seed=123)  # a lower rate, say
    for a, b in zip(net.get_weights(), trained, strict=True):
        np.testing.assert_array_equal(a, b)
    net.reset_parameters(seed=5)
    assert not np.array_equal(net.get_weights()[0], trained[0])
    np.testing.assert_array_equal(net.get_weights()[1], 0)  # biases start at zero
    fresh = net.get_weights()
    net.reset_parameters(seed=5)
    for a, b in zip(net.get_weights(), fresh, strict=True):
        np.testing.assert_array_equal(a, b)


def test_compile_builds_only_what_is_not_built_and_refuses_layers_built_for_another_input():
    norm = bn.BatchNorm()
    net = bn.Sequential([bn.Dense(6, 4), norm, bn.Dense(4, 3), bn.Softmax()])
    net.compile(bn.SGD(0.1), "cross_entropy", seed=0)
    assert norm.params["gamma"].shape == (4,)
    wrong = bn.BatchNorm()
    wrong.build((5,))
    with pytest.raises(bn.ShapeError, match=r"gamma has shape \(5,\).*need \(4,\)"):
        bn.Sequential([bn.Dense(6, 4), wrong, bn.Dense(4, 3), bn.Softmax()]).compile(
            bn.SGD(0.1), "cross_entropy")


@pytest.mark.parametrize("fast", [False, True], ids=["reference", "fast"])
def test_an_assigned_parameter_is_used_by_predict_and_trained_by_fit(fast):
    bn.fast.use(fast)
    try:
        x, y = data()
        net = bn.Sequential([bn.Dense(6, 3), bn.Softmax()]).compile(bn.SGD(0.5), "cross_entropy")
        net.fit(x, y, epochs=1, verbose=False)
        mine = np.zeros((6, 3), np.float32)
        net.layers[0].params["W"] = mine
        net.layers[0].params["b"] = np.array([0, 0, 50], np.float32)
        assert (net.predict(x).argmax(axis=1) == 2).all()
        net.fit(x, y, epochs=1, verbose=False)
        assert net.layers[0].params["W"] is mine and mine.any()  # trained where it was put
    finally:
        bn.fast.use(None)


def test_a_parameter_of_another_shape_is_refused_with_the_reason():
    x, y = data()
    net = bn.Sequential([bn.Dense(6, 3), bn.Softmax()]).compile(bn.SGD(0.5), "cross_entropy")
    net.layers[0].params["W"] = np.zeros((6, 4), np.float32)
    with pytest.raises(bn.ShapeError):
        net.fit(x, y, epochs=1, verbose=False)


OPTIMIZERS = [bn.SGD(0.1), bn.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
              bn.RMSProp(1e-3), bn.Adam(1e-3, clipnorm=0.01), bn.AdamW(1e-3)]


@pytest.mark.parametrize("fast", [False, True], ids=["reference", "fast"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=repr)
def test_after_a_step_grads_hold_dc_dtheta_of_the_batch(optimizer, fast):
    """The gradients of the batch computed by hand, at the weights before the step, are what
    every layer holds after it, whatever the optimizer did with them."""
    bn.fast.use(fast)
    try:
        x, y = data(n=32)
        bn.seed(0)
        net = (bn.Sequential([bn.Dense(6, 8), bn.ReLU(), bn.Dense(8, 3), bn.Softmax()])
               .compile(optimizer, "cross_entropy", dtype="float64"))
        before = net.get_weights()
        expected = {}
        out = x.astype(np.float64)
        for layer in net.layers[:-1]:
            out = layer.forward(out, training=True)
        grad = net.cost.gradient_from_logits(net.layers[-1].forward(out), y)
        for layer in net.layers[-2::-1]:
            grad = layer.backward(grad)
            expected.update({(id(layer), k): v.copy() for k, v in layer.grads.items()})
        net.fit(x, y, epochs=1, batch_size=32, verbose=False)
        assert any((a != b).any() for a, b in zip(net.get_weights(), before, strict=True))
        for layer in net.layers:
            for name, value in layer.grads.items():
                np.testing.assert_allclose(value, expected[(id(layer), name)], rtol=1e-10,
                                           atol=1e-14)
    finally:
        bn.fast.use(None)


def test_ambiguous_hyper_parameters_are_keyword_only():
    with pytest.raises(TypeError):
        bn.BatchNorm(1e-5, 0.1)
    norm = bn.BatchNorm(momentum=0.2, eps=1e-3)
    assert (norm.momentum, norm.eps) == (0.2, 1e-3)
    with pytest.raises(TypeError):
        bn.Dense(3, 2, "he")
    with pytest.raises(TypeError):
        bn.Conv2D(1, 2, 3, 2)
    with pytest.raises(TypeError):
        bn.Adam(1e-3, 0.9)
    with pytest.raises(TypeError):
        bn.Dropout(0.5, seed=1)  # its masks come from fit's seed


def test_a_user_layer_named_like_a_built_in_neither_replaces_it_nor_saves_as_it():
    class Dense(bn.Layer):  # noqa: N801 - the point of the test
        pass

    assert registry.lookup("Dense") is bn.Dense
    net = bn.Sequential([Dense(), bn.Softmax()], input_shape=(3,)).compile(bn.SGD(0.1), "mse")
    with pytest.raises(bn.ConfigError, match="cannot be saved.*register_layer"):
        net.get_config()
    with pytest.raises(bn.ConfigError, match="taken by barenet.layers.dense.Dense"):
        bn.register_layer("Dense")(Dense)
    bn.register_layer("MyPassThrough")(Dense)
    assert registry.lookup("MyPassThrough") is Dense
    assert bn.layer_to_dict(Dense())["type"] == "MyPassThrough"


def test_two_user_layers_of_one_name_are_refused_when_loading():
    def define(module):
        return type("Twin", (bn.Layer,), {"__module__": module})

    define("one_module")
    second = define("another_module")
    with pytest.raises(bn.ConfigError, match="ambiguous.*register_layer"):
        bn.layer_from_dict({"type": "Twin", "config": {}})
    bn.register_layer("Twin")(second)
    assert type(bn.layer_from_dict({"type": "Twin", "config": {}})) is second


def test_an_unknown_layer_type_is_refused_with_the_fix():
    with pytest.raises(bn.ConfigError, match="unknown layer type 'Evil'.*import the module"):
        bn.layer_from_dict({"type": "Evil", "config": {}})


def test_the_custom_layer_example_runs_end_to_end():
    """examples/custom_layer.py: a PReLU written by hand passes gradcheck, trains in a
    Sequential, saves and loads."""
    result = runpy.run_path(str(ROOT / "examples" / "custom_layer.py"), run_name="example")["main"]()
    assert result["gradcheck"] < 1e-6
    assert result["accuracy"] > 0.9
    assert result["same_predictions"]
