"""Layers and functions that prepare images: bilinear resampling, augmentation, Deskew,
Rescale.  Each is compared with a direct, loop-based reference written here."""

import numpy as np
import pytest

import barenet as bn
from barenet.data import random_affine, warp

RNG = np.random.default_rng(7)


def bilinear_reference(image, r, c):
    """One point of one image, read by bilinear interpolation with zeros outside."""
    h, w = image.shape

    def pixel(i, j):
        return image[i, j] if 0 <= i < h and 0 <= j < w else 0.0

    i, j = int(np.floor(r)), int(np.floor(c))
    fr, fc = r - i, c - j
    return ((1 - fr) * (1 - fc) * pixel(i, j) + (1 - fr) * fc * pixel(i, j + 1)
            + fr * (1 - fc) * pixel(i + 1, j) + fr * fc * pixel(i + 1, j + 1))


def deskew_reference(image, max_slant=1.0):
    """Deskew of one image with explicit loops over its pixels."""
    h, w = image.shape
    mass = sum_r = sum_c = 0.0
    for i in range(h):
        for j in range(w):
            mass += image[i, j]
            sum_r += image[i, j] * i
            sum_c += image[i, j] * j
    r_mean, c_mean = (sum_r / mass, sum_c / mass) if mass > 0 else ((h - 1) / 2, (w - 1) / 2)
    var_r = cov = 0.0
    for i in range(h):
        for j in range(w):
            var_r += image[i, j] * (i - r_mean) ** 2
            cov += image[i, j] * (i - r_mean) * (j - c_mean)
    slant = float(np.clip(cov / var_r, -max_slant, max_slant)) if var_r > 1e-6 * mass else 0.0
    out = np.zeros_like(image)
    for i in range(h):
        for j in range(w):
            r = i + r_mean - (h - 1) / 2
            c = j + c_mean - (w - 1) / 2 + slant * (i - (h - 1) / 2)
            out[i, j] = bilinear_reference(image, r, c)
    return out


def slanted_stroke(h=28, w=28, slant=0.4, thickness=1.5, centre=(12.0, 15.0)):
    """A soft line through ``centre`` with columns c = c̄ + slant·(r - r̄)."""
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    distance = np.abs(cols - centre[1] - slant * (rows - centre[0])) / np.hypot(1, slant)
    ink = np.clip(thickness - distance, 0, 1)
    ink[(rows < centre[0] - 8) | (rows > centre[0] + 8)] = 0
    return ink


def test_bilinear_against_the_reference_inside_on_the_edges_and_outside():
    images = RNG.random((3, 5, 7))
    src_r = RNG.uniform(-2.5, 7.5, (3, 4, 6))
    src_c = RNG.uniform(-2.5, 9.5, (3, 4, 6))
    src_r[0, 0, :3] = [-1.0, 4.0, 4.5]  # exactly on the border and half a pixel beyond it
    got = warp.bilinear(images, src_r, src_c)
    expected = np.array([[[bilinear_reference(images[n], src_r[n, i, j], src_c[n, i, j])
                           for j in range(6)] for i in range(4)] for n in range(3)])
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_bilinear_at_the_pixels_is_the_identity_and_keeps_float32():
    images = RNG.random((2, 4, 6)).astype(np.float32)
    rows, cols = np.mgrid[0:4, 0:6]
    got = warp.bilinear(images, rows.astype(np.float32), cols.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, images)


def test_random_affine_without_rotation_or_shift_is_the_identity():
    images = RNG.random((5, 1, 6, 6)).astype(np.float32)
    got = random_affine(images, np.random.default_rng(0), max_degrees=0.0, max_shift=0.0)
    assert got.shape == images.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, images, atol=1e-6)


def test_random_affine_moves_mass_within_its_limits():
    image = np.zeros((1, 15, 15))
    image[0, 6:9, 6:9] = 1  # a square at the centre, far from the edges
    out = random_affine(np.repeat(image, 50, axis=0), np.random.default_rng(1), 10.0, 2.0)
    rows, cols = np.mgrid[0:15, 0:15]
    mass = out.sum(axis=(1, 2))
    np.testing.assert_allclose(mass, 9, rtol=0.05)  # nothing falls off; rotations keep area
    r_mean = (out * rows).sum(axis=(1, 2)) / mass
    c_mean = (out * cols).sum(axis=(1, 2)) / mass
    assert np.abs(r_mean - 7).max() <= 2 + 1e-6 and np.abs(c_mean - 7).max() <= 2 + 1e-6
    assert np.abs(r_mean - 7).max() > 0.5  # and it does move them


def test_random_affine_flips_about_half_the_images_and_only_with_flip():
    images = RNG.random((200, 1, 6, 6)).astype(np.float32)
    same = random_affine(images, np.random.default_rng(4), 0.0, 0.0)
    np.testing.assert_allclose(same, images, atol=1e-6)
    out = random_affine(images, np.random.default_rng(4), 0.0, 0.0, flip=True)
    mirrored = np.all(np.abs(out - images[..., ::-1]) < 1e-6, axis=(1, 2, 3))
    kept = np.all(np.abs(out - images) < 1e-6, axis=(1, 2, 3))
    assert np.all(mirrored | kept) and 70 < mirrored.sum() < 130


