"""barenet against PyTorch (CPU) on the same networks, batch sizes and thread count.

    python benchmarks/compare_torch.py            # full epochs, 3 repetitions
    python benchmarks/compare_torch.py --quick    # 1/5 of an epoch, 2 repetitions
    python benchmarks/compare_torch.py --repeats 30 --networks mlp --json a.json
    python benchmarks/compare_torch.py --pool a.json b.json   # several runs' table together

Each measurement runs in a fresh subprocess (so peak memory is that run's own), the two
libraries alternate, and the table gives medians and two barenet/PyTorch ratios (that of the
medians, and the median of each repetition's own ratio, which cancels the drift in speed of
a shared machine since the two runs of a repetition follow each other) for:
one epoch of the design's MLP (784-256-256-10, SGD, batch 100; barenet's epoch from its first
batch to its end, and the whole ``fit`` call as well, which first checks the images for NaN),
one epoch of the ``cnn`` preset
(Adam, batch 128, "same" padding; without its Deskew layer, which prepares the images and has
no counterpart on PyTorch's side) and, with ``--networks cnn-valid``, of the same network
without padding (the classic one issue 6 quotes), inference of the 10,000 test images with
each (both libraries in batches of barenet's choice: 1024 for the MLP, 128 for the CNNs), and
peak RSS of a training run.  It also measures the float32 matrix-product ceiling and the
GFLOP/s each epoch achieved.  Real MNIST is used when barenet can find it; timings do not
depend on the pixel values.

Single repetitions of a shared machine scatter widely, so each paired ratio comes with the
interval that holds its true median with 95% probability (the sign test's, which assumes
nothing about the scatter); it needs at least 6 repetitions, and narrows as they grow.
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
TRAIN_SIZE = 55000
TEST_SIZE = 10000
# barenet's own choice (Sequential.inference_batch_size), given to PyTorch too.
INFERENCE_BATCH = {"mlp": 1024, "cnn": 128, "cnn-valid": 128}
# Padding of both convolutions: the `cnn` preset's "same", or none in the classic network that
# issue 6 quotes ("cnn-valid", 5x5 maps to the dense layer instead of 7x7).
CNN_PADDING = {"cnn": 1, "cnn-valid": 0}


def load_data():
    import numpy as np

    try:
        from barenet.data import datasets

        (x, y), (xt, yt) = datasets.load("mnist", download=False)
        x, xt = datasets.scale(x).reshape(len(x), -1), datasets.scale(xt).reshape(len(xt), -1)
    except Exception:  # noqa: BLE001 - any failure: fall back to random images
        rng = np.random.default_rng(0)
        x, y = rng.random((60000, 784), dtype=np.float32), rng.integers(0, 10, 60000)
        xt, yt = x[:TEST_SIZE], y[:TEST_SIZE]
    return x[:TRAIN_SIZE], y[:TRAIN_SIZE], xt, yt


def flops_per_sample(network: str) -> float:
    """Multiply-adds x 2 of one forward pass; training is about three times that."""
    if network == "mlp":
        return 2.0 * (784 * 256 + 256 * 256 + 256 * 10)
    side1 = 26 + 2 * CNN_PADDING[network]  # 28 or 26, then halved by pooling
    side2 = side1 // 2 - 2 + 2 * CNN_PADDING[network]  # 14 or 11
    return 2.0 * (side1**2 * 32 * 9 + side2**2 * 64 * 32 * 9 + (side2 // 2) ** 2 * 64 * 10)


# -- workers: one measurement per process ---------------------------------------------------
def barenet_worker(network: str, fraction: float) -> dict:
    import numpy as np

    import barenet as bn
    from barenet import presets

    x, y, xt, yt = load_data()
    n = int(len(x) * fraction)
    x, y = x[:n], y[:n]
    if network == "mlp":
        config = presets.seed_mlp(math.ceil(n / 100))
    else:
        config = presets.cnn(math.ceil(n / 128))
        config["layers"] = [spec for spec in config["layers"] if spec["type"] != "Deskew"]
        if not CNN_PADDING[network]:
            for spec in config["layers"]:
                if spec["type"] == "Conv2D":
                    spec["config"]["padding"] = 0
            config["layers"][-2]["config"]["in_features"] = 64 * 5 * 5

    class EpochTimer(bn.Callback):
        """The seconds of the epoch, from its start to its end: this leaves out what ``fit``
        does once per call before the first epoch (checking x for NaN, a pass over the 172 MB
        of training images), as PyTorch's loop has no such check.  The whole call is
        reported too, as ``fit_call``."""

        def on_epoch_begin(self, epoch, logs):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs):
            self.seconds = time.perf_counter() - self.started

    net = bn.Sequential.from_config(config, seed=0)
    batch = config["batch_size"]
    epoch = EpochTimer()
    start = time.perf_counter()
    net.fit(x, y, epochs=1, batch_size=batch, seed=0, verbose=False, callbacks=[epoch])
    fit_call = (time.perf_counter() - start) / fraction
    train = epoch.seconds / fraction
    start = time.perf_counter()
    assert net.inference_batch_size() == INFERENCE_BATCH[network]
    probs = net.predict(xt)
    infer = time.perf_counter() - start
    accuracy = float((probs.argmax(axis=1) == yt).mean())
    return {"train": train, "fit_call": fit_call, "infer": infer, "accuracy": accuracy,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "dtype": str(np.asarray(probs).dtype)}


def torch_worker(network: str, fraction: float) -> dict:
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    x, y, xt, yt = load_data()
    n = int(len(x) * fraction)
    x, y = torch.from_numpy(np.ascontiguousarray(x[:n])), torch.from_numpy(y[:n].astype(np.int64))
    xt = torch.from_numpy(np.ascontiguousarray(xt))
    if network == "mlp":
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        opt, batch = torch.optim.SGD(model.parameters(), lr=0.04), 100
    else:
        pad = CNN_PADDING[network]
        model = nn.Sequential(nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 32, 3, padding=pad),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=pad),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                              nn.Linear(64 * (7 if pad else 5) ** 2, 10))
        opt, batch = torch.optim.Adam(model.parameters(), lr=1e-3), 128
    loss_fn = nn.CrossEntropyLoss()  # log-softmax + NLL: the fused form barenet uses too
    model.train()
    start = time.perf_counter()
    order = torch.randperm(n)
    xs, ys = x[order], y[order]
    for i in range(0, n, batch):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i : i + batch]), ys[i : i + batch])
        loss.backward()
        opt.step()
    train = (time.perf_counter() - start) / fraction
    model.eval()
    start = time.perf_counter()
    step = INFERENCE_BATCH[network]
    with torch.no_grad():
        probs = torch.cat([torch.softmax(model(xt[i : i + step]), dim=1)
                           for i in range(0, len(xt), step)])
    infer = time.perf_counter() - start
    accuracy = float((probs.argmax(dim=1).numpy() == yt).mean())
    return {"train": train, "infer": infer, "accuracy": accuracy,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "torch": torch.__version__}


def gemm_ceiling() -> float:
    """GFLOP/s of NumPy's float32 matrix product at a size that reaches the BLAS peak."""
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(5))
    return 2 * 2048**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- driver ------------------------------------------------------------------------------------
