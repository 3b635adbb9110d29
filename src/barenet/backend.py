"""The one array module every layer computes with.

Layers, costs and optimizers never ``import numpy`` for their arithmetic: they call
``backend.xp``.  NumPy is the default and the only requirement; any library with NumPy's
interface (CuPy, for instance) can be swapped in with :func:`use` and the same layer code
runs unchanged.
"""

from __future__ import annotations

import math
import types

import numpy

xp: types.ModuleType = numpy
"""The active array module (``numpy`` unless :func:`use` changed it)."""


def column_sums(a, out=None):
    """Σ over the rows of a 2-D array: a matrix-vector product with ones, which BLAS runs
    several times faster than NumPy's own (pairwise) sum over axis 0."""
    return xp.matmul(xp.ones(a.shape[0], dtype=a.dtype), a, out=out)


def all_finite(*arrays) -> bool:
    """True when no entry of any of ``arrays`` is NaN or ±inf.

    Σa² is finite exactly when every entry is finite and none is so large (above ~1e19 in
    float32) that its square overflows; as one BLAS dot product it runs several times faster
    than ``isfinite(a).all()``, which only decides the rare case where the sum is not finite.
    The arrays share one ``errstate``, which costs as much as the dot of a small array.
    """
    with numpy.errstate(over="ignore", invalid="ignore"):  # the overflow is the signal here
        for a in arrays:
            flat = a.reshape(-1)
            if not math.isfinite(float(flat @ flat)) and not bool(xp.isfinite(a).all()):
                return False
    return True


def use(module: types.ModuleType) -> None:
    """Make ``module`` (``numpy``, ``cupy``, ...) the array module of every layer."""
    global xp
    for name in ("asarray", "matmul", "exp", "zeros", "einsum"):
        if not hasattr(module, name):
            raise TypeError(
                f"{module!r} has no '{name}': barenet needs an array module with NumPy's "
                "interface, such as numpy or cupy"
            )
    xp = module


def to_numpy(array):
    """Bring an array of the active module back to a NumPy array (a no-op on NumPy)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if get is not None else numpy.asarray(array)
