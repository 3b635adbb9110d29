"""The IDX file format of MNIST, read and written with NumPy.

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d
    4·d bytes   each dimension, a big-endian uint32
    the rest    the elements, big-endian, in C order

Files may be gzip-compressed (recognised by their content, not their name).  The reader checks
every field and the exact length, and names the file and the problem when one is wrong.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from barenet.errors import FormatError
from barenet.serialization import write_atomic

TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
         0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
         np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
MAX_BYTES = 4 << 30  # no real IDX file comes close; a larger claim is a damaged header
_CHUNK = 1 << 20


def _read_exactly(stream, size: int, path, what: str) -> bytes:
    """``size`` bytes of ``stream``, read in chunks so that memory follows the real data."""
    parts, got = [], 0
    while got < size:
        part = stream.read(min(_CHUNK, size - got))
        if not part:
            raise FormatError(f"{path}: truncated: {what} needs {size} bytes but the file ends "
                              f"after {got}")
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def read_idx(path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (raw or .gz), in native byte order."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
    except FileNotFoundError:
        raise FileNotFoundError(f"no such IDX file: {path}") from None
    except IsADirectoryError:
        raise FormatError(f"{path} is a folder, not an IDX file") from None
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise FormatError(f"{path}: truncated: {len(head)} bytes, an IDX header has 4+")
            zero, code, ndim = struct.unpack(">HBB", head)
            if zero != 0:
                raise FormatError(f"{path}: not an IDX file (magic number {head.hex()} does not "
                                  "start with two zero bytes)")
            if code not in TYPES:
                raise FormatError(f"{path}: unknown IDX element type 0x{code:02X} (known: "
                                  f"{', '.join(f'0x{c:02X}' for c in TYPES)})")
            if ndim == 0:
                raise FormatError(f"{path}: the IDX header declares 0 dimensions")
            dims = struct.unpack(f">{ndim}I", _read_exactly(f, 4 * ndim, path, "the dimensions"))
            dtype = np.dtype(TYPES[code])
            size = math.prod(dims) * dtype.itemsize
            if size > MAX_BYTES:
                raise FormatError(f"{path}: the header declares dimensions {dims} ({size} bytes), "
                                  "more than any IDX file holds; the header is damaged")
            data = _read_exactly(f, size, path, f"an array of shape {dims}")
            if f.read(1):
                raise FormatError(f"{path}: more bytes than the header's shape {dims} accounts "
                                  "for; the file is damaged or not what it claims to be")
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"{path}: cannot be decompressed or read ({exc})") from None
    return np.frombuffer(data, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in .gz), atomically."""
    array = np.asarray(array)
    code = CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise FormatError(f"IDX cannot store dtype {array.dtype}; use one of "
                          f"{sorted(str(d) for d in CODES)}")
    if array.ndim == 0 or array.ndim > 255:
        raise FormatError(f"IDX stores 1 to 255 dimensions, got {array.ndim}")
    head = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    body = head + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if str(path).endswith(".gz"):
        body = gzip.compress(body, mtime=0)
    write_atomic(path, body)
