"""Pinhole camera model and poses for the synthetic world.

Frames: the world has z up with the table top at z = 0. The camera uses the REP-103 optical
convention: x right, y down, z forward. A pose is the 4x4 float64 transform world <- camera
(``p_world = pose[:3, :3] @ p_cam + pose[:3, 3]``). Pixel ``(u, v)`` (column, row) has its
centre at image coordinates ``(u, v)`` (OpenCV / ROS CameraInfo convention), so a camera-frame
point projects to ``(fx x / z + cx, fy y / z + cy)``.
"""

from __future__ import annotations

import math

import numpy as np

from fo1_ros.synth.config import SceneConfig


def intrinsics(config: SceneConfig, width: int | None = None) -> np.ndarray:
    """3x3 float64 K for ``config``, optionally rescaled to an image ``width`` pixels wide.

    Rescaling keeps the field of view: the low-resolution grid used for layout checks sees
    exactly what the full image sees.
    """
    fx, fy = config.focal_px
    cx, cy = config.principal_point
    s = 1.0 if width is None else width / config.width
    # Pixel centres sit at integer coordinates, so edges (-0.5) scale, not centres.
    return np.array(
        [[fx * s, 0.0, (cx + 0.5) * s - 0.5], [0.0, fy * s, (cy + 0.5) * s - 0.5],
         [0.0, 0.0, 1.0]]
    )


def look_at_pose(
    target: np.ndarray, azimuth: float, pitch: float, distance: float, roll: float = 0.0
) -> np.ndarray:
    """Pose (4, 4) float64 world <- camera of a camera aimed at ``target``.

    Args:
        target: (3,) world point on the optical axis.
        azimuth: heading of the optical axis in the world xy plane (rad, from +x toward +y).
        pitch: angle of the optical axis below horizontal (rad).
        distance: camera-to-target distance (m).
        roll: rotation about the optical axis (rad).
    """
    forward = np.array(
        [math.cos(pitch) * math.cos(azimuth), math.cos(pitch) * math.sin(azimuth),
         -math.sin(pitch)]
    )
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)  # right x down = forward (right-handed optical frame)
    c, s = math.cos(roll), math.sin(roll)
    right, down = c * right + s * down, -s * right + c * down
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2] = right, down, forward
    pose[:3, 3] = np.asarray(target, float) - distance * forward
    return pose


def camera_rays(K: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame ray directions with z = 1 for every pixel centre.

    Returns:
        ``(x, y)``: ``(width,)`` and ``(height,)`` float32, so that pixel ``(u, v)`` has
        direction ``(x[u], y[v], 1)``; a hit at ray parameter t then has depth z = t.
    """
    x = (np.arange(width, dtype=np.float64) - K[0, 2]) / K[0, 0]
    y = (np.arange(height, dtype=np.float64) - K[1, 2]) / K[1, 1]
    return x.astype(np.float32), y.astype(np.float32)


def world_rays(
    pose: np.ndarray, K: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World-frame directions ``(dx, dy, dz)``, each ``(height, width)`` float32.

    Direction ``(u, v)`` is ``R @ (x_u, y_v, 1)``: not unit length, t along it is depth.
    """
    x, y = camera_rays(K, width, height)
    R = pose[:3, :3].astype(np.float32)
    xs = x[None, :]
    ys = y[:, None]
    return tuple(R[i, 0] * xs + R[i, 1] * ys + R[i, 2] for i in range(3))  # 3 x (H, W)


def project(points_world: np.ndarray, pose: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Project world points ``(N, 3)`` to pixels ``(N, 2)`` float64 (u, v) and depth.

    Returns:
        ``(N, 3)`` float64: ``u, v, z`` (z <= 0 means behind the camera).
    """
    pts = np.asarray(points_world, float).reshape(-1, 3)
    cam = (pts - pose[:3, 3]) @ pose[:3, :3]  # (N, 3) camera frame
    z = cam[:, 2]
    zs = np.where(np.abs(z) > 1e-9, z, 1e-9)
    u = K[0, 0] * cam[:, 0] / zs + K[0, 2]
    v = K[1, 1] * cam[:, 1] / zs + K[1, 2]
    return np.stack([u, v, z], axis=1)


def world_to_camera(points_world: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """World points ``(N, 3)`` -> camera optical frame ``(N, 3)`` float64."""
    return (np.asarray(points_world, float).reshape(-1, 3) - pose[:3, 3]) @ pose[:3, :3]
