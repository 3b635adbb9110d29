"""MNIST and Fashion-MNIST: finding the files, checking them, and downloading them.

Where the four IDX files are looked for, in order:

1. the ``data_dir`` argument (``--data-dir``): a folder holding the files, or holding a
   ``mnist/`` / ``fashion-mnist/`` subfolder with them;
2. ``$BARENET_DATA/<name>/``;
3. the user cache, ``~/.cache/barenet/<name>/`` (where downloads go);
4. system folders, ``/usr/share/datasets/<name>/`` (Debian's ``dataset-fashion-mnist``) and
   ``/usr/local/share/datasets/<name>/``;
5. a download from the dataset's public mirrors through ``pooch``, which checks each file's
   known hash and only moves a verified file into the cache.

Each file may be stored raw or gzip-compressed (``name`` or ``name.gz``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from barenet.data.idx import read_idx
from barenet.errors import DatasetNotFoundError, FormatError

PARTS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte")
SYSTEM_DIRS = (Path("/usr/share/datasets"), Path("/usr/local/share/datasets"))


@dataclass(frozen=True)
class DatasetSpec:
    """What identifies a dataset: its folder name, its mirrors and its files' hashes.

    ``gz_hashes`` are pooch hash strings of the published .gz files ("md5:..." or
    "sha256:..."); ``raw_sha256`` the SHA-256 of each file's decompressed content.
    """

    name: str
    mirrors: tuple[str, ...]
    gz_hashes: dict[str, str] = field(default_factory=dict)
    raw_sha256: dict[str, str] = field(default_factory=dict)
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))


MNIST = DatasetSpec(
    name="mnist",
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
    gz_hashes={
        "train-images-idx3-ubyte": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte": "md5:d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte": "md5:9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte": "md5:ec29112dd5afa0611ce80d1b7f02629c",
    },
    raw_sha256={
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/"),
    gz_hashes={
        "train-images-idx3-ubyte": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte": "md5:25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte": "md5:bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    },
    raw_sha256={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
             "Sneaker", "Bag", "Ankle boot"),
)

DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}

Split = tuple[np.ndarray, np.ndarray]


def cache_dir() -> Path:
    """The user cache folder for barenet's downloads (``~/.cache/barenet`` on Linux)."""
    import pooch

    return Path(pooch.os_cache("barenet"))


