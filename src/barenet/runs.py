"""A training run on an MNIST-family dataset, and the folder that records it.

    runs/<timestamp>/
        config.json            what was asked for (dataset, seed, network, ...): enough to resume
        checkpoint.safetensors model + optimizer + position, rewritten every N epochs
        model.safetensors      the trained model (``barenet.load_model``)
        history.csv, .json     per-epoch training and validation cost and metrics
        metrics.json           test cost, accuracy, macro and per-class precision and recall,
                               confusion matrix, training time
        curves.png             training versus validation cost and accuracy by epoch
        confusion.png          the test confusion matrix
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from barenet import metrics, plots, presets
from barenet.callbacks import Callback
from barenet.checkpoints import load_checkpoint, save_checkpoint
from barenet.data import datasets, pendigits
from barenet.data.augment import augment
from barenet.errors import ConfigError, TrainingDivergedError, TrainingInterrupted
from barenet.model import Sequential
from barenet.serialization import write_atomic
from barenet.training import TrainingState

VALIDATION_SIZE = 5000
SPLIT_SEED = 0  # fixed, so that every run validates on the same images
LATEST = "latest-model.txt"


@dataclass
class Data:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]


def load_data(dataset: str, data_dir=None, val_size: int = VALIDATION_SIZE) -> Data:
    """Scaled, flattened images: training minus a seeded validation split, and the test set."""
    (x, y), (x_test, y_test) = datasets.load(dataset, data_dir)
    val_size = min(val_size, len(x) // 5)
    (x_train, y_train), (x_val, y_val) = datasets.split_validation(x, y, val_size, SPLIT_SEED)

    def flat(images):
        return datasets.scale(images).reshape(len(images), -1)

    return Data(flat(x_train), y_train, flat(x_val), y_val, flat(x_test), y_test,
                datasets.DATASETS[dataset].classes)


def network_config(preset: str | None, config_file: str | None, train_size: int,
                   epochs: int | None, batch_size: int | None, optimizer: str | None,
                   lr: float | None, dataset: str = "mnist") -> dict:
    """The network and training settings: a preset or a JSON file, then the overrides."""
    if config_file:
        try:
            config = json.loads(Path(config_file).read_text())
        except FileNotFoundError:
            raise ConfigError(f"--config: no such file {config_file}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--config {config_file} is not valid JSON: {exc}") from None
        if not isinstance(config, dict) or "layers" not in config:
            raise ConfigError(f'--config {config_file}: expected an object with a "layers" list '
                              "(see barenet.presets for the format)")
        config.setdefault("cost", "cross_entropy")
        config.setdefault("metrics", presets.METRICS)
        config.setdefault("epochs", 10)
        config.setdefault("batch_size", 100)
        config.setdefault("optimizer", {"type": "SGD", "config": {"learning_rate": 0.04}})
        if epochs:
            config["epochs"] = epochs
        if batch_size:
            config["batch_size"] = batch_size
    else:
        config = presets.get(preset or presets.DEFAULT, train_size, batch_size, epochs, dataset)
    if optimizer:
        config["optimizer"] = {"type": optimizer, "config": {}}
    if lr is not None:
        config["optimizer"]["config"]["learning_rate"] = lr
    return config


def with_pen_digits(data: Data, config: dict, dataset: str, seed: int) -> Data:
    """``data`` with the UCI pen digits added to its training set, each drawn
    ``config["pen_digits"]`` times (none when the config does not ask for them)."""
    copies = config.get("pen_digits")
    if not copies:
        return data
    if not isinstance(copies, int) or isinstance(copies, bool) or copies < 0:
        raise ConfigError(f'"pen_digits" must be a whole number of copies, got {copies!r}')
    if dataset != "mnist":
        raise ConfigError(f'"pen_digits" adds handwritten digits, which {dataset} is not: '
                          'remove it, or train on mnist')
    x, y = pendigits.training_images(copies, seed)
    return dataclasses.replace(data, x_train=np.concatenate([data.x_train, x]),
                               y_train=np.concatenate([data.y_train, y]))


def build(config: dict, seed: int) -> Sequential:
    return Sequential.from_config(config, seed=seed)


def augmenter(config: dict):
    settings = config.get("augment")
    if not settings:
        return None
    return lambda xb, rng: augment(xb, rng, **settings)


class Checkpoint(Callback):
    """Write the run's checkpoint every ``every`` epochs (and after the last one)."""

    def __init__(self, path: Path, every: int):
        self.path, self.every = path, every

    def on_train_begin(self, logs):
        self.epochs = logs["epochs"]

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs:
            save_checkpoint(self.model, self.model.training_state, self.path)


