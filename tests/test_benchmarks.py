"""The benchmark script still runs (a smoke test: it measures nothing here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_torch.py"


@pytest.mark.torch
@pytest.mark.parametrize("library", ["barenet", "torch"])
@pytest.mark.parametrize("network", ["mlp", "cnn", "cnn-valid"])
def test_benchmark_workers_run(library, network):
    if library == "torch":
        require("torch")
    out = subprocess.run([sys.executable, str(SCRIPT), "--worker", library, network, "0.005"],
                         capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["train"] > 0 and result["infer"] > 0 and result["rss_mb"] > 0
    assert 0 <= result["accuracy"] <= 1
