"""Geometry: camera model, depth decoding, 2-D box -> 3-D lifting, spatial relations.

Plain numpy (open3d optional, imported lazily); knows nothing about ROS or the model.
"""

from .camera import CameraModel
from .config import CENTER_MODES, LiftConfig, RelationConfig
from .depth import DEPTH_ENCODINGS, decode_depth, encode_depth
from .lifting import Object3D, OrientedBox, lift_boxes, open3d_available
from .relations import (
    DIRECTIONAL_RELATIONS,
    RELATIONS,
    Excluded,
    SpatialMatch,
    SpatialQueryError,
    SpatialResult,
    describe,
    directional,
    distance,
    farthest,
    nearest,
    query,
    within,
)

__all__ = [
    "CENTER_MODES",
    "DIRECTIONAL_RELATIONS",
    "RELATIONS",
    "Excluded",
    "SpatialMatch",
    "SpatialQueryError",
    "SpatialResult",
    "describe",
    "directional",
    "distance",
    "farthest",
    "nearest",
    "query",
    "within",
    "CameraModel",
    "DEPTH_ENCODINGS",
    "LiftConfig",
    "Object3D",
    "OrientedBox",
    "RelationConfig",
    "decode_depth",
    "encode_depth",
    "lift_boxes",
    "open3d_available",
]
