"""TEMPORARY re-export, to be removed after issue 17 is merged: use `boxes.py` and `roi_align.py`.

`model/ops.py` was split into `fo1_ros.model.boxes` (box conversions, IoU, NMS) and
`fo1_ros.model.roi_align` (RoIAlign). This module only re-exports their public names so that
importers owned by others keep working until the coordinator switches them:
`fo1_ros/train/data.py` (box_iou, nms) and `test/train/test_trainer.py` (box_iou).
"""

from .boxes import batched_nms, box_area, box_convert, box_iou, clip_boxes_to_image, nms, remove_small_boxes
from .roi_align import roi_align, roi_align_mean

__all__ = [
    "roi_align",
    "roi_align_mean",
    "nms",
    "batched_nms",
    "box_area",
    "box_iou",
    "box_convert",
    "clip_boxes_to_image",
    "remove_small_boxes",
]
