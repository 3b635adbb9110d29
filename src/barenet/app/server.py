"""The drawing mode: a local web app where a person draws a digit and sees the model's guess.

    GET  /              the page (HTML, CSS and JavaScript shipped in barenet/app/static/)
    POST /api/predict   a PNG (raw body, or JSON {"image": "data:image/png;base64,..."}) ->
                        the guessed digit, the ten probabilities, the 28x28 input the network
                        received and, with ?inside=true, what its layers made of it
    GET  /api/model     the loaded models: name, layers, parameters, test accuracy
    GET  /openapi.json  the API's schema

The server reads no path from a request: the page's files are read once at start-up, and
models are loaded only through ``barenet.load_model`` (no pickle).  With no model named and
none trained, it serves the drawing model shipped in the package (``draw.safetensors``, made
by ``barenet train --preset draw``; see the README).
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
import webbrowser
from importlib import resources
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from barenet.app.inside import look_inside
from barenet.errors import BarenetError, DataError
from barenet.model import Sequential, load_model
from barenet.vision import EmptyImageError, load_image, to_mnist

MAX_BODY_BYTES = 2 * 1024 * 1024
SHIPPED = Path(__file__).with_name("draw.safetensors")
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/app.css": ("app.css", "text/css; charset=utf-8"),
          "/favicon.ico": ("favicon.png", "image/png")}


class ModelGuess(BaseModel):
    name: str
    digit: int = Field(description="the most probable class")
    label: str = Field(description="the class's name")
    probabilities: list[float] = Field(description="one probability per class")


class LayerView(BaseModel):
    layer: str = Field(description="the layer that made these outputs, e.g. 'Conv2D 1'")
    shape: list[int] = Field(description="[maps, height, width] or [units]")
    data: str = Field(description="base64 bytes, one per value: each map (or the units) scaled "
                                  "so that its largest value is 255")


class Prediction(BaseModel):
    digit: int = Field(description="the first model's guess")
    probabilities: list[float]
    input: list[list[float]] = Field(description="the 28x28 image the first model received "
                                                 "(after its Deskew, if it has one), in [0, 1]")
    models: list[ModelGuess]
    inside: list[LayerView] = Field(default=[], description="with ?inside=true: what the first "
                                    "model's convolution and dense layers made of the image")


class ModelInfo(BaseModel):
    name: str
    path: str
    layers: list[str]
    parameters: int
    dataset: str | None = None
    test_accuracy: float | None = None
    classes: list[str]


class DataURL(BaseModel):
    image: Annotated[str, Field(description="a data URL: data:image/png;base64,...",
                                max_length=3 * MAX_BODY_BYTES)]


class Problem(BaseModel):
    detail: str


ERRORS = {code: {"model": Problem} for code in (400, 413, 415, 422)}


def model_name(path: Path, model: Sequential) -> str:
    """The name the page shows: the preset or config a run was trained with, else the run
    folder (or file) name; the shipped model says so."""
    if path.resolve() == SHIPPED.resolve():
        return "draw (shipped with barenet)"
    info = getattr(model, "info", {}) or {}
    if info.get("name"):
        return str(info["name"])
    return path.parent.name if path.name == "model.safetensors" else path.stem


def _describe(name: str, path: Path, model: Sequential) -> ModelInfo:
    info = getattr(model, "info", {}) or {}
    classes = info.get("classes") or [str(i) for i in range(model.num_outputs)]
    return ModelInfo(name=name, path=str(path), layers=[repr(layer) for layer in model.layers],
                     parameters=model.num_params, dataset=info.get("dataset"),
                     test_accuracy=info.get("test_accuracy"), classes=list(classes))


def _unique(names: list[str]) -> list[str]:
    """The names, with " (2)", " (3)", ... after a repeated one."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def create_app(models: list[tuple[Path, Sequential]]) -> FastAPI:
    """The web app serving ``models`` (one or more, each (path, loaded model))."""
    for path, model in models:
        shapes = model.layer_shapes()
        if not model.compiled or model.num_outputs < 2 or \
                shapes[0] not in ((784,), (28, 28), (1, 28, 28)):
            raise DataError(f"{path} does not take 28x28 images to class probabilities; "
                            "the drawing mode needs an MNIST-style classifier")
    names = _unique([model_name(path, model) for path, model in models])
    described = [_describe(n, p, m) for n, (p, m) in zip(names, models, strict=True)]
    pages = {route: resources.files("barenet.app").joinpath("static", name).read_bytes()
             for route, (name, _) in STATIC.items()}
    app = FastAPI(title="barenet drawing mode", version="1",
                  description="Draw a digit, see what the network guesses.")

    for route, (_, media_type) in STATIC.items():  # the page, its script, style and icon
        app.add_api_route(route, _static(pages[route], media_type), methods=["GET"],
                          include_in_schema=False)

    @app.get("/api/model", response_model=list[ModelInfo])
    def model_info() -> list[ModelInfo]:
        """The loaded models (the page shows the first one's guess largest)."""
        return described

    @app.post("/api/predict", response_model=Prediction, responses=ERRORS, openapi_extra={
        "requestBody": {"required": True, "content": {
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": DataURL.model_json_schema()}}}})
    async def predict(request: Request, inside: bool = False) -> Prediction:
        """Guess the digit in a PNG drawing (white or dark background, any size up to
        4096 pixels a side and 2 MB)."""
        data = await _read_image_bytes(request)
        try:
            pixels = to_mnist(load_image(data, "the image"))
        except EmptyImageError as exc:
            raise HTTPException(422, str(exc)) from None
        except BarenetError as exc:
            raise HTTPException(400, str(exc)) from None
        looks = [look_inside(model, pixels, views=inside and k == 0)
                 for k, (_, model) in enumerate(models)]
        guesses = []
        for info, (probs, _, _) in zip(described, looks, strict=True):
            digit = int(np.argmax(probs))
            guesses.append(ModelGuess(name=info.name, digit=digit, label=info.classes[digit],
                                      probabilities=[float(p) for p in probs]))
        _, seen, views = looks[0]
        return Prediction(digit=guesses[0].digit, probabilities=guesses[0].probabilities,
                          input=np.round(seen, 4).tolist(), models=guesses,
                          inside=[LayerView(**view) for view in views])

    @app.exception_handler(HTTPException)
    async def problem(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    return app


def _static(content: bytes, media_type: str):
    def serve_file() -> Response:
        return Response(content, media_type=media_type)

    return serve_file


async def _read_image_bytes(request: Request) -> bytes:
    """The request's PNG bytes, from a raw body or a JSON data URL; 4xx for anything else."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > 3 * MAX_BODY_BYTES:
        raise HTTPException(413, f"the request is {declared} bytes; images are limited to 2 MB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > 3 * MAX_BODY_BYTES:
            raise HTTPException(413, "the request is larger than an image of 2 MB can be")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        expected = 'expected JSON {"image": "data:image/png;base64,..."}'
        try:
            url = DataURL.model_validate_json(bytes(body)).image
        except ValidationError as exc:
            problem = exc.errors()[0]
            raise HTTPException(400, f"{expected} ({problem['msg']} at "
                                f"{'.'.join(map(str, problem['loc'])) or 'the top'})") from None
        header, _, payload = url.partition(",")
        if not header.startswith("data:image/") or not header.endswith(";base64"):
            raise HTTPException(400, f"{expected}: the image is not a base64 image data URL")
        try:
            data = base64.b64decode(payload, validate=True)
        except binascii.Error as exc:
            raise HTTPException(400, f"{expected}: the base64 data is invalid ({exc})") from None
    elif kind in ("image/png", "application/octet-stream", "image/jpeg", "image/webp"):
        data = bytes(body)
    else:
        raise HTTPException(415, f"unsupported content type {kind or '(none)'!r}: send "
                                 "image/png, or application/json with a data URL")
    if len(data) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the image is {len(data)} bytes; the limit is 2 MB")
    if not data:
        raise HTTPException(400, "the request holds no image")
    return data


def resolve_models(paths: list[str] | None, log=print) -> list[tuple[Path, Sequential]]:
    """The models to serve: the given paths, else the one ``barenet train`` wrote last, else
    the drawing model shipped with barenet."""
    from barenet.runs import latest_model

    if not paths:
        latest = latest_model()
        if latest is not None:
            log(f"using the most recent model: {latest}")
        else:
            log("using the drawing model shipped with barenet (train your own with "
                "`barenet train`, or pass --model PATH)")
        paths = [str(latest or SHIPPED)]
    return [(Path(p), load_model(p)) for p in paths]


def serve(paths: list[str] | None, host: str = "127.0.0.1", port: int = 8000,
          open_browser: bool = False) -> int:
    """Start the drawing mode and serve until interrupted.  The port is taken before the
    address is printed, so a port already in use is an error, not a false start."""
    import uvicorn

    app = create_app(resolve_models(paths))
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        listener.bind((host, port))
    except (OSError, UnicodeError) as exc:
        listener.close()
        raise DataError(f"cannot listen on {host}:{port} ({getattr(exc, 'strerror', None) or exc})"
                        ": choose another --port (or --host)") from None
    port = listener.getsockname()[1]
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    print(f"barenet drawing mode at {address} (Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(address,)).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[listener])
    return 0
