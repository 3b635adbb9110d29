"""Checkpoints: an interrupted run, resumed, ends bit for bit where an uninterrupted one does."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from synthetic import write_dataset

import barenet as bn
from barenet import serialization
from barenet.data import random_affine


def toy(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((240, 64), dtype=np.float32)
    y = (x.reshape(240, 8, 8)[:, :4].mean(axis=(1, 2)) > 0.5).astype(int)
    return x, y


def network():
    bn.seed(2)
    return (bn.Sequential([bn.Reshape((1, 8, 8)), bn.Conv2D(1, 3, 3), bn.BatchNorm(), bn.ReLU(),
                           bn.Flatten(), bn.Dropout(0.3), bn.Dense(108, 2), bn.Softmax()])
            .watch("accuracy", "recall")
            .compile(bn.Adam(bn.CosineDecay(0.01, 60)), bn.CrossEntropy(), seed=2))


def augment(xb, rng):
    return random_affine(xb, rng, 8, 1)


FIT = dict(epochs=3, batch_size=16, validation_split=0.25, seed=9, augment=augment,
           verbose=False)


class StopAt(bn.Callback):
    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if (self.epoch, batch) == self.at:
            self.model.request_stop()


@pytest.mark.parametrize("stop", [(1, 4), (0, 10), (1, 11)])  # mid-epoch, and an epoch's end
def test_resume_in_process_is_bit_identical(tmp_path, stop):
    x, y = toy()
    reference = network()
    expected = reference.fit(x, y, **FIT)

    net = network()
    with pytest.raises(bn.TrainingInterrupted) as info:
        net.fit(x, y, callbacks=[StopAt(*stop)], **FIT)
    path = tmp_path / "checkpoint.safetensors"
    bn.save_checkpoint(net, info.value.state, path)
    del net

    resumed, state = bn.load_checkpoint(path)
    assert (state.epoch, state.batch) == (stop[0] + (stop[1] == 11), (stop[1] + 1) % 12)
    history = resumed.fit(x, y, state=state, **FIT)
    assert history.to_dict() == expected.to_dict()
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == reference.optimizer.iterations


def test_checkpoint_files(tmp_path):
    x, y = toy()
    net = network()
    net.fit(x, y, epochs=1, verbose=False)
    net.save(tmp_path / "model.safetensors")
    with pytest.raises(bn.FormatError, match="not a barenet checkpoint"):
        bn.load_checkpoint(tmp_path / "model.safetensors")
    path = tmp_path / "checkpoint.safetensors"
    bn.save_checkpoint(net, net.training_state, path)
    model, state = bn.load_checkpoint(path)
    assert model.optimizer.iterations == net.optimizer.iterations and state.epoch == 1
    np.testing.assert_array_equal(bn.load_model(path).predict(x), net.predict(x))
    # The file keeps one array per parameter and slot, shaped like the parameter.
    tensors, _ = serialization.read_safetensors(path)
    parameters = [p for layer in net.layers for p in layer.params.values()]
    for i, value in enumerate(parameters):
        for slot in ("m", "v"):
            assert tensors[f"optimizer.{i}.{slot}"].shape == value.shape
    assert f"optimizer.{len(parameters)}.m" not in tensors
    for a, b in zip(model.optimizer.slots[0].values(), net.optimizer.slots[0].values(),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_whose_optimizer_state_does_not_fit_is_refused(tmp_path):
    x, y = toy()
    net = network()
    net.fit(x, y, epochs=1, verbose=False)
    path = tmp_path / "checkpoint.safetensors"
    bn.save_checkpoint(net, net.training_state, path)
    tensors, meta = serialization.read_safetensors(path)
    tensors["optimizer.0.m"] = tensors["optimizer.0.m"].reshape(-1)  # same size, wrong shape
    path.write_bytes(serialization.encode_safetensors(tensors, meta))
    with pytest.raises(bn.FormatError, match="saved state of parameter 0 does not fit"):
        bn.load_checkpoint(path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_killed_and_resumed_command_matches_an_uninterrupted_run(tmp_path, sig):
    """A real `barenet train` process gets a signal mid-run, checkpoints, exits non-zero, and
    `barenet train --resume` finishes it with the weights of an uninterrupted run."""
    data = write_dataset(tmp_path / "data" / "mnist", n_train=3000, n_test=100)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    base = [sys.executable, "-m", "barenet", "train", "--preset", "cnn", "--epochs", "4",
            "--batch-size", "32", "--data-dir", str(data.parent), "--seed", "3"]

    subprocess.run([*base, "--out", str(tmp_path / "straight")], check=True, env=env,
                   capture_output=True, cwd=tmp_path)

    run = tmp_path / "interrupted"
    proc = subprocess.Popen([*base, "--out", str(run)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # wait until the first epoch is done, then interrupt the second
        if line.startswith("epoch 1/4") or time.monotonic() > deadline:
            break
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "barenet train --resume" in err
    assert not (run / "model.safetensors").exists()

    resumed = subprocess.run([sys.executable, "-m", "barenet", "train", "--resume", str(run)],
                             env=env, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    a = bn.load_model(run / "model.safetensors")
    b = bn.load_model(tmp_path / "straight" / "model.safetensors")
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    history = lambda d: json.loads((d / "history.json").read_text())  # noqa: E731
    assert history(run) == history(tmp_path / "straight")
