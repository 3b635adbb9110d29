"""Turning drawings into MNIST inputs."""

import numpy as np
import pytest
from drawings import STROKES, draw
from PIL import Image

import barenet as bn
from barenet.errors import FormatError
from barenet.vision import EmptyImageError, load_image, to_mnist


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def ink_box(image, threshold=0.1):
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("dark_ink", [True, False])
def test_prepared_like_mnist(dark_ink):
    x = to_mnist(draw(4, 150, (100, 170), dark_ink=dark_ink))
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.min() >= 0 and x.max() <= 1 and x.max() > 0.9
    assert x[0].max() == 0 and x[:, 0].max() == 0  # white ink on a black background
    r, c = centre_of_mass(x)
    assert abs(r - 13.5) <= 0.5 and abs(c - 13.5) <= 0.5
    assert max(ink_box(x)) in (19, 20, 21)


@pytest.mark.parametrize("pen", [(0, 0, 0), (255, 255, 255), (40, 90, 200)],
                         ids=["black", "white", "blue"])
def test_a_transparent_canvas_gives_the_same_input_whatever_the_pen_colour(pen):
    painted = to_mnist(draw(4))
    coverage = 255 - np.asarray(draw(4))  # where the pen went, as an alpha channel
    strokes = np.zeros((*coverage.shape, 4), dtype=np.uint8)
    strokes[..., :3] = pen
    strokes[..., 3] = coverage
    x = to_mnist(Image.fromarray(strokes, "RGBA"))
    assert np.abs(x - painted).max() < 0.05


def test_tiny_off_centre_and_huge_drawings_give_the_same_input():
    tiny = to_mnist(draw(7, 60, (45, 230)))
    huge = to_mnist(draw(7, 270, (140, 140)))
    assert np.abs(tiny - huge).mean() < 0.05
    assert np.corrcoef(tiny.ravel(), huge.ravel())[0, 1] > 0.93


def test_empty_canvas_and_bad_images():
    with pytest.raises(EmptyImageError, match="draw a digit first"):
        to_mnist(Image.new("L", (280, 280), 255))
    with pytest.raises(EmptyImageError):
        to_mnist(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))  # fully transparent
    with pytest.raises(FormatError, match="image format"):
        load_image(b"not an image")
    with pytest.raises(FormatError, match="at most 4096"):
        import io

        buffer = io.BytesIO()
        Image.new("L", (5000, 10)).save(buffer, "PNG")
        load_image(buffer.getvalue())


@pytest.mark.mnist
def test_synthetic_drawings_are_recognised(mnist_model_path):
    model = bn.load_model(mnist_model_path)
    wrong = []
    for digit in STROKES:
        for size, centre in ((200, (140, 140)), (70, (60, 70)), (260, (140, 140)),
                             (120, (190, 180))):
            x = to_mnist(draw(digit, size, centre)).reshape(1, -1)
            guess = int(model.predict(x)[0].argmax())
            if guess != digit:
                wrong.append((digit, size, centre, guess))
    assert not wrong