def test_random_affine_refuses_images_that_are_not_square():
    with pytest.raises(ValueError, match="square single-channel"):
        random_affine(np.zeros((2, 3, 5)), np.random.default_rng(0))


@pytest.mark.parametrize("shape", [(4, 1, 9, 9), (3, 8, 11)])
def test_deskew_against_the_loop_reference(shape):
    x = RNG.random(shape) * (RNG.random(shape) < 0.3)
    x[0] = slanted_stroke(*shape[-2:], slant=-0.6, centre=(4.0, 5.0))[None] if len(shape) == 4 \
        else slanted_stroke(*shape[-2:], slant=-0.6, centre=(4.0, 5.0))
    got = bn.Deskew(max_slant=0.5).forward(x)
    assert got.shape == x.shape
    images = x.reshape(len(x), *shape[-2:])
    expected = np.stack([deskew_reference(im, 0.5) for im in images]).reshape(shape)
    np.testing.assert_allclose(got, expected, atol=1e-10)


def slant_of(image):
    rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    mass = image.sum()
    r, c = (image * rows).sum() / mass, (image * cols).sum() / mass
    return (image * (rows - r) * (cols - c)).sum() / (image * (rows - r) ** 2).sum(), r, c


@pytest.mark.parametrize("slant", [-0.5, 0.3])
def test_deskew_makes_a_slanted_stroke_upright_and_centred(slant):
    image = slanted_stroke(slant=slant)
    assert slant_of(image)[0] == pytest.approx(slant, abs=0.02)
    out = bn.Deskew().forward(image[None, None])[0, 0]
    after, r, c = slant_of(out)
    assert abs(after) < 0.02
    assert r == pytest.approx(13.5, abs=0.1) and c == pytest.approx(13.5, abs=0.1)


def test_deskew_keeps_upright_centred_images_and_blank_ones():
    upright = np.zeros((1, 1, 28, 28), np.float32)
    upright[0, 0, 8:20, 12:16] = 1  # symmetric about the middle, 13.5
    np.testing.assert_array_equal(bn.Deskew().forward(upright), upright)
    blank = np.zeros((2, 1, 28, 28), np.float32)
    np.testing.assert_array_equal(bn.Deskew().forward(blank), blank)
    line = np.zeros((1, 1, 28, 28), np.float32)
    line[0, 0, 10, 5:20] = 1  # a single row: no slant to measure, only moved
    out = bn.Deskew().forward(line)
    assert np.isfinite(out).all() and out.sum() == pytest.approx(15)


def test_deskew_refuses_what_it_cannot_do():
    with pytest.raises(bn.ShapeError, match="single-channel"):
        bn.Deskew().output_shape((3, 28, 28))
    with pytest.raises(bn.ConfigError, match="max_slant"):
        bn.Deskew(max_slant=-1)
    net = bn.Sequential([bn.Reshape((1, 8, 8)), bn.Conv2D(1, 1, 3, padding="same"),
                         bn.Deskew(), bn.Flatten(), bn.Dense(64, 2), bn.Softmax()])
    with pytest.raises(bn.ConfigError, match=r"layer 3 Deskew.*no backward pass.*move it before"):
        net.compile(bn.SGD(0.1), bn.CrossEntropy())


def test_a_network_that_deskews_trains_saves_and_predicts_the_same(tmp_path):
    rng = np.random.default_rng(0)
    slants = rng.uniform(-0.5, 0.5, 64)
    labels = rng.integers(0, 2, 64)
    images = np.stack([slanted_stroke(12, 12, s, 1.0 + label, (5.5, 5.5))
                       for s, label in zip(slants, labels, strict=True)]).reshape(64, -1)
    net = bn.Sequential([bn.Reshape((1, 12, 12)), bn.Deskew(), bn.Flatten(), bn.Dense(144, 2),
                         bn.Softmax()])
    net.compile(bn.Adam(0.01), bn.CrossEntropy(), seed=0)
    net.fit(images.astype(np.float32), labels, epochs=20, batch_size=16, verbose=False)
    assert (net.predict(images).argmax(axis=1) == labels).mean() == 1.0
    net.save(tmp_path / "net.safetensors")
    again = bn.load_model(tmp_path / "net.safetensors")
    np.testing.assert_array_equal(again.predict(images), net.predict(images))


def test_rescale_gradients_and_values():
    layer = bn.Rescale(2.5, offset=-0.5)
    x = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(layer.forward(x), 2.5 * x - 0.5)
    assert bn.gradcheck(layer, x) < 1e-6
    with pytest.raises(bn.ConfigError, match="scale must be non-zero"):
        bn.Rescale(0.0)
