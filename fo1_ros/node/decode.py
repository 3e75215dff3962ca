"""Decoding a matched frame set into what the engine takes: the image (any supported
encoding, raw or compressed) as RGB, the depth in metres, the intrinsics rescaled to the image
(and to the depth when it is smaller), external proposals filtered like any source's; and a tf
transform as a matrix.

An unusable image raises (the frame is dropped); unusable depth or camera_info only remove
themselves from the frame, with a note that becomes the regions' ``reason_3d``, a counter and
a throttled warning. Messages are rclpy or rosbags objects, duck-typed (hence ``Any``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import msgs
from ..engine import Frame
from ..geometry import CameraModel, decode_depth
from ..geometry.camera import ASPECT_TOLERANCE
from ..proposals.base import ProposalConfig, Proposals, postprocess
from .config import PROPOSAL_EXTERNAL, NodeConfig
from .outputs import bbox_to_xyxy, header
from .status import NodeStatus
from .sync import FrameSet


def decode_frame(fs: FrameSet, config: NodeConfig, status: NodeStatus) -> tuple[Frame, dict, list[str]]:
    """(engine Frame, header dict, notes). Raises msgs.ImageConversionError for the image;
    depth / camera_info problems only remove them (noted, counted)."""
    notes = list(fs.notes)
    rgb = msgs.image_msg_to_rgb8(fs.image)  # (H, W, 3) uint8
    H, W = rgb.shape[:2]
    if H < 2 or W < 2:
        raise msgs.ImageConversionError(f"image of {W}x{H} pixels is too small")
    frame_id = str(fs.image.header.frame_id)
    hdr = header(fs.stamp_ns, frame_id)
    K = None
    if fs.camera_info is not None:
        try:
            K = _intrinsics(fs.camera_info, W, H)
        except (msgs.MessageConversionError, ValueError) as e:
            status.count("bad_camera_info")
            status.warn("bad_camera_info", f"camera_info ignored: {e}", config.log_throttle_s)
            notes.append(f"no_camera_info: {e}")
            K = None
    depth_m = depth_K = None
    if fs.depth is not None and config.lift_3d:
        try:
            depth_m, depth_K = _depth(fs.depth, K, W, H, config, status)
        except (msgs.MessageConversionError, ValueError) as e:
            status.count("bad_depth")
            status.warn("bad_depth", f"depth ignored for this frame: {e}", config.log_throttle_s)
            notes.append(f"no_depth: {e}")
            depth_m = depth_K = None
        if depth_m is not None and str(fs.depth.header.frame_id) not in ("", frame_id):
            status.warn("depth_frame", f"depth frame_id {fs.depth.header.frame_id!r} differs "
                        f"from the image's {frame_id!r}: fo1_ros assumes depth registered to "
                        "the colour camera", config.log_throttle_s)
    frame = Frame(rgb=rgb, depth_m=depth_m, K=K, depth_K=depth_K, stamp_ns=fs.stamp_ns,
                  frame_id=frame_id)
    return frame, hdr, notes


def _intrinsics(camera_info: Any, W: int, H: int) -> np.ndarray:
    """(3, 3) K of a CameraInfo, rescaled to a W x H image of the same aspect ratio.

    Raises:
        CameraInfoError, ValueError: an unusable CameraInfo, or one for another aspect ratio.
    """
    return msgs.camera_info_to_model(camera_info).fit_to(W, H).K


def _depth(depth: Any, K: np.ndarray | None, W: int, H: int, config: NodeConfig,
           status: NodeStatus) -> tuple[np.ndarray, np.ndarray | None]:
    """(depth (H', W') float32 metres with NaN invalid, K of the depth image when it is another
    size than the W x H image, else None). Raises for another aspect ratio."""
    if hasattr(depth, "format"):
        raw, enc = msgs.compressed_image_to_numpy(depth)
    else:
        raw, enc = msgs.image_to_numpy(depth), str(depth.encoding)
    depth_m = decode_depth(raw, enc, config.depth_min_m, config.depth_max_m)
    depth_K = None
    dh, dw = depth_m.shape
    if (dh, dw) != (H, W):
        if abs(dw / dh - W / H) > ASPECT_TOLERANCE:
            status.count("depth_size_mismatch")
            raise ValueError(f"depth is {dw}x{dh} but the image is {W}x{H} (another "
                             "aspect ratio: is the depth registered to the colour "
                             "camera?)")
        if K is not None:
            depth_K = CameraModel.from_matrix(K, W, H).fit_to(dw, dh).K
    return depth_m, depth_K


def external_proposals(msg: Any, image_hw: tuple[int, int], config: NodeConfig, max_regions: int,
                       status: NodeStatus) -> Proposals:
    """Proposals from a RegionArray message: filtered like any source, capped to the smaller of
    ``config.max_regions`` and ``max_regions`` (the engine's). A proposal score of 0 counts as 1."""
    regions = list(msg.regions)
    boxes = np.array([bbox_to_xyxy(r.bbox) for r in regions], dtype=np.float64).reshape(-1, 4)
    scores = np.array([float(r.proposal_score) if float(r.proposal_score) > 0 else 1.0
                       for r in regions], dtype=np.float64)
    limit = min(config.max_regions, max_regions)
    props = postprocess(boxes, scores, image_hw,
                        ProposalConfig(config.proposal_score_threshold, config.proposal_nms_iou,
                                       limit, 1.0),
                        PROPOSAL_EXTERNAL)
    if props.dropped:
        status.count("proposals_capped")
        status.warn("proposals_capped", f"{len(regions)} external proposals: kept {len(props)} "
                    f"(dropped {props.dropped})", config.log_throttle_s)
    return props


def transform_to_matrix(transform: Any) -> np.ndarray:
    """A geometry_msgs/Transform (duck-typed: ``rotation`` x, y, z, w and ``translation``
    x, y, z) as a (4, 4) matrix."""
    q, t = transform.rotation, transform.translation
    x, y, z, w = q.x, q.y, q.z, q.w
    R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, (t.x, t.y, t.z)
    return T
