"""fo1_ros.node.sync: approximate-time matching and the latest-frame slot (no messages needed:
any object stands for one)."""

from __future__ import annotations

import pytest

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


# Two candidates within the slop of one image (20 ms): the nearest must win, whichever arrived
# first and whether it is before or after the image.
NEAREST_CASES = [((88, 105), 105), ((105, 88), 105), ((95, 115), 95), ((115, 95), 95)]


@pytest.mark.parametrize("stream", ["depth", "camera_info", "proposals"])
@pytest.mark.parametrize("stamps_ms, nearest_ms", NEAREST_CASES)
def test_sync_picks_the_nearest_of_two_candidates_within_the_slop(stream, stamps_ms, nearest_ms):
    assert all(abs(t - 100) <= 20 for t in stamps_ms)  # both could match the image
    s = _sync()
    for t in stamps_ms:
        s.add(stream, f"m{t}", t * MS, 0)
    (frame,) = s.add_image("img", 100 * MS, 1)
    assert getattr(frame, stream) == f"m{nearest_ms}"


def test_sync_a_message_stays_for_the_next_image_it_is_nearest_to():
    """Emitting a frame prunes only what no later image can match better: a depth camera at
    half the colour rate gives two images one depth, and the next depth after an image is the
    nearest for the following image."""
    s = _sync()
    s.add("depth", "d99", 99 * MS, 0)
    (a,) = s.add_image("a", 100 * MS, 1)
    (b,) = s.add_image("b", 110 * MS, 2)  # d99 is 11 ms before b, within the slop
    assert (a.depth, b.depth) == ("d99", "d99")
    s.add("depth", "d121", 121 * MS, 3)
    s.add("depth", "d142", 142 * MS, 4)
    (c,) = s.add_image("c", 125 * MS, 5)  # d121 is nearest; d142 is after c + slop
    (d,) = s.add_image("d", 140 * MS, 6)  # d142 (2 ms) beats d121 (19 ms), both within the slop
    assert (c.depth, d.depth) == ("d121", "d142")
    (e,) = s.add_image("e", 160 * MS, 7)  # only d142 is within the slop (18 ms)
    assert e.depth == "d142" and s.stats["unmatched_depth"] == 0


def test_sync_prunes_what_no_later_image_can_match():
    s = _sync()
    for t in (0, 50, 95, 130):
        s.add("depth", f"d{t}", t * MS, 0)
    s.add_image("img", 100 * MS, 1)
    # 0 and 50 are older than 100 - slop: no image after this one can match them
    assert [p.msg for p in s.buffers["depth"]] == ["d95", "d130"]


def test_sync_waits_exactly_wait_ns_for_a_live_stream():
    s = _sync()
    s.add("depth", "d0", 0, 0)
    assert s.add_image("img", 100 * MS, 10 * MS) == []
    assert s.poll(10 * MS + 300 * MS - 1) == []  # one nanosecond before the wait ends
    (frame,) = s.poll(10 * MS + 300 * MS)
    assert frame.image == "img" and frame.depth is None


def test_sync_does_not_wait_for_a_stream_that_went_quiet():
    s = _sync(stream_timeout_ns=1000 * MS)
    s.add("depth", "d0", 0, 0)
    assert s.add_image("img", 900 * MS, 900 * MS) == []  # depth spoke 0.9 s ago: still waited for
    (frame,) = s.add_image("img2", 1100 * MS, 1100 * MS)  # 1.1 s of silence: not any more
    assert frame.image == "img2" and frame.depth is None and "no depth" in frame.notes[0]


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


def test_sync_buffers_keep_the_newest_queue_size_messages():
    s = _sync(queue_size=3)
    for k in range(10):
        s.add("depth", k, 10_000 * MS + k * MS, 0)
    assert [p.msg for p in s.buffers["depth"]] == [7, 8, 9] and s.stats["dropped_overflow"] == 7


def test_sync_pending_images_are_bounded_too():
    s = _sync(queue_size=3)
    s.add("depth", "d0", 0, 0)  # a live depth stream that never matches: every image waits
    for k in range(6):
        assert s.add_image(f"img{k}", (1000 + 100 * k) * MS, k) == []
    assert [p.msg for p in s.images] == ["img3", "img4", "img5"]
    assert s.stats["dropped_overflow"] == 3


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
