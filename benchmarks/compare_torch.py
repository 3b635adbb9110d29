"""barenet against PyTorch (CPU) on the same networks, data, batches and thread count.

    python benchmarks/compare_torch.py                       # mlp and cnn-valid, 5 repetitions
    python benchmarks/compare_torch.py --networks mlp --repeats 10 --json mlp.json
    python benchmarks/compare_torch.py --train-size 12800    # shorter epochs

What is timed is a steady-state epoch: each process trains two epochs and reports the second,
so both libraries are warm (memory allocated, code paths taken, caches filled).  Every
measurement runs in a fresh process; within a repetition barenet (fast path), barenet's
reference path (``BARENET_FAST=0``) and PyTorch follow each other, in an order that rotates.
Both sides gather each mini-batch the same way: rows of one NumPy array picked by a shuffled
index.  Also timed: inference of the 10,000 test images after training (batches of 1024).

The table gives each library's median and the median paired ratio (barenet's time over
PyTorch's in the same repetition, which cancels most of a shared machine's drift) with the
interval that holds its true median with 95% probability (the sign test's; none below 6
repetitions).

Networks: ``mlp``, the design's 784-256-256-10 ReLU network with SGD 0.04, batch 100;
``cnn-valid``, the classic conv 3x3x32, pool, conv 3x3x64, pool, dropout 0.5, dense 10 with
Adam 1e-3, batch 128; ``cnn``, the same with "same" padding (the ``cnn`` preset without its
Deskew layer, which has no PyTorch counterpart); ``lstm``, the ``lstm`` preset's network (an
image read row by row, 28 steps of 28 pixels, into an LSTM of 128 units, then dense 10) with
Adam 1e-3, batch 128.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import date

THREADS = 2
INFERENCE_BATCH = 1024
PADDING = {"cnn": 1, "cnn-valid": 0}
LIBRARIES = ("barenet", "barenet-reference", "torch")


def load_data(train_size: int):
    import numpy as np

    from barenet.data import datasets

    (x, y), (xt, yt) = datasets.load("mnist", download=False)
    x, xt = datasets.scale(x).reshape(len(x), -1), datasets.scale(xt).reshape(len(xt), -1)
    return x[:train_size], y[:train_size].astype(np.int64), xt, yt.astype(np.int64)


def batch_orders(n: int, batch: int, epochs: int):
    """The same shuffled batches of row indices for both libraries."""
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(epochs):
        order = rng.permutation(n)
        yield [order[i : i + batch] for i in range(0, n, batch)]


# -- workers: one measurement per process -------------------------------------------------------
def barenet_worker(network: str, train_size: int) -> dict:
    import barenet as bn

    x, y, xt, yt = load_data(train_size)
    if network == "mlp":
        layers = [bn.Dense(784, 256), bn.ReLU(), bn.Dense(256, 256), bn.ReLU(),
                  bn.Dense(256, 10, init="glorot_uniform"), bn.Softmax()]
        optimizer, batch = bn.SGD(0.04), 100
    elif network == "lstm":
        layers = [bn.Reshape((28, 28)), bn.LSTM(128), bn.Dense(128, 10), bn.Softmax()]
        optimizer, batch = bn.Adam(1e-3), 128
    else:
        pad, side = PADDING[network], 7 if PADDING[network] else 5
        layers = [bn.Reshape((1, 28, 28)), bn.Conv2D(1, 32, 3, padding=pad), bn.ReLU(),
                  bn.MaxPool2D(2), bn.Conv2D(32, 64, 3, padding=pad), bn.ReLU(),
                  bn.MaxPool2D(2), bn.Flatten(), bn.Dropout(0.5),
                  bn.Dense(64 * side * side, 10, init="glorot_uniform"), bn.Softmax()]
        optimizer, batch = bn.Adam(1e-3), 128
    net = bn.Sequential(layers).compile(optimizer, bn.CrossEntropy())

    class EpochTimer(bn.Callback):
        def on_epoch_begin(self, epoch, logs):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs):
            self.seconds = time.perf_counter() - self.started

    timer = EpochTimer()
    net.fit(x, y, epochs=2, batch_size=batch, seed=0, verbose=False, callbacks=[timer])
    start = time.perf_counter()
    probs = net.predict(xt, batch_size=INFERENCE_BATCH)
    infer = time.perf_counter() - start
    return {"train": timer.seconds, "infer": infer,
            "accuracy": float((probs.argmax(axis=1) == yt).mean()),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def torch_worker(network: str, train_size: int) -> dict:
    import torch
    from torch import nn

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    x, y, xt, yt = load_data(train_size)
    if network == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        opt, batch = torch.optim.SGD(model.parameters(), lr=0.04), 100
    elif network == "lstm":
        class RowReader(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm, self.dense = nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10)

            def forward(self, images):
                return self.dense(self.lstm(images.reshape(-1, 28, 28))[0][:, -1])

        model = RowReader()
        opt, batch = torch.optim.Adam(model.parameters(), lr=1e-3), 128
    else:
        pad, side = PADDING[network], 7 if PADDING[network] else 5
        model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 32, 3, padding=pad),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=pad),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                              nn.Linear(64 * side * side, 10))
        opt, batch = torch.optim.Adam(model.parameters(), lr=1e-3), 128
    loss_fn = nn.CrossEntropyLoss()  # log-softmax and cross-entropy fused, as barenet's
    model.train()
    for orders in batch_orders(len(x), batch, 2):
        start = time.perf_counter()
        for rows in orders:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(torch.from_numpy(x[rows])), torch.from_numpy(y[rows]))
            loss.backward()
            opt.step()
        train = time.perf_counter() - start
    model.eval()
    xt_torch = torch.from_numpy(xt)
    start = time.perf_counter()
    with torch.no_grad():
        probs = torch.cat([torch.softmax(model(xt_torch[i : i + INFERENCE_BATCH]), dim=1)
                           for i in range(0, len(xt), INFERENCE_BATCH)])
    infer = time.perf_counter() - start
    return {"train": train, "infer": infer,
            "accuracy": float((probs.argmax(dim=1).numpy() == yt).mean()),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# -- driver -------------------------------------------------------------------------------------
def run_worker(library: str, network: str, train_size: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS),
           "BARENET_NUM_THREADS": str(THREADS),
           "BARENET_FAST": "0" if library == "barenet-reference" else "1"}
    out = subprocess.run([sys.executable, __file__, "--worker", library, network,
                          str(train_size)], capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{library} {network} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_interval(values, confidence: float = 0.95) -> tuple[float, float] | None:
    """An interval that holds the median of the distribution the ``values`` were drawn from
    with probability at least ``confidence``, whatever that distribution (the sign test's):
    the k-th smallest and the k-th largest value, for the largest k with
    P(B < k) <= (1 - confidence)/2, B ~ Binomial(n, 1/2).  None with fewer than 6 values."""
    ordered = sorted(values)
    n = len(ordered)
    below, k = 0.0, 0
    while k < n:
        below += math.comb(n, k) / 2**n
        if below > (1 - confidence) / 2:
            break
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


def measure(networks: list[str], repeats: int, train_size: int) -> dict:
    """{network: {library: [run, ...]}}, the libraries' order rotating between repetitions."""
    results = {}
    for network in networks:
        runs = {library: [] for library in LIBRARIES}
        for r in range(repeats):
            order = LIBRARIES[r % 3:] + LIBRARIES[: r % 3]
            for library in order:
                runs[library].append(run_worker(library, network, train_size))
                print(f"  {network} {library}: {runs[library][-1]['train']:.2f} s",
                      file=sys.stderr)
        results[network] = runs
    return results


def report(results: dict) -> list[str]:
    """The table as Markdown rows (also printed)."""
    rows = ["| measure | barenet | PyTorch | median paired ratio | its 95% interval |",
            "|---|---|---|---|---|"]
    for network, runs in results.items():
        for library, label in (("barenet", "barenet"), ("barenet-reference", "BARENET_FAST=0")):
            for key, what, unit, scale in (("train", "epoch", "s", 1),
                                           ("infer", "inference 10k", "ms", 1e3)):
                b = statistics.median(r[key] for r in runs[library])
                t = statistics.median(r[key] for r in runs["torch"])
                ratios = [rb[key] / rt[key]
                          for rb, rt in zip(runs[library], runs["torch"], strict=True)]
                interval = median_interval(ratios)
                shown = "-" if interval is None else f"{interval[0]:.2f} to {interval[1]:.2f}"
                rows.append(f"| {network} {what}, {label} ({unit}) | {b * scale:.2f} | "
                            f"{t * scale:.2f} | **{statistics.median(ratios):.2f}** | {shown} |")
        accuracy = {lib: statistics.median(r["accuracy"] for r in runs[lib]) for lib in runs}
        rss = {lib: statistics.median(r["rss_mb"] for r in runs[lib]) for lib in runs}
        rows.append(f"| {network} test accuracy after 2 epochs | {accuracy['barenet']:.2%} | "
                    f"{accuracy['torch']:.2%} | | |")
        rows.append(f"| {network} peak RSS (MB) | {rss['barenet']:.0f} | {rss['torch']:.0f} | "
                    f"{rss['barenet'] / rss['torch']:.2f} | |")
    print("\n".join(rows))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--networks", default="mlp,cnn-valid")
    p.add_argument("--train-size", type=int, default=55000,
                   help="images per epoch (55,000: the training set less validation)")
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--json", help="also write the measurements to this file")
    args = p.parse_args()
    if args.worker:
        library, network, train_size = args.worker
        worker = torch_worker if library == "torch" else barenet_worker
        print(json.dumps(worker(network, int(train_size))))
        return
    try:
        import torch
    except ImportError:
        raise SystemExit("PyTorch is the reference: pip install 'torch==2.13.0' (the CPU build; "
                         "a bare 'torch' pulls a CUDA build)") from None
    import numpy as np

    print(f"{date.today()}; {platform.processor() or platform.machine()}, {os.cpu_count()} "
          f"cores, {THREADS} threads; Python {platform.python_version()}, NumPy {np.__version__},"
          f" PyTorch {torch.__version__}; {args.train_size} images per epoch, {args.repeats} "
          "repetitions")
    results = measure(args.networks.split(","), args.repeats, args.train_size)
    rows = report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"train_size": args.train_size, "raw": results, "table": rows}, f, indent=1)


if __name__ == "__main__":
    main()
