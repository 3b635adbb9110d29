"""The drawing model shipped in the package: the file the README describes, and the MNIST test
accuracy the README gives."""

import hashlib
import re
from pathlib import Path

import pytest

from barenet.app.server import SHIPPED
from barenet.model import load_model

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_shipped_file_is_small_and_the_one_the_readme_records():
    assert SHIPPED.stat().st_size < 1024 * 1024
    recorded = re.search(r"draw\.safetensors`.*?SHA-256 `([0-9a-f]{64})`", README, re.S)
    assert recorded, "README.md must give the shipped model's SHA-256"
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == recorded.group(1)
    assert "barenet train --preset draw --seed 0" in README


@pytest.mark.mnist
def test_the_shipped_model_scores_on_mnist_what_the_readme_says(mnist):
    _, _, xt, yt = mnist
    model = load_model(SHIPPED)
    accuracy = model.evaluate(xt, yt)["accuracy"]
    assert accuracy == pytest.approx(model.info["test_accuracy"], abs=1e-4)
    assert accuracy >= 0.993
    assert f"**{100 * accuracy:.2f}%** on MNIST's test set" in README
