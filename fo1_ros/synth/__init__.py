"""Synthetic RGB-D tabletop world with full ground truth (training, evaluation, demos, tests).

A reproducible generator of tabletop scenes seen by a pinhole RGB-D camera: 1-20 objects of
seven analytic shapes (``CATEGORIES``), twelve colours (``COLOURS``, with similar pairs as
distractors), three size classes, optional printed characters on a camera-facing face, on a
textured table in a room, under a random directional light with cast shadows. Everything
is ray-cast in vectorised numpy; no global random state is used.

Public API::

    from fo1_ros.synth import SceneConfig, make_scene, make_sequence, describe_object

    scene = make_scene(seed=3)                              # 640x480, defaults
    small = make_scene(3, SceneConfig(width=320, height=240))  # same world, lower resolution
    frames = make_sequence(7, n_frames=30, rate_hz=10.0)   # moving camera, same objects

- ``make_scene(seed, config=None) -> Scene``;
  ``make_sequence(seed, n_frames, config=None, rate_hz=10.0, motion='orbit' | 'dolly',
  arc_deg=40.0, dolly_m=0.3, start_ns=0) -> list[Scene]`` (one world, smooth camera path).
- ``SceneConfig``: image size / intrinsics, object vocabulary and counts, camera pose
  ranges, lighting, depth-sensor model, optional 2x supersampling; ``from_dict`` /
  ``to_dict``.
- ``Scene``: ``rgb`` (H, W, 3) uint8, ``depth_m`` (H, W) float32 NaN-invalid,
  ``depth_mm`` (H, W) uint16 0-invalid, ``depth_true_m``, ``K`` (3, 3), ``width``,
  ``height``, ``objects`` (list of ``ObjectGT``), ``instance_mask`` (H, W) int16 (-1 =
  background), ``camera_pose`` (4, 4) world <- camera, ``seed``, ``stamp_ns``,
  ``frame_index``, ``frame_id``; ``camera_info()`` gives CameraInfo fields.
- ``ObjectGT``: category, colour, rgb, size class, text, 2-D visible and amodal boxes,
  visible fraction, 3-D centre / size / yaw / rotation / corners in the camera optical frame
  (x right, y down, z forward), printed glyph height in pixels.
- ``describe_object(obj, width, height)``: attribute and position words.
- Vocabulary constants: ``CATEGORIES``, ``COLOURS``, ``SIZE_CLASSES``,
  ``SIZE_CLASS_RANGES_M``, ``TEXT_ALPHABET``, ``TEXT_CATEGORIES``.

Modules: ``config`` (vocabulary, SceneConfig), ``camera`` (pinhole model, poses),
``shapes`` (ray-shape intersection), ``text`` (glyph bitmaps), ``world`` (3-D content and
the samplers of its parts), ``layout`` (object placement and the whole world's sampling
order), ``render`` (ray casting, shading, sensor models), ``scene`` (ground truth and the
entry points).
"""

from fo1_ros.synth.config import (
    CATEGORIES,
    COLOURS,
    SIZE_CLASS_RANGES_M,
    SIZE_CLASSES,
    TEXT_ALPHABET,
    TEXT_CATEGORIES,
    SceneConfig,
)
from fo1_ros.synth.scene import ObjectGT, Scene, describe_object, make_scene, make_sequence

__all__ = [
    "CATEGORIES",
    "COLOURS",
    "SIZE_CLASSES",
    "SIZE_CLASS_RANGES_M",
    "TEXT_ALPHABET",
    "TEXT_CATEGORIES",
    "ObjectGT",
    "Scene",
    "SceneConfig",
    "describe_object",
    "make_scene",
    "make_sequence",
]
