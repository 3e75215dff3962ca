"""Scenes and sequences with full ground truth: the public entry points of ``synth``.

Dim names: ``H, W`` image rows and columns.

``make_scene(seed, config)`` samples a world and one camera pose and renders it;
``make_sequence(seed, n_frames, ...)`` samples one world and a smooth camera trajectory
and renders every frame. Both are pure functions of their arguments: all randomness comes
from ``numpy.random.SeedSequence(seed)`` (one child stream for the layout, one per frame for
sensor noise), never from global state, so the same seed gives bit-identical arrays. The
layout stream never depends on the image size, so a seed gives the same world and camera
at 640x480 and at 320x240 (only the sensor noise differs).

Box convention: ``box_2d`` is ``(x1, y1, x2, y2)`` in pixel-edge coordinates: an object
covering columns ``u0..u1`` and rows ``v0..v1`` of ``instance_mask`` has the box
``(u0, v0, u1 + 1, v1 + 1)``. (Pixel ``(u, v)`` spans ``[u, u + 1) x [v, v + 1)`` here while
``K`` puts its centre at ``(u, v)``: subtract 0.5 to compare a box with a K-projection
exactly.)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from fo1_ros.synth.camera import look_at_pose, world_to_camera
from fo1_ros.synth.config import SceneConfig
from fo1_ros.synth.layout import sample_world
from fo1_ros.synth.render import RenderOutput, render
from fo1_ros.synth.text import BITMAP_HEIGHT
from fo1_ros.synth.world import Table, World

logger = logging.getLogger(__name__)

MOTIONS = ("orbit", "dolly")


@dataclass
class ObjectGT:
    """Ground truth of one object in one rendered view.

    3-D quantities are in the camera optical frame (x right, y down, z forward), metres.
    """

    instance_id: int  # value of this object in Scene.instance_mask (= index in objects)
    category: str  # one of CATEGORIES
    colour: str  # one of COLOURS
    rgb: tuple[int, int, int]  # actual surface albedo (sRGB), near COLOURS[colour]
    size_class: str  # one of SIZE_CLASSES
    text: str  # printed characters, '' when none
    text_rgb: tuple[int, int, int] | None  # ink colour, None when no text
    box_2d: np.ndarray  # (4,) float64 xyxy of the visible mask (zeros when not visible)
    amodal_box_2d: np.ndarray  # (4,) float64 xyxy of the unoccluded object, clipped to image
    visible_pixels: int  # pixels of this object in instance_mask
    visible_fraction: float  # visible_pixels / pixels it would cover without occluders
    center_cam: np.ndarray  # (3,) float64 centre of the 3-D box
    size: np.ndarray  # (3,) float64 extents along the object's own x, y, z (z = up)
    yaw: float  # rad, object x axis heading about the world (table) up axis
    rotation_cam: np.ndarray  # (3, 3) float64 camera <- object rotation
    corners_cam: np.ndarray  # (8, 3) float64 3-D box corners, base (on the table) first
    center_world: np.ndarray  # (3,) float64 in the world frame (z up, table top z = 0)
    distance_m: float  # |center_cam|
    text_height_px: float  # approx. printed glyph height in pixels, 0 when no text


@dataclass
class Scene:
    """One rendered RGB-D frame with ground truth."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth_m: np.ndarray  # (H, W) float32 metres, NaN = invalid (sensor model: 32FC1)
    depth_mm: np.ndarray  # (H, W) uint16 millimetres, 0 = invalid (sensor model: 16UC1)
    depth_true_m: np.ndarray  # (H, W) float32 noise-free depth z of every pixel, no holes
    K: np.ndarray  # (3, 3) float64 intrinsics, no distortion
    width: int
    height: int
    objects: list[ObjectGT]
    instance_mask: np.ndarray  # (H, W) int16 object index, -1 = table / background
    camera_pose: np.ndarray  # (4, 4) float64 world <- camera (optical frame)
    seed: int
    stamp_ns: int = 0
    frame_index: int = 0
    frame_id: str = "camera_optical_frame"
    light_direction_cam: np.ndarray = field(default_factory=lambda: np.zeros(3))  # (3,)

    def camera_info(self) -> dict:
        """sensor_msgs/CameraInfo fields as plain Python values (plumb_bob, zero D)."""
        k = self.K.astype(float)
        p = np.zeros((3, 4))
        p[:, :3] = k
        return {
            "header": {"stamp_ns": self.stamp_ns, "frame_id": self.frame_id},
            "height": self.height, "width": self.width, "distortion_model": "plumb_bob",
            "d": [0.0] * 5, "k": k.ravel().tolist(), "r": np.eye(3).ravel().tolist(),
            "p": p.ravel().tolist(),
        }

    def visible_objects(self, min_fraction: float = 0.0) -> list[ObjectGT]:
        """Objects with at least one visible pixel and ``visible_fraction >= min_fraction``."""
        return [o for o in self.objects
                if o.visible_pixels > 0 and o.visible_fraction >= min_fraction]


