"""``barenet.datasets.load_mnist()`` and friends (implemented in :mod:`barenet.data.datasets`)."""

from barenet.data.datasets import (  # noqa: F401 - re-exported names
    DATASETS,
    cache_dir,
    load,
    load_fashion_mnist,
    load_mnist,
    scale,
    split_validation,
)
