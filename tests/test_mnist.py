"""The design's network on the real MNIST: at least the design's 97.31% test accuracy.

Needs MNIST from BARENET_DATA (or another place barenet looks).  Skipped on a developer machine
without it; under CI (``CI`` set) a missing dataset is a failure.
"""

import json
import os

import pytest

from barenet.cli import main
from barenet.data import datasets
from barenet.errors import DatasetNotFoundError

pytestmark = pytest.mark.mnist


@pytest.fixture(scope="module")
def mnist_available():
    try:
        datasets.locate(datasets.MNIST, download=False)
    except DatasetNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs MNIST (set BARENET_DATA): {exc}")
        pytest.skip("MNIST is not available on this machine")


def test_seed_mlp_reaches_the_design_accuracy(mnist_available, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert main(["train", "--preset", "seed-mlp", "--seed", "0", "--out", str(tmp_path / "run"),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    print(result)
    assert result["epochs"] == 15
    assert result["test_accuracy"] >= 0.973
