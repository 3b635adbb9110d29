"""Files: atomic writes and the safetensors container barenet saves models in.

A model file is a safetensors file (https://github.com/huggingface/safetensors), read and written
here with NumPy alone::

    8 bytes   N, the header length (unsigned little-endian)
    N bytes   JSON header: {"<tensor>": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]},
                            "__metadata__": {"<key>": "<string>"}}
    the rest  the raw little-endian tensor bytes, tensor i at [b, e) of this block

Nothing in the file is executed: it holds numbers and JSON, never pickles.  The reader checks
every declared size against the real file length before it allocates anything, so a file that
lies about its shapes is refused instead of exhausting memory.
"""

from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from pathlib import Path

import numpy as np

from barenet.errors import FormatError

MAX_HEADER_BYTES = 16 * 1024 * 1024
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "U8": np.uint8, "U32": np.uint32, "U64": np.uint64}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old or its new content.

    The bytes go to a temporary file in the same folder, are flushed to disk, then renamed over
    ``path`` (an atomic step).  If anything fails or is interrupted before the rename, the
    temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def encode_safetensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """The bytes of a safetensors file holding ``tensors`` and string ``metadata``."""
    header: dict[str, object] = {"__metadata__": dict(metadata)}
    chunks, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        code = _CODES.get(array.dtype)
        if code is None:
            raise FormatError(f"cannot save tensor {name!r} of dtype {array.dtype}")
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format aligns the data block to 8 bytes
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def decode_safetensors(data: bytes, source: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse safetensors ``data``; every inconsistency raises FormatError naming ``source``."""

    def bad(problem: str) -> FormatError:
        return FormatError(f"{source}: {problem}; the file is damaged or not a barenet model")

    if len(data) < 8:
        raise bad(f"only {len(data)} bytes, too short for a header")
    (size,) = struct.unpack("<Q", data[:8])
    if size > min(MAX_HEADER_BYTES, len(data) - 8):
        raise bad(f"the header claims {size} bytes but the file has {len(data) - 8} after the "
                  "length field")
    try:
        header = json.loads(data[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise bad(f"the header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise bad("__metadata__ must map strings to strings")
    body = memoryview(data)[8 + size :]
    tensors, spans = {}, []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"tensor {name!r} is not described by dtype, shape and data_offsets")
        dtype = _DTYPES.get(entry["dtype"]) if isinstance(entry["dtype"], str) else None
        shape, offsets = entry["shape"], entry["data_offsets"]
        if dtype is None:
            raise bad(f"tensor {name!r} has unsupported dtype {entry['dtype']!r}")
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise bad(f"tensor {name!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            isinstance(o, int) and not isinstance(o, bool) for o in offsets
        )):
            raise bad(f"tensor {name!r} has invalid data_offsets {offsets!r}")
        begin, end = offsets
        expected = math.prod(shape) * np.dtype(dtype).itemsize
        if not 0 <= begin <= end <= len(body) or end - begin != expected:
            raise bad(f"tensor {name!r} declares shape {shape} ({expected} bytes) at "
                      f"[{begin}, {end}), outside the {len(body)} data bytes or of another size")
        spans.append((begin, end))
        tensors[name] = (
            np.frombuffer(body[begin:end], dtype=np.dtype(dtype).newbyteorder("<"))
            .astype(dtype).reshape(shape)
        )
    spans.sort()
    if any(a_end > b_begin for (_, a_end), (b_begin, _) in zip(spans, spans[1:], strict=False)):
        raise bad("two tensors overlap in the data block")
    return tensors, metadata


def read_bytes(path) -> bytes:
    """The whole file, with a barenet error when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise FormatError(f"{path} is a folder; give the path of a model file") from None
