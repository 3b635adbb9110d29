"""The UCI pen digits as the drawing model's extra training data: drawn like people draw, and
prepared like the page's drawings."""

import numpy as np
import pytest

from barenet import presets, runs
from barenet.data import pendigits
from barenet.data.unipen import read_unipen
from barenet.errors import ConfigError


@pytest.fixture(scope="module")
def training_writers():
    return read_unipen(pendigits.TRAINING)


def test_the_shipped_files_hold_the_writers_the_readme_names(training_writers):
    test_writers = read_unipen(pendigits.TEST)
    assert (len(training_writers), len(test_writers)) == (pendigits.TRAINING_DIGITS, 3498)
    assert len({d.writer for d in training_writers}) == 30  # numbered within each file
    assert len({d.writer for d in test_writers}) == 14


def test_digits_are_drawn_in_every_look_width_and_place(training_writers):
    rng = np.random.default_rng(0)
    drawn = [pendigits.draw_by_hand(d, rng, size=112) for d in training_writers[:60]]
    assert {look for _, look, _ in drawn} == set(pendigits.LOOKS)
    widths = [width for _, _, width in drawn]
    assert 8 <= min(widths) < 12 and 28 < max(widths) <= 32
    for image, look, _ in drawn:
        pixels = np.asarray(image)
        assert pixels.shape == ((112, 112, 4) if look == "transparent" else (112, 112))
        corner = pixels[0, 0, 3] if look == "transparent" else pixels[0, 0]
        assert corner == {"dark on white": 255, "white on black": 0, "transparent": 0}[look]


def test_training_images_are_prepared_like_drawings_and_reproducible(training_writers):
    digits = training_writers[:40]
    x, y = pendigits.training_images(2, seed=5, digits=digits)
    assert x.shape == (80, 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert 0 <= x.min() and x.max() == 1
    np.testing.assert_array_equal(y, [d.label for d in digits] * 2)
    images = x.reshape(-1, 28, 28)
    ink = images.sum(axis=(1, 2))
    rows = (images.sum(axis=2) * np.arange(28)).sum(axis=1) / ink
    assert np.all(np.abs(rows - 13.5) <= 1)  # centred by mass, as MNIST and the page are
    assert not np.array_equal(x[:40], x[40:])  # each copy drawn anew
    again, _ = pendigits.training_images(2, seed=5, digits=digits)
    other, _ = pendigits.training_images(2, seed=6, digits=digits)
    np.testing.assert_array_equal(again, x)
    assert not np.array_equal(other, x)


def test_the_draw_preset_adds_the_pen_digits_and_counts_them_in_its_schedule():
    config = presets.get("draw", 55000)
    steps = -(-(55000 + config["pen_digits"] * pendigits.TRAINING_DIGITS) // 128)
    cosine = config["optimizer"]["config"]["learning_rate"]["config"]["after"]["config"]
    assert config["pen_digits"] >= 1 and cosine["total_steps"] == config["epochs"] * steps
    assert "pen_digits" not in presets.get("draw", 55000, dataset="fashion-mnist")


@pytest.mark.parametrize("copies, dataset, match", [
    (1.5, "mnist", "whole number of copies"), (-1, "mnist", "whole number"),
    (True, "mnist", "whole number"), (1, "fashion-mnist", "fashion-mnist is not")])
def test_bad_pen_digit_settings_are_refused(copies, dataset, match):
    data = runs.Data(*[np.zeros((1, 784), np.float32), np.zeros(1, np.int64)] * 3, classes=())
    with pytest.raises(ConfigError, match=match):
        runs.with_pen_digits(data, {"pen_digits": copies}, dataset, seed=0)
