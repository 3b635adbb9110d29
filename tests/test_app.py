"""The drawing mode's HTTP API: every route and every bad input."""

import base64
import io
import json
import re

import numpy as np
import pytest
from drawings import draw
from fastapi.testclient import TestClient
from PIL import Image

import barenet as bn
from barenet.app.server import SHIPPED, create_app, model_name, resolve_models
from barenet.errors import DataError


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two untrained but valid MNIST-shaped classifiers (the API does not care how good)."""
    folder = tmp_path_factory.mktemp("models")
    mlp = bn.Sequential([bn.Dense(784, 16), bn.ReLU(), bn.Dense(16, 10), bn.Softmax()])
    cnn = bn.Sequential([bn.Reshape((1, 28, 28)), bn.Conv2D(1, 2, 5, stride=3), bn.Flatten(),
                         bn.Dense(128, 10), bn.Softmax()])
    paths = []
    for name, net in (("mlp", mlp), ("cnn", cnn)):
        net.compile(bn.SGD(0.1), bn.CrossEntropy())
        paths.append(folder / name / "model.safetensors")
        net.save(paths[-1], info={"test_accuracy": 0.5, "dataset": "mnist"})
    return paths


@pytest.fixture
def client(models):
    return TestClient(create_app(resolve_models([str(p) for p in models])))


def test_page_and_assets(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text and "/app.js" in page.text
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from the internet
    assert client.get("/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/app.css").status_code == 200
    assert client.get("/../etc/passwd").status_code == 404


def test_model_description(client):
    models = client.get("/api/model").json()
    assert [m["name"] for m in models] == ["mlp", "cnn"]
    assert models[0]["parameters"] == 784 * 16 + 16 + 16 * 10 + 10
    assert models[0]["test_accuracy"] == 0.5 and models[0]["classes"][3] == "3"
    assert "Dense(784 -> 16" in models[0]["layers"][0]


def check_prediction(body):
    assert 0 <= body["digit"] <= 9
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert np.array(body["input"]).shape == (28, 28)
    assert [m["name"] for m in body["models"]] == ["mlp", "cnn"]


def test_predict_raw_png_and_data_url(client):
    data = png(draw(3))
    raw = client.post("/api/predict", content=data, headers={"content-type": "image/png"})
    assert raw.status_code == 200
    check_prediction(raw.json())
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    as_json = client.post("/api/predict", json={"image": url})
    assert as_json.status_code == 200 and as_json.json() == raw.json()


def oversized_png() -> bytes:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (1100, 1100, 3), dtype=np.uint8)  # incompressible
    return png(Image.fromarray(noise))


def open_huge_png() -> bytes:
    """A valid 30000x30000 grey PNG of a few kilobytes (mostly absent rows of zeros)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = zlib.compress(b"".join(b"\x00" + b"\xff" * 30000 for _ in range(20)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


@pytest.mark.parametrize("body, headers, status, match", [
    (b"hello", {"content-type": "image/png"}, 400, "image format"),
    (png(draw(1))[:200], {"content-type": "image/png"}, 400, "truncated|damaged"),
    (b"", {"content-type": "image/png"}, 400, "no image"),
    (png(draw(1)), {"content-type": "text/plain"}, 415, "content type"),
    (png(draw(1)), {}, 415, "content type"),
    (b'{"image": "data:text/plain;base64,aGk="}', {"content-type": "application/json"}, 400,
     "not a base64 image data URL"),
    (b'{"image": {}}', {"content-type": "application/json"}, 400, "expected JSON"),
    (b'{"image": "data:image/png;base64,!!!"}', {"content-type": "application/json"}, 400,
     "expected JSON"),
    (b'{"picture": 1}', {"content-type": "application/json"}, 400, "expected JSON"),
    (b"[1, 2", {"content-type": "application/json"}, 400, "expected JSON"),
    (png(Image.new("L", (4100, 20))), {"content-type": "image/png"}, 400, "4096"),
    (open_huge_png(), {"content-type": "image/png"}, 400, "larger than 4096x4096"),
    (png(Image.new("L", (280, 280), 255)), {"content-type": "image/png"}, 422,
     "draw a digit first"),
])
def test_bad_input_gets_a_clear_4xx_and_the_server_goes_on(client, body, headers, status, match):
    response = client.post("/api/predict", content=body, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert re.search(match, response.json()["detail"])
    follow = client.post("/api/predict", content=png(draw(7)),
                         headers={"content-type": "image/png"})
    assert follow.status_code == 200


def test_images_over_2_mb_are_refused(client):
    data = oversized_png()
    assert len(data) > 2 * 1024 * 1024
    response = client.post("/api/predict", content=data, headers={"content-type": "image/png"})
    assert response.status_code == 413 and "2 MB" in response.json()["detail"]


def test_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/api/predict", "/api/model"}
    body = schema["paths"]["/api/predict"]["post"]["requestBody"]["content"]
    assert {"image/png", "application/json"} <= set(body)


def test_the_favicon_is_an_image(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(icon.content)).size == (32, 32)


def test_inside_the_network_shows_each_layer_that_learns(client):
    data = png(draw(4))
    plain = client.post("/api/predict", content=data, headers={"content-type": "image/png"})
    assert plain.json()["inside"] == []
    mlp_first = client.post("/api/predict?inside=true", content=data,
                            headers={"content-type": "image/png"}).json()
    [hidden] = mlp_first["inside"]  # the MLP's hidden layer (its last Dense is the guess)
    assert hidden["layer"] == "Dense 1" and hidden["shape"] == [16]
    units = np.frombuffer(base64.b64decode(hidden["data"]), dtype=np.uint8)
    assert units.shape == (16,) and units.max() == 255  # scaled to its largest unit
    assert mlp_first["probabilities"] == plain.json()["probabilities"]


def test_inside_views_of_a_convolution_and_the_input_after_deskew(tmp_path):
    net = bn.Sequential([bn.Reshape((1, 28, 28)), bn.Deskew(), bn.Conv2D(1, 3, 5, stride=3),
                         bn.BatchNorm(), bn.ReLU(), bn.Flatten(), bn.Dense(192, 10), bn.Softmax()])
    net.compile(bn.SGD(0.1), bn.CrossEntropy(), seed=0)
    net.save(tmp_path / "m.safetensors", info={"name": "slanted"})
    client = TestClient(create_app(resolve_models([str(tmp_path / "m.safetensors")])))
    assert client.get("/api/model").json()[0]["name"] == "slanted"
    image = draw(1)
    image = image.transform(image.size, Image.Transform.AFFINE, (1, 0.5, -70, 0, 1, 0),
                            fillcolor=255)  # a slanted "1"
    body = client.post("/api/predict?inside=true", content=png(image),
                       headers={"content-type": "image/png"}).json()
    [maps] = body["inside"]
    assert maps["layer"] == "Conv2D 1" and maps["shape"] == [3, 8, 8]
    values = np.frombuffer(base64.b64decode(maps["data"]), dtype=np.uint8).reshape(3, 8, 8)
    assert (values.reshape(3, -1).max(axis=1) <= 255).all()
    from barenet.vision import load_image, to_mnist

    prepared = to_mnist(load_image(png(image)))
    deskewed = bn.Deskew().forward(prepared.reshape(1, 1, 28, 28))[0, 0]
    np.testing.assert_allclose(body["input"], deskewed, atol=1e-4)
    assert np.abs(deskewed - prepared).max() > 0.3  # the network did not see the raw drawing


def test_the_latest_trained_model_is_used_and_named(tmp_path, monkeypatch, models):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    said = []
    [(path, model)] = resolve_models(None, log=said.append)  # nothing trained: the shipped one
    assert path == SHIPPED and "shipped with barenet" in said[0]
    assert create_app([(path, model)]) and model_name(path, model) == "draw (shipped with barenet)"
    from barenet.runs import remember_latest

    remember_latest(models[1])
    said.clear()
    [(path, _)] = resolve_models(None, log=said.append)
    assert path == models[1].resolve() and str(models[1].resolve()) in said[0]


def test_a_model_that_is_not_a_digit_classifier_is_refused(tmp_path):
    net = bn.Sequential([bn.Dense(3, 1), bn.Sigmoid()]).compile(bn.SGD(0.1),
                                                               bn.BinaryCrossEntropy())
    net.save(tmp_path / "m.safetensors")
    with pytest.raises(DataError, match="28x28"):
        create_app(resolve_models([str(tmp_path / "m.safetensors")]))


def test_the_draw_command_serves_and_says_where(models, tmp_path):
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_CACHE_HOME": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "barenet", "draw", "--model", str(models[0]),
                             "--model", str(models[1]), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/model") as r:
                    assert len(json.load(r)) == 2
                break
            except OSError:
                assert time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    missing = subprocess.run([sys.executable, "-m", "barenet", "draw", "--model",
                              str(tmp_path / "none.safetensors")], capture_output=True, text=True,
                             env=env)
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_the_draw_command_refuses_a_bad_or_busy_port(models, capsys):
    import socket

    from barenet.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["draw", "--model", str(models[0]), "--port", "99999"])
    assert exit_.value.code == 2 and "port number from 1 to 65535" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["draw", "--model", str(models[0]), "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert "drawing mode at" not in out
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert "Traceback" not in err
