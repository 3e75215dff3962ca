"""fo1_ros.node.sync: approximate-time matching and the latest-frame slot (no messages needed:
any object stands for one)."""

from __future__ import annotations

from fo1_ros.node import ApproxTimeSync, FrameSlot

MS = 1_000_000


def _sync(**kw):
    args = dict(slop_ns=20 * MS, queue_size=5, wait_ns=300 * MS)
    args.update(kw)
    return ApproxTimeSync(**args)


def test_sync_matches_nearest_within_slop():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add("camera_info", "i0", 0, 0)
    s.add("depth", "d1", 100 * MS, 1)
    s.add("camera_info", "i1", 95 * MS, 1)
    out = s.add_image("img", 105 * MS, 2)
    assert [(f.image, f.depth, f.camera_info) for f in out] == [("img", "d1", "i1")]


def test_sync_waits_for_depth_then_gives_up_with_a_note():
    s = _sync()
    s.add("depth", "d0", 0, 0)  # the depth stream is live
    assert s.add_image("img", 100 * MS, 10 * MS) == []  # waits for its depth
    assert s.poll(200 * MS) == []
    out = s.poll(400 * MS)  # waited longer than wait_ns
    assert len(out) == 1 and out[0].depth is None and "no depth" in out[0].notes[0]
    assert s.stats["unmatched_depth"] == 1


def test_sync_depth_arriving_later_completes_the_frame():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    assert s.add_image("img", 100 * MS, 1) == []
    out = s.add("depth", "d1", 101 * MS, 2)
    assert [(f.image, f.depth) for f in out] == [("img", "d1")]


def test_sync_gives_up_at_once_when_depth_has_passed_the_image():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add("depth", "d2", 200 * MS, 1)
    out = s.add_image("img", 100 * MS, 2)  # depth already beyond 100 + slop: no match can come
    assert len(out) == 1 and out[0].depth is None


def test_sync_latest_frame_wins_and_drops_are_counted():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add_image("a", 100 * MS, 1)
    s.add_image("b", 200 * MS, 2)
    out = s.add("depth", "d2", 200 * MS, 3)  # completes b; a is superseded
    assert [f.image for f in out] == ["b"] and s.stats["dropped_superseded"] == 1


def test_sync_without_depth_stream_emits_at_once_and_keeps_last_camera_info():
    s = _sync(stream_timeout_ns=1000 * MS)
    s.add("camera_info", "latched", 0, 0)
    out = s.add_image("img", 5000 * MS, 5000 * MS)  # camera_info not live any more: last one used
    assert [(f.image, f.depth, f.camera_info) for f in out] == [("img", None, "latched")]
    assert s.stats["camera_info_fallback"] == 1


def test_sync_buffers_are_bounded():
    s = _sync(queue_size=3)
    for k in range(10):
        s.add("depth", k, 10_000 * MS + k * MS, 0)
    assert len(s.buffers["depth"]) == 3 and s.stats["dropped_overflow"] == 7


def test_sync_needs_external_proposals_when_configured():
    s = _sync(need_proposals=True)
    assert s.add_image("img", 100 * MS, 0) == []
    assert s.poll(1000 * MS) == [] and s.stats["dropped_no_proposals"] == 1
    s.add_image("img2", 200 * MS, 1000 * MS)
    out = s.add("proposals", "boxes", 200 * MS, 1000 * MS)
    assert [(f.image, f.proposals) for f in out] == [("img2", "boxes")]


def test_sync_flush_emits_every_pending_image_in_order():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    s.add_image("a", 100 * MS, 1)
    s.add_image("b", 200 * MS, 1)
    assert [f.image for f in s.poll(2, flush=True)] == ["a", "b"]


def test_slot_keeps_the_latest_and_counts_replaced_frames():
    slot = FrameSlot()
    slot.put("a")
    slot.put("b")
    assert slot.take() == "b" and slot.take() is None and slot.dropped == 1
