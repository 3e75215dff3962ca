"""Message types and conversions, split the way ROS splits them; no rclpy here.

- :mod:`.interfaces`: the package's ``msg/*.msg`` / ``srv/*.srv`` files and the rosbags type
  store built from them (bags, mcap schemas);
- :mod:`.image`: sensor_msgs/Image <-> numpy and any image message to RGB8 (a cv_bridge
  replacement); :mod:`.compressed`: sensor_msgs/CompressedImage (jpeg, png, compressedDepth);
  :mod:`.encodings`: what each image encoding means as a numpy array;
- :mod:`.camera_info`: sensor_msgs/CameraInfo -> :class:`fo1_ros.geometry.CameraModel`;
- :mod:`.time`: builtin_interfaces/Time and std_msgs/Header <-> integer nanoseconds;
- :mod:`.errors`: :class:`MessageConversionError` and its subclasses.

Every public name is re-exported here: ``from fo1_ros import msgs; msgs.image_msg_to_rgb8(m)``.
Messages are rclpy or rosbags objects, told apart by duck typing only (see :mod:`.image`).
"""

from .camera_info import camera_info_to_model, fill_camera_info
from .compressed import (
    CompressedFields,
    compressed_image_to_numpy,
    fill_compressed_image,
    numpy_to_compressed_fields,
)
from .encodings import IMAGE_ENCODINGS, encoding_info
from .errors import CameraInfoError, ImageConversionError, MessageConversionError
from .image import (
    ImageFields,
    fill_image,
    image_msg_to_rgb8,
    image_to_numpy,
    is_empty_image,
    make_rosbags_image,
    numpy_to_image_fields,
    to_rgb8,
)
from .interfaces import (
    INTERFACE_DIR_ENV,
    PACKAGE,
    base_store,
    interface_dir,
    interface_files,
    interface_text,
    interface_types,
    message_definition,
    message_definitions,
    service_type_names,
    split_service,
    typestore,
)
from .time import fill_header, fill_stamp, make_header, ns_to_stamp, stamp_to_ns

__all__ = [
    # errors
    "MessageConversionError",
    "ImageConversionError",
    "CameraInfoError",
    # interfaces
    "PACKAGE",
    "INTERFACE_DIR_ENV",
    "interface_dir",
    "interface_files",
    "interface_text",
    "split_service",
    "service_type_names",
    "interface_types",
    "base_store",
    "typestore",
    "message_definition",
    "message_definitions",
    # image, compressed, encodings
    "IMAGE_ENCODINGS",
    "encoding_info",
    "is_empty_image",
    "image_to_numpy",
    "to_rgb8",
    "image_msg_to_rgb8",
    "ImageFields",
    "numpy_to_image_fields",
    "fill_image",
    "make_rosbags_image",
    "CompressedFields",
    "compressed_image_to_numpy",
    "numpy_to_compressed_fields",
    "fill_compressed_image",
    # camera_info
    "camera_info_to_model",
    "fill_camera_info",
    # time
    "stamp_to_ns",
    "ns_to_stamp",
    "fill_stamp",
    "fill_header",
    "make_header",
]
