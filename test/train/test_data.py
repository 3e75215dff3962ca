"""Training region lists (fo1_ros.train.data)."""

from __future__ import annotations

import numpy as np

from fo1_ros.train.data import RegionSampling, build_regions


def test_shuffled_region_lists_hold_the_same_regions_in_another_order(three_scenes):
    scene = three_scenes[0]
    plain = build_regions(scene, np.random.default_rng(5), RegionSampling(many_regions_prob=1.0))
    mixed = build_regions(scene, np.random.default_rng(5), RegionSampling(many_regions_prob=1.0, shuffle_prob=1.0))
    assert len(plain.boxes) > 20
    key = lambda r: sorted(map(tuple, np.round(r.boxes, 6)))  # noqa: E731
    assert key(plain) == key(mixed)
    assert not np.array_equal(plain.boxes, mixed.boxes)
    assert np.all(np.diff(plain.scores) <= 0) and not np.all(np.diff(mixed.scores) <= 0)
    for o, r in mixed.region_of.items():  # the links follow the boxes
        assert np.allclose(mixed.boxes[r], plain.boxes[plain.region_of[o]])
