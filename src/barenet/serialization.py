"""Files: atomic writes, and the safetensors container barenet keeps models in.

A safetensors file (https://github.com/huggingface/safetensors) holds named arrays and a dict of
string metadata: numbers and JSON, never pickles.  The ``safetensors`` package reads and writes
it; its reader checks the header against the file's length before it allocates anything, so a
file that lies about its shapes is refused.  Whatever it refuses becomes barenet's FormatError,
naming the file.
"""

from __future__ import annotations

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
    """The bytes of a safetensors file holding ``tensors`` and string ``metadata``."""
    try:
        return safetensors.numpy.save({k: np.ascontiguousarray(v) for k, v in tensors.items()},
                                      metadata=metadata)
    except (safetensors.SafetensorError, ValueError, TypeError) as exc:
        raise FormatError(f"cannot save these arrays as safetensors: {exc}") from None


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
