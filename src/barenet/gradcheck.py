"""Checking a layer's hand-written backward pass against finite differences.

For a fixed random G shaped like the output, the scalar C(X, θ) = Σ Y ⊙ G has dC/dY = G, so
``backward(G)`` must return dC/dX and set ``grads`` to dC/dθ.  Each of those is compared with
central differences, (C(v + h) - C(v - h)) / 2h for every entry v, all in float64, where the
difference is accurate to about h² ≈ 1e-12.
"""

from __future__ import annotations

import numpy as np

from barenet.errors import ConfigError, GradientCheckError


def _relative_error(analytic, numeric) -> float:
    """‖a - n‖ / max(‖a‖, ‖n‖), or the absolute error when both are near 0."""
    scale = max(float(np.linalg.norm(analytic)), float(np.linalg.norm(numeric)), 1e-8)
    return float(np.linalg.norm(analytic - numeric)) / scale


def _generators(layer) -> dict:
    """The states of the layer's random generators (Dropout's): restored before each forward
    pass, so every pass draws the same masks."""
    return {k: v.bit_generator.state for k, v in vars(layer).items()
            if isinstance(v, np.random.Generator)}


def gradcheck(layer, x, training: bool = True, seed: int = 0, h: float = 1e-6,
              tolerance: float = 1e-5, max_entries: int | None = None) -> float:
    """Compare ``layer.backward`` with central differences, in float64, for the input ``x``
    and every parameter; return the largest relative error.

    Args:
        layer: a built layer (its parameters are used in float64 and restored after).
        x: a batch of inputs (converted to float64); integer inputs (tokens) are used as
            they are, and only the parameters are checked.
        training: the mode of the forward passes.
        seed: draws G, and the entries checked when ``max_entries`` limits them.
        h: the finite-difference step.
        tolerance: the largest relative error accepted.
        max_entries: check at most this many entries of each array (None: all).

    Raises:
        GradientCheckError: naming the array whose error is the largest, when it exceeds
            ``tolerance``.
    """
    if not layer.differentiable:
        raise ConfigError(f"{layer!r} has no backward pass to check")
    x = np.asarray(x)
    tokens = x.dtype.kind in "iub"  # integer inputs (Embedding's) have no gradient to check
    if not tokens:
        x = np.array(x, dtype=np.float64, order="C")  # C order: entries are perturbed in place
    if hasattr(layer, "built") and not layer.built:
        layer.build(x.shape[1:], seed=seed, dtype=np.float64)
    saved = {"params": layer.params, "buffers": layer.buffers, "grads": layer.grads}
    layer.params = {k: np.array(v, dtype=np.float64, order="C") for k, v in layer.params.items()}
    layer.buffers = {k: np.array(v, dtype=np.float64) for k, v in layer.buffers.items()}
    buffers = {k: v.copy() for k, v in layer.buffers.items()}
    generators = _generators(layer)

    def forward():
        for name, state in generators.items():
            getattr(layer, name).bit_generator.state = state
        for name, value in buffers.items():  # running statistics move in training
            layer.buffers[name][...] = value
        return layer.forward(x, training)

    rng = np.random.default_rng(seed)
    try:
        g = rng.normal(size=forward().shape)
        analytic = {"input": layer.backward(g.copy())}
        analytic.update({k: np.asarray(v, np.float64) for k, v in layer.grads.items()})
        arrays = {**({} if tokens else {"input": x}), **layer.params}
        errors = {}
        for name, array in arrays.items():
            if analytic.get(name) is None or np.shape(analytic[name]) != array.shape:
                raise GradientCheckError(
                    f"{layer!r}: backward gave {name} a gradient of shape "
                    f"{np.shape(analytic.get(name))}, but {name} has shape {array.shape}",
                    name, float("inf"))
            entries = np.arange(array.size)
            if max_entries is not None and array.size > max_entries:
                entries = rng.choice(array.size, max_entries, replace=False)
            flat, numeric = array.reshape(-1), np.zeros(len(entries))
            for j, i in enumerate(entries):
                old = flat[i]
                flat[i] = old + h
                up = float((forward() * g).sum())
                flat[i] = old - h
                down = float((forward() * g).sum())
                flat[i] = old
                numeric[j] = (up - down) / (2 * h)
            errors[name] = _relative_error(analytic[name].reshape(-1)[entries], numeric)
    finally:
        for name, value in saved.items():
            setattr(layer, name, value)
    worst = max(errors, key=errors.get)
    if errors[worst] > tolerance:
        raise GradientCheckError(
            f"{layer!r}: the gradient of {worst} disagrees with finite differences (relative "
            f"error {errors[worst]:.2e} > {tolerance:g}); errors: "
            + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()), worst, errors[worst])
    return errors[worst]
