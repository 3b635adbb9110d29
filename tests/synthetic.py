"""A small, learnable MNIST look-alike written as IDX files (for CLI and app tests)."""

from pathlib import Path

import numpy as np

from barenet.data import write_idx


def patterns(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28x28 uint8 images: class k is a bright 8x8 square at the k-th of ten places, in noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n).astype(np.uint8)
    x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    rows, cols = 2 + 12 * (y // 5), 1 + 5 * (y % 5)
    for i in range(n):  # test data generation, not a hot path
        x[i, rows[i] : rows[i] + 8, cols[i] : cols[i] + 6] = 255
    return x, y


def write_dataset(folder: Path, n_train: int = 600, n_test: int = 200) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        x, y = patterns(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return folder