def describe_object(obj: ObjectGT, width: int, height: int) -> dict:
    """Attributes and position words of ``obj`` in a ``width`` x ``height`` image.

    Returns a dict with ``category, colour, size_class, text, name`` (e.g. ``'red cube'``),
    ``phrase`` (e.g. ``'the large red cube with "A7" on it'``), ``horizontal``
    (left / middle / right third of the image), ``vertical`` (top / middle / bottom),
    ``range`` (near / middle / far: lower in the image is nearer for a camera looking down
    at the table), ``distance_m`` and the box centre ``center_px`` ``(u, v)``.
    """
    x1, y1, x2, y2 = (float(v) for v in obj.box_2d)
    if obj.visible_pixels == 0:
        x1, y1, x2, y2 = (float(v) for v in obj.amodal_box_2d)
    cu, cv = (x1 + x2) / 2, (y1 + y2) / 2
    thirds = ("left", "middle", "right")
    horizontal = thirds[min(2, max(0, int(3 * cu / width)))]
    vi = min(2, max(0, int(3 * cv / height)))
    name = f"{obj.colour} {obj.category}"
    phrase = f"the {obj.size_class} {name}"
    if obj.text:
        phrase += f' with "{obj.text}" on it'
    return {
        "category": obj.category, "colour": obj.colour, "size_class": obj.size_class,
        "text": obj.text, "name": name, "phrase": phrase, "horizontal": horizontal,
        "vertical": ("top", "middle", "bottom")[vi], "range": ("far", "middle", "near")[vi],
        "distance_m": obj.distance_m, "center_px": (cu, cv),
    }


# --------------------------------------------------------------------------- helpers
def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return int(seed)


def _ink_height_m(obj) -> float:
    bm = obj.text_bitmap
    rows = np.flatnonzero(bm.max(axis=1) > 0.5)
    if rows.size == 0:
        return 0.0
    return (rows[-1] - rows[0] + 1) / BITMAP_HEIGHT * obj.text_face_size[1]


def _ground_truth(world: World, out: RenderOutput, pose: np.ndarray) -> list[ObjectGT]:
    objects = []
    R_cw = pose[:3, :3].T  # camera <- world
    for j, obj in enumerate(world.objects):
        m = out.instance == j
        vis = int(m.sum())
        box = np.zeros(4)
        if vis:
            rows = np.flatnonzero(m.any(axis=1))
            cols = np.flatnonzero(m.any(axis=0))
            box = np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], np.float64)
        full = int(out.full_pixels[j])
        center_cam = world_to_camera(obj.center_world, pose)[0]
        text_px = 0.0
        if obj.text and center_cam[2] > 0:
            text_px = float(out.K[1, 1] * _ink_height_m(obj) / center_cam[2])
        objects.append(ObjectGT(
            instance_id=j, category=obj.category, colour=obj.colour, rgb=obj.rgb,
            size_class=obj.size_class, text=obj.text, text_rgb=obj.text_rgb,
            box_2d=box, amodal_box_2d=out.amodal_boxes[j].copy(), visible_pixels=vis,
            visible_fraction=vis / full if full else 0.0, center_cam=center_cam,
            size=np.array(obj.shape.size, np.float64), yaw=float(obj.yaw),
            rotation_cam=R_cw @ obj.rotation,
            corners_cam=world_to_camera(obj.corners_world(), pose),
            center_world=obj.center_world.copy(), distance_m=float(np.linalg.norm(center_cam)),
            text_height_px=text_px,
        ))
    return objects