class _StopOnSignal:
    """While active, SIGINT and SIGTERM ask the model to stop at the next batch boundary; a
    second signal abandons at once."""

    def __init__(self, model: Sequential):
        self.model = model

    def _handle(self, signum, frame):
        if self.model.stop_requested:
            raise KeyboardInterrupt
        self.model.request_stop()
        print(f"\n{signal.Signals(signum).name}: stopping after this batch "
              "(again to abandon it)...", file=sys.stderr, flush=True)

    def __enter__(self):
        self.saved = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc):
        for s, handler in self.saved.items():
            signal.signal(s, handler)


def new_run_dir(out: str | None) -> Path:
    if out:
        return Path(out)
    return Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")


def train(settings: dict, run_dir: Path, state: TrainingState | None = None,
          model: Sequential | None = None, log=print) -> dict:
    """Train (or resume) the run described by ``settings`` into ``run_dir``; returns the report.

    ``settings`` holds "dataset", "data_dir", "seed", "checkpoint_every", "on_nan" and
    "network" (a preset or config dict).
    """
    config = settings["network"]
    data = load_data(settings["dataset"], settings.get("data_dir"))
    data = with_pen_digits(data, config, settings["dataset"], settings["seed"])
    if model is None:
        model = build(config, settings["seed"])
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "config.json", json.dumps(settings, indent=1).encode())
    log(f"run folder: {run_dir}")
    pens = f" (with {config['pen_digits']}x the pen digits)" if config.get("pen_digits") else ""
    log(f"data: {settings['dataset']}, {len(data.x_train)} training{pens}, {len(data.x_val)} "
        f"validation, {len(data.x_test)} test images")
    model.summary(print_fn=log)
    checkpoint = run_dir / "checkpoint.safetensors"
    try:
        with _StopOnSignal(model):
            model.fit(data.x_train, data.y_train, epochs=config["epochs"],
                      batch_size=config["batch_size"], validation_data=(data.x_val, data.y_val),
                      seed=settings["seed"], on_nan=settings.get("on_nan", "raise"),
                      augment=augmenter(config), state=state,
                      callbacks=[Checkpoint(checkpoint, settings.get("checkpoint_every", 1))])
    except TrainingInterrupted as exc:
        save_checkpoint(model, exc.state, checkpoint)
        exc.run_dir = run_dir
        raise
    except TrainingDivergedError as exc:
        kept = f" The last good checkpoint is {checkpoint}." if checkpoint.exists() else ""
        raise TrainingDivergedError(f"{exc}{kept}", exc.epoch, exc.batch) from None
    return finish(model, data, settings, run_dir, model.training_state.seconds, log)


