"""Callbacks: code that runs at fixed points of ``Sequential.fit``.

A callback overrides any of the ``on_*`` hooks.  ``logs`` is a dict of the numbers known at
that point ("loss", "val_loss", "accuracy", "val_accuracy", ...).  Setting
``model.stop_training = True`` ends training after the current epoch.
"""

from __future__ import annotations

import math
import sys
import time

from barenet.errors import ConfigError


class Callback:
    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict) -> None: ...
    def on_batch_end(self, batch: int, logs: dict) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...
    def on_train_end(self, logs: dict) -> None: ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best=True`` the weights of the best epoch are put back at the end.
    ``mode`` is "min" or "max"; "auto" picks "max" for accuracy-like names, else "min".
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 3, min_delta: float = 0.0,
                 mode: str = "auto", restore_best: bool = True):
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "min" if "loss" in monitor else "max"
        self.monitor, self.patience, self.min_delta = monitor, int(patience), float(min_delta)
        self.mode, self.restore_best = mode, restore_best

    def on_train_begin(self, logs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_weights = None
        self.wait = 0
        self.stopped_epoch = None

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ConfigError(
                f"EarlyStopping monitors {self.monitor!r}, which training does not report; "
                f"available: {sorted(logs)} (val_* needs validation data)"
            )
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ProgressBar(Callback):
    """A bar per epoch with the running cost, then one summary line per epoch.

    On a terminal the bar redraws in place; elsewhere (a log file, CI) only the summary lines
    are written, so logs stay readable.
    """

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def on_train_begin(self, logs):
        self.epochs = logs.get("epochs", 0)
        self.batches = logs.get("batches", 0)

    def on_epoch_begin(self, epoch, logs):
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def on_batch_end(self, batch, logs):
        now = time.perf_counter()
        if not self.live or (now - self.last_draw < 0.1 and batch + 1 < self.batches):
            return
        self.last_draw = now
        done = (batch + 1) / max(self.batches, 1)
        filled = int(self.width * done)
        bar = "=" * filled + ">" * (filled < self.width) + "." * (self.width - filled - 1)
        self.stream.write(f"\r  [{bar}] {batch + 1}/{self.batches}  cost {logs['loss']:.4f}")
        self.stream.flush()

    def on_epoch_end(self, epoch, logs):
        if self.live:
            self.stream.write("\r\033[K")
        seconds = time.perf_counter() - self.start
        parts = [f"epoch {epoch + 1}/{self.epochs}", f"{seconds:.1f}s"]
        parts += [f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, float)]
        self.stream.write("  ".join(parts) + "\n")
        self.stream.flush()
