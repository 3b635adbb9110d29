"""Data augmentation: random distortions of a batch of images that imitate how people write.

Each image gets its own random geometric distortion (rotation, scaling, shear, shift, and the
elastic distortion of Simard, Steinkraus and Platt, 2003), resampled once by bilinear
interpolation, and then a random change of stroke width.  Everything is drawn from the
generator it is given, so the same seed gives the same images.
"""

from __future__ import annotations

import numpy as np

from barenet.data import warp


def augment(images: np.ndarray, rng: np.random.Generator, *, max_degrees: float = 0.0,
            max_shift: float = 0.0, max_scale: float = 0.0, max_shear: float = 0.0,
            elastic: float = 0.0, elastic_sigma: float = 4.0, stroke: float = 0.0,
            flip: bool = False) -> np.ndarray:
    """A randomly distorted copy of each image.

    ``images`` is (N, H, W) or (N, 1, H, W), or (N, H·W) for square images; the copy has the
    same shape and dtype.  Per image, uniformly at random:

    - rotation by up to ±``max_degrees`` about the centre, a shift of up to ±``max_shift``
      pixels along each axis, with ``flip`` a left-right mirror with probability 1/2;
    - a scale factor in 1 ± ``max_scale`` (each axis its own, so the aspect changes too) and a
      horizontal shear c' = c + s·r with s in ±``max_shear``;
    - an elastic distortion: a displacement field of uniform noise in [-1, 1] per pixel and
      axis, smoothed by a Gaussian of width ``elastic_sigma`` and multiplied by ``elastic``
      (Simard et al. used 34 and 4 on 28x28 digits);
    - strokes thickened or thinned by a fraction t in ±``stroke`` of a one-pixel grey-level
      dilation (t > 0) or erosion (t < 0): X + |t|·(D(X) - X).

    Output pixel p reads its image at the source point A⁻¹(p) + d(p) (``warp.bilinear``);
    pixels from outside are 0.
    """
    shape = images.shape
    n = shape[0]
    side = int(round(np.sqrt(images[0].size)))
    if side * side != images[0].size:
        raise ValueError(f"augmentation needs square single-channel images, got {shape[1:]}")
    x = images.reshape(n, side, side)
    src_r, src_c = _affine_sources(n, side, rng, max_degrees, max_shift, flip, max_scale, max_shear)
    if elastic:
        dr, dc = elastic * _smooth_noise(rng, n, side, elastic_sigma)
        src_r, src_c = src_r + dr, src_c + dc
    out = warp.bilinear(x, src_r, src_c).astype(images.dtype, copy=False)
    if stroke:
        out = stroke_width(out, rng.uniform(-stroke, stroke, n))
    return out.reshape(shape)


def random_affine(images: np.ndarray, rng: np.random.Generator, max_degrees: float = 10.0,
                  max_shift: float = 2.0, flip: bool = False) -> np.ndarray:
    """Rotate each image by up to ±``max_degrees`` and shift it by up to ±``max_shift`` pixels
    (mirrored with probability 1/2 with ``flip``, for clothes, not digits): ``augment`` with
    only those distortions."""
    return augment(images, rng, max_degrees=max_degrees, max_shift=max_shift, flip=flip)


def _affine_sources(n, side, rng, max_degrees, max_shift, flip, max_scale, max_shear):
    """Source (row, column) of every output pixel, (N, side, side) each: the inverse of
    p ↦ R·Sh·S·p + shift about the centre."""
    theta = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))[:, None, None]
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    mirror = np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None, None] if flip else 1.0
    scale = rng.uniform(1 - max_scale, 1 + max_scale, (n, 2, 1, 1)) if max_scale else np.ones((1, 2, 1, 1))
    shear = rng.uniform(-max_shear, max_shear, n)[:, None, None] if max_shear else 0.0
    centre = (side - 1) / 2
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float64) - centre
    r = rows[None] - shift[:, 0, None, None]  # undo the shift,
    c = cols[None] - shift[:, 1, None, None]
    cos, sin = np.cos(theta), np.sin(theta)
    r, c = cos * r + sin * c, -sin * r + cos * c  # the rotation,
    c = c - shear * r  # the shear,
    r, c = r / scale[:, 0], c / scale[:, 1]  # the scaling,
    return r + centre, mirror * c + centre  # and the mirror


def _smooth_noise(rng: np.random.Generator, n: int, side: int, sigma: float) -> np.ndarray:
    """(2, N, side, side) uniform noise in [-1, 1] smoothed by a Gaussian of width ``sigma``:
    G·U·Gᵀ with G the (side, side) matrix of the normalised 1-D kernel, zero outside."""
    noise = rng.uniform(-1, 1, (2, n, side, side))
    offsets = np.arange(side)[:, None] - np.arange(side)[None, :]
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel /= np.exp(-0.5 * (np.arange(-side + 1, side) / sigma) ** 2).sum()
    return kernel @ noise @ kernel.T


def stroke_width(images: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Thicken (``amount`` > 0) or thin (< 0) the strokes of each (H, W) image by that fraction
    of a one-pixel grey-level dilation or erosion with a cross: X + |t|·(D(X) - X), where D(X)
    is the largest (or smallest) of a pixel and its four neighbours (outside the image is 0).
    """
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    neighbours = (padded[:, :-2, 1:-1], padded[:, 2:, 1:-1], padded[:, 1:-1, :-2],
                  padded[:, 1:-1, 2:])
    dilated = np.maximum.reduce((images, *neighbours))
    eroded = np.minimum.reduce((images, *neighbours))
    t = np.asarray(amount, dtype=images.dtype)[:, None, None]
    return images + np.abs(t) * (np.where(t > 0, dilated, eroded) - images)