def finish(model: Sequential, data: Data, settings: dict, run_dir: Path, seconds: float,
           log=print) -> dict:
    """Evaluate on the test set, then write the model, history, metrics and figures."""
    history = model.history
    scores = model.evaluate(data.x_test, data.y_test)
    report = {
        "dataset": settings["dataset"],
        "name": settings.get("name", ""),
        "test_loss": scores["loss"],
        **metrics.report(model.last_confusion),
        "val_accuracy": history["val_accuracy"][-1] if "val_accuracy" in history else None,
        "val_loss": history["val_loss"][-1],
        "epochs": history.epochs,
        "seconds": seconds,
        "parameters": model.num_params,
        "classes": list(data.classes),
    }
    report["test_accuracy"] = report.pop("accuracy")
    info = {k: report[k] for k in ("dataset", "name", "test_accuracy", "test_loss", "classes")}
    model.save(run_dir / "model.safetensors", info=info)
    history.save(run_dir / "history")
    write_atomic(run_dir / "metrics.json", json.dumps(report, indent=1).encode())
    title = f"{settings.get('name') or 'barenet'} on {settings['dataset']}"
    plots.curves(history.to_dict(), run_dir / "curves.png", title)
    plots.confusion(report["confusion_matrix"], list(data.classes), run_dir / "confusion.png")
    remember_latest(run_dir / "model.safetensors")
    log(f"test: cost {report['test_loss']:.4f}  accuracy {report['test_accuracy']:.4f}  "
        f"precision {report['precision']:.4f}  recall {report['recall']:.4f}  "
        f"({seconds:.1f} s of training)")
    log(f"report: {run_dir}/ (model.safetensors, metrics.json, history.csv, curves.png, "
        "confusion.png)")
    report["model"] = str(run_dir / "model.safetensors")
    return report


def resume(run_dir: Path, log=print) -> dict:
    """Continue the run in ``run_dir`` from its checkpoint."""
    try:
        settings = json.loads((run_dir / "config.json").read_text())
    except FileNotFoundError:
        raise ConfigError(f"--resume {run_dir}: no config.json there; is it a run folder?") \
            from None
    checkpoint = run_dir / "checkpoint.safetensors"
    if not checkpoint.exists():
        raise ConfigError(f"--resume {run_dir}: no checkpoint.safetensors there yet")
    model, state = load_checkpoint(checkpoint)
    log(f"resuming at epoch {state.epoch + 1}, batch {state.batch + 1}")
    return train(settings, run_dir, state=state, model=model, log=log)


def remember_latest(model_path: Path) -> None:
    """Record the newest trained model for ``barenet draw`` to find."""
    try:
        write_atomic(datasets.cache_dir() / LATEST, str(model_path.resolve()).encode())
    except OSError:
        pass  # a read-only cache only costs the shortcut


def latest_model() -> Path | None:
    """The model ``barenet train`` wrote last: the recorded one, else the newest under runs/."""
    try:
        recorded = Path((datasets.cache_dir() / LATEST).read_text().strip())
        if recorded.is_file():
            return recorded
    except OSError:
        pass
    found = sorted(Path("runs").glob("*/model.safetensors"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def compare(run_dirs: list[Path], out: Path, log=print) -> list[dict]:
    """A table of test accuracy, parameters and training time, and the runs' validation curves
    on one figure."""
    rows, curves = [], []
    for run in run_dirs:
        try:
            report = json.loads((run / "metrics.json").read_text())
            history = json.loads((run / "history.json").read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"{run} is not a finished run folder ({exc.filename} missing)") \
                from None
        name = report.get("name") or run.name
        rows.append({"run": name, "dataset": report["dataset"],
                     "test_accuracy": report["test_accuracy"], "parameters": report["parameters"],
                     "epochs": report["epochs"], "seconds": report["seconds"]})
        curves.append((name, history))
    plots.compare(curves, out)
    width = max(len(r["run"]) for r in rows) + 2
    log(f"{'run':<{width}}{'dataset':<15}{'test acc':>9}{'params':>12}{'epochs':>8}{'seconds':>10}")
    for r in rows:
        log(f"{r['run']:<{width}}{r['dataset']:<15}{r['test_accuracy']:>9.4f}"
            f"{r['parameters']:>12,}{r['epochs']:>8}{r['seconds']:>10.1f}")
    log(f"validation curves: {out}")
    return rows
