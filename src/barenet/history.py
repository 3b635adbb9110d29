"""History: the per-epoch record of a training run."""

from __future__ import annotations

import csv
import io
import json

from barenet.serialization import write_atomic


class History:
    """``history["val_loss"]`` is the list of validation costs, one per epoch.

    Keys: "loss" (training cost), "val_loss", and for each watched metric m, "m" and "val_m".
    Training values are averages over the epoch's mini-batches, as the weights changed.
    """

    def __init__(self, records: dict[str, list[float]] | None = None):
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (records or {}).items()}

    def append(self, logs: dict[str, float]) -> None:
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def keys(self):
        return self.history.keys()

    def to_dict(self) -> dict[str, list[float]]:
        return {k: list(v) for k, v in self.history.items()}

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        keys = list(self.history)
        writer.writerow(["epoch", *keys])
        for i in range(self.epochs):
            writer.writerow([i + 1, *(repr(self.history[k][i]) for k in keys)])
        return out.getvalue()

    def save(self, stem) -> None:
        """Write ``<stem>.csv`` and ``<stem>.json`` (each atomically)."""
        write_atomic(f"{stem}.csv", self.to_csv().encode())
        write_atomic(f"{stem}.json", json.dumps(self.to_dict(), indent=1).encode())

    def __repr__(self) -> str:
        return f"History(epochs={self.epochs}, keys={list(self.history)})"
