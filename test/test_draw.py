"""fo1_ros.draw: RViz markers (one DELETEALL, then a cube and a label per labelled 3-D
region), the annotated image and the contact sheet."""

from __future__ import annotations

import numpy as np

from fo1_ros import draw
from fo1_ros.bag import RosbagsBuilder
from fo1_ros.node import RegionInfo, header

W, H = 160, 120


def test_markers_and_annotation():
    regions = [RegionInfo(0, np.array([10, 10, 50, 40.0]), 0.9, label="cube", score=0.8, has_3d=True,
                          center=np.array([0.1, 0.0, 1.0]), size=np.array([0.05, 0.05, 0.05])),
               RegionInfo(1, np.array([60, 20, 90, 60.0]), 0.5),
               RegionInfo(2, np.array([100, 20, 120, 60.0]), 0.5, label="ball", score=0.4)]
    hdr = header(5, "cam")
    ms = draw.markers(hdr, regions)
    assert [(m["action"], m.get("type")) for m in ms] == [(draw.DELETEALL, None), (draw.ADD, draw.CUBE),
                                                         (draw.ADD, draw.TEXT_VIEW_FACING)]
    assert ms[2]["pose"]["position"]["y"] < ms[1]["pose"]["position"]["y"]  # label above the cube
    RosbagsBuilder().build("visualization_msgs/msg/MarkerArray", {"markers": ms})
    rgb = np.zeros((H, W, 3), np.uint8)
    out = draw.annotate(rgb, regions, [{"label": "cube", "count": 1}])
    assert out.shape == rgb.shape and out.any() and not rgb.any()
    assert draw.label_colour("cube") == draw.label_colour("cube") != draw.label_colour("ball")
    sheet = draw.contact_sheet([out] * 5, ["a"] * 5, columns=2, thumb_width=80)
    assert sheet.shape == (3 * 60, 160, 3)
