"""ROS 2 bags in and out (rosbags; no ROS installation needed), driving the node logic.

- :func:`process_bag` (``process.py``): read a rosbag2 recording (sqlite3 or mcap), feed its
  image / depth / camera_info / proposals / queries messages, in log-time order, through the
  same :class:`fo1_ros.node.PerceptionNode` the live node uses, and write every output topic
  into a new bag whose message definitions are embedded (Foxglove opens it, ``ros2 bag play``
  plays it). Returns a :class:`BagReport` (``report.py``: counts per query, per-stage timing,
  drops and errors) and writes ``report.json``, ``report.md`` and ``contact_sheet.png``.
- ``writer.py``: :class:`BagWriter` (plain-data messages, see ``fo1_ros.node``, or rosbags
  message objects into a new bag, with our types registered), :func:`write_frames_bag` (an
  RGB-D sequence as image, depth and camera_info topics, e.g. for the demo and tests),
  :class:`RosbagsBuilder` (plain data -> rosbags message objects).
- ``reader.py``: :func:`bag_folder`, :class:`BagTopics` (the input topics of a bag),
  :func:`read_topic`.

Bags are rosbag2 folders (``metadata.yaml`` + ``*.db3`` or ``*.mcap``); a path to a file
inside such a folder is taken as its folder.
"""

from .process import OUTPUT_BAG_NAME, process_bag
from .reader import IMAGE_TYPES, BagTopics, bag_folder, read_topic
from .report import BagReport, Progress
from .writer import STORAGES, BagWriter, FrameData, RosbagsBuilder, write_frames_bag

__all__ = ["BagReport", "BagTopics", "BagWriter", "FrameData", "IMAGE_TYPES", "OUTPUT_BAG_NAME",
           "Progress", "RosbagsBuilder", "STORAGES", "bag_folder", "process_bag", "read_topic",
           "write_frames_bag"]
