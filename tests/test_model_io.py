"""Saving and loading models: exact round trips, atomic writes, and refusal of bad files."""

import json
import os
import struct

import numpy as np
import pytest

import barenet as bn
from barenet import serialization
from barenet.errors import FormatError


def small_cnn():
    return (bn.Sequential([bn.Reshape((1, 8, 8)), bn.Conv2D(1, 3, 3, padding=1), bn.BatchNorm(),
                           bn.ReLU(), bn.MaxPool2D(2), bn.Flatten(), bn.Dropout(0.2),
                           bn.Dense(48, 5), bn.Softmax()])
            .watch("accuracy").compile(bn.Adam(0.01), bn.CrossEntropy(), seed=3))


def trained(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 64), dtype=np.float32), rng.integers(0, 5, 64)
    net = small_cnn()
    net.fit(x, y, epochs=2, batch_size=16, verbose=False)
    path = tmp_path / "model.safetensors"
    net.save(path, info={"note": "hello"})
    return net, x, y, path


def test_round_trip_predicts_exactly_the_same(tmp_path):
    net, x, y, path = trained(tmp_path)
    loaded = bn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    assert loaded.evaluate(x, y) == net.evaluate(x, y)
    assert repr(loaded) == repr(net)
    assert loaded.info == {"note": "hello"}
    for a, b in zip(loaded.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    loaded.fit(x, y, epochs=1, verbose=False)  # a loaded model can keep training


def test_file_is_plain_safetensors(tmp_path):
    _, _, _, path = trained(tmp_path)
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    assert header["1.W"]["dtype"] == "F32" and header["1.W"]["shape"] == [3, 1, 3, 3]
    assert json.loads(header["__metadata__"]["architecture"])["layers"][1]["type"] == "Conv2D"
    assert b"pickle" not in data and b"\x80\x04" not in data[:16]


def rewrite(path, edit_header=None, edit_meta=None, body=None):
    tensors, meta = serialization.read_safetensors(path)
    if edit_meta:
        arch = json.loads(meta["architecture"])
        edit_meta(arch)
        meta["architecture"] = json.dumps(arch)
    data = serialization.encode_safetensors(tensors, meta)
    if edit_header:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + size])
        edit_header(header)
        head = json.dumps(header).encode()
        data = struct.pack("<Q", len(head)) + head + data[8 + size :]
    path.write_bytes(data)


def set_shape(header, key, shape):
    header[key]["shape"] = shape


@pytest.mark.parametrize("damage, match", [
    (lambda p: p.write_bytes(p.read_bytes()[:-7]), "not fully covered.*damaged"),
    (lambda p: p.write_bytes(p.read_bytes()[:5]), "header too small"),
    (lambda p: p.write_bytes(struct.pack("<Q", 2**62) + p.read_bytes()[8:]), "header too large"),
    (lambda p: p.write_bytes(p.read_bytes()[:8] + b"[" + p.read_bytes()[9:]), "invalid JSON"),
    (lambda p: rewrite(p, edit_header=lambda h: set_shape(h, "1.W", [3, 1, 3, 2])),
     "invalid shape, data type, or offset"),
    (lambda p: rewrite(p, edit_header=lambda h: set_shape(h, "1.W", [10**9, 10**9])),
     "overflow computing buffer size"),
    (lambda p: rewrite(p, edit_meta=lambda a: a["layers"].__setitem__(
        1, {"type": "os.system", "config": {"command": "echo pwned"}})), "unknown layer type"),
    (lambda p: rewrite(p, edit_meta=lambda a: a["layers"].__setitem__(
        7, {"type": "Dense", "config": {"in_features": 48, "out_features": 10**12}})),
     r"layer 8 Dense\(48 -> 1000000000000"),
    (lambda p: rewrite(p, edit_meta=lambda a: a["layers"].__setitem__(
        7, {"type": "Dense", "config": {"in_features": 48, "out_features": 7}})),
     r"W is float32\[48, 5\] in the file, but the architecture needs float32\[48, 7\]"),
    (lambda p: rewrite(p, edit_meta=lambda a: a.__setitem__("dtype", "float64")),
     "needs float64"),
    (lambda p: rewrite(p, edit_meta=lambda a: a["layers"].pop(2)), "needs tensor '6.W'"),
])
def test_damaged_or_tampered_files_are_refused(tmp_path, damage, match):
    _, _, _, path = trained(tmp_path)
    damage(path)
    with pytest.raises(FormatError, match=match):
        bn.load_model(path)


def test_changed_weight_bytes_load_but_differ(tmp_path):
    """Bytes inside a tensor are just numbers: the file still loads, with other predictions."""
    net, x, _, path = trained(tmp_path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert not np.array_equal(bn.load_model(path).predict(x), net.predict(x))


def test_interrupted_save_leaves_the_previous_file(tmp_path, monkeypatch):
    net, x, _, path = trained(tmp_path)
    before = path.read_bytes()
    net.fit(x, np.zeros(len(x), dtype=int), epochs=1, verbose=False)

    def crash(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(KeyboardInterrupt):
        net.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]


def test_loading_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        bn.load_model(tmp_path / "nope.safetensors")
    other = tmp_path / "other.safetensors"
    other.write_bytes(serialization.encode_safetensors({"x": np.zeros(2, np.float32)}, {}))
    with pytest.raises(FormatError, match="not a barenet"):
        bn.load_model(other)


def test_the_same_model_saved_in_different_processes_gives_the_same_bytes(tmp_path):
    """The file's SHA-256 can be recorded: the header's metadata does not come out in a
    process's own hash order."""
    import subprocess
    import sys

    script = ("import sys, barenet as bn\n"
              "net = bn.Sequential([bn.Dense(4, 3, seed=1), bn.ReLU(), bn.Dense(3, 2, seed=2),"
              " bn.Softmax()]).compile(bn.Adam(1e-3), bn.CrossEntropy())\n"
              "net.save(sys.argv[1], info={'name': 'same', 'test_accuracy': 0.5})\n")
    paths = [tmp_path / f"m{k}.safetensors" for k in range(4)]
    for path in paths:
        subprocess.run([sys.executable, "-c", script, str(path)], check=True)
    contents = {path.read_bytes() for path in paths}
    assert len(contents) == 1
    assert bn.load_model(paths[0]).info["name"] == "same"