def _to_scene(world, out, pose, seed, stamp_ns, frame_index, config) -> Scene:
    return Scene(
        rgb=out.rgb, depth_m=out.depth_m, depth_mm=out.depth_mm, depth_true_m=out.depth_clean,
        K=out.K, width=config.width, height=config.height,
        objects=_ground_truth(world, out, pose), instance_mask=out.instance,
        camera_pose=pose.copy(), seed=seed, stamp_ns=stamp_ns, frame_index=frame_index,
        light_direction_cam=pose[:3, :3].T @ world.light.direction,
    )


def _camera_params(rng: np.random.Generator, table: Table, config: SceneConfig,
                   pad_distance: float = 0.0, pad_pitch: float = 0.0):
    """Target, azimuth, pitch, distance, roll of a camera looking down at the table."""
    target = np.array([rng.uniform(-0.3, 0.3) * table.half_x,
                       rng.uniform(-0.3, 0.3) * table.half_y, 0.0])
    az = rng.uniform(-math.pi, math.pi)
    lo, hi = config.camera_pitch_deg
    pitch = math.radians(rng.uniform(min(lo + pad_pitch, (lo + hi) / 2),
                                     max(hi - pad_pitch, (lo + hi) / 2)))
    lo, hi = config.camera_distance_m
    dist = rng.uniform(min(lo + pad_distance, (lo + hi) / 2),
                       max(hi - pad_distance, (lo + hi) / 2))
    roll = math.radians(rng.uniform(-config.camera_roll_deg, config.camera_roll_deg))
    return target, az, pitch, dist, roll


def _check_sequence_args(seed, n_frames, config, rate_hz, motion, arc_deg, dolly_m) -> tuple[int, SceneConfig]:
    """The checked seed and config of ``make_sequence``; ValueError / TypeError naming a bad argument."""
    seed = _check_seed(seed)
    config = SceneConfig() if config is None else config
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
    if isinstance(n_frames, bool) or not isinstance(n_frames, int) or n_frames < 1:
        raise ValueError(f"n_frames must be an int >= 1, got {n_frames!r}")
    if not (isinstance(rate_hz, (int, float)) and rate_hz > 0 and math.isfinite(rate_hz)):
        raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
    if motion not in MOTIONS:
        raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
    if not 0 <= arc_deg <= 180:
        raise ValueError(f"arc_deg must be in [0, 180], got {arc_deg!r}")
    if not 0 <= dolly_m <= 1:
        raise ValueError(f"dolly_m must be in [0, 1], got {dolly_m!r}")
    return seed, config


def _trajectory(rng: np.random.Generator, table: Table, config: SceneConfig, s: np.ndarray, motion: str,
                arc_deg: float, dolly_m: float) -> list[np.ndarray]:
    """(4, 4) camera poses at path fractions ``s`` (F,) in [0, 1] of an orbit or a dolly
    (see ``make_sequence``), drawing one camera from ``rng``."""
    pad_d = dolly_m / 2 if motion == "dolly" else 0.0
    pad_p = 4.0 if motion == "orbit" else 0.0
    target, az, pitch, dist, roll = _camera_params(rng, table, config, pad_d, pad_p)
    out = []
    for si in s:
        if motion == "orbit":
            a = az + math.radians(arc_deg) * (si - 0.5)
            p = pitch + math.radians(4.0) * math.sin(math.pi * si)
            d = dist
        else:
            a = az + math.radians(8.0) * (si - 0.5)
            p = pitch
            d = max(0.3, dist + dolly_m * (0.5 - si))
        out.append(look_at_pose(target, a, p, d, roll))
    return out


