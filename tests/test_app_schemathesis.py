"""The drawing server under generated bad input: schemathesis, driven by the server's own
OpenAPI schema, finds no response of status 5xx."""

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

import barenet as bn
from barenet.app.server import create_app, resolve_models


@schemathesis.serializer("image/png")
def _png(ctx, value):
    """Generated bodies for image/png are raw bytes (or text, sent as its UTF-8 bytes)."""
    return value if isinstance(value, bytes) else str(value).encode()


# Removed when the test process exits (TemporaryDirectory registers its own finalizer).
_FOLDER = tempfile.TemporaryDirectory(prefix="barenet-schema-")


def _app():
    folder = Path(_FOLDER.name)
    net = bn.Sequential([bn.Dense(784, 8), bn.ReLU(), bn.Dense(8, 10), bn.Softmax()])
    net.compile(bn.SGD(0.1), bn.CrossEntropy())
    net.save(folder / "model.safetensors")
    return create_app(resolve_models([str(folder / "model.safetensors")]))


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500


def test_schema_covers_the_api():
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert operations == {("POST", "/api/predict"), ("GET", "/api/model")}
