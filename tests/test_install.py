"""A fresh virtual environment with ``pip install .`` and nothing else runs ``barenet draw``:
the shipped drawing model answers a drawing within 3 seconds of the command starting.  The
pen digits that the ``draw`` preset trains on are installed with it."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from drawings import draw

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.install


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The ``barenet`` command of a new virtual environment holding only ``pip install .``."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", str(ROOT)], capture_output=True,
                         text=True)
    assert pip.returncode == 0, pip.stderr[-3000:]
    return venv / "bin" / "barenet"


def test_barenet_draw_works_right_after_install(installed, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    proc = subprocess.Popen([str(installed), "draw", "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/model") as answer:
                    [model] = json.load(answer)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() - start < 30
                time.sleep(0.02)
        first_answer = time.monotonic() - start
        image = io.BytesIO()
        draw(7).save(image, "PNG")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/predict",
                                         data=image.getvalue(),
                                         headers={"Content-Type": "image/png"})
        with urllib.request.urlopen(request) as answer:
            guess = json.load(answer)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "shipped with barenet" in out and model["name"] == "draw (shipped with barenet)"
    assert guess["digit"] == 7
    assert first_answer < 3, f"the first answer came {first_answer:.1f} s after starting"


def test_the_draw_preset_finds_its_pen_digits_after_install(installed, tmp_path):
    code = ("from barenet.data import pendigits; from barenet.data.unipen import read_unipen; "
            "print(len(read_unipen(pendigits.TRAINING)), len(read_unipen(pendigits.TEST)))")
    out = subprocess.run([str(installed.parent / "python"), "-c", code], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["7494", "3498"]
