"""Property-based tests: the IDX reader and the model loader, fed random and mutated bytes,
either return a valid object or raise barenet's own error, never another exception."""

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import barenet as bn
from barenet.data import read_idx, write_idx
from barenet.errors import BarenetError

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def valid_idx_bytes(tmp_path) -> bytes:
    path = tmp_path / "valid-idx3"
    write_idx(path, np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4))
    return path.read_bytes()


def mutate(data: bytes, edits) -> bytes:
    buffer = bytearray(data)
    for kind, position, value in edits:
        if not buffer:
            break
        i = position % len(buffer)
        if kind == "flip":
            buffer[i] = value
        elif kind == "cut":
            del buffer[i:]
        else:
            buffer[i:i] = bytes([value])
    return bytes(buffer)


EDITS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert"]),
                           st.integers(0, 10**6), st.integers(0, 255)), max_size=4)


@SETTINGS
@given(data=st.binary(max_size=300))
def test_idx_reader_on_random_bytes(tmp_path, data):
    path = tmp_path / "random-idx"
    path.write_bytes(data)
    try:
        array = read_idx(path)
    except BarenetError:
        return
    assert isinstance(array, np.ndarray)


@SETTINGS
@given(edits=EDITS, compress=st.booleans())
def test_idx_reader_on_mutated_files(tmp_path, edits, compress):
    data = valid_idx_bytes(tmp_path)
    if compress:
        import gzip

        data = gzip.compress(data)
    path = tmp_path / "mutated-idx"
    path.write_bytes(mutate(data, edits))
    try:
        array = read_idx(path)
    except BarenetError:
        return
    assert isinstance(array, np.ndarray)


_MODEL_BYTES = {}


def valid_model_bytes(tmp_path) -> bytes:
    if "model" not in _MODEL_BYTES:
        net = (bn.Sequential([bn.Reshape((1, 6, 6)), bn.Conv2D(1, 2, 3), bn.BatchNorm(), bn.ReLU(),
                              bn.MaxPool2D(2), bn.Flatten(), bn.Dense(8, 3), bn.Softmax()])
               .compile(bn.Adam(0.01), bn.CrossEntropy()))
        net.save(tmp_path / "m.safetensors")
        _MODEL_BYTES["model"] = (tmp_path / "m.safetensors").read_bytes()
    return _MODEL_BYTES["model"]


def check_loads_or_refuses(path) -> None:
    try:
        model = bn.load_model(path)
    except BarenetError:
        return
    assert isinstance(model, bn.Sequential)


@SETTINGS
@given(edits=EDITS)
def test_model_loader_on_mutated_files(tmp_path, edits):
    path = tmp_path / "mutated.safetensors"
    path.write_bytes(mutate(valid_model_bytes(tmp_path), edits))
    check_loads_or_refuses(path)


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(
    [b"0", b"9", b"-1", b"1e9", b'"', b"{", b"]", b"null", b"true", b"99999999999", b"\\u0000"])),
    min_size=1, max_size=3))
def test_model_loader_on_mutated_headers(tmp_path, edits):
    """Edits aimed at the JSON header (shapes, offsets, architecture numbers)."""
    data = bytearray(valid_model_bytes(tmp_path))
    size = int.from_bytes(data[:8], "little")
    for position, token in edits:
        i = 8 + position % size
        data[i : i + len(token)] = token
    path = tmp_path / "header.safetensors"
    path.write_bytes(bytes(data))
    check_loads_or_refuses(path)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_model_loader_on_random_bytes(tmp_path, data):
    path = tmp_path / "random.safetensors"
    path.write_bytes(data)
    check_loads_or_refuses(path)


def test_no_pickle_anywhere():
    """No module unpickles: neither the pickle module nor NumPy's pickle-capable loaders."""
    source = Path(bn.__file__).parent
    text = "\n".join(p.read_text() for p in source.rglob("*.py"))
    for forbidden in ("import pickle", "pickle.load", "np.load(", "numpy.load(",
                      "allow_pickle=True", "import marshal", "import shelve"):
        assert forbidden not in text
