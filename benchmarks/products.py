"""The design MLP's matrix products alone: NumPy against PyTorch (CPU), in fresh processes.

    python benchmarks/products.py --repeats 10

A training step of ``compare_torch.py``'s ``mlp`` (784-256-256-10, batch 100) multiplies eight
pairs of matrices: three forward (X·W), three for dC/dW (Xᵀ·G) and two for dC/dX (G·Wᵀ; the
lowest layer needs none).  This script times those eight products on the same float32 arrays,
memory layouts included, with ``np.matmul`` and with ``torch.mm``: the matrix-product engine
each library ships (OpenBLAS in NumPy's wheels, MKL in PyTorch's), apart from everything else
an epoch does.  Each measurement runs in a fresh process on the benchmark's threads; the two
libraries alternate, and the table gives the median paired ratio as ``compare_torch.py`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch import THREADS, median_interval  # noqa: E402

BATCH = 100
WIDTHS = (784, 256, 256, 10)
STEPS = 300


def products():
    """The eight (a, b) pairs of one step, as NumPy arrays (transposes are views)."""
    import numpy as np

    rng = np.random.default_rng(0)
    # a batch at every width: each layer's input X, and dC/dY at each layer's output
    x = [rng.random((BATCH, width), dtype=np.float32) for width in WIDTHS]
    w = [rng.random(shape, dtype=np.float32) for shape in zip(WIDTHS[:-1], WIDTHS[1:], strict=True)]
    forward = [(x[i], w[i]) for i in range(3)]
    weights = [(x[i].T, x[i + 1]) for i in range(3)]
    inputs = [(x[i + 1], w[i].T) for i in (1, 2)]
    return forward + weights + inputs


def worker(library: str) -> dict:
    pairs = products()
    if library == "torch":
        import torch

        torch.set_num_threads(THREADS)
        pairs = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in pairs]
        multiply = torch.mm
    else:
        import numpy as np

        multiply = np.matmul
    for _ in range(STEPS // 10):  # warm up
        for a, b in pairs:
            multiply(a, b)
    start = time.perf_counter()
    for _ in range(STEPS):
        for a, b in pairs:
            multiply(a, b)
    return {"us_per_step": (time.perf_counter() - start) / STEPS * 1e6}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--worker", choices=("numpy", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    env = {**os.environ, "OMP_NUM_THREADS": str(THREADS), "OPENBLAS_NUM_THREADS": str(THREADS)}
    runs = {"numpy": [], "torch": []}
    for r in range(args.repeats):
        for library in (("numpy", "torch") if r % 2 == 0 else ("torch", "numpy")):
            out = subprocess.run([sys.executable, __file__, "--worker", library],
                                 capture_output=True, text=True, env=env, check=True)
            runs[library].append(json.loads(out.stdout.strip().splitlines()[-1])["us_per_step"])
    ratios = [n / t for n, t in zip(runs["numpy"], runs["torch"], strict=True)]
    interval = median_interval(ratios)
    shown = "-" if interval is None else f"{interval[0]:.2f} to {interval[1]:.2f}"
    print("| measure | NumPy | PyTorch | median paired ratio | its 95% interval |")
    print("|---|---|---|---|---|")
    print(f"| mlp's 8 products per step (µs) | {statistics.median(runs['numpy']):.0f} | "
          f"{statistics.median(runs['torch']):.0f} | **{statistics.median(ratios):.2f}** | "
          f"{shown} |")


if __name__ == "__main__":
    main()
