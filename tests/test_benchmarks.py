"""The benchmark script: its workers still run (a smoke test: they measure nothing here), and
the statistics it reports are right."""

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_torch.py"


def _script():
    spec = importlib.util.spec_from_file_location("compare_torch", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.torch
@pytest.mark.parametrize("library", ["barenet", "barenet-reference", "torch"])
@pytest.mark.parametrize("network", ["mlp", "cnn-valid", "lstm"])
def test_benchmark_workers_run(library, network, mnist):
    if library == "torch":
        require("torch")
    env = {**os.environ, "BARENET_FAST": "0" if library == "barenet-reference" else "1"}
    out = subprocess.run([sys.executable, str(SCRIPT), "--worker", library, network, "300"],
                         capture_output=True, text=True, check=True, timeout=300, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["train"] > 0 and result["infer"] > 0 and result["rss_mb"] > 0
    assert 0 <= result["accuracy"] <= 1


@pytest.mark.parametrize(("n", "rank"), [(6, 1), (10, 2), (15, 4), (30, 10), (100, 40)])
def test_median_interval_takes_the_sign_test_ranks(n, rank):
    # Ranks of the 95% interval of a median from the sign test's published tables.
    values = list(np.random.default_rng(n).permutation(n).astype(float))
    assert _script().median_interval(values) == (rank - 1, n - rank)


def test_median_interval_needs_six_values_at_95_percent():
    assert _script().median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) is None


def test_median_interval_holds_the_median_95_times_in_100():
    # Samples of 15 from an exponential distribution, whose median is ln 2: the interval of
    # the 4th and 12th values holds it 96.5% of the time (the 5th and 11th: 88%; the 3rd and
    # 13th: 99.3%).
    interval = _script().median_interval
    rng = np.random.default_rng(0)
    held = [lo <= math.log(2) <= hi for lo, hi in
            (interval(list(rng.exponential(size=15))) for _ in range(4000))]
    assert 0.95 <= np.mean(held) <= 0.98


def test_the_report_pairs_each_repetition_with_pytorch_s():
    runs = {"barenet": [{"train": t, "infer": 0.05, "accuracy": 0.9, "rss_mb": 300.0}
                        for t in (1.0, 2.0, 3.0)],
            "barenet-reference": [{"train": t, "infer": 0.1, "accuracy": 0.9, "rss_mb": 300.0}
                                  for t in (3.0, 3.0, 3.0)],
            "torch": [{"train": t, "infer": 0.05, "accuracy": 0.9, "rss_mb": 600.0}
                      for t in (2.0, 1.0, 3.0)]}
    rows = _script().report({"mlp": runs})
    # paired ratios 0.5, 2 and 1 (median 1), while the medians are 2 and 2
    assert "| mlp epoch, barenet (s) | 2.00 | 2.00 | **1.00** | - |" in rows
    assert "| mlp epoch, BARENET_FAST=0 (s) | 3.00 | 2.00 | **1.50** | - |" in rows
    assert "| mlp peak RSS (MB) | 300 | 600 | 0.50 | |" in rows


@pytest.mark.torch
@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_the_products_benchmark_workers_run(library):
    if library == "torch":
        require("torch")
    script = SCRIPT.with_name("products.py")
    out = subprocess.run([sys.executable, str(script), "--worker", library],
                         capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout.strip().splitlines()[-1])["us_per_step"] > 0
