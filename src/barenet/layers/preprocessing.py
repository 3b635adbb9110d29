"""Layers that prepare raw inputs."""

from __future__ import annotations

import numpy as np

from barenet.data import warp
from barenet.errors import ConfigError
from barenet.layers.base import Layer, Shape, shape_mismatch


class Rescale(Layer):
    """Y = X·scale + offset: for example, standardise MNIST pixels in [0, 1] with
    ``Rescale(1 / 0.3081, offset=-0.1307 / 0.3081)``.  dC/dX = dC/dY · scale."""

    def __init__(self, scale: float = 1.0, *, offset: float = 0.0):
        super().__init__()
        if not scale:
            raise ConfigError("Rescale: scale must be non-zero")
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x, training: bool = False):
        return x * x.dtype.type(self.scale) + x.dtype.type(self.offset)

    def backward(self, grad_out):
        return grad_out * grad_out.dtype.type(self.scale)

    def get_config(self) -> dict:
        return {"scale": self.scale, "offset": self.offset}


class Deskew(Layer):
    """Straighten slanted handwriting: shear each image so that its main axis is vertical,
    and move its centre of mass to the middle (deskewing, as LeCun et al. did for MNIST).

    From the pixel mass m = ΣX of an image, its centre and slant are::

        r̄ = Σ X·r / m      c̄ = Σ X·c / m      α = Σ X(r - r̄)(c - c̄) / Σ X(r - r̄)²

    (α clipped to ±``max_slant``), and output pixel (r, c) reads X by bilinear interpolation at

        (r + r̄ - r₀,  c + c̄ - c₀ + α(r - r₀))      with (r₀, c₀) the middle of the image.

    Pixels are ink intensities, ≥ 0 (so Deskew comes before any ``Rescale``).  A blank image,
    or one whose ink lies on one row, is only moved.  Input (N, 1, H, W) or (N, H, W); output
    of the same shape.

    Deskew prepares the data: it has no backward pass, so no trainable layer may come before
    it.  As a layer it is saved with the model, so ``predict`` and the drawing mode deskew
    their inputs as training did.
    """

    differentiable = False

    def __init__(self, max_slant: float = 1.0):
        super().__init__()
        if isinstance(max_slant, bool) or not isinstance(max_slant, int | float) \
                or not max_slant >= 0:
            raise ConfigError(f"Deskew: max_slant must be a number >= 0, got {max_slant!r}")
        self.max_slant = float(max_slant)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 2 and not (len(input_shape) == 3 and input_shape[0] == 1):
            raise shape_mismatch(self, "(1, H, W) or (H, W): single-channel images", input_shape)
        return tuple(input_shape)

    def forward(self, x, training: bool = False):
        return deskew(x.reshape(len(x), *x.shape[-2:]), self.max_slant).reshape(x.shape)

    def get_config(self) -> dict:
        return {"max_slant": self.max_slant}


def deskew(images, max_slant: float = 1.0):
    """The images (N, H, W) deskewed and centred as :class:`Deskew` describes, in one pass
    over the batch: moments by matrix products, then one bilinear resampling."""
    h, w = images.shape[1:]
    rows, cols = np.arange(h, dtype=images.dtype), np.arange(w, dtype=images.dtype)
    row_mass = images.sum(axis=2)                                 # (N, H)
    mass = row_mass.sum(axis=1)
    blank = mass <= 0
    mass[blank] = 1
    r_mean = np.where(blank, (h - 1) / 2, row_mass @ rows / mass)
    c_mean = np.where(blank, (w - 1) / 2, images.sum(axis=1) @ cols / mass)
    dr = rows - r_mean[:, None]                                   # (N, H)
    var_r = (row_mass * dr * dr).sum(axis=1)
    # Σ_c X[r, c](c - c̄) for each row, then weighted by (r - r̄) and summed over rows.
    cov = (dr * (images @ cols - c_mean[:, None] * row_mass)).sum(axis=1)
    flat = var_r <= 1e-6 * mass
    slant = np.clip(cov / np.where(flat, 1, var_r), -max_slant, max_slant)
    slant[flat] = 0
    from_middle = (rows - (h - 1) / 2)[None, :, None]             # (1, H, 1)
    src_r = from_middle + r_mean[:, None, None]
    src_c = cols + (c_mean - (w - 1) / 2)[:, None, None] + slant[:, None, None] * from_middle
    return warp.bilinear(images, src_r, src_c)
