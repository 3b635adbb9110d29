"""Data: the IDX file format, the MNIST-family datasets, and augmentation."""

from barenet.data.augment import random_affine
from barenet.data.datasets import (
    DATASETS,
    load,
    load_fashion_mnist,
    load_mnist,
    scale,
    split_validation,
)
from barenet.data.idx import read_idx, write_idx

__all__ = ["DATASETS", "load", "load_fashion_mnist", "load_mnist", "random_affine", "read_idx",
           "scale", "split_validation", "write_idx"]