def run_worker(library: str, network: str, fraction: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS),
           "BARENET_NUM_THREADS": str(THREADS)}
    out = subprocess.run([sys.executable, __file__, "--worker", library, network,
                          str(fraction)], capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{library} {network} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def median_interval(values, confidence: float = 0.95) -> tuple[float, float] | None:
    """An interval that holds the median of the distribution the ``values`` were drawn from
    with probability at least ``confidence``, whatever that distribution (the sign test's
    interval): the k-th smallest and the k-th largest value, for the largest k with
    P(B < k) <= (1 - confidence)/2, B ~ Binomial(n, 1/2).  With 15 values it runs from the
    4th to the 12th.  None when there are too few values (fewer than 6 at 95%)."""
    ordered = sorted(values)
    n = len(ordered)
    below, k = 0.0, 0  # below = P(B < k + 1) once the term for k is added
    while k < n:
        below += math.comb(n, k) / 2**n
        if below > (1 - confidence) / 2:
            break
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


def measure(networks: list[str], repeats: int, fraction: float) -> dict:
    """{network: {"barenet": [run, ...], "torch": [run, ...]}}, the two alternating."""
    results = {}
    for network in networks:
        runs = {"barenet": [], "torch": []}
        for r in range(repeats):
            order = ("barenet", "torch") if r % 2 == 0 else ("torch", "barenet")
            for library in order:
                runs[library].append(run_worker(library, network, fraction))
        results[network] = runs
    return results


def pool(paths: list[str]) -> tuple[dict, float, float]:
    """(results, ceiling, fraction) of several ``--json`` files taken together: each network's
    repetitions one after the other, the median of the files' ceilings."""
    results, ceilings, fractions = {}, [], set()
    for path in paths:
        with open(path) as f:
            saved = json.load(f)
        ceilings.append(saved["ceiling_gflops"])
        fractions.add(saved["fraction"])
        for network, runs in saved["raw"].items():
            pooled = results.setdefault(network, {"barenet": [], "torch": []})
            for library in pooled:
                pooled[library].extend(runs[library])
    if len(fractions) != 1:
        raise SystemExit(f"--pool: the files measured different fractions of an epoch "
                         f"({sorted(fractions)}); pool runs of the same length only")
    return results, statistics.median(ceilings), fractions.pop()


def report(results: dict, ceiling: float, markdown: str | None = None) -> dict:
    """Print the table (and write it as Markdown to the file ``markdown``); return its
    figures."""
    header = (f"{'measure':<32}{'barenet':>10}{'PyTorch':>10}{'ratio':>8}{'paired':>8}"
              f"{'95% interval':>15}")
    print(header)
    print("-" * len(header))
    table = {}
    rows = ["| measure | barenet | PyTorch 2.13 (CPU) | ratio of the medians | median paired "
            "ratio | its 95% interval |", "|---|---|---|---|---|---|"]
    for network, runs in results.items():
        for key, label, unit, scale in (("train", f"{network} epoch", "s", 1),
                                        ("fit_call", f"{network} fit call, 1 epoch", "s", 1),
                                        ("infer", f"{network} inference 10k", "ms", 1e3),
                                        ("rss_mb", f"{network} peak RSS", "MB", 1)):
            other = "train" if key == "fit_call" else key  # PyTorch's loop is its epoch
            b = statistics.median(r[key] for r in runs["barenet"])
            t = statistics.median(r[other] for r in runs["torch"])
            ratios = [rb[key] / rt[other]
                      for rb, rt in zip(runs["barenet"], runs["torch"], strict=True)]
            paired = statistics.median(ratios)
            interval = median_interval(ratios)
            shown = "-" if interval is None else f"{interval[0]:.2f} to {interval[1]:.2f}"
            table[f"{network}_{key}"] = {"barenet": b, "torch": t, "ratio": b / t,
                                         "paired_ratio": paired, "paired_interval": interval}
            print(f"{label + ' (' + unit + ')':<32}{b * scale:>10.2f}{t * scale:>10.2f}"
                  f"{b / t:>8.2f}{paired:>8.2f}{shown:>15}")
            rows.append(f"| {label} ({unit}) | {b * scale:.2f} | {t * scale:.2f} | {b / t:.2f} "
                        f"| {paired:.2f} | {shown} |")
        barenet_train = table[f"{network}_train"]["barenet"]
        gflops = 3 * flops_per_sample(network) * TRAIN_SIZE / barenet_train / 1e9
        table[f"{network}_gflops"] = gflops
        print(f"{network} training: {gflops:.0f} GFLOP/s achieved by barenet "
              f"({gflops / ceiling:.0%} of the ceiling); {len(runs['barenet'])} repetitions")
        rows.append(f"| {network} training throughput | {gflops:.0f} GFLOP/s "
                    f"({gflops / ceiling:.0%} of the {ceiling:.0f} GFLOP/s ceiling) | | | | |")
    if markdown:
        with open(markdown, "w") as f:
            f.write("\n".join(rows) + "\n")
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1/5 of an epoch, 2 repetitions")
    p.add_argument("--repeats", type=int)
    p.add_argument("--networks", default="mlp,cnn")
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--markdown", help="also write the table, as Markdown, to this file")
    p.add_argument("--pool", nargs="+", metavar="JSON",
                   help="measure nothing: print the table of these --json files taken together")
    args = p.parse_args()
    if args.worker:
        library, network, fraction = args.worker
        worker = barenet_worker if library == "barenet" else torch_worker
        print(json.dumps(worker(network, float(fraction))))
        return
    if args.pool:
        results, ceiling, fraction = pool(args.pool)
        print(f"pooled from {len(args.pool)} files; float32 matrix-product ceiling (median): "
              f"{ceiling:.0f} GFLOP/s")
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            raise SystemExit("PyTorch is the reference: pip install 'torch==2.13.0' (the CPU "
                             "build on this machine's disk; a bare 'torch' pulls a CUDA build)"
                             ) from None
        fraction = 0.2 if args.quick else 1.0
        repeats = args.repeats or (2 if args.quick else 3)
        ceiling = gemm_ceiling()
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
              f"{THREADS} threads; python {platform.python_version()}; {date.today()}")
        print(f"float32 matrix-product ceiling: {ceiling:.0f} GFLOP/s")
        results = measure(args.networks.split(","), repeats, fraction)
    table = report(results, ceiling, args.markdown)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ceiling_gflops": ceiling, "fraction": fraction,
                       "repeats": {network: len(runs["barenet"])
                                   for network, runs in results.items()},
                       "table": table, "raw": results}, f, indent=1)


if __name__ == "__main__":
    main()
