"""Prepare an arbitrary image of one digit the way MNIST's digits were prepared.

MNIST digits are white ink on black, size-normalised so that the longest side of the ink's
bounding box is 20 pixels (aspect ratio kept, anti-aliased), placed in a 28x28 field, and
shifted so that the ink's centre of mass sits at the centre.  A mouse drawing looks nothing
like that until it gets the same treatment.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from barenet.errors import DataError, FormatError

INK_THRESHOLD = 0.1  # a pixel at least this bright (of 1.0) after inversion counts as ink
MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE


class EmptyImageError(DataError):
    """The image holds no ink: there is no digit to recognise."""


def load_image(data: bytes, source: str = "image") -> Image.Image:
    """Decode image bytes with Pillow, refusing anything that is not a whole, sane image."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.width > MAX_SIDE or image.height > MAX_SIDE:
            raise FormatError(f"{source} is {image.width}x{image.height} pixels; at most "
                              f"{MAX_SIDE} a side is accepted")
        image.load()
    except FormatError:
        raise
    except Image.DecompressionBombError:  # Pillow refuses to even open images this large
        raise FormatError(f"{source} is larger than {MAX_SIDE}x{MAX_SIDE} pixels, the most "
                          "accepted: send a smaller image") from None
    except UnidentifiedImageError:
        raise FormatError(f"{source} is not in an image format Pillow reads (PNG, JPEG, ...)") \
            from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise FormatError(f"{source} is damaged or truncated ({exc})") from None
    return image


def _grayscale(image: Image.Image) -> np.ndarray:
    """Pixels as float32 in [0, 1].  Transparent areas become a background that the ink stands
    out from: white under dark ink, black under light ink (a canvas nobody painted a
    background on holds only the strokes, in whatever colour the pen had)."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255
        grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32) / 255
        covered = alpha.sum()
        ink_is_light = covered > 0 and (grey * alpha).sum() / covered > 0.5
        return alpha * grey + (1 - alpha) * (0.0 if ink_is_light else 1.0)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255


def to_mnist(image: Image.Image | np.ndarray) -> np.ndarray:
    """A (28, 28) float32 array in [0, 1]: white ink on black, 20-pixel box, centred by mass.

    Raises EmptyImageError when the image holds no ink.
    """
    pixels = _grayscale(image) if isinstance(image, Image.Image) else \
        np.asarray(image, dtype=np.float32) / (255 if np.asarray(image).max() > 1 else 1)
    if pixels.ndim != 2:
        raise DataError(f"expected a grayscale image (H, W), got shape {pixels.shape}")
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if np.median(border) > 0.5:  # a light background: dark ink on paper, invert it
        pixels, border = 1 - pixels, 1 - border
    background = float(np.median(border))
    contrast = float(pixels.max()) - background
    if contrast < INK_THRESHOLD:
        raise EmptyImageError("the image holds no ink: draw a digit first")
    # stretch so that the background is 0 and the strongest ink 1, whatever the pen's colour
    pixels = np.clip((pixels - background) / contrast, 0, 1)
    ink = pixels >= INK_THRESHOLD
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = pixels[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = crop.shape
    scale = 20 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(
        size, Image.Resampling.LANCZOS), dtype=np.float32) / 255
    field = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - size[1]) // 2, (28 - size[0]) // 2
    field[top : top + size[1], left : left + size[0]] = small
    return _centre_by_mass(np.clip(field, 0, 1))


def _centre_by_mass(field: np.ndarray) -> np.ndarray:
    """Shift (by whole pixels, filling with 0) so the centre of mass lands on (13.5, 13.5)."""
    total = field.sum()
    r = (field.sum(axis=1) * np.arange(28)).sum() / total
    c = (field.sum(axis=0) * np.arange(28)).sum() / total
    dr, dc = int(round(13.5 - r)), int(round(13.5 - c))
    out = np.zeros_like(field)
    src = field[max(0, -dr) : 28 - max(0, dr), max(0, -dc) : 28 - max(0, dc)]
    out[max(0, dr) : max(0, dr) + src.shape[0], max(0, dc) : max(0, dc) + src.shape[1]] = src
    return out
