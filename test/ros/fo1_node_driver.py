"""Drives a running fo1_node over DDS (started by test_fo1_node.py), all from rclpy.

    python fo1_node_driver.py NAMESPACE plumbing|content OUT.json

Nodes in this process: two cameras (a RELIABLE and a BEST_EFFORT image publisher, plus
depth, camera_info and proposals), a subscriber of every output, clients of every service, of
the lifecycle services and of set_parameters. Each check is recorded as
``{"name": ..., "ok": bool, "detail": ...}`` in OUT.json (written even when a step raises),
so pytest can report each one; the process exits 0 once the file is written.

``plumbing`` runs with the tiny random model (content is random; everything else is
checked); ``content`` runs with the shipped model and checks detections against the
synthetic ground truth.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np

WAIT_S = 60.0  # for a result of one frame (tiny model on a loaded 2-core CPU)


class Driver:
    def __init__(self, namespace: str):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image
        from std_msgs.msg import String
        from visualization_msgs.msg import MarkerArray

        from fo1_ros.msg import ObjectCountArray, RegionArray, RegionDescriptionArray

        rclpy.init()
        self.rclpy = rclpy
        self.node = rclpy.create_node("fo1_test_driver", namespace=namespace)
        self.cam_reliable = rclpy.create_node("camera_reliable", namespace=namespace)
        self.cam_best_effort = rclpy.create_node("camera_best_effort", namespace=namespace)
        self.executor = SingleThreadedExecutor()
        for n in (self.node, self.cam_reliable, self.cam_best_effort):
            self.executor.add_node(n)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE,
                             durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.pubs = {}
        for key, cam, qos in (("reliable", self.cam_reliable, reliable),
                              ("best_effort", self.cam_best_effort, qos_profile_sensor_data)):
            self.pubs[key] = {
                "image": cam.create_publisher(Image, "image", qos),
                "image/compressed": cam.create_publisher(CompressedImage, "image/compressed", qos),
                "depth": cam.create_publisher(Image, "depth", qos),
                "camera_info": cam.create_publisher(CameraInfo, "camera_info", qos),
                "proposals": cam.create_publisher(RegionArray, "proposals", qos),
            }
        self.queries_pub = self.node.create_publisher(String, "queries", latched)
        self.received: dict[str, list] = {k: [] for k in
                                          ("detections", "counts", "markers", "annotated_image",
                                           "descriptions", "status")}
        for topic, mtype in (("detections", RegionArray), ("counts", ObjectCountArray),
                             ("markers", MarkerArray), ("annotated_image", Image),
                             ("descriptions", RegionDescriptionArray)):
            self.node.create_subscription(mtype, topic, self.received[topic].append, reliable)
        self.node.create_subscription(String, "status", self.received["status"].append, latched)
        self.checks: list[dict] = []

    # ---- helpers -------------------------------------------------------------------------
    def check(self, name: str, ok: bool, detail: object = "") -> bool:
        self.checks.append({"name": name, "ok": bool(ok), "detail": str(detail)[:2000]})
        print(("PASS " if ok else "FAIL ") + name + (f": {str(detail)[:300]}" if not ok else ""),
              flush=True)
        return bool(ok)

    def spin_until(self, done, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return bool(done())

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def status(self) -> dict:
        return json.loads(self.received["status"][-1].data) if self.received["status"] else {}

    def call(self, srv_type, name: str, request, timeout: float = 120.0):
        client = self.node.create_client(srv_type, name)
        try:
            if not client.wait_for_service(timeout_sec=30.0):
                raise TimeoutError(f"service {name} not available")
            future = client.call_async(request)
            if not self.spin_until(future.done, timeout):
                raise TimeoutError(f"no response from {name} within {timeout} s")
            return future.result()
        finally:
            self.node.destroy_client(client)

    def by_stamp(self, topic: str, stamp_ns: int) -> list:
        from fo1_ros import msgs

        def stamp(m):
            h = m.header if hasattr(m, "header") else (m.markers[0].header if m.markers else None)
            return msgs.stamp_to_ns(h.stamp) if h is not None else None

        return [m for m in self.received[topic] if stamp(m) == stamp_ns]

    # ---- publishing frames ---------------------------------------------------------------
    def send(self, scene, stamp_ns: int, via: str = "reliable", encoding: str = "rgb8",
             depth: str = "16UC1", compressed: str = "", image_patch=None, depth_patch=None,
             boxes=None, info: bool = True, proposals: bool = True) -> None:
        """Publish one synthetic frame (image, depth, camera_info, proposals) at stamp_ns."""
        import cv2
        from sensor_msgs.msg import CameraInfo, CompressedImage, Image

        from fo1_ros import msgs
        from fo1_ros.msg import BoundingBox2D, Region, RegionArray

        pubs = self.pubs[via]
        frame_id = scene.frame_id
        rgb = scene.rgb
        if compressed:
            msg = CompressedImage()
            msgs.fill_compressed_image(msg, rgb, "rgb8", compressed)
        else:
            image = {"rgb8": rgb, "bgr8": rgb[:, :, ::-1],
                     "rgba8": np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
                     "bgra8": np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)]),
                     "mono8": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
                     "mono16": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257,
                     }[encoding]
            msg = Image()
            msgs.fill_image(msg, np.ascontiguousarray(image), encoding)
        msgs.fill_header(msg.header, stamp_ns, frame_id)
        if image_patch:
            image_patch(msg)
        d = Image()
        if depth == "16UC1":
            msgs.fill_image(d, scene.depth_mm, "16UC1")
        elif depth == "32FC1":
            msgs.fill_image(d, scene.depth_m, "32FC1")
        msgs.fill_header(d.header, stamp_ns, frame_id)
        if depth_patch:
            depth_patch(d)
        props = RegionArray()
        msgs.fill_header(props.header, stamp_ns, frame_id)
        boxes = np.array([o.box_2d for o in scene.objects]) if boxes is None else boxes
        props.regions = [Region(index=i, proposal_score=1.0,
                                bbox=BoundingBox2D(center_x=float(b[0] + b[2]) / 2,
                                                   center_y=float(b[1] + b[3]) / 2,
                                                   size_x=float(b[2] - b[0]), size_y=float(b[3] - b[1])))
                         for i, b in enumerate(boxes)]
        cam = CameraInfo()
        msgs.fill_camera_info(cam, scene.K, scene.width, scene.height)
        msgs.fill_header(cam.header, stamp_ns, frame_id)
        # proposals, depth and camera_info first: the image then completes its frame set
        if proposals:
            pubs["proposals"].publish(props)
        if depth:
            pubs["depth"].publish(d)
        if info:
            pubs["camera_info"].publish(cam)
        pubs["image/compressed" if compressed else "image"].publish(msg)

    def send_until(self, topic: str, scene, stamp_ns: int, timeout: float = WAIT_S, **kw) -> list:
        """Publish the frame every 2 s until an output with its stamp arrives on `topic`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.send(scene, stamp_ns, **kw)
            if self.spin_until(lambda: self.by_stamp(topic, stamp_ns), min(2.0, timeout)):
                return self.by_stamp(topic, stamp_ns)
        return []


