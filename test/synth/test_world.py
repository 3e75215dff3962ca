"""fo1_ros/synth/world.py: an object's printed-text mapping (``ObjectSpec.text_alpha``)."""

import numpy as np

from fo1_ros.synth.shapes import Shape
from fo1_ros.synth.text import text_bitmap
from fo1_ros.synth.world import ObjectSpec


def test_text_only_on_the_front_face():
    shape = Shape("cuboid", (0.06, 0.1, 0.05))
    obj = ObjectSpec("box", shape, "white", np.ones(3, np.float32), "large",
                     np.zeros(3), 0.0, text="H", text_rgb=(0, 0, 0),
                     text_bitmap=text_bitmap("H", 2.0))
    # Points on the +x face at the centre of the 'H' crossbar and on the -x face.
    p = np.array([[0.03, 0.0, 0.025], [-0.03, 0.0, 0.025], [0.03, 0.0, 0.0499]], np.float32)
    n = np.array([[1, 0, 0], [-1, 0, 0], [1, 0, 0]], np.float32)
    a = obj.text_alpha(p[:, 0], p[:, 1], p[:, 2], n)
    assert a[0] > 0.5 and a[1] == 0 and a[2] < 0.1
