"""Augmentation that imitates how people write: shapes, ranges, determinism, and what each
distortion does to a digit."""

import numpy as np
import pytest

from barenet.data import augment, stroke_width

DRAW = dict(max_degrees=12.0, max_shift=2.0, max_scale=0.12, max_shear=0.3, elastic=30.0,
            elastic_sigma=4.0, stroke=1.0)


def digits(n=16, seed=0):
    """Soft rings and bars on 28x28, values in [0, 1]: enough structure to move around."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float32)
    radius = rng.uniform(4, 8, (n, 1, 1)).astype(np.float32)
    ring = np.clip(1.5 - np.abs(np.hypot(rows - 13.5, cols - 13.5) - radius), 0, 1)
    bar = np.clip(1.5 - np.abs(cols - 13.5), 0, 1) * ((rows > 4) & (rows < 24))
    return np.where(rng.random((n, 1, 1)) < 0.5, ring, bar).astype(np.float32)


@pytest.mark.parametrize("shape", [(16, 784), (16, 28, 28), (16, 1, 28, 28)])
def test_shapes_dtype_and_range_are_kept(shape):
    x = digits().reshape(shape)
    out = augment(x, np.random.default_rng(0), **DRAW)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    assert not np.allclose(out, x)


def test_the_same_seed_gives_the_same_images_and_another_seed_others():
    x = digits()
    a = augment(x, np.random.default_rng(3), **DRAW)
    b = augment(x, np.random.default_rng(3), **DRAW)
    c = augment(x, np.random.default_rng(4), **DRAW)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.5


def test_no_distortion_is_the_identity():
    x = digits()
    np.testing.assert_allclose(augment(x, np.random.default_rng(0)), x, atol=1e-6)


def centre_of_mass(images):
    rows, cols = np.mgrid[0:28, 0:28]
    mass = images.sum(axis=(1, 2))
    return np.stack([(images * rows).sum(axis=(1, 2)) / mass,
                     (images * cols).sum(axis=(1, 2)) / mass], axis=1)


def test_scaling_changes_the_size_within_its_limits():
    ring = np.repeat(digits(1, seed=2)[:1], 200, axis=0)
    out = augment(ring, np.random.default_rng(1), max_scale=0.2)
    spread = lambda im: np.sqrt((im * ((np.mgrid[0:28, 0:28] - 13.5) ** 2).sum(0)).sum((1, 2))  # noqa: E731
                                / im.sum((1, 2)))
    ratio = spread(out) / spread(ring)
    assert ratio.min() > 0.75 and ratio.max() < 1.25 and ratio.std() > 0.05
    np.testing.assert_allclose(centre_of_mass(out), 13.5, atol=0.3)  # about the centre


def test_shear_slants_a_vertical_bar_by_at_most_its_limit():
    bar = np.zeros((100, 28, 28), dtype=np.float32)
    bar[:, 4:24, 13:15] = 1
    out = augment(bar, np.random.default_rng(5), max_shear=0.3)
    rows, cols = np.mgrid[0:28, 0:28] - 13.5
    slope = (out * rows * cols).sum((1, 2)) / (out * rows**2).sum((1, 2))
    assert np.abs(slope).max() <= 0.31 and np.abs(slope).max() > 0.2


def test_elastic_distortion_moves_pixels_smoothly_by_about_a_pixel():
    x = digits(64)
    out = augment(x, np.random.default_rng(2), elastic=30.0, elastic_sigma=4.0)
    moved = np.abs(centre_of_mass(out) - centre_of_mass(x))
    assert 0.05 < moved.mean() < 2.0
    # a smooth field keeps strokes whole: mass changes a little, never disappears
    ratio = out.sum((1, 2)) / x.sum((1, 2))
    assert ratio.min() > 0.5 and ratio.max() < 1.5


def test_stroke_width_thickens_and_thins():
    x = digits(4)
    mass = x.sum((1, 2))
    thick = stroke_width(x, np.full(4, 1.0))
    thin = stroke_width(x, np.full(4, -1.0))
    half = stroke_width(x, np.full(4, 0.5))
    assert (thick.sum((1, 2)) > 1.3 * mass).all() and (thin.sum((1, 2)) < 0.8 * mass).all()
    np.testing.assert_allclose(half, (x + thick) / 2, atol=1e-6)
    np.testing.assert_array_equal(stroke_width(x, np.zeros(4)), x)
    assert thick.max() <= 1 and thin.min() >= 0


@pytest.mark.mnist
def test_a_trained_model_still_reads_augmented_digits(mnist):
    from barenet.app.server import SHIPPED
    from barenet.model import load_model
    from barenet.presets import get

    _, _, xt, yt = mnist
    model = load_model(SHIPPED)
    settings = get("draw", 55000)["augment"]
    out = augment(xt[:2000], np.random.default_rng(0), **settings)
    clean = (model.predict(xt[:2000]).argmax(1) == yt[:2000]).mean()
    distorted = (model.predict(out).argmax(1) == yt[:2000]).mean()
    assert clean > 0.99 and distorted > 0.97

