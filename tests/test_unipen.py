"""Pen trajectories in UNIPEN format, and drawing them as the page's canvas does."""

import gzip

import numpy as np
import pytest

from barenet.data.unipen import read_unipen, render
from barenet.errors import FormatError

TEXT = """.INCLUDE dene.doc
.LEXICON "0" "1"
.SEGMENT DIGIT 0 ? "7"
.COMMENT 7 3 12
.PEN_DOWN
 100 400
 300 400
.PEN_UP
.PEN_DOWN
 300 400
 150 100
.PEN_UP
.SEGMENT DIGIT 1 ? "1"
.COMMENT 1 3 13
.PEN_DOWN
 200 400
 200 100
.PEN_UP
"""


def test_reads_labels_writers_and_strokes(tmp_path):
    plain, packed = tmp_path / "pen.tes", tmp_path / "pen.tes.gz"
    plain.write_text(TEXT)
    packed.write_bytes(gzip.compress(TEXT.encode()))
    for path in (plain, packed):
        seven, one = read_unipen(path)
        assert (seven.label, seven.writer, len(seven.strokes)) == (7, 3, 2)
        np.testing.assert_array_equal(seven.strokes[1], [[300, 400], [150, 100]])
        assert (one.label, len(one.strokes)) == (1, 1)


@pytest.mark.parametrize("text, match", [
    ("hello\n", "no labelled pen strokes"),
    ('.SEGMENT DIGIT 0 ? "x"\n', "not a digit"),
    ('.SEGMENT DIGIT 0 ? "1"\n.PEN_DOWN\n 1 two\n', "line 3: expected 'x y'"),
])
def test_files_that_are_not_unipen_are_refused(tmp_path, text, match):
    (tmp_path / "bad").write_text(text)
    with pytest.raises(FormatError, match=match):
        read_unipen(tmp_path / "bad")


def test_render_places_the_digit_upright_with_the_asked_size_and_looks(tmp_path):
    (tmp_path / "pen").write_text(TEXT)
    seven = read_unipen(tmp_path / "pen")[0]
    image = np.asarray(render(seven.strokes, size=280, width=20, height=0.5), dtype=float)
    assert image.shape == (280, 280) and image.max() == 255 and image.min() == 0
    ink = image < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert abs((rows[-1] - rows[0]) - (140 + 20)) <= 4  # half the canvas, plus the pen
    assert abs((rows[0] + rows[-1]) / 2 - 140) <= 2 and abs((cols[0] + cols[-1]) / 2 - 140) <= 2
    assert ink[rows[0] + 3, cols[0] + 20 : cols[-1] - 20].all()  # the bar is on top
    assert 0 < ((image > 0) & (image < 255)).sum() < ink.sum()  # anti-aliased edges
    dark = render(seven.strokes, ink=255, paper=0)
    np.testing.assert_array_equal(np.asarray(dark), 255 - np.asarray(render(seven.strokes)))
    clear = np.asarray(render(seven.strokes, alpha=True))
    assert clear.shape == (280, 280, 4) and clear[0, 0, 3] == 0 and clear[..., 3].max() == 255
