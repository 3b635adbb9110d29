"""Digits that people drew with a pen: the UCI pen-based handwritten digits, drawn on a canvas.

44 people wrote 250 digits each on a tablet (``pendigits/README.md`` gives the source and
licence).  UCI splits them by writer: the 30 writers of :data:`TRAINING` and 14 others in
:data:`TEST`.  The ``draw`` preset trains on the first, rendered as a person draws on the
page (:func:`draw_by_hand`) and prepared as the page's drawings are (``vision.to_mnist``), so
that it learns pen strokes as well as MNIST's scanned ink; ``benchmarks/handwriting.py``
measures how a model reads the second.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from barenet.data.unipen import PenDigit, read_unipen, render
from barenet.vision import to_mnist

FOLDER = Path(__file__).parent / "pendigits"
TRAINING = FOLDER / "pendigits-orig.tra.gz"
"""30 writers, 7,494 digits: the ``draw`` preset trains on them."""
TEST = FOLDER / "pendigits-orig.tes.gz"
"""14 other writers, 3,498 digits: never trained on."""
TRAINING_DIGITS = 7494

LOOKS = ("dark on white", "white on black", "transparent")


def draw_by_hand(digit: PenDigit, rng: np.random.Generator,
                 size: int = 280) -> tuple[Image.Image, str, float]:
    """``digit`` drawn on a ``size``-pixel canvas as someone might on the drawing page:
    one of :data:`LOOKS`, a round pen 8 to 32 pixels wide (on 280 pixels; in proportion on
    other sizes), 35% to 85% of the canvas tall, its middle up to 12% off centre.

    Returns the image, its look and the pen's width on a 280-pixel canvas.
    """
    look = LOOKS[rng.integers(len(LOOKS))]
    width = float(rng.uniform(8, 32))
    height = float(rng.uniform(0.35, 0.85))
    centre = tuple(0.5 + rng.uniform(-0.12, 0.12, 2))
    pen = {"width": width * size / 280, "height": height, "centre": centre, "size": size}
    if look == "white on black":
        return render(digit.strokes, ink=255, paper=0, **pen), look, width
    return render(digit.strokes, alpha=look == "transparent", **pen), look, width


def training_images(copies: int, seed: int, digits: list[PenDigit] | None = None,
                    size: int = 112) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``digits`` (default: :data:`TRAINING`'s) drawn ``copies`` times by
    :func:`draw_by_hand` on a ``size``-pixel canvas (the page sends 112 pixels) and prepared
    as the page's drawings are: images (copies·D, 784) float32 in [0, 1] and their labels."""
    digits = read_unipen(TRAINING) if digits is None else digits
    rng = np.random.default_rng(seed)
    images = np.empty((copies * len(digits), 784), dtype=np.float32)
    for k in range(len(images)):
        image, _, _ = draw_by_hand(digits[k % len(digits)], rng, size)
        images[k] = to_mnist(image).reshape(-1)
    labels = np.tile([d.label for d in digits], copies).astype(np.int64)
    return images, labels
