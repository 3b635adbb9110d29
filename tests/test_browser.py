"""The drawing page in a real browser: Playwright drives Debian's Chromium, digits are drawn
stroke by stroke with the mouse, and the page must show the right guess, quickly, on a desktop
and on a phone."""

import os
import socket
import statistics
import threading
import time
from pathlib import Path

import pytest
from drawings import STROKES

from barenet.app.server import SHIPPED, create_app, resolve_models
from barenet.data.pendigits import TEST as PEN_DIGITS
from barenet.data.unipen import read_unipen

pytestmark = [pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def _require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium (scripts/install-system-deps.sh installs it)")
        pytest.skip("Debian's chromium is not installed")


@pytest.fixture(scope="module")
def server():
    import uvicorn

    app = create_app(resolve_models([str(SHIPPED)]))
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
    strokes = [[(box["x"] + side * (0.25 + 0.5 * x), box["y"] + side * (0.15 + 0.7 * y))
                for x, y in stroke] for stroke in STROKES[digit]]
    pen(page, strokes)


def pen(page, strokes, steps: int = 8) -> None:
    """Draw each stroke (page coordinates) with the mouse: down, moves, up."""
    for stroke in strokes:
        page.mouse.move(*stroke[0])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(x, y, steps=steps)
        page.mouse.up()


def pen_digit_strokes(page, digit):
    """A UCI pen digit's strokes placed on the canvas at 60% of its height (page coordinates;
    tablet y grows upwards)."""
    box = page.locator("#canvas").bounding_box()
    points = [p for stroke in digit.strokes for p in stroke]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    scale = 0.6 * box["height"] / max(max(ys) - min(ys), 1)
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    return [[(box["x"] + box["width"] / 2 + (x - mid_x) * scale,
              box["y"] + box["height"] / 2 - (y - mid_y) * scale) for x, y in stroke]
            for stroke in digit.strokes]


WATCH = """() => {  // times of the last pointer-up and of each guess the page shows
  window.penUp = null; window.shown = [];
  document.querySelector('#canvas').addEventListener('pointerup',
    () => { window.penUp = performance.now(); }, {capture: true});
  new MutationObserver(() => window.shown.push(
      [performance.now(), document.querySelector('#results').dataset.strokes]))
    .observe(document.querySelector('#results'), {attributes: true,
             attributeFilter: ['data-strokes']});
}"""


def test_pen_digits_by_other_writers_are_read_as_the_pen_lifts(server, browser):
    """One digit of each class by the first writer of the UCI test file, drawn stroke by stroke;
    the guess must follow the last pointer-up within 150 ms."""
    digits = read_unipen(PEN_DIGITS)
    writer = digits[0].writer
    chosen = [next(d for d in digits if d.writer == writer and d.label == k) for k in range(10)]
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(server)
    page.wait_for_selector("text=Draw a digit first.")
    page.evaluate(WATCH)
    right, latencies = 0, []
    ARTIFACTS.mkdir(exist_ok=True)
    for digit in chosen:
        strokes = pen_digit_strokes(page, digit)
        page.evaluate("window.shown = []")
        pen(page, strokes, steps=1)
        n = str(len(strokes))
        page.wait_for_function(f"window.shown.some(([, s]) => s === '{n}')", timeout=10_000)
        shown_at = page.evaluate(f"window.shown.find(([, s]) => s === '{n}')[0]")
        latencies.append(shown_at - page.evaluate("window.penUp"))
        right += page.locator(".guess").get_attribute("data-digit") == str(digit.label)
        page.screenshot(path=str(ARTIFACTS / f"pen-digit-{digit.label}.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector("text=Draw a digit first.")
    page.close()
    (ARTIFACTS / "latency.txt").write_text(
        "pointer-up to updated guess, ms: " + " ".join(f"{t:.0f}" for t in latencies) + "\n")
    assert right >= 9, f"{right} of 10 pen digits read right"
    assert statistics.median(latencies) < 150 and max(latencies) < 400, latencies


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844},
                                      {"width": 375, "height": 667}], ids=["phone", "small-phone"])
def test_on_a_phone_the_guess_shows_without_scrolling(server, browser, viewport):
    page = browser.new_page(viewport=viewport, has_touch=True)
    page.goto(server)
    draw_with_mouse(page, 7)
    page.wait_for_selector(".guess")
    guess = page.locator(".guess").bounding_box()
    assert guess["y"] + guess["height"] <= viewport["height"]
    assert page.evaluate("window.scrollY") == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    page.screenshot(path=str(ARTIFACTS / f"phone-{viewport['width']}x{viewport['height']}.png"))
    page.close()


def test_inside_the_network_shows_feature_maps_and_units(server, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(server)
    page.get_by_label("show inside the network").check()
    draw_with_mouse(page, 4)
    page.wait_for_selector(".maps canvas")
    assert page.locator(".maps").first.locator("canvas").count() == 32  # the first convolution
    assert page.locator(".strip canvas").count() == 1  # the dense layer's units
    assert "Conv2D 1: 32 feature maps, 28×28" in page.locator("#inside").inner_text()
    page.screenshot(path=str(ARTIFACTS / "inside-the-network.png"), full_page=True)
    page.close()


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
    assert "draw (shipped with barenet)" in page.locator("#model-line").inner_text()
    assert "MNIST test set" in page.locator("#model-line").inner_text()
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

