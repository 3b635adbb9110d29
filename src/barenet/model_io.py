"""Saving and loading models and training checkpoints, as safetensors files.

A model file holds each parameter and buffer as a tensor named "<layer index>.<name>" and, in
its metadata, the architecture as JSON (``Sequential.get_config``).  A checkpoint adds the
optimizer's slots ("optimizer.<param>.<slot>"), its step count, and the ``TrainingState``
(position, generator states, history).  Loading rebuilds the architecture, checks every
tensor's name, shape and dtype against it *before* allocating the model's arrays, and names the
first mismatch.
"""

from __future__ import annotations

import json

import numpy as np

from barenet import backend
from barenet.errors import BarenetError, ConfigError, FormatError
from barenet.model import Sequential, TrainingState, optimizer_and_cost
from barenet.serialization import decode_safetensors, encode_safetensors, read_bytes, write_atomic

FORMAT_MODEL = "barenet.model"
FORMAT_CHECKPOINT = "barenet.checkpoint"
VERSION = "1"


def _encode(model: Sequential, kind: str, extra_tensors=None, extra_meta=None) -> bytes:
    tensors = {name: backend.to_numpy(v) for name, v in model.variables()}
    tensors.update(extra_tensors or {})
    meta = {"format": kind, "version": VERSION, "architecture": json.dumps(model.get_config())}
    meta.update(extra_meta or {})
    return encode_safetensors(tensors, meta)


def save_model(model: Sequential, path, info: dict | None = None) -> None:
    """Write ``model`` to ``path`` atomically; ``info`` (JSON-ready) is kept as metadata."""
    model._require_compiled()
    write_atomic(path, _encode(model, FORMAT_MODEL,
                               extra_meta={"info": json.dumps(info or {})}))


def _decode(path, kinds: tuple[str, ...]):
    tensors, meta = decode_safetensors(read_bytes(path), str(path))
    if meta.get("format") not in kinds:
        wanted = " or ".join(k.removeprefix("barenet.") for k in kinds)
        raise FormatError(f"{path}: not a barenet {wanted} file (its format is "
                          f"{meta.get('format')!r})")
    if meta.get("version") != VERSION:
        raise FormatError(f"{path}: written by an unknown barenet format version "
                          f"{meta.get('version')!r}; this barenet reads version {VERSION}")
    try:
        config = json.loads(meta["architecture"])
    except (KeyError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: the architecture metadata is missing or not JSON ({exc})") \
            from None
    return tensors, meta, config


def _build(path, config, tensors: dict) -> Sequential:
    """The model described by ``config``, with its variables taken from ``tensors``."""
    try:
        model = Sequential.from_config({k: v for k, v in config.items() if k != "cost"})
        shapes = model.layer_shapes()
        dtype = np.dtype(config.get("dtype", "float32"))
        if dtype not in (np.float32, np.float64):
            raise ConfigError(f"unsupported dtype {dtype}")
        for i, (layer, shape) in enumerate(zip(model.layers, shapes, strict=False)):
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
            layer.load_variables({n: backend.xp.asarray(tensors[f"{i}.{n}"])
                                  for n in layer.variable_shapes(shape)})
        model.dtype = dtype.type
        expected = {name for name, _ in model.variables()}
        unexpected = sorted(k for k in tensors if not k.startswith("optimizer.")
                            and k not in expected)
        if unexpected:
            raise FormatError(f"{path}: tensors {unexpected[:3]} belong to no layer of the "
                              "architecture")
        if "cost" in config:  # compiled, but with the file's weights instead of new ones
            model._attach(*optimizer_and_cost(config))
            model._finish_compile(shapes)
    except FormatError:
        raise
    except BarenetError as exc:
        raise FormatError(f"{path}: the architecture it describes is invalid: {exc}") from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise FormatError(f"{path}: the architecture it describes is malformed ({exc!r})") \
            from None
    return model


def load_model(path) -> Sequential:
    """The model saved at ``path`` by ``Sequential.save`` (a checkpoint file works too).

    Raises FormatError, naming the file and the problem, for anything damaged or inconsistent.
    """
    tensors, meta, config = _decode(path, (FORMAT_MODEL, FORMAT_CHECKPOINT))
    model = _build(path, config, tensors)
    try:
        model.info = json.loads(meta.get("info", "{}"))
    except json.JSONDecodeError:
        model.info = {}
    return model


def save_checkpoint(model: Sequential, state: TrainingState, path) -> None:
    """Model, optimizer state and training position, atomically, for ``load_checkpoint``."""
    opt = model.optimizer
    slots = {f"optimizer.{k}": backend.to_numpy(v) for k, v in model.optimizer_state().items()}
    write_atomic(path, _encode(model, FORMAT_CHECKPOINT, slots, {
        "optimizer_iterations": str(opt.iterations),
        "training_state": state.to_json(),
    }))


def load_checkpoint(path) -> tuple[Sequential, TrainingState]:
    """The model (with its optimizer state restored) and the state to pass to ``fit``."""
    tensors, meta, config = _decode(path, (FORMAT_CHECKPOINT,))
    model = _build(path, config, tensors)
    try:
        iterations = int(meta["optimizer_iterations"])
        state = TrainingState.from_json(meta["training_state"])
        slots = {k[len("optimizer."):]: backend.xp.asarray(v) for k, v in tensors.items()
                 if k.startswith("optimizer.")}
        model.load_optimizer_state(iterations, slots)
    except (KeyError, ValueError, TypeError, json.JSONDecodeError, BarenetError) as exc:
        raise FormatError(f"{path}: the training state is damaged ({exc!r})") from None
    return model, state