def _file_in(folder: Path, part: str) -> Path | None:
    for candidate in (folder / part, folder / f"{part}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _complete(folder: Path) -> dict[str, Path] | None:
    files = {part: _file_in(folder, part) for part in PARTS}
    return files if all(files.values()) else None


def candidate_dirs(spec: DatasetSpec, data_dir=None) -> list[tuple[str, Path]]:
    """Every (origin, folder) searched, in order (see the module docstring)."""
    found = []
    if data_dir is not None:
        found += [("data_dir", Path(data_dir) / spec.name), ("data_dir", Path(data_dir))]
    if os.environ.get("BARENET_DATA"):
        found.append(("BARENET_DATA", Path(os.environ["BARENET_DATA"]) / spec.name))
    found.append(("user cache", cache_dir() / spec.name))
    found += [("system", d / spec.name) for d in SYSTEM_DIRS]
    return found


def locate(spec: DatasetSpec, data_dir=None, download: bool = True) -> dict[str, Path]:
    """The paths of the four files, from the first place that has them all."""
    searched = []
    for origin, folder in candidate_dirs(spec, data_dir):
        files = _complete(folder)
        if files:
            return files
        searched.append(f"{folder} ({origin})")
        if origin == "data_dir" and folder == Path(data_dir):
            # An explicit folder that lacks the files is a mistake to report, not to skip.
            raise DatasetNotFoundError(
                f"{data_dir} holds neither the {spec.name} files nor a {spec.name}/ folder with "
                f"them; expected {', '.join(PARTS)} (each raw or .gz)")
    if download:
        try:
            return fetch(spec, cache_dir() / spec.name)
        except DatasetNotFoundError as exc:
            searched.append(str(exc))
    raise DatasetNotFoundError(
        f"{spec.name} was not found. Looked in:\n  " + "\n  ".join(searched) +
        f"\nProvide it with --data-dir DIR (a folder with {PARTS[0]}.gz and the three others), "
        f"set BARENET_DATA to a folder holding {spec.name}/, or connect to the internet so it "
        "can be downloaded." + ("\nOn Debian, `apt-get install dataset-fashion-mnist` installs "
                                "Fashion-MNIST." if spec.name == "fashion-mnist" else ""))


def fetch(spec: DatasetSpec, folder: Path) -> dict[str, Path]:
    """Download the four .gz files into ``folder`` from the first mirror that serves each,
    through pooch (hash-checked, written atomically); a file that fails either its .gz hash or
    its decompressed SHA-256 is deleted."""
    import pooch

    files, errors = {}, []
    for part in PARTS:
        for mirror in spec.mirrors:
            try:
                path = Path(pooch.retrieve(
                    url=f"{mirror}{part}.gz", known_hash=spec.gz_hashes.get(part),
                    fname=f"{part}.gz", path=folder, progressbar=False))
            except Exception as exc:  # noqa: BLE001 - any failure means: try the next mirror
                errors.append(f"{mirror}{part}.gz: {type(exc).__name__}: {exc}"[:300])
                continue
            if part in spec.raw_sha256 and not content_matches(path, spec.raw_sha256[part]):
                path.unlink()
                errors.append(f"{mirror}{part}.gz: decompressed content has the wrong SHA-256")
                continue
            files[part] = path
            break
        else:
            raise DatasetNotFoundError("download failed:\n    " + "\n    ".join(errors))
    return files


def content_matches(path: Path, sha256: str) -> bool:
    """Whether the decompressed content of ``path`` (raw or .gz) has this SHA-256."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open if gz else open)(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, EOFError):
        return False
    return digest.hexdigest() == sha256


def verify(spec: DatasetSpec, files: dict[str, Path]) -> None:
    """Check each file's decompressed content against the published SHA-256."""
    for part, path in files.items():
        if part in spec.raw_sha256 and not content_matches(path, spec.raw_sha256[part]):
            raise FormatError(f"{path}: its content does not match the SHA-256 of the original "
                              f"{spec.name} file {part}; replace it with an undamaged copy")


def _load_pair(images_path: Path, labels_path: Path) -> Split:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        swapped = " (it looks like a label file: were images and labels swapped?)" \
            if images.ndim == 1 else ""
        raise FormatError(f"{images_path}: expected images of shape (N, H, W), found "
                          f"{images.shape}{swapped}")
    if labels.ndim != 1:
        raise FormatError(f"{labels_path}: expected labels of shape (N,), found {labels.shape}"
                          " (is it an image file?)")
    if len(images) != len(labels):
        raise FormatError(f"{images_path} holds {len(images)} images but {labels_path} holds "
                          f"{len(labels)} labels; the two files do not belong together")
    return images, labels.astype(np.int64)


def load(name: str, data_dir=None, check_hashes: bool = False,
         download: bool = True) -> tuple[Split, Split]:
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (N, 28, 28) and int64 labels."""
    if name not in DATASETS:
        raise DatasetNotFoundError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}")
    spec = DATASETS[name]
    files = locate(spec, data_dir, download)
    if check_hashes:
        verify(spec, files)
    train = _load_pair(files["train-images-idx3-ubyte"], files["train-labels-idx1-ubyte"])
    test = _load_pair(files["t10k-images-idx3-ubyte"], files["t10k-labels-idx1-ubyte"])
    return train, test


def load_mnist(data_dir=None, check_hashes: bool = False) -> tuple[Split, Split]:
    """MNIST's 60,000 training and 10,000 test digits (see :func:`load`)."""
    return load("mnist", data_dir, check_hashes)


def load_fashion_mnist(data_dir=None, check_hashes: bool = False) -> tuple[Split, Split]:
    """Fashion-MNIST's 60,000 training and 10,000 test clothing images (see :func:`load`)."""
    return load("fashion-mnist", data_dir, check_hashes)


def scale(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    return images.astype(np.float32) / np.float32(255)


def split_validation(x: np.ndarray, y: np.ndarray, size: int | float = 5000,
                     seed: int = 0) -> tuple[Split, Split]:
    """Carve a validation set out of the training set with a fixed seed.

    ``size`` is a count or a fraction.  Returns ``(x_train, y_train), (x_val, y_val)``.
    """
    n_val = int(round(size * len(x))) if isinstance(size, float) else int(size)
    if not 0 < n_val < len(x):
        raise ValueError(f"a validation set of {n_val} leaves no training data out of {len(x)}")
    order = np.random.default_rng(seed).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])
