"""Data: the IDX file format, the MNIST-family datasets, augmentation, and pen digits."""

from barenet.data.augment import augment, random_affine, stroke_width
from barenet.data.datasets import (
    DATASETS,
    load,
    load_fashion_mnist,
    load_mnist,
    scale,
    split_validation,
)
from barenet.data.idx import read_idx, write_idx

__all__ = ["DATASETS", "augment", "load", "load_fashion_mnist", "load_mnist", "random_affine", "read_idx",
           "scale", "split_validation", "stroke_width", "write_idx"]
