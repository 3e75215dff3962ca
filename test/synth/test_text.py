"""fo1_ros/synth/text.py: glyph bitmaps and their sampling."""

import numpy as np
import pytest

from fo1_ros.synth.text import sample_bitmap, text_bitmap


def test_text_bitmap_is_centred_ink():
    bm = text_bitmap("AB7", aspect=2.0)
    assert bm.dtype == np.float32 and bm.shape[1] == 2 * bm.shape[0]
    ink = bm > 0.5
    assert 0.1 < ink.mean() < 0.6
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    assert abs((rows[0] + rows[-1]) / 2 - bm.shape[0] / 2) < 0.1 * bm.shape[0]
    assert abs((cols[0] + cols[-1]) / 2 - bm.shape[1] / 2) < 0.1 * bm.shape[1]
    assert (rows[-1] - rows[0]) > 0.5 * bm.shape[0]  # big: more than half the face height
    with pytest.raises(ValueError):
        text_bitmap("", 1.0)
    # Outside [0, 1] reads no ink.
    u = np.array([-0.1, 1.1, 0.5], np.float32)
    assert np.all(sample_bitmap(np.ones((8, 8), np.float32), u, np.full(3, 0.5, np.float32))
                  == [0, 0, 1])
