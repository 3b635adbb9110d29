"""Spreading a layer's work over the CPU cores, in cache-sized pieces.

NumPy releases the GIL inside its loops, so Python threads that work on disjoint slices of a
batch run at the same time.  Layers cut their hot loops (im2col, pooling, element-wise
functions) into slices of samples with :func:`for_slices`, and :func:`matmul` cuts a matrix
product into blocks of rows or columns.

Threads are used only inside :func:`cores_in_use`, which the fast runner enters while a model
with convolutional layers trains or predicts: there OpenBLAS runs on one thread, because its idle
worker threads spin for a while after every product and would take the cores these slices
need.  Elsewhere (perceptrons, whose time goes into matrix products) OpenBLAS keeps the cores,
and slices only serve to keep each step's arrays in the CPU cache.

``BARENET_NUM_THREADS`` sets the number of threads (default: the cores this process may use;
1 turns threads off).  The slices depend only on that number and the array shapes, never on
which thread takes which, and sums over slices are added in slice order, so the same seed on
the same machine gives the same numbers.
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from barenet.errors import ConfigError

MIN_MULTIPLY_ADDS = 1 << 18
"""Matrix products smaller than this run whole: a thread hand-off costs more than they do."""

CHUNK_BYTES = 1 << 21
"""Bytes of input per step of :func:`for_slices` when a layer asks for cache-sized pieces.
Smaller pieces fit the L2 cache better but cost more calls into NumPy, which the threads take
turns at (Python's GIL)."""

_threads = 1  # threads that for_slices and matmul use now (see cores_in_use)
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None  # threadpoolctl's controller, found on first use


def num_threads() -> int:
    """Threads to split work over: BARENET_NUM_THREADS, else the usable cores."""
    value = os.environ.get("BARENET_NUM_THREADS")
    if value:
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count < 1:
            raise ConfigError(f"BARENET_NUM_THREADS must be a positive integer, got {value!r}; "
                              "unset it to use every core")
        return count
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def split(n: int, parts: int) -> list[slice]:
    """[0, n) cut into at most ``parts`` contiguous slices whose sizes differ by at most one."""
    parts = max(1, min(parts, n))
    bounds = [n * k // parts for k in range(parts + 1)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def pieces(n: int, sample_bytes: int = 0, piece_bytes: int = 0) -> list[slice]:
    """The slices :func:`for_slices` hands out: a near-equal share of [0, n) per thread, each
    cut into pieces of about ``piece_bytes`` (default :data:`CHUNK_BYTES`) when
    ``sample_bytes`` (the input bytes of one sample) is given.  They depend only on the
    arguments and the thread count."""
    shares = split(n, _threads)
    if not sample_bytes:
        return shares
    per_piece = max(1, (piece_bytes or CHUNK_BYTES) // sample_bytes)
    return [slice(start, min(start + per_piece, share.stop))
            for share in shares for start in range(share.start, share.stop, per_piece)]


def for_slices(n: int, work, sample_bytes: int = 0, piece_bytes: int = 0) -> None:
    """Call ``work(s)`` on each slice ``s`` of :func:`pieces`, which together cover [0, n)
    once, and return when all are done.  ``work`` writes its results into arrays made
    beforehand.

    Inside :func:`cores_in_use` the calling thread and the pool's threads each take the next
    piece as soon as they finish one, so a core that runs slower (a busy neighbour on a shared
    machine) simply does fewer pieces."""
    if _threads == 1 and n * sample_bytes <= (piece_bytes or CHUNK_BYTES):
        work(slice(0, n))  # one piece: the common case of small batches, kept cheap
        return
    todo = pieces(n, sample_bytes, piece_bytes)
    if _threads == 1 or len(todo) == 1:
        for s in todo:
            work(s)
        return
    global _pool, _pool_size
    if _pool is None or _pool_size < _threads - 1:
        _pool_size = _threads - 1
        _pool = ThreadPoolExecutor(_pool_size, thread_name_prefix="barenet")
    lock = threading.Lock()
    queue = iter(todo)

    def drain() -> None:
        while True:
            with lock:
                s = next(queue, None)
            if s is None:
                return
            work(s)

    helpers = [_pool.submit(drain) for _ in range(min(_threads, len(todo)) - 1)]
    try:
        drain()
    finally:
        futures.wait(helpers)
    for helper in helpers:
        helper.result()  # re-raises a worker's exception here


def sum_over_slices(n: int, work, sample_bytes: int = 0, piece_bytes: int = 0) -> tuple:
    """Σ of ``work(s)`` over the slices of :func:`for_slices`: each call returns a tuple of
    arrays (a slice's share of some sums), added element by element in the order of the
    slices, so the same inputs give the same sums every run."""
    shares = {}

    def keep(s: slice) -> None:
        shares[s.start] = work(s)

    for_slices(n, keep, sample_bytes, piece_bytes)
    ordered = [shares[start] for start in sorted(shares)]
    return tuple(sum(terms) for terms in zip(*ordered, strict=True))


def matmul(a, b, out=None):
    """``a @ b`` for 2-D arrays; inside :func:`cores_in_use`, in blocks of rows of ``a`` (or
    of columns of ``b`` when ``a`` has fewer rows than ``b`` has columns), one per thread."""
    m, k = a.shape
    n = b.shape[1]
    if _threads == 1 or m * n * k < MIN_MULTIPLY_ADDS:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    if m >= n:
        for_slices(m, lambda s: np.matmul(a[s], b, out=out[s]))
    else:
        for_slices(n, lambda s: np.matmul(a, b[:, s], out=out[:, s]))
    return out


def _reset_after_fork() -> None:
    global _pool, _pool_size
    _pool, _pool_size = None, 0  # a forked child has none of the parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


@contextlib.contextmanager
def cores_in_use(enabled: bool = True):
    """Within: barenet's threads split the layers' work, and OpenBLAS runs on one thread
    (both restored on exit).  A no-op unless ``enabled``, or with one thread."""
    global _threads, _blas
    threads = num_threads() if enabled else 1
    if threads == 1 or _threads > 1:
        yield
        return
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    with _blas.limit(limits=1, user_api="blas"):
        _threads = threads
        try:
            yield
        finally:
            _threads = 1
