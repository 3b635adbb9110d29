"""Ways of writing digits that MNIST's writers rarely used, added to MNIST's own digits.

MNIST's writers were American: their 1 is mostly a bare stroke and their 7 has no bar.  Much
of the world writes a 1 with a flag (often on a foot) and crosses its 7.  A network that never
saw those reads a flagged 1 as a 7.  :func:`write_styles` draws the missing strokes on a share
of the training images, once, before training (the random distortions of ``augment`` then apply
per batch on top).
"""

from __future__ import annotations

import numpy as np

SIDE = 28


def write_styles(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                 share: float = 0.5) -> np.ndarray:
    """A copy of ``images`` ((N, 784) or (N, 28, 28), ink 1 on 0) in which about ``share`` of
    the 1s get a flag from the top of their stroke down to the left (half of those also a
    foot) and about ``share`` of the 7s a crossbar through their stem at mid-height.

    The strokes are anti-aliased lines about as wide as MNIST's pen (1.8 to 2.6 pixels), laid
    on the image with a maximum.  ``labels`` are class indices; nothing else changes.
    """
    out = np.array(images, dtype=images.dtype, copy=True)
    x = out.reshape(len(out), SIDE, SIDE)
    ones = _some(labels == 1, share, rng)
    sevens = _some(labels == 7, share, rng)
    if len(ones):
        top, bottom = _end(x[ones], first=True), _end(x[ones], first=False)
        height = np.maximum(bottom[:, 0] - top[:, 0], 4)
        length = rng.uniform(0.25, 0.45, len(ones)) * height
        angle = np.deg2rad(rng.uniform(20, 60, len(ones)))  # below the horizontal
        flag_end = top + np.stack([length * np.sin(angle), -length * np.cos(angle)], axis=1)
        _draw(x, ones, top, flag_end, rng)
        footed = rng.random(len(ones)) < 0.5
        half = rng.uniform(0.15, 0.3, len(ones)) * height
        left = bottom - np.stack([np.zeros(len(ones)), half], axis=1)
        right = bottom + np.stack([np.zeros(len(ones)), half], axis=1)
        _draw(x, ones[footed], left[footed], right[footed], rng)
    if len(sevens):
        top, bottom = _end(x[sevens], first=True), _end(x[sevens], first=False)
        height = np.maximum(bottom[:, 0] - top[:, 0], 4)
        row = np.round(top[:, 0] + rng.uniform(0.45, 0.6, len(sevens)) * height).astype(int)
        stem = _ink_middle(x[sevens], np.clip(row, 0, SIDE - 1))
        half = rng.uniform(0.15, 0.25, len(sevens)) * height
        has_stem = ~np.isnan(stem)
        centre = np.stack([row, np.where(has_stem, stem, 0)], axis=1).astype(np.float64)
        bar = np.stack([np.zeros(len(sevens)), half], axis=1)
        _draw(x, sevens[has_stem], (centre - bar)[has_stem], (centre + bar)[has_stem], rng)
    return out


def _some(mask: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """Indices where ``mask`` holds, each kept with probability ``share``."""
    chosen = np.flatnonzero(mask)
    return chosen[rng.random(len(chosen)) < share]


def _end(x: np.ndarray, first: bool) -> np.ndarray:
    """(M, 2) the (row, column) of the top (``first``) or bottom end of each image's ink:
    its first or last row with ink, and the middle of the ink on that row."""
    rows_with_ink = (x > 0.5).any(axis=2)
    row = np.argmax(rows_with_ink, axis=1) if first else \
        SIDE - 1 - np.argmax(rows_with_ink[:, ::-1], axis=1)
    return np.stack([row, _ink_middle(x, row)], axis=1).astype(np.float64)


def _ink_middle(x: np.ndarray, row: np.ndarray) -> np.ndarray:
    """(M,) the mean column of the ink (> 0.5) on ``row`` of each image; NaN where none."""
    ink = x[np.arange(len(x)), row] > 0.5
    count = ink.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (ink * np.arange(SIDE)).sum(axis=1) / count, np.nan)


def _draw(x: np.ndarray, which: np.ndarray, start: np.ndarray, end: np.ndarray,
          rng: np.random.Generator) -> None:
    """Lay an anti-aliased segment start→end ((M, 2) row, column) on images ``x[which]``:
    each pixel's ink is clip(w/2 + ½ - distance to the segment, 0, 1), pen width w."""
    if not len(which):
        return
    width = rng.uniform(1.8, 2.6, (len(which), 1, 1))
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    p = np.stack([rows, cols])[None] - start[:, :, None, None]  # (M, 2, H, W)
    d = (end - start)[:, :, None, None]
    along = np.clip((p * d).sum(axis=1, keepdims=True)
                    / np.maximum((d * d).sum(axis=1, keepdims=True), 1e-9), 0, 1)
    distance = np.sqrt(((p - along * d) ** 2).sum(axis=1))
    ink = np.clip(width / 2 + 0.5 - distance, 0, 1).astype(x.dtype)
    x[which] = np.maximum(x[which], ink)