def centre_errors(m, scene) -> np.ndarray:
    """(N,) distance (m) of each region's 3-D centre from its object's (region i is proposal
    i, the scene's object i); inf for a region without 3-D."""
    return np.array([np.linalg.norm([r.center_3d.x - o.center_cam[0], r.center_3d.y - o.center_cam[1],
                                     r.center_3d.z - o.center_cam[2]]) if r.has_3d else np.inf
                     for r, o in ((r, scene.objects[r.index]) for r in m.regions)])


def _mm(err: np.ndarray) -> str:
    return "centre errors (mm): " + ", ".join("-" if not np.isfinite(e) else f"{1e3 * e:.0f}" for e in err)


def plumbing(d: Driver, scenes) -> None:
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters
    from sensor_msgs.msg import Image
    from std_msgs.msg import String

    from fo1_ros import msgs
    from fo1_ros.srv import AskRegion, CountObjects, DescribeRegions, DetectObjects, SetQueries, SpatialQuery

    s0 = scenes[0]
    n_boxes = len(s0.objects)
    ok = d.spin_until(lambda: d.status().get("state") == "active", 90.0)
    d.check("node_active_at_start", ok, d.status())
    d.check("unknown_parameter_reported",
            any("not_a_parameter" in p for p in d.status().get("unknown_parameters", [])),
            d.status().get("unknown_parameters"))
    state = d.call(GetState, "fo1_node/get_state", GetState.Request())
    d.check("lifecycle_get_state_active", state.current_state.label == "active", state)

    # queries topic (latched publisher) -> the node's vocabulary
    d.queries_pub.publish(String(data="cube, ball"))
    ok = d.spin_until(lambda: d.status().get("queries") == ["cube", "ball"], 20.0)
    d.check("queries_topic_sets_vocabulary", ok, d.status().get("queries"))

    # warm-up: until the node has seen depth and camera_info, a frame goes without them
    d.send_until("detections", s0, 9_000_000_000)
    d.spin_for(1.0)

    # a RELIABLE camera and a BEST_EFFORT camera both reach the node (sensor_data QoS)
    s_rel = 10_000_000_000
    dets = d.send_until("detections", s0, s_rel, via="reliable")
    d.check("reliable_publisher_reaches_node", dets, len(d.received["detections"]))
    if dets:
        m = dets[0]
        d.check("detections_header_is_source_header",
                m.header.frame_id == s0.frame_id and msgs.stamp_to_ns(m.header.stamp) == s_rel,
                m.header)
        d.check("detections_regions_are_proposals", len(m.regions) == n_boxes,
                (len(m.regions), n_boxes))
        d.check("detections_carry_queries", list(m.queries) == ["cube", "ball"], m.queries)
        d.check("detections_have_3d_from_depth",
                m.frame_3d == s0.frame_id and any(r.has_3d for r in m.regions),
                [(r.has_3d, r.reason_3d) for r in m.regions])
        err = centre_errors(m, s0)
        d.check("region_3d_centres_match_ground_truth",
                np.all(np.isfinite(err)) and float(np.median(err)) < 0.05, _mm(err))
    d.spin_until(lambda: d.by_stamp("counts", s_rel) and d.by_stamp("markers", s_rel)
                 and d.by_stamp("annotated_image", s_rel), 10.0)
    counts = d.by_stamp("counts", s_rel)
    d.check("counts_published_per_query",
            counts and [c.label for c in counts[0].counts] == ["cube", "ball"], counts[:1])
    markers = d.by_stamp("markers", s_rel)
    d.check("markers_start_with_one_deleteall",
            markers and markers[0].markers[0].action == 3
            and sum(mk.action == 3 for mk in markers[0].markers) == 1
            and all(mk.type in (1, 9) for mk in markers[0].markers[1:]), markers[:1])
    if markers and dets:
        labelled = sum(1 for r in dets[0].regions if r.label and r.has_3d)
        d.check("markers_cube_and_text_per_object",
                len(markers[0].markers) == 1 + 2 * labelled, (len(markers[0].markers), labelled))
    image = d.by_stamp("annotated_image", s_rel)
    d.check("annotated_image_published",
            image and (image[0].width, image[0].height, image[0].encoding)
            == (s0.width, s0.height, "rgb8"), image[:1] and image[0].encoding)

    s_be = 11_000_000_000
    d.check("best_effort_publisher_reaches_node",
            d.send_until("detections", s0, s_be, via="best_effort"), len(d.received["detections"]))

    # every image encoding
    for k, enc in enumerate(("bgr8", "rgba8", "bgra8", "mono8", "mono16")):
        stamp = 12_000_000_000 + k * 100_000_000
        d.check(f"image_encoding_{enc}", d.send_until("detections", scenes[1], stamp, encoding=enc))
    s32 = 13_000_000_000
    got = d.send_until("detections", scenes[1], s32, depth="32FC1")
    err = centre_errors(got[0], scenes[1]) if got else np.array([np.inf])
    d.check("depth_32FC1_metres", np.all(np.isfinite(err)) and float(np.median(err)) < 0.05,
            (_mm(err), got[:1] and [r.reason_3d for r in got[0].regions]))

    # bad input through the live node: a counted drop or a reason, never a dead node
    def wrong_encoding(m):
        m.encoding = "rgb9"

    def truncated(m):
        m.data = m.data[: len(m.data) // 2]

    # (one at a time: the image subscription keeps only the latest message, so a burst may be
    # thinned by DDS before the node sees it)
    for k, patch in enumerate((wrong_encoding, truncated)):
        before = d.status().get("bad_image", 0)
        for _ in range(5):
            d.send(scenes[1], 14_000_000_000 + k * 100_000_000, image_patch=patch)
            if d.spin_until(lambda b=before: d.status().get("bad_image", 0) > b, 3.0):
                break
    d.check("bad_images_counted", d.status().get("bad_image", 0) >= 2, d.status())

    def nan_depth(m):
        arr = np.full((m.height, m.width), np.nan, np.float32)
        msgs.fill_image(m, arr, "32FC1")

    got = d.send_until("detections", scenes[1], 15_000_000_000, depth="32FC1", depth_patch=nan_depth)
    d.check("nan_depth_gives_reason",
            got and all(not r.has_3d and r.reason_3d.startswith("no_valid_depth")
                        for r in got[0].regions), got[:1] and [r.reason_3d for r in got[0].regions])

    def other_aspect(m):
        msgs.fill_image(m, np.full((50, 50), 1000, np.uint16), "16UC1")

    got = d.send_until("detections", scenes[1], 15_100_000_000, depth_patch=other_aspect)
    d.check("depth_of_other_aspect_rejected_with_reason",
            got and all(r.reason_3d.startswith("no_depth") for r in got[0].regions),
            got[:1] and [r.reason_3d for r in got[0].regions])

    def half_size(m):
        msgs.fill_image(m, np.ascontiguousarray(scenes[1].depth_mm[::2, ::2]), "16UC1")

    # measured in-process on this frame: 4 of 6 regions lifted (two boxes hold too few depth
    # pixels at 80x60), centre errors 6-19 mm; with the focal length left unscaled 1 of 6 is
    # lifted (which "any region has 3-D" accepted). Accuracy at half and quarter size is
    # measured in test/node/test_decode.py.
    got = d.send_until("detections", scenes[1], 15_200_000_000, depth_patch=half_size)
    err = centre_errors(got[0], scenes[1]) if got else np.array([np.inf])
    lifted = err[np.isfinite(err)]
    d.check("depth_of_half_size_is_scaled",
            len(lifted) >= max(1, len(err) / 2) and float(lifted.max(initial=0.0)) < 0.05,
            (_mm(err), got[:1] and [r.reason_3d for r in got[0].regions]))

    # 1000 boxes (136 kB on the wire) rather than 10 000: a 1.4 MB best-effort sample is lost
    # whole where the kernel's UDP receive buffer is the default 208 kB (the node's capping
    # of 10 000 boxes is tested without DDS in test/node/test_decode.py).
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, [scenes[1].width - 12, scenes[1].height - 12], (1000, 2))
    many = np.concatenate([xy, xy + rng.uniform(4, 12, (1000, 2))], 1)
    got = d.send_until("detections", scenes[1], 15_300_000_000, boxes=many)
    d.check("thousand_proposals_capped", got and 0 < len(got[0].regions) <= 100,
            got[:1] and len(got[0].regions))

    answer = d.call(SetQueries, "set_queries", SetQueries.Request(queries=[]))
    d.check("set_queries_empty_stops_detection", answer.success, answer.message)
    d.send(scenes[1], 16_000_000_000)
    d.spin_for(3.0)
    d.check("no_detections_without_queries", not d.by_stamp("detections", 16_000_000_000))
    answer = d.call(DetectObjects, "detect_objects", DetectObjects.Request(queries=[]))
    d.check("detect_without_any_query_refused", not answer.success and answer.message, answer.message)
    answer = d.call(SetQueries, "set_queries", SetQueries.Request(queries=["x" * 1_000_000]))
    d.check("set_queries_1mb_refused", not answer.success and "limit" in answer.message,
            answer.message[:200])
    answer = d.call(SetQueries, "set_queries", SetQueries.Request(queries=["cube", "<region3>"]))
    d.check("set_queries_reserved_token_refused", not answer.success, answer.message)
    answer = d.call(SetQueries, "set_queries", SetQueries.Request(queries=["cube", "ball"]))
    d.check("set_queries_service", answer.success and "cube" in answer.message, answer.message)
    d.queries_pub.publish(String(data="y" * 1_000_000))
    d.spin_for(2.0)
    d.check("queries_topic_1mb_ignored", d.status().get("queries") == ["cube", "ball"],
            d.status().get("queries"))

    # services, on the latest frame unless an image is given. The depth stream has been quiet for
    # seconds, so the node no longer waits for depth (its documented fallback); a priming frame
    # makes it live again, so the frame for the services is matched with its depth whatever
    # order DDS delivers image and depth in.
    d.send(scenes[2], 16_900_000_000)
    d.spin_for(0.5)
    got = d.send_until("detections", scenes[2], 17_000_000_000)
    d.check("frame_for_services", got)
    latest = 17_000_000_000
    answer = d.call(DetectObjects, "detect_objects", DetectObjects.Request(queries=["cube"]))
    d.check("detect_objects_latest_frame",
            answer.success and msgs.stamp_to_ns(answer.detections.header.stamp) == latest
            and list(answer.detections.queries) == ["cube"]
            and len(answer.detections.regions) == len(scenes[2].objects), answer.message)
    request = DetectObjects.Request(queries=["cube"])
    msgs.fill_image(request.image, scenes[2].rgb, "rgb8")
    answer = d.call(DetectObjects, "detect_objects", request)
    d.check("detect_objects_given_image_without_boxes_explains",
            not answer.success and "boxes" in answer.message, answer.message)
    request = DescribeRegions.Request(task="brief")
    msgs.fill_image(request.image, scenes[2].rgb, "rgb8")
    msgs.fill_header(request.image.header, 99_000_000_000, "given")
    from fo1_ros.msg import BoundingBox2D

    request.boxes = [BoundingBox2D(center_x=40.0, center_y=40.0, size_x=30.0, size_y=20.0),
                     BoundingBox2D(center_x=100.0, center_y=60.0, size_x=20.0, size_y=30.0)]
    answer = d.call(DescribeRegions, "describe_regions", request)
    d.check("describe_regions_given_image_and_boxes",
            answer.success and len(answer.descriptions.descriptions) == 2
            and answer.descriptions.header.frame_id == "given", answer.message)
    answer = d.call(DescribeRegions, "describe_regions",
                    DescribeRegions.Request(task="ocr", region_indices=[0]))
    d.check("describe_regions_ocr",
            answer.success and [x.task for x in answer.descriptions.descriptions] == ["ocr"],
            answer.message)
    answer = d.call(DescribeRegions, "describe_regions", DescribeRegions.Request(task="poem"))
    d.check("describe_regions_bad_task_refused", not answer.success and "task" in answer.message,
            answer.message)
    bad = DescribeRegions.Request()
    bad.image.height, bad.image.width, bad.image.encoding, bad.image.step = 4, 4, "rgb8", 12
    bad.image.data = [0] * 5
    answer = d.call(DescribeRegions, "describe_regions", bad)
    d.check("describe_regions_truncated_image_refused", not answer.success, answer.message)
    answer = d.call(AskRegion, "ask_region", AskRegion.Request(question="What colour is <region0>?"))
    d.check("ask_region_vqa", answer.success and isinstance(answer.answer, str), answer.message)
    answer = d.call(AskRegion, "ask_region",
                    AskRegion.Request(question="Which is closer?", region_indices=[0, 1],
                                      reasoning=True))
    d.check("ask_region_reasoning", answer.success, answer.message)
    answer = d.call(AskRegion, "ask_region", AskRegion.Request(question="x" * 1_000_000))
    d.check("ask_region_1mb_question_refused", not answer.success and "limit" in answer.message,
            answer.message[:200])
    answer = d.call(AskRegion, "ask_region", AskRegion.Request(question="What?", region_indices=[999]))
    d.check("ask_region_bad_index_refused", not answer.success and "999" in answer.message,
            answer.message)
    answer = d.call(CountObjects, "count_objects", CountObjects.Request(labels=["cube"]))
    d.check("count_objects",
            answer.success and [c.label for c in answer.counts.counts] == ["cube"]
            and msgs.stamp_to_ns(answer.counts.header.stamp) == latest, answer.message)
    answer = d.call(SpatialQuery, "spatial_query", SpatialQuery.Request(relation="nearest"))
    dist = list(answer.distances_m)
    d.check("spatial_query_nearest",
            answer.success and answer.answer and dist == sorted(dist)
            and len(answer.matches.regions) == len(dist),
            (answer.message, answer.answer, dist))
    answer = d.call(SpatialQuery, "spatial_query", SpatialQuery.Request(relation="within"))
    d.check("spatial_query_within_needs_radius", not answer.success and "radius" in answer.message,
            answer.message)
    answer = d.call(SpatialQuery, "spatial_query", SpatialQuery.Request(relation="sideways"))
    d.check("spatial_query_bad_relation_refused", not answer.success, answer.message)
    d.spin_until(lambda: d.received["descriptions"], 20.0)
    d.check("descriptions_topic_rate_limited_captions",
            d.received["descriptions"] and d.received["descriptions"][0].descriptions,
            len(d.received["descriptions"]))

    # lifecycle: deactivate -> (inputs stop, services refuse) -> reconfigure -> activate
    answer = d.call(ChangeState, "fo1_node/change_state",
                    ChangeState.Request(transition=Transition(id=Transition.TRANSITION_DEACTIVATE)))
    state = d.call(GetState, "fo1_node/get_state", GetState.Request())
    d.check("lifecycle_deactivate", answer.success and state.current_state.label == "inactive",
            state.current_state.label)
    d.send(scenes[2], 18_000_000_000)
    d.spin_for(2.0)
    d.check("inactive_node_ignores_frames", not d.by_stamp("detections", 18_000_000_000))
    answer = d.call(CountObjects, "count_objects", CountObjects.Request(labels=["cube"]))
    d.check("inactive_node_services_explain", not answer.success and "active" in answer.message,
            answer.message)
    params = [Parameter(name=name, value=ParameterValue(type=ParameterType.PARAMETER_STRING,
                                                        string_value=value))
              for name, value in (("image_transport", "compressed"), ("proposal_source", "rgbd"))]
    result = d.call(SetParameters, "fo1_node/set_parameters", SetParameters.Request(parameters=params))
    d.check("set_parameter_while_inactive", all(r.successful for r in result.results),
            [r.reason for r in result.results])
    answer = d.call(ChangeState, "fo1_node/change_state",
                    ChangeState.Request(transition=Transition(id=Transition.TRANSITION_ACTIVATE)))
    state = d.call(GetState, "fo1_node/get_state", GetState.Request())
    d.check("lifecycle_activate_again", answer.success and state.current_state.label == "active",
            state.current_state.label)
    d.spin_for(2.5)  # let the proposals stream go quiet: the node's own proposer works now
    for fmt in ("jpeg", "png"):
        stamp = 19_000_000_000 if fmt == "jpeg" else 19_100_000_000
        got = d.send_until("detections", scenes[3], stamp, compressed=fmt, proposals=False)
        d.check(f"compressed_image_{fmt}", got)
        if fmt == "jpeg":
            d.check("default_rgbd_proposer_live", got and len(got[0].regions) > 0,
                    got[:1] and len(got[0].regions))
    param = Parameter(name="image_transport",
                      value=ParameterValue(type=ParameterType.PARAMETER_STRING, string_value="raw"))
    result = d.call(SetParameters, "fo1_node/set_parameters", SetParameters.Request(parameters=[param]))
    d.check("frozen_parameter_refused_while_active",
            not result.results[0].successful and "active" in result.results[0].reason,
            result.results[0].reason)
    d.spin_until(lambda: d.status().get("frames_processed", 0) >= 10, 10.0)
    status = d.status()
    d.check("status_counts_frames_and_drops",
            status.get("frames_processed", 0) >= 10 and "dropped_total" in status, status)
    d.check("image_msg_type_used", Image is not None)


