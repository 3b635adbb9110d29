"""barenet.fast.parallel: slices cover the batch once, and kernels give the same results on threads."""

from __future__ import annotations

import collections
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from barenet import initializers
from barenet.errors import ConfigError
from barenet.fast import parallel
from barenet.fast.runner import THREADED_KERNELS as KERNELS
from barenet.layers import BatchNorm, Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
from barenet.losses import CrossEntropy
from barenet.model import Sequential
from barenet.optimizers import Adam


@pytest.fixture
def threads(monkeypatch):
    """Run the test body's ``with parallel.cores_in_use()`` on 3 threads (uneven shares)."""
    monkeypatch.setenv("BARENET_NUM_THREADS", "3")


@pytest.mark.parametrize("n,parts", [(0, 2), (1, 2), (5, 3), (128, 2), (7, 7), (3, 8)])
def test_split_covers_the_range_in_near_equal_slices(n, parts):
    slices = parallel.split(n, parts)
    covered = [i for s in slices for i in range(s.start, s.stop)]
    assert covered == list(range(n))
    sizes = [s.stop - s.start for s in slices]
    assert max(sizes) - min(sizes) <= 1 and len(slices) <= max(1, parts)


@pytest.mark.parametrize("sample_bytes", [0, 1, parallel.CHUNK_BYTES // 4])
def test_for_slices_visits_every_sample_once_on_several_threads(threads, sample_bytes):
    seen = np.zeros(101, dtype=np.int64)
    names = set()
    second_thread = threading.Event()

    def work(s):
        names.add(threading.current_thread().name)
        seen[s] += 1
        if len(names) < 2:  # the first thread holds its piece until another takes one
            second_thread.wait(timeout=10)
        else:
            second_thread.set()

    with parallel.cores_in_use():
        parallel.for_slices(len(seen), work, sample_bytes)
    assert (seen == 1).all()
    assert len(names) >= 2  # two threads held pieces at the same time


def test_pieces_follow_the_piece_size_asked_for(threads):
    with parallel.cores_in_use():  # shares of 33, 33 and 34 samples, in pieces of 4
        pieces = parallel.pieces(100, sample_bytes=10, piece_bytes=40)
        assert [s.stop - s.start for s in pieces[:9]] == [4] * 8 + [1]
        assert len(pieces) == 3 * 9 and pieces[-1] == slice(98, 100)
        assert len(parallel.pieces(100, sample_bytes=10)) == 3  # CHUNK_BYTES: whole shares


def test_a_slower_thread_takes_fewer_pieces(threads):
    taken = collections.Counter()

    def work(s):
        taken[threading.current_thread().name] += 1
        if threading.current_thread() is threading.main_thread():
            time.sleep(0.1)  # a core that a busy neighbour slows down

    pieces = parallel.CHUNK_BYTES // 4
    with parallel.cores_in_use():  # 3 threads, 27 pieces: 9 each if shared out in advance
        assert len(parallel.pieces(100, pieces)) == 27
        parallel.for_slices(100, work, pieces)
    assert sum(taken.values()) == 27
    assert taken["MainThread"] <= 3


def test_sum_over_slices_adds_every_share_once(threads):
    values = np.arange(100.0)

    def share(s):
        return values[s].sum(), 1  # (this slice's sum, one call)

    eight_samples = parallel.CHUNK_BYTES // 8
    assert parallel.sum_over_slices(100, share, eight_samples) == (values.sum(), 13)
    with parallel.cores_in_use():  # shares of 33, 33 and 34 samples, 5 pieces each
        assert parallel.sum_over_slices(100, share, eight_samples) == (values.sum(), 15)


def test_a_worker_error_reaches_the_caller(threads):
    def work(s):
        if s.start > 0:
            raise RuntimeError(f"slice {s.start}")

    with parallel.cores_in_use(), pytest.raises(RuntimeError, match="slice"):
        parallel.for_slices(10, work)


def blas_threads() -> int:
    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


def test_blas_runs_on_one_thread_inside_and_is_restored_after(threads):
    before = blas_threads()
    with parallel.cores_in_use():
        assert blas_threads() == 1
        assert len(parallel.pieces(9)) == 3  # one share per thread
    assert blas_threads() == before and len(parallel.pieces(9)) == 1
    with parallel.cores_in_use(enabled=False):
        assert blas_threads() == before and len(parallel.pieces(9)) == 1


def test_num_threads_rejects_a_bad_setting(monkeypatch):
    monkeypatch.setenv("BARENET_NUM_THREADS", "zero")
    with pytest.raises(ConfigError, match="BARENET_NUM_THREADS must be a positive integer"):
        parallel.num_threads()


@pytest.mark.parametrize("shape", [(300, 200, 100), (20, 700, 900)])
def test_matmul_in_blocks_matches_numpy(threads, shape):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    with parallel.cores_in_use():
        np.testing.assert_allclose(parallel.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(parallel.matmul(b.T, a.T), b.T @ a.T, rtol=1e-12,
                                   atol=1e-12)


LAYERS = {
    "conv": lambda: Conv2D(3, 4, kernel_size=3, stride=2, padding=1),
    "conv-few-channels": lambda: Conv2D(3, 4, kernel_size=(3, 1), padding="same"),
    "conv-winograd": lambda: Conv2D(16, 4, kernel_size=3, padding="same"),
    "maxpool": lambda: MaxPool2D(2),
    "maxpool-overlapping": lambda: MaxPool2D(3, stride=2),
    "relu": ReLU,
}


def in_float64(layer):
    layer.set_variables({k: v.astype(np.float64) for k, v in {**layer.params, **layer.buffers}.items()})
    return layer


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_kernels_give_the_same_numbers_on_threads(threads, name):
    channels = getattr(LAYERS[name](), "in_channels", 3)
    x = np.random.default_rng(3).normal(size=(7, channels, 9, 11))
    results = []
    for threaded in (False, True):
        with initializers.seeded(0):
            layer = in_float64(LAYERS[name]())
        kernel = KERNELS[type(layer)](layer)
        with parallel.cores_in_use(enabled=threaded):
            y = kernel.forward(x, training=True)
            dx = kernel.backward(np.random.default_rng(4).normal(size=y.shape))
        results.append((y, dx, {k: v.copy() for k, v in layer.grads.items()}))
    (y0, dx0, g0), (y1, dx1, g1) = results
    np.testing.assert_allclose(y1, y0, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx1, dx0, rtol=1e-12, atol=1e-12)
    for key in g0:
        np.testing.assert_allclose(g1[key], g0[key], rtol=1e-12, atol=1e-12)


def test_the_dense_kernel_gives_the_same_numbers_on_threads(threads):
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(130, 700)), rng.normal(size=(130, 300))
    results = []
    for threaded in (False, True):
        layer = in_float64(Dense(700, 300, seed=0))
        kernel = KERNELS[Dense](layer)
        with parallel.cores_in_use(enabled=threaded):
            y = kernel.forward(x, training=True)
            dx = kernel.backward(g)
        results.append((y, dx, layer.grads["W"].copy()))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("counts,exact", [(("1", "3"), False), (("2", "2"), True)])
def test_a_convolutional_model_trains_the_same_on_any_number_of_threads(monkeypatch, counts,
                                                                        exact):
    """Close whatever the thread count; bit for bit with the same count (same seed).

    (Not close with a BatchNorm after the convolution: its bias then has a zero gradient, and
    Adam turns the rounding noise left in it into full steps.)"""
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    weights = []
    for count in counts:
        monkeypatch.setenv("BARENET_NUM_THREADS", count)
        normalise = [BatchNorm()] if exact else []
        initializers.seed(0)
        model = (Sequential([Conv2D(1, 16, 3), ReLU(),  # im2col, then Winograd
                             Conv2D(16, 4, 3, padding="same"), MaxPool2D(2), *normalise,
                             Flatten(), Dense(36, 3), Softmax()], input_shape=(1, 8, 8))
                 .compile(Adam(1e-2), CrossEntropy(), seed=0))
        model.fit(x, y, epochs=2, batch_size=16, verbose=False)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        if exact:
            np.testing.assert_array_equal(b, a)
        else:
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
