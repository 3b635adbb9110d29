"""Files: atomic writes, and the safetensors container barenet keeps models in.

A safetensors file (https://github.com/huggingface/safetensors) holds named arrays and a dict of
string metadata: numbers and JSON, never pickles.  The ``safetensors`` package reads and writes
it; its reader checks the header against the file's length before it allocates anything, so a
file that lies about its shapes is refused.  Whatever it refuses becomes barenet's FormatError,
naming the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy

from barenet.errors import FormatError


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
    """The bytes of a safetensors file holding ``tensors`` and string ``metadata``: the same
    arrays and metadata give the same bytes (so a file's SHA-256 can be recorded)."""
    try:
        data = safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                                      metadata=metadata)
    except (safetensors.SafetensorError, ValueError, TypeError) as exc:
        raise FormatError(f"cannot save these arrays as safetensors: {exc}") from None
    return _metadata_sorted(data)


def _metadata_sorted(data: bytes) -> bytes:
    """``data`` with its header's metadata keys in sorted order.  The safetensors package
    writes them in a hash map's order, which changes from one process to the next; the
    tensors' entries and bytes stay as they are.  The header is a JSON object after its
    length (8 bytes, little-endian), padded with spaces to a multiple of 8 bytes."""
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data[8 + length :]


def read_safetensors(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(tensors, metadata) of the safetensors file at ``path``; FormatError if it is damaged."""
    path = Path(path)
    if path.is_dir():
        raise FormatError(f"{path} is a folder; give the path of a model file")
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with safetensors.safe_open(str(path), framework="np") as f:
            metadata = f.metadata() or {}
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except (safetensors.SafetensorError, ValueError, TypeError, OSError) as exc:
        raise FormatError(f"{path}: {exc}; the file is damaged or not a barenet model") from None
    return tensors, metadata
