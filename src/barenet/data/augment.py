"""Data augmentation: small random rotations and shifts of a batch of images, in NumPy."""

from __future__ import annotations

import numpy as np

from barenet.data import warp


def random_affine(images: np.ndarray, rng: np.random.Generator, max_degrees: float = 10.0,
                  max_shift: float = 2.0, flip: bool = False) -> np.ndarray:
    """Rotate each image by a random angle in ±``max_degrees`` about its centre and shift it by
    up to ±``max_shift`` pixels along each axis; pixels that come from outside are 0.  With
    ``flip``, each image is first mirrored left to right with probability 1/2 (for clothes,
    not for digits).

    ``images`` is (N, H, W) or (N, 1, H, W), or (N, H·W) for square images.  Every output pixel
    p is read at A⁻¹(p) from its image by bilinear interpolation (``warp.bilinear``).
    """
    shape = images.shape
    n = shape[0]
    side = int(round(np.sqrt(images[0].size)))
    if side * side != images[0].size:
        raise ValueError(f"random_affine needs square single-channel images, got {shape[1:]}")
    x = images.reshape(n, side, side)
    theta = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))
    shift = rng.uniform(-max_shift, max_shift, (n, 2))
    centre = (side - 1) / 2
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float64) - centre
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    # The inverse map: undo the shift, then rotate by -θ.
    r = rows[None] - shift[:, 0, None, None]
    c = cols[None] - shift[:, 1, None, None]
    src_r = cos * r + sin * c + centre
    src_c = -sin * r + cos * c
    if flip:  # drawn after the angles and shifts, so flip=False keeps the same stream
        src_c *= np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None, None]
    src_c += centre
    return warp.bilinear(x, src_r, src_c).astype(images.dtype, copy=False).reshape(shape)