def content(d: Driver, scenes) -> None:
    """The shipped model with its default proposer on synthetic frames: detections and counts
    near the ground truth (floors: precision >= 0.5, counts within one in half the frames)."""
    from fo1_ros.srv import SetQueries

    ok = d.spin_until(lambda: d.status().get("state") == "active", 180.0)
    d.check("node_active_at_start", ok, d.status())
    categories = sorted({o.category for s in scenes for o in s.objects})[:3]
    answer = d.call(SetQueries, "set_queries", SetQueries.Request(queries=categories))
    d.check("set_queries", answer.success, answer.message)
    hits = total = 0
    count_err = count_n = truth_sum = frames = consistent = 0
    for k, scene in enumerate(scenes):
        stamp = 30_000_000_000 + k * 1_000_000_000
        got = d.send_until("detections", scene, stamp, timeout=240.0, proposals=False)
        if not got:
            d.check(f"content_frame_{k}_processed", False)
            continue
        frames += 1
        for r in got[0].regions:
            if not r.label:
                continue
            total += 1
            cx, cy = r.bbox.center_x, r.bbox.center_y
            hits += any(o.category == r.label and o.box_2d[0] <= cx <= o.box_2d[2]
                        and o.box_2d[1] <= cy <= o.box_2d[3] for o in scene.objects)
        d.spin_until(lambda s=stamp: d.by_stamp("counts", s), 10.0)
        counts = d.by_stamp("counts", stamp)
        if counts:
            truth = {c: sum(o.category == c for o in scene.objects) for c in categories}
            for c in counts[0].counts:
                count_err += abs(c.count - truth[c.label])
                truth_sum += truth[c.label]
                count_n += 1
            labelled = {q: sorted(r.index for r in got[0].regions if r.label == q) for q in categories}
            consistent += all(c.count == len(c.region_indices) and sorted(c.region_indices) == labelled[c.label]
                              for c in counts[0].counts) and len(counts[0].counts) == len(categories)
    d.check("content_every_frame_answered", frames == len(scenes), f"{frames}/{len(scenes)} frames")
    precision = hits / total if total else 0.0
    d.check("content_detection_precision", total > 0 and precision >= 0.5,
            f"{hits}/{total} labelled regions lie on an object of that category")
    # counts come from the frame's own detections: the regions a count names are the ones labelled so
    d.check("content_counts_match_detections", frames > 0 and consistent == frames, f"{consistent}/{frames} frames")
    # and they carry content: closer to the truth than answering 0 for every query would be. (The
    # frames are views of one scene, so this is one sample of the model's counting; its accuracy is
    # measured by `fo1-ros eval` on 500 scenes.)
    mae, zero = count_err / max(count_n, 1), truth_sum / max(count_n, 1)
    d.check("content_counts_beat_zero", count_n > 0 and mae < zero,
            f"mean |count - truth| {mae:.2f} over {count_n} (frame, query) pairs; answering 0 gives {zero:.2f}")


def main() -> None:
    namespace, mode, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    assert os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE") == "LOCALHOST", \
        "set ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST (keep DDS on this machine)"
    from fo1_ros.synth import SceneConfig, make_sequence

    size = (160, 120) if mode == "plumbing" else (320, 240)
    scenes = make_sequence(11, 4 if mode == "plumbing" else 6,
                           SceneConfig(width=size[0], height=size[1], n_objects=(3, 6)))
    d = Driver(namespace)
    try:
        (plumbing if mode == "plumbing" else content)(d, scenes)
    except Exception as e:  # noqa: BLE001 - recorded, so pytest shows where it stopped
        d.check("driver_completed", False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}")
    else:
        d.check("driver_completed", True)
    finally:
        out.write_text(json.dumps(d.checks, indent=1))
        d.rclpy.try_shutdown()


if __name__ == "__main__":
    main()
