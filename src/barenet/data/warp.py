"""Resampling a batch of images at given source points, by bilinear interpolation."""

from __future__ import annotations

import numpy as np


def bilinear(images, src_r, src_c):
    """Read each image at its own source points.

    ``images`` is (N, H, W); ``src_r`` and ``src_c`` hold the (row, column) to read for every
    output pixel, shaped to broadcast to (N, H', W').  A point between pixels mixes its four
    neighbours::

        out = (1-fr)(1-fc)·X[r₀, c₀] + (1-fr)·fc·X[r₀, c₀+1]
              + fr·(1-fc)·X[r₀+1, c₀] + fr·fc·X[r₀+1, c₀+1]

    with r₀ = ⌊src_r⌋, fr = src_r - r₀ (the same for columns).  Pixels outside the image count
    as 0, so a point more than a pixel outside reads 0.  Returns (N, H', W') in the images' dtype
    (given coordinates of that dtype), gathered for the whole batch at once.
    """
    n, h, w = images.shape
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr = (src_r - r0).astype(images.dtype, copy=False)
    fc = (src_c - c0).astype(images.dtype, copy=False)
    # Two rows and columns of zeros around each image, and corners clipped to [-2, h] × [-2, w]:
    # a point outside then reads only zeros, or the edge pixels with zeros for the neighbours it
    # lacks, so every index stays in bounds and nothing needs masking.  The floats are clipped,
    # not the integers: NumPy clips integers with a plain loop, ten times slower.
    hp, wp = h + 4, w + 4
    padded = np.zeros((n, hp, wp), dtype=images.dtype)
    padded[:, 2 : h + 2, 2 : w + 2] = images
    r0 = np.clip(r0, r0.dtype.type(-2), r0.dtype.type(h)).astype(np.intp)
    c0 = np.clip(c0, c0.dtype.type(-2), c0.dtype.type(w)).astype(np.intp)
    # Flat indices of the top-left neighbours in the padded batch: one gather per neighbour.
    top_left = (np.arange(n) * (hp * wp) + 2 * wp + 2).reshape(n, 1, 1) + r0 * wp + c0
    pixels = padded.reshape(-1)

    def at(offset):
        return np.take(pixels, top_left + offset)

    return ((1 - fr) * ((1 - fc) * at(0) + fc * at(1))
            + fr * ((1 - fc) * at(wp) + fc * at(wp + 1)))
