"""Pen trajectories in the UNIPEN text format, and drawing them as a canvas would.

A UNIPEN file lists, for each written character, a ``.SEGMENT`` line naming its label, an
optional ``.COMMENT`` line (the UCI pen-digits files put ``label writer sample`` there), and
strokes: ``.PEN_DOWN``, one ``x y`` line per sampled point, ``.PEN_UP``.  Tablet coordinates
grow upwards; :func:`render` flips them into image rows.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from barenet.errors import FormatError


@dataclass(frozen=True)
class PenDigit:
    label: int
    writer: int | None
    strokes: tuple[np.ndarray, ...]  # each (K, 2) float: x to the right, y upwards


def read_unipen(path: str | Path) -> list[PenDigit]:
    """Every labelled character in a UNIPEN file (gzip-compressed when it ends in ``.gz``)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii") as lines:
        return _parse(lines, str(path))


def _parse(lines, source: str) -> list[PenDigit]:
    digits, label, writer, strokes, points = [], None, None, [], None

    def finish():
        if label is not None and strokes:
            digits.append(PenDigit(label, writer, tuple(strokes)))

    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        keyword = words[0]
        if keyword == ".SEGMENT":
            finish()
            label, writer, strokes = _label(words, source, number), None, []
        elif keyword == ".COMMENT" and len(words) >= 3 and words[2].isdigit():
            writer = int(words[2])
        elif keyword == ".PEN_DOWN":
            points = []
        elif keyword == ".PEN_UP":
            if points:
                strokes.append(np.asarray(points, dtype=np.float64))
            points = None
        elif points is not None and not keyword.startswith("."):
            try:
                points.append((float(words[0]), float(words[1])))
            except (ValueError, IndexError):
                raise FormatError(f"{source}, line {number}: expected 'x y', got {line.strip()!r}") \
                    from None
    finish()
    if not digits:
        raise FormatError(f"{source} holds no labelled pen strokes (is it a UNIPEN file?)")
    return digits


def _label(words: list[str], source: str, number: int) -> int:
    text = words[-1].strip('"')
    if not text.isdigit():
        raise FormatError(f"{source}, line {number}: the segment's label {words[-1]} is not a digit")
    return int(text)


def render(strokes, size: int = 280, width: float = 20.0, height: float = 0.6,
           centre: tuple[float, float] = (0.5, 0.5), ink: int = 0, paper: int = 255,
           alpha: bool = False, oversample: int = 4) -> Image.Image:
    """Draw pen strokes on a square canvas as a browser's 2D canvas does: round caps and joins,
    anti-aliased (drawn ``oversample`` times larger, then reduced).

    The strokes are scaled so that the character is ``height`` of the canvas tall (its
    aspect kept; one more than 1.5 times as wide as tall is 1.5·``height`` wide instead), with
    the middle of its box at ``centre`` (fractions of the canvas).  ``ink``
    and ``paper`` are grey levels; ``alpha=True`` gives an RGBA image whose paper is
    transparent, like a canvas nobody painted a background on.
    """
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = max(high[1] - low[1], (high[0] - low[0]) / 1.5, 1e-9)
    scale = height * size * oversample / extent
    middle = (low + high) / 2
    big = size * oversample
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    radius = width * oversample / 2
    for stroke in strokes:
        x = (stroke[:, 0] - middle[0]) * scale + centre[0] * big
        y = (middle[1] - stroke[:, 1]) * scale + centre[1] * big  # tablet y grows upwards
        xy = list(zip(x.tolist(), y.tolist(), strict=True))
        if len(xy) > 1:
            draw.line(xy, fill=255, width=max(1, round(2 * radius)), joint="curve")
        for px, py in (xy[0], xy[-1]) if len(xy) > 1 else xy:  # round caps
            draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=255)
    coverage = np.asarray(image.resize((size, size), Image.Resampling.BOX), dtype=np.float64) / 255
    if alpha:
        rgba = np.zeros((size, size, 4), dtype=np.uint8)
        rgba[..., :3] = ink
        rgba[..., 3] = np.round(coverage * 255).astype(np.uint8)
        return Image.fromarray(rgba, "RGBA")
    grey = np.round(paper + (ink - paper) * coverage).astype(np.uint8)
    return Image.fromarray(grey, "L")
