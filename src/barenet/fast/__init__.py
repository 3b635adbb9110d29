"""The fast path: faster code for some layers, computing what their own code computes.

``Sequential`` runs its layers through :class:`Runner`, which hands each layer that has a
kernel here to it and runs every other layer's own ``forward`` and ``backward``.  Each kernel
names the reference it replaces, and ``tests/test_fast.py`` checks that both agree (values,
gradients, a training step and a whole epoch).  What the kernels add:

* ``parallel``: barenet's threads over cache-sized pieces of the batch, for the element-wise
  work NumPy runs on one core (models with convolutions or pooling, whose ReLUs are split too);
* ``dense``: the lowest Dense layer skips dC/dX, which nothing needs; its gradients are
  written over those of the last step; column sums as one BLAS product;
* ``convolution``: im2col in channels-last memory with the bias in the product, and
  Winograd's F(4x4, 3x3) for wide 3x3 convolutions (``winograd``);
* ``pooling``: max-pooling that keeps its arg-max as small integers, a window offset at a time;
* ``recurrent``: the LSTM on transposed (features by samples) arrays made once, so that each
  gate is a contiguous block and every step writes in place; one product per step on
  [h; x; 1], each step's share of dC/dW taken while it is in the cache, and predictions that
  keep one step;
* ``runner``: a max-pool runs before the ReLU ahead of it (they commute, and the ReLU then
  touches a quarter of the values); the finiteness check of the gradients by dot products.

``BARENET_FAST=0`` in the environment, or ``barenet.fast.use(False)``, runs the reference
path alone: every layer's own code, which a learner can step through in a debugger.
"""

from __future__ import annotations

import os

from barenet.errors import ConfigError

_switch: bool | None = None  # None: follow BARENET_FAST


def enabled() -> bool:
    """True when models run the fast path: ``use`` decides, else ``BARENET_FAST`` (default on)."""
    if _switch is not None:
        return _switch
    value = os.environ.get("BARENET_FAST", "1").strip().lower()
    if value not in ("0", "1", "false", "true", "off", "on", ""):
        raise ConfigError(f"BARENET_FAST must be 0 or 1, got {value!r}")
    return value not in ("0", "false", "off")


def use(on: bool | None) -> None:
    """Switch the fast path on or off for every model (None: follow ``BARENET_FAST`` again)."""
    global _switch
    _switch = None if on is None else bool(on)


from barenet.fast.runner import Runner  # noqa: E402 - the runner needs the switch above

__all__ = ["Runner", "enabled", "use"]
