"""The barenet command end to end, on a small generated IDX dataset."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from synthetic import patterns, write_dataset

from barenet import load_model
from barenet.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data") / "mnist")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_writes_the_run_folder_and_json(data_dir, tmp_path, capsys):
    status = main(["train", "--preset", "seed-mlp", "--epochs", "3", "--data-dir", str(data_dir),
                   "--out", str(tmp_path / "run"), "--json", "--batch-size", "20"])
    assert status == 0
    out, err = capsys.readouterr()
    result = last_json(out)
    assert {"test_accuracy", "test_loss", "val_accuracy", "epochs", "seconds", "model"} <= set(result)
    assert result["epochs"] == 3 and result["test_accuracy"] > 0.9
    assert "epoch 3/3" in err and "val_loss" in err
    run = tmp_path / "run"
    names = {p.name for p in run.iterdir()}
    assert {"model.safetensors", "history.csv", "history.json", "metrics.json", "curves.png",
            "confusion.png", "config.json", "checkpoint.safetensors"} <= names
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["per_class"]["precision"]) == 10
    assert np.array(metrics["confusion_matrix"]).sum() == 200
    assert metrics["test_accuracy"] == result["test_accuracy"]
    history = (run / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,loss,accuracy") and len(history) == 4
    assert Image.open(run / "curves.png").size[0] > 500

    # evaluate and predict on the saved model
    assert main(["evaluate", str(run / "model.safetensors"), "--data-dir", str(data_dir),
                 "--json"]) == 0
    scores = last_json(capsys.readouterr().out)
    assert scores["accuracy"] == pytest.approx(result["test_accuracy"])
    x, y = patterns(3, seed=5)
    paths = []
    for i, image in enumerate(x):
        paths.append(str(tmp_path / f"digit{i}.png"))
        Image.fromarray(image).save(paths[-1])
    assert main(["predict", str(run / "model.safetensors"), *paths, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [len(r["probabilities"]) for r in lines] == [10, 10, 10]
    model = load_model(run / "model.safetensors")
    assert model.info["dataset"] == "mnist"


def test_compare_two_runs(data_dir, tmp_path, capsys):
    for name, preset in (("a", "seed-mlp"), ("b", "cnn")):
        assert main(["train", "--preset", preset, "--epochs", "1", "--data-dir", str(data_dir),
                     "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out",
                 str(tmp_path / "cmp.png")]) == 0
    out = capsys.readouterr().out
    assert "seed-mlp" in out and "cnn" in out and "50,186" in out
    assert (tmp_path / "cmp.png").stat().st_size > 1000


def test_config_file_and_overrides(data_dir, tmp_path, capsys):
    config = {"layers": [{"type": "Dense", "config": {"in_features": 784, "out_features": 10}},
                         {"type": "Softmax", "config": {}}],
              "epochs": 1, "batch_size": 50}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(config))
    assert main(["train", "--config", str(path), "--data-dir", str(data_dir), "--optimizer",
                 "adam", "--lr", "0.01", "--json", "--out", str(tmp_path / "r")]) == 0
    assert last_json(capsys.readouterr().out)["parameters"] == 7850
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["network"]["optimizer"] == {"type": "adam", "config": {"learning_rate": 0.01}}


@pytest.mark.parametrize("args, message", [
    (["train", "--config", "missing.json"], "no such file"),
    (["train", "--data-dir", "nowhere"], "holds neither"),
    (["evaluate", "missing.safetensors"], "no such file"),
])
def test_errors_are_one_clear_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_module_entry_point_and_help():
    out = subprocess.run([sys.executable, "-m", "barenet", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("train", "evaluate", "predict", "compare", "draw"):
        assert command in out
