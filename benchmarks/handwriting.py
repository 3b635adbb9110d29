"""How well a model reads digits written by people who are not MNIST's writers.

The digits are the UCI pen-based handwritten digits (44 writers on a tablet; see
``src/barenet/data/pendigits/README.md``).  Each is drawn on a 280x280 canvas the way the
drawing page draws (``barenet.data.pendigits.draw_by_hand``): round pen, anti-aliased, a stroke
width, size and place drawn at random for each digit, in one of three looks (dark ink on white,
white ink on black, dark ink on a transparent canvas).  The PNG goes through
``POST /api/predict`` exactly as the page sends it.

    python benchmarks/handwriting.py [--model PATH] [--writers test|train|all] [--json]

(the model is the shipped drawing model unless ``--model`` names another).

``test`` (the default) is the 14 writers of UCI's writer-independent test file (3,498 digits),
whom no model here trains on; ``train`` is the other 30 writers (7,494 digits), whose digits the
``draw`` preset adds to its training set.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time

import numpy as np
from starlette.testclient import TestClient

from barenet.app.server import SHIPPED, create_app, resolve_models
from barenet.data.pendigits import LOOKS, TEST, TRAINING, draw_by_hand
from barenet.data.unipen import read_unipen

FILES = {"test": [TEST], "train": [TRAINING], "all": [TRAINING, TEST]}


def canvases(digits, seed: int = 0):
    """(label, look, stroke width, PNG bytes) for each digit, its drawing drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    for digit in digits:
        image, look, width = draw_by_hand(digit, rng)
        png = io.BytesIO()
        image.save(png, "PNG")
        yield digit.label, look, width, png.getvalue()


def evaluate(model_path: str, writers: str = "test", seed: int = 0) -> dict:
    digits = [d for path in FILES[writers] for d in read_unipen(path)]
    client = TestClient(create_app(resolve_models([model_path])))
    rows = []
    start = time.perf_counter()
    for label, look, width, png in canvases(digits, seed):
        answer = client.post("/api/predict", content=png, headers={"Content-Type": "image/png"})
        answer.raise_for_status()
        rows.append((label, look, width, answer.json()["digit"]))
    seconds = time.perf_counter() - start
    labels, looks, widths, guesses = (np.asarray(column) for column in zip(*rows, strict=True))
    right = labels == guesses
    thin, thick = widths < 16, widths >= 24
    return {"model": model_path, "writers": writers, "digits": len(rows),
            "accuracy": float(right.mean()),
            "by_look": {look: float(right[looks == look].mean()) for look in LOOKS},
            "thin_strokes": float(right[thin].mean()), "thick_strokes": float(right[thick].mean()),
            "by_digit": [float(right[labels == k].mean()) for k in range(10)],
            "ms_per_request": 1000 * seconds / len(rows)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED), help="a saved model (default: the shipped one)")
    p.add_argument("--writers", choices=sorted(FILES), default="test")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    report = evaluate(args.model, args.writers, args.seed)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['model']}: {report['accuracy']:.2%} of {report['digits']} digits by the "
          f"{args.writers} writers ({report['ms_per_request']:.1f} ms a request)")
    print("  " + "  ".join(f"{k}: {v:.2%}" for k, v in report["by_look"].items()))
    print(f"  strokes under 16 px: {report['thin_strokes']:.2%}  24 px or more: "
          f"{report['thick_strokes']:.2%}")
    print("  per digit: " + " ".join(f"{k}:{v:.0%}" for k, v in enumerate(report["by_digit"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
