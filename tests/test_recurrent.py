"""SimpleRNN, LSTM, GRU and Embedding: finite differences, PyTorch, learning through time,
files, and the errors that say how to call them."""

import os
import runpy
from pathlib import Path

import numpy as np
import pytest
from conftest import require

import barenet as bn

RNG = np.random.default_rng(0)
RECURRENT = [lambda **o: bn.SimpleRNN(4, **o), lambda **o: bn.SimpleRNN(3, "relu", **o),
             lambda **o: bn.LSTM(4, forget_bias=1.0, **o), lambda **o: bn.GRU(4, **o)]


@pytest.mark.parametrize("steps", [1, 6])
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("make", RECURRENT, ids=["rnn", "rnn-relu", "lstm", "gru"])
def test_gradients_through_time(make, sequences, steps):
    layer = make(return_sequences=sequences)
    x = RNG.normal(size=(3, steps, 5))
    assert bn.gradcheck(layer, x, seed=steps) < 1e-6


def test_embedding_gradient_is_a_scatter_add():
    layer = bn.Embedding(7, 3, seed=0)
    tokens = np.array([[1, 1, 4], [6, 1, 0]])
    assert bn.gradcheck(layer, tokens) < 1e-6
    g = RNG.normal(size=(2, 3, 3))
    layer.forward(tokens)
    layer.backward(g)
    np.testing.assert_allclose(layer.grads["W"][1], g[0, 0] + g[0, 1] + g[1, 1], rtol=1e-5)
    np.testing.assert_array_equal(layer.grads["W"][[2, 3, 5]], 0)


def torch_copy(layer, module):
    """Give ``layer`` the weights of the PyTorch ``module`` (weight_ih_l0 is W_xᵀ)."""
    layer.set_variables({
        "W_x": module.weight_ih_l0.detach().numpy().T.copy(),
        "W_h": module.weight_hh_l0.detach().numpy().T.copy(),
        "b_x": module.bias_ih_l0.detach().numpy().copy(),
        "b_h": module.bias_hh_l0.detach().numpy().copy()}, (7, 5))


@pytest.mark.torch
@pytest.mark.parametrize("sequences", [False, True])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_recurrent_layers_match_pytorch(kind, sequences):
    torch = require("torch")
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](
        5, 6, batch_first=True)
    layer = {"rnn": bn.SimpleRNN, "lstm": bn.LSTM, "gru": bn.GRU}[kind](
        6, return_sequences=sequences)
    torch_copy(layer, module)
    x = RNG.normal(size=(4, 7, 5)).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    out = module(tx)[0]
    out = out if sequences else out[:, -1]
    g = RNG.normal(size=tuple(out.shape)).astype(np.float32)
    out.backward(torch.from_numpy(g))
    close = {"rtol": 1e-4, "atol": 1e-6}
    np.testing.assert_allclose(layer.forward(x, True), out.detach().numpy(), **close)
    np.testing.assert_allclose(layer.backward(g), tx.grad.numpy(), **close)
    for name, theirs, transpose in (("W_x", module.weight_ih_l0, True),
                                    ("W_h", module.weight_hh_l0, True),
                                    ("b_x", module.bias_ih_l0, False),
                                    ("b_h", module.bias_hh_l0, False)):
        expected = theirs.grad.numpy()
        np.testing.assert_allclose(layer.grads[name], expected.T if transpose else expected,
                                   **close, err_msg=name)


