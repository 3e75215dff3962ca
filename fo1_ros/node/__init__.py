"""PerceptionNode logic: inputs -> approximate-time sync -> engine -> output messages.

This package is the node without a transport. It knows every topic and service by its
(relative) name and builds every output as a plain-data message: a ``dict`` of the message's
fields, which the rclpy node (``fo1_ros/ros/``) and the bag writer (``fo1_ros/bag/``) turn into
their own message objects. Input messages are duck-typed (rclpy or rosbags objects), decoded
with ``fo1_ros.msgs``. No rclpy here, so bags and the live node share every line of behaviour.

Flow (live and offline alike)::

    on_image / on_depth / on_camera_info / on_proposals   (cheap: buffer and match)
        -> ApproxTimeSync (bounded, approximate-time matching by header stamp)
        -> FrameSlot (one slot: the latest frame wins; replaced frames are counted as drops)
        -> process(frame_set): decode -> engine.encode (proposals, encoders, 3-D) ->
           detect (+ count) the current queries -> detections, counts, markers,
           annotated_image (+ vision_msgs arrays)          [every frame]
        -> caption_step(): brief captions of a few regions  [rate-limited, after the above]

Services (``SERVICES``) answer ``success`` / ``message`` for every failure.

Modules, in the order a frame meets them:

    topics.py       topic and service names and types, QoS profile names
    params.py       the parameter YAML file; the query vocabulary (cleaning, the topic's text)
    config.py       NodeConfig (mirrors config/perception.yaml) and the parameter specs
    sync.py         ApproxTimeSync, FrameSet, FrameSlot
    decode.py       frame set -> engine Frame (image, depth, intrinsics); external proposals
    continuous.py   per frame: encode, detect (+ count), 3-D to target_frame; caption rounds
    regions.py      RegionInfo, ProcessedFrame: what the node knows of the latest frame
    outputs.py      the plain-data messages (header, bbox, region arrays, vision_msgs, ...)
    services.py     the service handlers
    status.py       counters, timings, throttled warnings, the status topic
    perception.py   PerceptionNode, wiring the above
"""

from .config import PROPOSAL_EXTERNAL, NodeConfig
from .outputs import Output, bbox, bbox_to_xyxy, header, region_array
from .params import clean_queries, load_params_file, parse_query_text
from .perception import PerceptionNode
from .regions import ProcessedFrame, RegionInfo
from .services import ServiceError
from .sync import ApproxTimeSync, FrameSet, FrameSlot
from .topics import INPUT_TOPICS, OUTPUT_TOPICS, QOS_PROFILES, SERVICES, VISION_TOPICS

__all__ = ["INPUT_TOPICS", "OUTPUT_TOPICS", "SERVICES", "QOS_PROFILES", "VISION_TOPICS",
           "PROPOSAL_EXTERNAL", "ApproxTimeSync", "FrameSet", "FrameSlot", "NodeConfig", "Output",
           "PerceptionNode", "ProcessedFrame", "RegionInfo", "ServiceError", "bbox", "bbox_to_xyxy",
           "clean_queries", "header", "load_params_file", "parse_query_text", "region_array"]
