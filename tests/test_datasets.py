"""Dataset lookup order, label/image consistency, and the hash-checked download."""

import gzip
import hashlib
import http.server
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from barenet.data import datasets, write_idx
from barenet.errors import DatasetNotFoundError, FormatError


def make_dataset(folder: Path, n_train=30, n_test=10, seed=0, gz=True) -> None:
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}",
                  rng.integers(0, 10, n, dtype=np.uint8))


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No BARENET_DATA, an empty user cache and empty system folders."""
    monkeypatch.delenv("BARENET_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DIRS", (tmp_path / "system",))
    return tmp_path


def sizes(split):
    (x, y), (xt, yt) = split
    return len(x), len(xt)


def test_lookup_order(isolated, monkeypatch):
    t = isolated
    make_dataset(t / "system" / "mnist", 11)
    assert sizes(datasets.load("mnist", download=False)) == (11, 10)
    make_dataset(t / "cache" / "barenet" / "mnist", 12)
    assert sizes(datasets.load("mnist", download=False)) == (12, 10)
    make_dataset(t / "env" / "mnist", 13, gz=False)
    monkeypatch.setenv("BARENET_DATA", str(t / "env"))
    assert sizes(datasets.load("mnist", download=False)) == (13, 10)
    make_dataset(t / "arg", 14)
    assert sizes(datasets.load("mnist", data_dir=t / "arg", download=False)) == (14, 10)
    make_dataset(t / "parent" / "mnist", 15)
    assert sizes(datasets.load("mnist", data_dir=t / "parent", download=False)) == (15, 10)
    # An environment folder without this dataset falls through to the next place.
    make_dataset(t / "system" / "fashion-mnist", 16)
    assert sizes(datasets.load("fashion-mnist", download=False)) == (16, 10)


def test_loaded_arrays(isolated):
    make_dataset(isolated / "d", 20)
    (x, y), (xt, yt) = datasets.load_mnist(isolated / "d")
    assert x.shape == (20, 28, 28) and x.dtype == np.uint8
    assert y.shape == (20,) and y.dtype == np.int64 and xt.shape == (10, 28, 28)
    scaled = datasets.scale(x)
    assert scaled.dtype == np.float32 and 0 <= scaled.min() and scaled.max() <= 1
    (a, _), (v, _) = datasets.split_validation(x, y, 5, seed=0)
    (a2, _), (v2, _) = datasets.split_validation(x, y, 5, seed=0)
    assert len(a) == 15 and len(v) == 5
    np.testing.assert_array_equal(v, v2)


def test_explicit_folder_without_files_is_an_error(isolated):
    (isolated / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="holds neither the mnist files"):
        datasets.load("mnist", data_dir=isolated / "empty")


def test_nothing_anywhere_says_where_it_looked(isolated):
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.load("fashion-mnist", download=False)
    message = str(info.value)
    assert "user cache" in message and "system" in message and "--data-dir" in message
    assert "BARENET_DATA" in message and "apt-get install dataset-fashion-mnist" in message


def test_swapped_and_mismatched_files(isolated):
    d = isolated / "d"
    make_dataset(d)
    images = d / "train-images-idx3-ubyte.gz"
    labels = d / "train-labels-idx1-ubyte.gz"
    img, lab = images.read_bytes(), labels.read_bytes()
    images.write_bytes(lab)
    labels.write_bytes(img)
    with pytest.raises(FormatError, match="label file"):
        datasets.load("mnist", data_dir=d)
    make_dataset(d)
    write_idx(labels, np.zeros(29, dtype=np.uint8))
    with pytest.raises(FormatError, match="30 images but .* 29 labels"):
        datasets.load("mnist", data_dir=d)


def test_content_hash_check(isolated):
    d = isolated / "d"
    make_dataset(d)
    with pytest.raises(FormatError, match="does not match the SHA-256"):
        datasets.load("mnist", data_dir=d, check_hashes=True)


# -- downloads, from a local HTTP server on 127.0.0.1 ----------------------------------------

@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/www over HTTP on 127.0.0.1; yields the base address."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def spec_for(folder: Path, mirrors) -> datasets.DatasetSpec:
    """A dataset whose published hashes are those of the good files in ``folder``."""
    gz, raw = {}, {}
    for part in datasets.PARTS:
        data = (folder / f"{part}.gz").read_bytes()
        gz[part] = "sha256:" + hashlib.sha256(data).hexdigest()
        raw[part] = hashlib.sha256(gzip.decompress(data)).hexdigest()
    return datasets.DatasetSpec(name="tiny", mirrors=tuple(mirrors), gz_hashes=gz,
                                raw_sha256=raw)


def serve_variant(root: Path, good: Path, name: str, damage) -> None:
    (root / name).mkdir()
    for part in datasets.PARTS:
        data = (good / f"{part}.gz").read_bytes()
        (root / name / f"{part}.gz").write_bytes(damage(data))


def test_download_accepts_good_files_and_refuses_bad_ones(server, tmp_path):
    root, base = server
    make_dataset(root / "good")
    serve_variant(root, root / "good", "corrupt",
                  lambda d: d[:20] + bytes([d[20] ^ 0xFF]) + d[21:])
    serve_variant(root, root / "good", "truncated", lambda d: d[: len(d) // 2])
    good = root / "good"

    for variant in ("corrupt", "truncated"):
        cache = tmp_path / f"cache-{variant}"
        with pytest.raises(DatasetNotFoundError, match="download failed"):
            datasets.fetch(spec_for(good, [f"{base}/{variant}/"]), cache)
        assert not cache.exists() or list(cache.iterdir()) == []

    cache = tmp_path / "cache-good"
    files = datasets.fetch(spec_for(good, [f"{base}/corrupt/", f"{base}/good/"]), cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(f"{p}.gz" for p in datasets.PARTS)
    for part, path in files.items():
        assert path.read_bytes() == (good / f"{part}.gz").read_bytes()


def test_download_refuses_content_with_the_wrong_raw_hash(server, tmp_path):
    root, base = server
    make_dataset(root / "good")
    spec = spec_for(root / "good", [f"{base}/good/"])
    wrong = datasets.DatasetSpec(name="tiny", mirrors=spec.mirrors, gz_hashes=spec.gz_hashes,
                                 raw_sha256={p: "0" * 64 for p in datasets.PARTS})
    cache = tmp_path / "cache"
    with pytest.raises(DatasetNotFoundError, match="wrong SHA-256"):
        datasets.fetch(wrong, cache)
    assert list(cache.iterdir()) == []


def test_unreachable_mirrors_fall_back_to_a_clear_error(isolated, monkeypatch):
    spec = datasets.DatasetSpec(name="mnist", mirrors=("http://127.0.0.1:9/",))
    monkeypatch.setitem(datasets.DATASETS, "mnist", spec)
    with pytest.raises(DatasetNotFoundError, match="download failed") as info:
        datasets.load("mnist")
    assert "--data-dir" in str(info.value)
