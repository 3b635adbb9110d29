"""The drawing page in a real browser: Playwright drives Debian's Chromium, a digit is drawn
stroke by stroke with the mouse, and the page must show the right guess and ten bars."""

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from drawings import STROKES

from barenet.app.server import create_app, resolve_models

pytestmark = [pytest.mark.browser, pytest.mark.mnist]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium (scripts/install-system-deps.sh installs it)")
        pytest.skip("Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server(mnist_model_path):
    import uvicorn

    app = create_app(resolve_models([str(mnist_model_path)]))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the drawing server did not start"
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    _require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


def draw_with_mouse(page, digit: int) -> None:
    box = page.locator("#canvas").bounding_box()
    side = box["width"]
    for stroke in STROKES[digit]:
        points = [(box["x"] + side * (0.25 + 0.5 * x), box["y"] + side * (0.15 + 0.7 * y))
                  for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y, steps=8)
        page.mouse.up()


@pytest.mark.parametrize("viewport", [{"width": 1200, "height": 800},
                                      {"width": 390, "height": 844}], ids=["desktop", "phone"])
@pytest.mark.parametrize("digit", [7, 4])
def test_drawing_a_digit_shows_the_guess(server, browser, digit, viewport):
    page = browser.new_page(viewport=viewport)
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    page.wait_for_selector("text=Draw a digit first.")
    draw_with_mouse(page, digit)
    guess = page.locator(".guess")
    guess.wait_for(timeout=10_000)
    page.wait_for_function("document.querySelector('.guess') && "
                           f"document.querySelector('.guess').dataset.digit === '{digit}'",
                           timeout=10_000)
    assert page.locator(".bar").count() == 10
    assert page.locator(".bar.best").count() == 1
    assert "test set" in page.locator("#model-line").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"drawing-{digit}-{viewport['width']}.png"))

    page.keyboard.press("u" if digit == 7 else "Escape")  # undo one stroke, or clear all
    if digit == 4:
        page.wait_for_selector("text=Draw a digit first.")
        assert page.locator(".guess").count() == 0
    page.get_by_role("button", name="Clear").click()
    page.wait_for_selector("text=Draw a digit first.")
    assert errors == []
    page.close()


def test_no_request_leaves_the_machine(server, browser):
    page = browser.new_page()
    outside = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    page.goto(server)
    page.wait_for_load_state("networkidle")
    assert outside == []
    page.close()

