"""The ``barenet`` command: train, evaluate, predict, compare, draw."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from barenet import metrics, presets, runs
from barenet.data import datasets
from barenet.errors import BarenetError, TrainingDivergedError, TrainingInterrupted
from barenet.model import load_model
from barenet.vision import load_image, to_mnist


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535 (0: any free "
                                         f"port), got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="barenet", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a network on MNIST or Fashion-MNIST and report")
    source = t.add_mutually_exclusive_group()
    source.add_argument("--preset", choices=sorted(presets.PRESETS),
                        help=f"a ready network (default {presets.DEFAULT})")
    source.add_argument("--config", metavar="FILE.json", help="a JSON network description")
    source.add_argument("--resume", metavar="RUN_DIR", type=Path,
                        help="continue an interrupted run from its checkpoint")
    t.add_argument("--dataset", choices=sorted(datasets.DATASETS), default="mnist")
    t.add_argument("--epochs", type=_positive)
    t.add_argument("--batch-size", type=_positive)
    t.add_argument("--optimizer", choices=["sgd", "rmsprop", "adam", "adamw"])
    t.add_argument("--lr", type=float, help="learning rate (replaces the preset's schedule)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir", help="folder holding the dataset's IDX files")
    t.add_argument("--out", help="run folder (default runs/<timestamp>)")
    t.add_argument("--checkpoint-every", type=_positive, default=1, metavar="N",
                   help="write a checkpoint every N epochs (default 1)")
    t.add_argument("--on-nan", choices=["raise", "skip"], default="raise",
                   help="on a non-finite cost: stop (default) or skip the batch")
    t.add_argument("--json", action="store_true", help="end with one JSON line of results")

    e = sub.add_parser("evaluate", help="score a saved model on a test set")
    e.add_argument("model")
    e.add_argument("--dataset", choices=sorted(datasets.DATASETS))
    e.add_argument("--data-dir")
    e.add_argument("--json", action="store_true")

    pr = sub.add_parser("predict", help="guess the digit in image files")
    pr.add_argument("model")
    pr.add_argument("images", nargs="+")
    pr.add_argument("--json", action="store_true")

    c = sub.add_parser("compare", help="compare finished runs: table and validation curves")
    c.add_argument("runs", nargs="+", type=Path)
    c.add_argument("--out", type=Path, default=Path("comparison.png"))

    d = sub.add_parser("draw", help="draw a digit in the browser and see the guess")
    d.add_argument("--model", action="append", help="a saved model (twice to compare two)")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=_port, default=8000)
    d.add_argument("--open", action="store_true", help="open the page in a browser")
    return p


def cmd_train(args) -> int:
    log = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if args.json else print
    if args.resume:
        report = runs.resume(args.resume, log=log)
    else:
        data_size = 60000 - runs.VALIDATION_SIZE
        network = runs.network_config(args.preset, args.config, data_size, args.epochs,
                                      args.batch_size, args.optimizer, args.lr, args.dataset)
        settings = {
            "name": Path(args.config).stem if args.config else args.preset or presets.DEFAULT,
            "dataset": args.dataset,
            "data_dir": str(Path(args.data_dir).resolve()) if args.data_dir else None,
            "seed": args.seed, "checkpoint_every": args.checkpoint_every,
            "on_nan": args.on_nan, "network": network,
        }
        report = runs.train(settings, runs.new_run_dir(args.out), log=log)
    if args.json:
        keys = ("test_accuracy", "test_loss", "val_accuracy", "val_loss", "precision", "recall",
                "epochs", "seconds", "parameters", "model")
        print(json.dumps({k: report[k] for k in keys}))
    return 0


def cmd_evaluate(args) -> int:
    model = load_model(args.model)
    dataset = args.dataset or model.info.get("dataset", "mnist")
    (_, _), (x, y) = datasets.load(dataset, args.data_dir)
    scores = model.evaluate(datasets.scale(x).reshape(len(x), -1), y)
    report = {"dataset": dataset, "test_loss": scores["loss"],
              **{k: v for k, v in metrics.report(model.last_confusion).items()
                 if k in ("accuracy", "precision", "recall", "f1")}}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{args.model} on {dataset} test set ({len(x)} images): cost "
              f"{report['test_loss']:.4f}  accuracy {report['accuracy']:.4f}  precision "
              f"{report['precision']:.4f}  recall {report['recall']:.4f}")
    return 0


def cmd_predict(args) -> int:
    model = load_model(args.model)
    classes = model.info.get("classes") or [str(i) for i in range(model.num_outputs)]
    status = 0
    for name in args.images:
        try:
            pixels = to_mnist(load_image(Path(name).read_bytes(), name))
        except (BarenetError, OSError) as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            status = 1
            continue
        probs = model.predict(pixels.reshape(1, -1))[0]
        best = int(np.argmax(probs))
        if args.json:
            print(json.dumps({"image": name, "class": best, "label": classes[best],
                              "probabilities": probs.tolist()}))
        else:
            print(f"{name}: {classes[best]} ({probs[best]:.1%})")
            print("  " + "  ".join(f"{c}:{p:.3f}" for c, p in zip(classes, probs, strict=True)))
    return status


def cmd_compare(args) -> int:
    runs.compare(args.runs, args.out)
    return 0


def cmd_draw(args) -> int:
    try:
        from barenet.app.server import serve
    except ImportError as exc:
        print(f"error: the drawing mode needs FastAPI and uvicorn ({exc}): pip install fastapi "
              "uvicorn", file=sys.stderr)
        return 2
    return serve(args.model, args.host, args.port, args.open)


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict,
            "compare": cmd_compare, "draw": cmd_draw}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except TrainingInterrupted as exc:
        run = getattr(exc, "run_dir", "RUN_DIR")
        print(f"\n{exc}. Checkpoint written; continue with:\n  barenet train --resume {run}",
              file=sys.stderr)
        return 130
    except TrainingDivergedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except BarenetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
