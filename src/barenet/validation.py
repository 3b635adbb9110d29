"""Checks of the data a model is given: every problem is refused before any work, with the fix.

Inputs must be real numbers in samples of the shape the network takes, without NaN or
infinities; targets are integer class labels (N,) or real arrays shaped like the output.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import DataError, ShapeError


def non_finite_error(x, name: str) -> DataError:
    """The error for ``x`` holding NaN or infinities: how many samples, and the first."""
    bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
    return DataError(f"{name} holds NaN or infinite values (in {len(bad)} samples, first "
                     f"at index {bad[0]}); clean or drop those samples")


def check_inputs(model, x, name: str = "x", finite: bool = True) -> np.ndarray:
    """``x`` as an array of the model's dtype, after checking dtype, shape and, unless
    ``finite=False`` (a caller that checks each batch instead), its values."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{name} has dtype {x.dtype}; give real numbers (float32 images "
                        "scaled to [0, 1], or uint8 pixels)")
    if x.ndim == 0 or len(x) == 0:
        raise DataError(f"{name} is empty (shape {x.shape}): give at least one sample")
    try:
        model.layer_shapes(x.shape[1:])
    except ShapeError as exc:
        hint = model.layers[0].input_shape_hint() or model.input_shape
        raise ShapeError(f"{name} has samples of shape {x.shape[1:]}, which the network "
                         f"cannot take (it was built for {hint}): {exc}") from None
    x = np.asarray(x, dtype=model.dtype)
    if finite and not np.isfinite(x).all():
        raise non_finite_error(x, name)
    return x


def check_targets(model, y, n: int, name: str = "y") -> np.ndarray:
    """Targets as integer class labels (N,) or real arrays shaped like the output."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise DataError(f"{name} has dtype {y.dtype}; give integer class labels or numbers")
    if y.ndim == 0 or len(y) != n:
        raise ShapeError(f"{name} has {len(y) if y.ndim else 0} labels for {n} samples: give "
                         "one label per sample")
    c = model.num_outputs
    if y.ndim == 1 and c > 1:
        if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
            raise DataError(f"{name} is 1-D with fractional values; class labels are "
                            f"integers 0..{c - 1}")
        y = y.astype(np.int64)
        if y.min() < 0 or y.max() >= c:
            raise DataError(f"{name} holds the label {y.max() if y.max() >= c else y.min()}, "
                            f"but the network has {c} outputs, so labels must be 0..{c - 1}")
        return y
    if y.shape[1:] != model.output_shape and not (c == 1 and y.ndim == 1):
        raise ShapeError(
            f"{name} has shape {y.shape} but the network outputs {(n, *model.output_shape)}: "
            f"give (N,) class labels or (N, {c}) one-hot rows"
        )
    y = np.asarray(y, dtype=model.dtype).reshape((n, *model.output_shape))
    if not np.isfinite(y).all():
        raise DataError(f"{name} holds NaN or infinite values")
    return y



def check_variables(model, shapes) -> None:
    """Every layer's parameters and buffers of the shapes its input (``shapes``, from
    ``model.layer_shapes()``) asks for, and in the model's dtype (converted if need be): a
    layer built for another input, or an array of another shape assigned to its ``params``,
    is refused."""
    for i, (layer, shape) in enumerate(zip(model.layers, shapes, strict=False)):
        arrays = {**layer.params, **layer.buffers}
        for name, want in layer.variable_shapes(shape).items():
            if name not in arrays or arrays[name].shape != tuple(want):
                got = arrays[name].shape if name in arrays else "nothing"
                raise ShapeError(f"layer {i + 1} {layer!r}: {name} has shape {got}, but "
                                 f"inputs of shape {shape} need {tuple(want)}")
        if any(a.dtype != model.dtype for a in arrays.values()):
            layer.astype(model.dtype)
