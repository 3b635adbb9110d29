"""Sequential: building, training, errors, determinism, callbacks and description."""

import copy
import pickle
import runpy
from pathlib import Path

import numpy as np
import pytest

import barenet as bn
from barenet.fast import Runner
from barenet.runner import LayerRunner
from barenet.training import train_step
from barenet.validation import check_inputs

ROOT = Path(__file__).resolve().parents[1]


def blobs(n=300, classes=3, dim=4, seed=0):
    """Gaussian clusters, one per class: an easy, learnable task."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(classes, dim))
    y = rng.integers(0, classes, size=n)
    x = centres[y] + rng.normal(size=(n, dim))
    return x.astype(np.float32), y


def mlp(seed=0, dropout=0.0, optimizer=None):
    bn.seed(seed)
    net = bn.Sequential().push(bn.Dense(4, 16)).push(bn.ReLU())
    if dropout:
        net.push(bn.Dropout(dropout))
    return (net.push(bn.Dense(16, 3, init="glorot_uniform")).push(bn.Softmax())
            .watch("accuracy", "precision", "recall")
            .compile(optimizer or bn.SGD(0.1), bn.CrossEntropy(), seed=seed))


def test_the_readme_example_api():
    x, y = blobs()
    net = (bn.Sequential()
           .push(bn.Dense(4, 32, init="he"))
           .push(bn.ReLU())
           .push(bn.Dense(32, 3, init="glorot_uniform"))
           .push(bn.Softmax())
           .watch("accuracy", "precision", "recall")
           .compile(bn.SGD(0.04), bn.CrossEntropy()))
    history = net.fit(x[:200], y[:200], epochs=15, batch_size=10,
                      validation_data=(x[200:], y[200:]), seed=0, verbose=False)
    assert history.epochs == 15
    assert set(history.keys()) == {"loss", "accuracy", "precision", "recall", "val_loss",
                                   "val_accuracy", "val_precision", "val_recall"}
    assert history["loss"][-1] < history["loss"][0]
    scores = net.evaluate(x[200:], y[200:])
    assert set(scores) == {"loss", "accuracy", "precision", "recall"}
    assert scores["accuracy"] > 0.9
    assert scores["loss"] == pytest.approx(history["val_loss"][-1])
    probs = net.predict(x[200:])
    assert probs.shape == (100, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_list_constructor_and_activation_by_name():
    net = bn.Sequential([bn.Dense(4, 8), bn.Activation("relu"), bn.Dense(8, 3),
                         bn.Activation("softmax")])
    net.compile("adam", "cross_entropy")
    assert isinstance(net.layers[1], bn.ReLU)
    assert net.predict(np.zeros((2, 4))).shape == (2, 3)


def test_xor_is_learned():
    scope = runpy.run_path(str(ROOT / "examples" / "xor.py"), run_name="xor")
    net, x, y = scope["net"], scope["x"], scope["y"]
    np.testing.assert_array_equal(net.predict(x) > 0.5, y > 0.5)


def test_same_seed_same_numbers():
    x, y = blobs()
    runs = []
    for _ in range(2):
        net = mlp(seed=5, dropout=0.3, optimizer=bn.Adam(0.01))
        history = net.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, seed=11,
                          verbose=False)
        runs.append((net.get_weights(), history.to_dict()))
    for a, b in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    assert not np.array_equal(mlp(seed=6).get_weights()[0], mlp(seed=5).get_weights()[0])


def test_initializers_have_the_documented_spread():
    rng = np.random.default_rng(0)
    w = bn.initializers.he_normal((400, 300), 400, 300, rng)
    assert w.dtype == np.float32
    assert w.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    limit = np.sqrt(6 / (400 + 300))
    w = bn.initializers.glorot_uniform((400, 300), 400, 300, rng)
    assert w.min() >= -limit and w.max() <= limit and w.max() > 0.99 * limit
    assert bn.initializers.he_uniform((1000, 10), 1000, 10, rng).max() <= np.sqrt(6 / 1000)
    assert bn.initializers.glorot_normal((500, 500), 500, 500, rng).std() == pytest.approx(
        np.sqrt(2 / 1000), rel=0.02)
    assert bn.initializers.lecun_normal((500, 400), 500, 400, rng).std() == pytest.approx(
        np.sqrt(1 / 500), rel=0.02)
    assert (bn.initializers.get(0.5)((2, 2), 2, 2, rng) == 0.5).all()
    with pytest.raises(bn.ConfigError, match="unknown initializer"):
        bn.Dense(2, 2, init="hee")


def test_compile_names_both_layers_and_shapes():
    net = bn.Sequential().push(bn.Dense(784, 256)).push(bn.ReLU()).push(bn.Dense(100, 10))
    net.push(bn.Softmax())
    with pytest.raises(bn.ShapeError) as info:
        net.compile(bn.SGD(0.1), bn.CrossEntropy())
    message = str(info.value)
    assert "layer 3 Dense(100 -> 10" in message and "(100,)" in message
    assert "layer 2 ReLU()" in message and "(256,)" in message


def test_conv_network_needs_an_explicit_reshape():
    net = bn.Sequential([bn.Conv2D(1, 2, 3), bn.Flatten(), bn.Dense(2 * 26 * 26, 10),
                         bn.Softmax()], input_shape=(1, 28, 28))
    net.compile(bn.SGD(0.1), bn.CrossEntropy())
    with pytest.raises(bn.ShapeError, match=r"shape \(784,\)"):
        net.predict(np.zeros((2, 784)))
    with pytest.raises(bn.ConfigError, match="input_shape"):
        bn.Sequential([bn.Conv2D(1, 2, 3)]).compile(bn.SGD(0.1), bn.MSE())
    reshaped = bn.Sequential([bn.Reshape((1, 28, 28)), bn.Conv2D(1, 2, 3), bn.Flatten(),
                              bn.Dense(2 * 26 * 26, 10), bn.Softmax()])
    reshaped.compile(bn.SGD(0.1), bn.CrossEntropy())
    assert reshaped.predict(np.zeros((2, 784))).shape == (2, 10)
    assert reshaped.predict(np.zeros((2, 28, 28))).shape == (2, 10)


@pytest.mark.parametrize("labels, error, match", [
    (np.zeros((300, 2)), bn.ShapeError, r"shape \(300, 2\).*\(300, 3\)"),
    (np.full(300, 3), bn.DataError, "label 3.*3 outputs.*0..2"),
    (np.zeros(299, dtype=int), bn.ShapeError, "299 labels for 300 samples"),
    (np.array(["a"] * 300), bn.DataError, "dtype"),
])
def test_bad_labels(labels, error, match):
    x, _ = blobs()
    with pytest.raises(error, match=match):
        mlp().fit(x, labels, verbose=False)


def test_bad_inputs_fail_before_any_work():
    x, y = blobs()
    net = mlp()
    before = net.get_weights()
    bad = x.copy()
    bad[7, 2] = np.nan
    with pytest.raises(bn.DataError, match="NaN or infinite.*index 7"):
        net.fit(bad, y, verbose=False)
    with pytest.raises(bn.DataError, match="empty"):
        net.fit(x[:0], y[:0], verbose=False)
    with pytest.raises(bn.DataError, match="dtype complex"):
        net.predict(x.astype(complex))
    with pytest.raises(bn.ShapeError, match=r"shape \(5,\)"):
        net.evaluate(np.zeros((3, 5)), y[:3])
    with pytest.raises(bn.DataError, match="infinite"):
        net.evaluate(np.full((3, 4), np.inf), y[:3])
    with pytest.raises(bn.ConfigError, match="not compiled"):
        bn.Sequential([bn.Dense(4, 3)]).predict(x)
    with pytest.raises(bn.ConfigError, match="push an instance"):
        bn.Sequential().push(bn.ReLU)
    with pytest.raises(bn.ConfigError, match="no layers"):
        bn.Sequential().compile(bn.SGD(0.1), bn.MSE())
    for a, b in zip(before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("all_finite", [LayerRunner.all_finite, Runner.all_finite],
                         ids=["reference", "fast"])
def test_all_finite_tells_large_values_from_nan_and_inf(dtype, all_finite):
    big = np.finfo(dtype).max / 4  # finite, but its square overflows
    a = np.ones((5, 6), dtype)
    assert all_finite([a]) and all_finite([a[:, ::2]])
    a[2, 3] = big
    assert all_finite([a])
    for bad in (np.nan, np.inf, -np.inf):
        a[4, 5] = bad
        assert not all_finite([a])
        assert not all_finite([a[:, 1::2]])  # a strided view
        assert not all_finite([np.ones(3, dtype), a, np.ones(2, dtype)])  # among several
    assert all_finite([a[:, ::2]])
    assert all_finite([a[:, ::2], np.ones(3, dtype)]) and all_finite([])
    # the model takes huge finite inputs of its dtype, and names the sample with a NaN
    net = bn.Sequential([bn.Dense(6, 2), bn.Softmax()])
    net.compile(bn.SGD(0.1), "cross_entropy", dtype=np.dtype(dtype).name)
    assert check_inputs(net, a[:4]).shape == (4, 6)
    with pytest.raises(bn.DataError, match="1 samples, first at index 4"):
        check_inputs(net, a)


def test_predict_and_evaluate_check_each_batch_for_nan():
    """predict and evaluate check each batch for NaN and infinities as they reach it; the
    error still counts the bad samples of all of x and names the first."""
    x, y = blobs()
    net = mlp()
    bad = x.copy()
    bad[[9, 30], 1] = [np.inf, np.nan]
    for run in (lambda: net.predict(bad, batch_size=4),
                lambda: net.evaluate(bad, y, batch_size=4),
                lambda: net.predict(bad)):
        with pytest.raises(bn.DataError, match="in 2 samples, first at index 9"):
            run()
    np.testing.assert_allclose(net.predict(x, batch_size=4), net.predict(x), rtol=1e-5, atol=1e-7)


def test_divergence_stops_with_epoch_batch_and_untouched_weights():
    x, y = blobs()
    x[150:] *= 1e25  # the squared error of batch 4 overflows float32
    net = bn.Sequential([bn.Dense(4, 8), bn.ReLU(), bn.Dense(8, 3), bn.Identity()])
    net.compile(bn.SGD(0.01), bn.MSE())
    snapshots = []

    class Snapshot(bn.Callback):
        def on_batch_end(self, batch, logs):
            snapshots.append(self.model.get_weights())

    with pytest.raises(bn.TrainingDivergedError) as info:
        net.fit(x, y, epochs=2, batch_size=50, shuffle=False, callbacks=[Snapshot()],
                verbose=False)
    assert (info.value.epoch, info.value.batch) == (1, 4)
    assert "epoch 1, batch 4" in str(info.value)
    for a, b in zip(snapshots[-1], net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(w).all() for w in net.get_weights())


def test_on_nan_skip_keeps_training():
    x, y = blobs()
    x[150:200] *= 1e25
    net = bn.Sequential([bn.Dense(4, 8), bn.ReLU(), bn.Dense(8, 3), bn.Identity()])
    net.compile(bn.SGD(0.01), bn.MSE())
    with pytest.warns(UserWarning, match="epoch [12]: skipped 1 batches"):
        history = net.fit(x, y, epochs=2, batch_size=50, shuffle=False, on_nan="skip",
                          verbose=False)
    assert np.isfinite(history["loss"]).all()
    assert all(np.isfinite(w).all() for w in net.get_weights())


def test_early_stopping_restores_the_best_weights():
    x, y = blobs()
    net = mlp(optimizer=bn.SGD(0.05))
    seen = {}

    class Record(bn.Callback):
        def on_epoch_end(self, epoch, logs):
            seen[epoch] = (logs["val_loss"], self.model.get_weights())

    stopper = bn.EarlyStopping(monitor="val_loss", patience=2, restore_best=True)
    # Noisy validation labels make val_loss stop improving quickly.
    rng = np.random.default_rng(1)
    history = net.fit(x, y, epochs=60, batch_size=8, validation_data=(x[:60], rng.integers(0, 3, 60)),
                      callbacks=[Record(), stopper], seed=0, verbose=False)
    assert history.epochs < 60 and stopper.stopped_epoch == history.epochs - 1
    best = min(seen, key=lambda e: seen[e][0])
    assert best == stopper.best_epoch
    for a, b in zip(seen[best][1], net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_and_epoch_lines(capsys):
    x, y = blobs()
    mlp().fit(x, y, epochs=2, batch_size=50, validation_split=0.2, verbose=True)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "val_accuracy" in err


def test_summary_and_repr():
    net = mlp()
    lines = []
    net.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Dense(4 -> 16" in text and "(None, 16)" in text and "80" in text
    assert f"{net.num_params:,}" in text and net.num_params == 4 * 16 + 16 + 16 * 3 + 3
    assert "(1) Dense(4 -> 16" in repr(net) and "SGD" in repr(net)


ALL_LAYERS = [
    bn.Dense(3, 4, init="glorot_normal", bias_init=0.1), bn.ReLU(), bn.LeakyReLU(0.2), bn.ELU(0.5),
    bn.GELU(), bn.Sigmoid(), bn.Tanh(), bn.Softmax(), bn.Identity(), bn.Flatten(),
    bn.Dropout(0.25), bn.Reshape((1, 2, 2)), bn.Conv2D(1, 3, (3, 2), stride=2, padding=1),
    bn.Conv2D(2, 3, 5, padding="same"),
    bn.MaxPool2D(3, stride=2), bn.AvgPool2D((2, 1)), bn.GlobalAvgPool2D(),
    bn.BatchNorm(momentum=0.2, eps=1e-3), bn.Rescale(2.0, offset=-0.5), bn.Deskew(0.8),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=repr)
def test_layer_config_round_trip(layer):
    spec = bn.layer_to_dict(layer)
    again = bn.layer_from_dict(spec)
    assert type(again) is type(layer) and again.get_config() == layer.get_config()
    assert repr(again) == repr(layer)


def test_unknown_layer_type_is_refused():
    with pytest.raises(bn.ConfigError, match="unknown layer type 'Evil'"):
        bn.layer_from_dict({"type": "Evil", "config": {}})


def test_float32_end_to_end_without_hidden_upcasts():
    """Every activation, gradient, parameter and optimizer slot stays float32."""
    net = (bn.Sequential([bn.Reshape((1, 8, 8)), bn.Conv2D(1, 4, 3, padding="same"),
                          bn.BatchNorm(), bn.LeakyReLU(0.1), bn.MaxPool2D(2), bn.AvgPool2D(2),
                          bn.Conv2D(4, 4, 1), bn.GlobalAvgPool2D(), bn.Dense(4, 8), bn.GELU(),
                          bn.Dropout(0.2), bn.Dense(8, 6), bn.ELU(), bn.Tanh(), bn.Dense(6, 3),
                          bn.Softmax()])
           .compile(bn.AdamW(bn.CosineDecay(0.01, 10), clipnorm=1.0), bn.CrossEntropy()))
    x = np.random.default_rng(0).random((16, 64), dtype=np.float32)
    y = np.arange(16) % 3
    out = x
    for layer in net.layers:
        out = layer.forward(out, training=True)
        assert out.dtype == np.float32, layer
    grad = net.cost.gradient_from_logits(out, y)
    for layer in reversed(net.layers[1:-1]):  # down to the first convolution
        grad = layer.backward(grad)
        assert grad is None or grad.dtype == np.float32, layer
        assert all(g.dtype == np.float32 for g in layer.grads.values()), layer
    net.fit(x, y, epochs=2, batch_size=8, verbose=False)
    assert all(w.dtype == np.float32 for w in net.get_weights())
    assert all(a.dtype == np.float32 for a in net.optimizer.state_arrays().values())
    assert net.predict(x).dtype == np.float32


def test_a_sigmoid_output_trains_with_binary_cross_entropy():
    """The generic fused step (Sigmoid, then the fused cost) reports the cost of the output
    before the update, and learns a separable problem."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) > 0).astype(np.float32).reshape(-1, 1)
    net = bn.Sequential([bn.Dense(4, 1), bn.Sigmoid()]).watch("accuracy").compile(
        bn.SGD(0.5), bn.BinaryCrossEntropy(), seed=0)
    expected_output = net.predict(x[:50])
    expected = net.cost.loss(net.predict(x[:50]), y[:50])
    loss, output, applied = train_step(net, net.runner(), x[:50], y[:50])
    assert applied and loss == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(output, expected_output, rtol=1e-6)
    history = net.fit(x, y, epochs=20, batch_size=20, verbose=False)
    assert history.to_dict()["accuracy"][-1] > 0.95


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda net: pickle.loads(pickle.dumps(net))])
def test_a_copied_model_trains_its_own_parameters(duplicate):
    """A deep copy or a pickled copy trains exactly like the original, and apart from it."""
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 6), dtype=np.float32), rng.integers(0, 3, 40)
    net = bn.Sequential([bn.Dense(6, 5), bn.ReLU(), bn.Dense(5, 3), bn.Softmax()]).compile(
        bn.Adam(0.01), "cross_entropy", seed=0)
    net.fit(x, y, epochs=1, batch_size=8, verbose=False)  # the optimizer has slots now
    twin = duplicate(net)
    before = net.get_weights()
    twin.fit(x, y, epochs=2, batch_size=8, seed=1, verbose=False)
    for a, b in zip(net.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)
    net.fit(x, y, epochs=2, batch_size=8, seed=1, verbose=False)
    for a, b in zip(net.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any((a != b).any() for a, b in zip(net.get_weights(), before, strict=True))


