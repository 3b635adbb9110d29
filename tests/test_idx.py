"""The IDX reader and writer: round trips and every malformed-file error."""

import gzip
import struct

import numpy as np
import pytest

from barenet.data import read_idx, write_idx
from barenet.errors import FormatError


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    array = (np.random.default_rng(0).normal(size=(5, 4, 3)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_compression_is_detected_by_content(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.arange(10, dtype=np.uint8))
    plain = tmp_path / "labels-named-gz-but-raw.gz"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    np.testing.assert_array_equal(read_idx(plain), np.arange(10))


def raw_idx(code=0x08, dims=(3, 2), body=None, magic=b"\x00\x00"):
    head = magic + struct.pack(">BB", code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)
    return head + (bytes(int(np.prod(dims))) if body is None else body)


@pytest.mark.parametrize("content, match", [
    (b"\x00\x00", "truncated"),
    (raw_idx(magic=b"\x12\x34"), "magic number"),
    (raw_idx(code=0x0A), "unknown IDX element type 0x0A"),
    (raw_idx(dims=()), "0 dimensions"),
    (raw_idx(dims=(3, 2))[:-1], "truncated"),
    (raw_idx(dims=(3, 2)) + b"\x00", "more bytes than"),
    (raw_idx(dims=(4,))[:6], "truncated: the dimensions"),
    (raw_idx(dims=(65535, 65535, 65535), body=b""), "more than any IDX file"),
    (b"\x1f\x8b\x08\x00garbage", "cannot be decompressed"),
])
def test_malformed_files_name_the_file_and_the_problem(tmp_path, content, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "t.gz"
    body = np.random.default_rng(0).integers(0, 256, 10000, dtype=np.uint8).tobytes()
    whole = gzip.compress(raw_idx(dims=(100, 100), body=body))
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FormatError):
        read_idx(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such IDX file"):
        read_idx(tmp_path / "nope")
    with pytest.raises(FormatError, match="is a folder"):
        read_idx(tmp_path)


def test_writer_refuses_unsupported_dtypes(tmp_path):
    with pytest.raises(FormatError, match="cannot store dtype"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.complex64))
