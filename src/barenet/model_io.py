"""The layout of barenet's model and checkpoint files, on top of safetensors.

A model file holds each parameter and buffer as a tensor named "<layer index>.<name>" and, in
its metadata, "format", "version" and the architecture as JSON (``Sequential.get_config``),
with any other entries JSON-encoded.  A checkpoint adds the optimizer's slots
("optimizer.<param>.<slot>"), its step count and the training state (``barenet.checkpoints``).
Loading checks every tensor's name, shape and dtype against the architecture and names the
first mismatch.
"""

from __future__ import annotations

import contextlib
import json

import numpy as np

from barenet import losses, optimizers
from barenet.errors import BarenetError, ConfigError, FormatError
from barenet.serialization import encode_safetensors, read_safetensors, write_atomic

FORMAT_MODEL = "barenet.model"
FORMAT_CHECKPOINT = "barenet.checkpoint"
VERSION = "1"


def write(path, kind: str, config: dict, tensors: dict, extra: dict) -> None:
    """Write a file of ``kind`` atomically: ``tensors`` and, as JSON metadata, the
    architecture ``config`` and each entry of ``extra``."""
    meta = {"format": kind, "version": VERSION, "architecture": json.dumps(config)}
    meta.update({key: json.dumps(value) for key, value in extra.items()})
    write_atomic(path, encode_safetensors({k: np.asarray(v) for k, v in tensors.items()}, meta))


def read(path, kinds: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """(tensors, metadata, architecture) of a file of one of ``kinds``; the metadata's
    entries decoded from JSON."""
    tensors, meta = read_safetensors(path)
    if meta.get("format") not in kinds:
        wanted = " or ".join(k.removeprefix("barenet.") for k in kinds)
        raise FormatError(f"{path}: not a barenet {wanted} file (its format is "
                          f"{meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise FormatError(f"{path}: written by an unknown barenet format version "
                          f"{meta.get('version')!r}; this barenet reads version {VERSION}")
    decoded = {}
    for key, value in meta.items():
        if key in ("format", "version"):
            continue
        try:
            decoded[key] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}: the metadata entry {key!r} is not JSON ({exc})") from None
    if not isinstance(decoded.get("architecture"), dict):
        raise FormatError(f"{path}: the architecture metadata is missing")
    return tensors, decoded, decoded.pop("architecture")


@contextlib.contextmanager
def reading(path):
    """Within, an architecture that cannot be built becomes a FormatError naming ``path``."""
    try:
        yield
    except FormatError:
        raise
    except BarenetError as exc:
        raise FormatError(f"{path}: the architecture it describes is invalid: {exc}") from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise FormatError(f"{path}: the architecture it describes is malformed ({exc!r})") \
            from None


def adopt_variables(path, model, tensors: dict) -> None:
    """Give ``model``'s layers the variables in ``tensors``, after checking that each one the
    architecture needs is there with its shape and dtype, and that no other is."""
    dtype = np.dtype(model.dtype)
    shapes = model.layer_shapes()
    for i, (layer, shape) in enumerate(zip(model.layers, shapes, strict=False)):
        arrays = {}
        for name, want in layer.variable_shapes(shape).items():
            key = f"{i}.{name}"
            if key not in tensors:
                raise FormatError(f"{path}: layer {i + 1} {layer!r} needs tensor {key!r}, "
                                  "which the file does not hold")
            got = tensors[key]
            if got.shape != tuple(want) or got.dtype != dtype:
                raise FormatError(
                    f"{path}: layer {i + 1} {layer!r}: {name} is {got.dtype}{list(got.shape)} "
                    f"in the file, but the architecture needs {dtype}{list(want)}")
            arrays[name] = np.array(got)
        if arrays:
            layer.set_variables(arrays, shape)
    expected = {name for name, _ in model.variables()}
    unexpected = sorted(k for k in tensors if not k.startswith("optimizer.") and k not in expected)
    if unexpected:
        raise FormatError(f"{path}: tensors {unexpected[:3]} belong to no layer of the "
                          "architecture")


def check_dtype(config: dict) -> None:
    """Refuse an architecture whose dtype barenet does not compute in."""
    if config.get("dtype", "float32") not in ("float32", "float64"):
        raise ConfigError(f"unsupported dtype {config.get('dtype')!r}")


def optimizer_and_cost(config: dict) -> tuple[optimizers.Optimizer, losses.Cost]:
    """The optimizer and cost a network config names (SGD(0.01) when it names no optimizer)."""
    cost = config["cost"]
    cost = losses.from_config(cost["type"], cost.get("config", {})) \
        if isinstance(cost, dict) else losses.get(cost)
    opt = config.get("optimizer", {"type": "SGD", "config": {"learning_rate": 0.01}})
    opt = optimizers.from_dict(opt) if isinstance(opt, dict) else optimizers.get(opt)
    return opt, cost
