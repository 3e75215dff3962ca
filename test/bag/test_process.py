"""fo1_ros.bag.process: ROS 2 bags (sqlite3 and mcap) in, the node logic, every output topic
out, and the report.

The output bag is read back twice: with rosbags, and with an independent reader
(mcap + mcap-ros2-support, which decodes with the message definitions embedded in the bag).
Bad input inside bags never stops processing: it is counted in the report."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.highlevel import AnyReader

from fo1_ros import msgs
from fo1_ros.bag import BagWriter, FrameData, RosbagsBuilder, process_bag, read_topic, write_frames_bag
from fo1_ros.engine import Engine, EngineConfig
from fo1_ros.node import NodeConfig, bbox, header
from fo1_ros.synth import SceneConfig, make_sequence

W, H = 160, 120
N_FRAMES = 3


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared, busy 2-core machine two threads thrash (measured
    ~40x slower for the tiny model under load). Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    return Engine(EngineConfig(model_path=str(tiny_model_dir), device="cpu"))


@pytest.fixture(scope="module")
def scenes():
    return make_sequence(4, N_FRAMES, SceneConfig(width=W, height=H, n_objects=(3, 5)))


def _frames(scenes, depth="mm", start_ns=1_000_000_000):
    return [FrameData(s.rgb, s.stamp_ns + start_ns, s.depth_mm if depth == "mm" else s.depth_m,
                      s.K, s.frame_id, boxes=np.array([o.box_2d for o in s.objects])) for s in scenes]


def _config(**kw):
    return NodeConfig(**{"proposal_source": "external", "queries": ["cube", "ball"],
                         "caption_rate_hz": 5.0, "caption_max_regions": 1, **kw})


@pytest.fixture(scope="module")
def processed(engine, scenes, tmp_path_factory):
    """An mcap input bag processed into an mcap output bag."""
    tmp = tmp_path_factory.mktemp("bag_mcap")
    write_frames_bag(tmp / "in", _frames(scenes), storage="mcap")
    report = process_bag(tmp / "in", tmp / "out", _config(), engine=engine, progress=False)
    return tmp, report


def test_report_counts_frames_queries_and_timing(processed):
    tmp, report = processed
    assert report.frames_in == report.frames_processed == N_FRAMES
    assert set(report.counts) == {"cube", "ball"} and report.counts["cube"]["frames"] == N_FRAMES
    assert "total" in report.timing_s and report.timing_s["total"]["mean"] > 0
    assert report.written["/fo1/detections"] == N_FRAMES and report.written["/fo1/markers"] == N_FRAMES
    assert report.written["/fo1/descriptions"] >= 1 and report.written["/fo1/status"] == 1
    assert report.stats["dropped_total"] == 0 and report.stats["bad_image"] == 0
    data = json.loads((tmp / "out" / "report.json").read_text())
    assert data["frames_processed"] == N_FRAMES
    md = (tmp / "out" / "report.md").read_text()
    assert "Counts per query" in md and "| cube |" in md and "contact_sheet.png" in md
    sheet = cv2.imread(str(tmp / "out" / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[1] == N_FRAMES * 320


def test_output_bag_decodes_with_an_independent_reader(processed, scenes):
    tmp, _ = processed
    ours = {t: m for t, m in read_topic(tmp / "out" / "fo1_output", "/fo1/detections")}
    files = list((tmp / "out" / "fo1_output").glob("*.mcap"))
    assert len(files) == 1
    seen = {}
    with open(files[0], "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for schema, channel, message, decoded in reader.iter_decoded_messages():
            seen.setdefault(channel.topic, []).append((schema.name, message.log_time, decoded))
    assert {"/fo1/detections", "/fo1/counts", "/fo1/markers", "/fo1/annotated_image",
            "/fo1/descriptions", "/fo1/status"} <= set(seen)
    assert {s for s, _, _ in seen["/fo1/detections"]} == {"fo1_ros/msg/RegionArray"}
    assert len(seen["/fo1/detections"]) == N_FRAMES
    for (_, log_time, other), scene in zip(seen["/fo1/detections"], scenes):
        mine = ours[log_time]
        assert other.header.frame_id == mine.header.frame_id == scene.frame_id
        assert (other.header.stamp.sec, other.header.stamp.nanosec) == \
            (mine.header.stamp.sec, mine.header.stamp.nanosec)
        assert list(other.queries) == list(mine.queries) == ["cube", "ball"]
        assert len(other.regions) == len(mine.regions) == len(scene.objects)
        for a, b in zip(other.regions, mine.regions):
            assert (a.index, a.label, a.has_3d, a.reason_3d) == (b.index, b.label, b.has_3d, b.reason_3d)
            assert a.bbox.center_x == b.bbox.center_x and a.score == pytest.approx(b.score)
            assert a.center_3d.z == b.center_3d.z
    _, _, image = seen["/fo1/annotated_image"][0]
    assert (image.width, image.height, image.encoding, len(image.data)) == (W, H, "rgb8", W * H * 3)
    _, _, markers = seen["/fo1/markers"][0]
    assert markers.markers[0].action == 3
    _, _, counts = seen["/fo1/counts"][0]
    assert [c.label for c in counts.counts] == ["cube", "ball"]


def test_sqlite3_input_and_sqlite3_output(engine, scenes, tmp_path):
    epoch = 1_764_000_000 * 10**9  # stamps as a real recording has them
    write_frames_bag(tmp_path / "in", _frames(scenes, depth="m", start_ns=epoch), storage="sqlite3")
    assert list((tmp_path / "in").glob("*.db3"))
    report = process_bag(tmp_path / "in", tmp_path / "out", _config(caption_rate_hz=0.0),
                         engine=engine, storage="sqlite3", progress=False)
    assert report.frames_processed == N_FRAMES
    assert list((tmp_path / "out" / "fo1_output").glob("*.db3"))
    dets = read_topic(tmp_path / "out" / "fo1_output", "/fo1/detections")
    assert len(dets) == N_FRAMES
    assert all(any(r.has_3d for r in m.regions) for _, m in dets)  # 32FC1 depth, from frame 0 on


def test_compressed_images_and_a_queries_topic(engine, scenes, tmp_path):
    frames = _frames(scenes)
    store = msgs.typestore()
    with BagWriter(tmp_path / "in", "mcap", store) as w:
        w.write("/camera/queries", "std_msgs/msg/String", {"data": "ball, cup"}, 1)
    # a second bag folder can't be appended to: write the frames to their own bag and merge
    write_frames_bag(tmp_path / "frames", frames, compressed="jpeg")
    merged = tmp_path / "merged"
    with BagWriter(merged, "mcap", store) as w:
        for folder in (tmp_path / "in", tmp_path / "frames"):
            with AnyReader([folder], default_typestore=store) as r:
                for c, t, raw in r.messages():
                    w.write(c.topic, c.msgtype, r.deserialize(raw, c.msgtype), t)
    report = process_bag(merged, tmp_path / "out", _config(caption_rate_hz=0.0), engine=engine,
                         progress=False)
    assert report.frames_processed == N_FRAMES and report.queries == ["ball", "cup"]
    assert report.topics["image"] == "/camera/image/compressed"
    assert report.topics["queries"] == "/camera/queries"


def test_bad_input_in_a_bag_is_counted_never_fatal(engine, scenes, tmp_path):
    """Wrong encodings, truncated data, NaN depth, mismatched sizes, 10 000 proposals, empty
    and 1 MB queries, an undecodable message: processing runs to the end."""
    s = scenes[0]
    good = _frames([s])[0]
    store = msgs.typestore()
    b = RosbagsBuilder(store)
    rgb = msgs.numpy_to_image_fields(s.rgb, "rgb8").as_dict()
    depth = msgs.numpy_to_image_fields(s.depth_mm, "16UC1").as_dict()
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, [W - 12, H - 12], (10_000, 2))
    many = np.concatenate([xy, xy + rng.uniform(4, 12, (10_000, 2))], 1)
    with BagWriter(tmp_path / "in", "mcap", store) as w:
        def frame(k, image=None, depth_fields=None, boxes=None, info=True):
            t = 1_000_000_000 + k * 100_000_000
            hdr = header(t, s.frame_id)
            regions = [{"index": i, "bbox": bbox(x), "proposal_score": 0.9}
                       for i, x in enumerate(good.boxes if boxes is None else boxes)]
            w.write("/cam/proposals", "fo1_ros/msg/RegionArray", {"header": hdr, "regions": regions}, t)
            w.write("/cam/depth", "sensor_msgs/msg/Image", {"header": hdr, **(depth_fields or depth)}, t)
            if info:
                cam = msgs.fill_camera_info(b.build("sensor_msgs/msg/CameraInfo", {"header": hdr}),
                                            s.K, W, H)
                w.write("/cam/camera_info", "sensor_msgs/msg/CameraInfo", cam, t)
            w.write("/cam/image", "sensor_msgs/msg/Image", {"header": hdr, **(image or rgb)}, t)

        frame(0)
        frame(1, image={**rgb, "encoding": "rgb9"})
        frame(2, image={**rgb, "data": rgb["data"][:1000]})
        frame(3, image={**rgb, "height": 0, "width": 0, "step": 0, "data": np.zeros(0, np.uint8)})
        frame(4, depth_fields=msgs.numpy_to_image_fields(np.full((H, W), np.nan, np.float32),
                                                         "32FC1").as_dict())
        frame(5, depth_fields=msgs.numpy_to_image_fields(np.full((10, 50), 900, np.uint16),
                                                         "16UC1").as_dict())
        frame(6, boxes=many)
        w.write("/cam/queries", "std_msgs/msg/String", {"data": ""}, 1_650_000_000)
        frame(7)
        w.write("/cam/queries", "std_msgs/msg/String", {"data": "q" * 1_000_000}, 1_750_000_000)
        w.write("/cam/queries", "std_msgs/msg/String", {"data": "cube"}, 1_760_000_000)
        frame(8, info=False)
    report = process_bag(tmp_path / "in", tmp_path / "out",
                         _config(caption_rate_hz=0.0, max_regions=8, queries=["cube"]),
                         engine=engine, progress=False)
    stats = report.stats
    assert report.frames_in == 9
    assert stats["bad_image"] == 3, stats
    assert stats["bad_depth"] == 1 and stats["depth_size_mismatch"] == 1, stats
    assert stats["proposals_capped"] == 1 and stats["queries_rejected"] == 1, stats
    dets = {m.header.stamp.nanosec // 100_000_000: m
            for _, m in read_topic(tmp_path / "out" / "fo1_output", "/fo1/detections")}
    assert sorted(dets) == [0, 4, 5, 6, 8]  # 1-3 bad images, 7 had no queries
    assert all(r.reason_3d.startswith("no_valid_depth") for r in dets[4].regions)
    assert all(r.reason_3d.startswith("no_depth") for r in dets[5].regions)
    assert len(dets[6].regions) == 8  # capped to max_regions
    assert list(dets[8].queries) == ["cube"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "bad_image: 3" in md