@pytest.mark.torch
def test_embedding_matches_pytorch():
    torch = require("torch")
    module = torch.nn.Embedding(9, 4)
    layer = bn.Embedding(9, 4)
    layer.set_variables({"W": module.weight.detach().numpy().copy()})
    tokens = RNG.integers(0, 9, (3, 6))
    out = module(torch.from_numpy(tokens))
    g = RNG.normal(size=tuple(out.shape)).astype(np.float32)
    out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(layer.forward(tokens), out.detach().numpy())
    layer.backward(g)
    np.testing.assert_allclose(layer.grads["W"], module.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
adding_problem = runpy.run_path(str(EXAMPLES / "adding_problem.py"), run_name="example")["sequences"]


@pytest.mark.parametrize("layer", [bn.LSTM, bn.GRU])
def test_the_adding_problem_is_learned_through_time(layer):
    """examples/adding_problem.py's task at T = 12: guessing the mean gives an MSE of about
    0.167; only a layer whose gradients reach the marked steps, back through time, does much
    better."""
    rng = np.random.default_rng(0)
    x, y = adding_problem(2000, 12, rng)
    xt, yt = adding_problem(300, 12, rng)
    bn.seed(0)
    net = bn.Sequential([layer(24), bn.Dense(24, 1, init="glorot_uniform"), bn.Identity()],
                        input_shape=(12, 2)).compile(bn.Adam(1e-2, clipnorm=1.0), "mse")
    net.fit(x, y, epochs=15, batch_size=50, verbose=False)
    assert net.evaluate(xt, yt)["loss"] < 0.02


def test_a_stacked_recurrent_model_saves_loads_and_resumes_bit_for_bit(tmp_path):
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 12, (120, 8))
    labels = (tokens[:, :4].sum(axis=1) > 22).astype(int)

    def model():
        bn.seed(3)
        return (bn.Sequential([bn.Embedding(12, 5), bn.LSTM(6, return_sequences=True),
                               bn.GRU(4), bn.Dense(4, 2), bn.Softmax()], input_shape=(8,))
                .watch("accuracy").compile(bn.Adam(1e-2), "cross_entropy"))

    straight = model()
    straight.fit(tokens, labels, epochs=3, batch_size=20, seed=2, verbose=False)
    stopped = model()

    class StopAt(bn.Callback):
        def on_batch_end(self, batch, logs):
            if self.model.history.epochs == 1 and batch == 2:
                self.model.request_stop()

    with pytest.raises(bn.TrainingInterrupted) as info:
        stopped.fit(tokens, labels, epochs=3, batch_size=20, seed=2, verbose=False,
                    callbacks=[StopAt()])
    bn.save_checkpoint(stopped, info.value.state, tmp_path / "checkpoint.safetensors")
    resumed, state = bn.load_checkpoint(tmp_path / "checkpoint.safetensors")
    resumed.fit(tokens, labels, epochs=3, batch_size=20, seed=2, verbose=False, state=state)
    for a, b in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    straight.save(tmp_path / "model.safetensors")
    again = bn.load_model(tmp_path / "model.safetensors")
    np.testing.assert_array_equal(again.predict(tokens), straight.predict(tokens))
    lines = []
    again.summary(print_fn=lines.append)
    assert "LSTM(6, return_sequences=True)" in "\n".join(lines)


def test_bad_shapes_and_tokens_are_refused_with_the_fix():
    with pytest.raises(bn.ShapeError, match=r"LSTM\(128\) expects input samples of shape "
                                            r"\(T, F\).*Reshape.*got \(784,\)"):
        bn.Sequential([bn.LSTM(128), bn.Dense(128, 10), bn.Softmax()], input_shape=(784,)) \
            .compile(bn.Adam(), "cross_entropy")
    net = (bn.Sequential([bn.Embedding(5, 3), bn.GRU(2), bn.Dense(2, 2), bn.Softmax()],
                         input_shape=(4,)).compile(bn.Adam(), "cross_entropy"))
    with pytest.raises(bn.DataError, match="token 7.*integers 0..4"):
        net.predict(np.array([[0, 1, 7, 2]]))
    with pytest.raises(bn.ConfigError, match="activation must be 'tanh' or 'relu'"):
        bn.SimpleRNN(3, "sigmoid")


def test_the_words_example_beats_bigram_counts():
    """examples/words.py on a few thousand words: the GRU's validation cross-entropy per
    character is below the bigram model's, and it invents words."""
    if not Path("/usr/share/dict/words").exists():
        message = "the word list is missing: scripts/install-system-deps.sh installs wamerican"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    result = runpy.run_path(str(EXAMPLES / "words.py"), run_name="example")["main"](
        ["--words", "4000", "--epochs", "2"])
    assert result["gru"] < result["bigram"] - 0.1
    assert len(result["samples"]) == 12 and all(w.isalpha() or w == "" for w in result["samples"])
