"""Digits drawn as strokes with Pillow, like a person would with a mouse (for app tests)."""

from PIL import Image, ImageDraw

# Each digit: strokes of points in a unit box (x right, y down).
STROKES = {
    0: [[(0.5, 0.0), (0.2, 0.15), (0.08, 0.5), (0.2, 0.85), (0.5, 1.0), (0.8, 0.85), (0.92, 0.5),
         (0.8, 0.15), (0.5, 0.0)]],
    1: [[(0.35, 0.15), (0.55, 0.0), (0.55, 1.0)]],
    2: [[(0.1, 0.25), (0.3, 0.03), (0.65, 0.0), (0.85, 0.2), (0.8, 0.45), (0.1, 1.0), (0.95, 1.0)]],
    3: [[(0.15, 0.05), (0.8, 0.05), (0.4, 0.42), (0.8, 0.55), (0.85, 0.8), (0.6, 1.0),
         (0.15, 0.92)]],
    4: [[(0.6, 0.0), (0.08, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
    7: [[(0.05, 0.05), (0.95, 0.05), (0.35, 1.0)]],
}


def draw(digit: int, size: float = 200, centre=(140, 140), canvas: int = 280,
         width: float | None = None, dark_ink: bool = True) -> Image.Image:
    """A ``canvas``-pixel square image of ``digit``, ``size`` pixels tall around ``centre``."""
    ink, paper = (0, 255) if dark_ink else (255, 0)
    image = Image.new("L", (canvas, canvas), paper)
    pen = ImageDraw.Draw(image)
    width = width or max(2, size / 9)
    for stroke in STROKES[digit]:
        points = [(centre[0] + (x - 0.5) * size * 0.7, centre[1] + (y - 0.5) * size)
                  for x, y in stroke]
        pen.line(points, fill=ink, width=round(width), joint="curve")
        for px, py in points:  # round caps, as the page's brush draws
            r = width / 2
            pen.ellipse((px - r, py - r, px + r, py + r), fill=ink)
    return image