# --------------------------------------------------------------------------- public API
def make_scene(seed: int, config: SceneConfig | None = None) -> Scene:
    """Render one random tabletop scene.

    Args:
        seed: non-negative int; the same seed and config give bit-identical output.
        config: scene configuration (default ``SceneConfig()``: 640x480).

    Returns:
        a ``Scene`` (``stamp_ns`` 0, ``frame_index`` 0).

    Raises:
        RuntimeError: if ``config.n_objects[0]`` objects cannot be placed in view.
    """
    seed = _check_seed(seed)
    config = SceneConfig() if config is None else config
    if not isinstance(config, SceneConfig):
        raise TypeError(f"config must be a SceneConfig, got {type(config).__name__}")
    layout_ss, noise_ss = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(layout_ss)

    def poses(r, table):
        pose = look_at_pose(*_camera_params(r, table, config))
        return pose, [pose]

    world, (pose,) = sample_world(rng, config, poses)
    out = render(world, pose, config, np.random.default_rng(noise_ss))
    logger.debug("scene seed=%d: %d objects on a %s table", seed, len(world.objects),
                 world.table.look)
    return _to_scene(world, out, pose, seed, 0, 0, config)


def make_sequence(
    seed: int,
    n_frames: int,
    config: SceneConfig | None = None,
    rate_hz: float = 10.0,
    motion: str = "orbit",
    arc_deg: float = 40.0,
    dolly_m: float = 0.3,
    start_ns: int = 0,
) -> list[Scene]:
    """Render ``n_frames`` views of one world from a smoothly moving camera.

    The camera keeps looking at one point of the table. ``orbit``: the heading sweeps
    ``arc_deg`` at constant angular speed while the pitch bobs by up to 4 degrees;
    ``dolly``: the camera moves ``dolly_m`` toward the target with a slow 8 degree drift.
    All frames share the same objects (same ``instance_id``); objects were placed so that
    they are in view at the start, quarter points and end of the trajectory, though an
    object may leave the view or be hidden in between (``visible_pixels`` 0).

    Args:
        seed: non-negative int.
        n_frames: number of frames (>= 1).
        config: scene configuration (default ``SceneConfig()``).
        rate_hz: frame rate; frame i is stamped ``start_ns + round(i * 1e9 / rate_hz)``.
        motion: ``'orbit'`` or ``'dolly'``.
        arc_deg: total heading change of an orbit (degrees, 0..180).
        dolly_m: total distance change of a dolly (metres, 0..1).
        start_ns: stamp of the first frame.

    Returns:
        list of ``n_frames`` ``Scene`` with ``frame_index`` 0..n_frames-1.
    """
    seed, config = _check_sequence_args(seed, n_frames, config, rate_hz, motion, arc_deg, dolly_m)
    layout_ss, noise_ss = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(layout_ss)
    s = np.linspace(0.0, 1.0, n_frames) if n_frames > 1 else np.array([0.5])
    traj: list[np.ndarray] = []

    def poses(r, table):
        traj[:] = _trajectory(r, table, config, s, motion, arc_deg, dolly_m)
        idx = sorted({int(round(q * (n_frames - 1))) for q in (0.5, 0.0, 0.25, 0.75, 1.0)})
        mid = traj[int(round(0.5 * (n_frames - 1)))]
        return mid, [traj[i] for i in idx]

    world, _ = sample_world(rng, config, poses)
    frame_ss = noise_ss.spawn(n_frames)
    period_ns = 1e9 / rate_hz
    scenes = []
    for i, pose in enumerate(traj):
        out = render(world, pose, config, np.random.default_rng(frame_ss[i]))
        stamp = int(start_ns) + int(round(i * period_ns))
        scenes.append(_to_scene(world, out, pose, seed, stamp, i, config))
    return scenes
