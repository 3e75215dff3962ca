"""Spatial relations on a hand-built arrangement (optical frame: x right, y down, z forward).

yellow box (0, -0.2, 1.3)        : above and behind the ball
red cube (-0.2, 0, 1.0)  blue ball (0, 0, 1.0)  green cup (0.2, 0, 0.92)
mug: no 3-D
"""

import numpy as np
import pytest

from fo1_ros.geometry import (
    RELATIONS,
    Object3D,
    RelationConfig,
    SpatialQueryError,
    describe,
    directional,
    distance,
    farthest,
    nearest,
    query,
    within,
)


def _obj(index, label, center=None, reason="no valid depth in box (all NaN/0 or out of range)"):
    box = np.array([0.0, 0.0, 10.0, 10.0])
    if center is None:
        return Object3D(index=index, box=box, has_3d=False, reason=reason, label=label)
    return Object3D(
        index=index,
        box=box,
        has_3d=True,
        center=np.asarray(center, dtype=np.float64),
        size=np.full(3, 0.05),
        n_points=100,
        depth_m=float(center[2]),
        label=label,
    )


@pytest.fixture()
def scene():
    return [
        _obj(0, "red cube", [-0.2, 0.0, 1.0]),
        _obj(1, "blue ball", [0.0, 0.0, 1.0]),
        _obj(2, "green cup", [0.2, 0.0, 0.92]),
        _obj(3, "yellow box", [0.0, -0.2, 1.3]),
        _obj(4, "mug"),
    ]


def _indices(result):
    return [m.index for m in result.matches]


def test_nearest_and_farthest_from_the_camera(scene):
    r = nearest(scene)
    assert _indices(r) == [2]
    assert r.matches[0].distance_m == pytest.approx(np.hypot(0.2, 0.92))
    assert r.answer.startswith("the green cup is the nearest object to the camera, 0.94 m away")
    assert "1 object without 3-D left out" in r.answer
    assert [(e.index, e.reason) for e in r.excluded] == [(4, scene[4].reason)]
    assert _indices(nearest(scene, k=None)) == [2, 1, 0, 3]
    assert _indices(farthest(scene)) == [3]
    assert _indices(farthest(scene, k=2)) == [3, 0]


def test_nearest_to_an_object_excludes_it(scene):
    r = nearest(scene, "blue ball", k=None)
    assert _indices(r) == [0, 2, 3]
    np.testing.assert_allclose(r.distances_m, [0.2, np.hypot(0.2, 0.08), np.hypot(0.2, 0.3)])
    assert r.reference == "the blue ball"
    np.testing.assert_allclose(r.matches[0].offset, [-0.2, 0.0, 0.0])


def test_nearest_with_a_label_filter_and_point_reference(scene):
    r = nearest(scene, [0.0, -0.15, 1.2], label="Red Cube")
    assert _indices(r) == [0]
    assert "the point (0.00, -0.15, 1.20) m" in r.answer
    r = nearest(scene, label="teapot")
    assert r.matches == () and r.answer.startswith("there is no teapot")


def test_within_radius(scene):
    r = within(scene, 0.25, "blue ball")
    assert _indices(r) == [0, 2]
    assert r.answer == (
        "2 objects within 0.25 m of the blue ball: the red cube (0.20 m) and the green cup (0.22 m)"
        " (1 object without 3-D left out)"
    )
    assert _indices(within(scene, 0.1, "blue ball")) == []
    assert _indices(within(scene, 1.0)) == [2, 1]  # of the camera: the cube is 1.02 m away
    assert _indices(within(scene, 1.05)) == [2, 1, 0]
    with pytest.raises(SpatialQueryError, match="radius_m"):
        within(scene, 0.0, "blue ball")


@pytest.mark.parametrize(
    "relation, reference, expected",
    [
        ("left_of", "blue ball", [0]),
        ("right_of", "blue ball", [2]),
        ("above", "blue ball", [3]),
        ("below", "blue ball", []),
        ("below", "yellow box", [1, 0, 2]),  # nearest the box first: 0.36, 0.41, 0.47 m
        ("in_front_of", "blue ball", [2]),
        ("behind", "blue ball", [3]),
    ],
)
def test_every_directional_relation(scene, relation, reference, expected):
    r = directional(scene, relation, reference)
    assert _indices(r) == expected
    assert r.relation == relation
    if not expected:
        assert r.answer.startswith(f"no object is {relation.replace('_', ' ')} the {reference}")


def test_directional_answers_and_ordering(scene):
    r = directional(scene, "right_of", "red cube")
    assert _indices(r) == [1, 2, 3]  # nearest to the reference first
    assert r.answer.startswith(
        "the blue ball (0.20 m), the green cup (0.41 m) and the yellow box (0.41 m) "
        "are right of the red cube"
    )
    assert directional(scene, "left_of", "blue ball").answer.startswith(
        "the red cube (0.20 m) is left of the blue ball"
    )


def test_margin_decides_small_offsets(scene):
    near = scene + [_obj(5, "pen", [0.02, 0.0, 1.0])]  # 2 cm right of the ball
    assert 5 not in _indices(directional(near, "right_of", "blue ball"))
    assert 5 in _indices(
        directional(near, "right_of", "blue ball", config=RelationConfig(margin_m=0.01))
    )


def test_distance_and_describe(scene):
    assert distance(scene[0], scene[1]) == pytest.approx(0.2)
    assert (
        describe(scene[0], scene[1])
        == "the red cube is 0.20 m to the left of the blue ball (0.20 m apart)"
    )
    assert describe("green cup", "blue ball", scene) == (
        "the green cup is 0.20 m to the right of and slightly in front of the blue ball "
        "(0.22 m apart)"
    )
    assert describe("yellow box", "blue ball", scene) == (
        "the yellow box is 0.30 m behind and above the blue ball (0.36 m apart)"
    )
    assert describe(scene[1], _obj(9, "", [0.01, 0.0, 1.0])) == (
        "the blue ball is at about the same place as region 9 (0.01 m apart)"
    )


def test_objects_without_3d_cannot_be_references(scene):
    with pytest.raises(SpatialQueryError, match="the mug has no 3-D position: no valid depth"):
        nearest(scene, "mug")
    with pytest.raises(SpatialQueryError, match="no 3-D position"):
        distance(scene[0], scene[4])
    with pytest.raises(SpatialQueryError, match="no object labelled 'teapot'"):
        directional(scene, "left_of", "teapot")


def test_repeated_labels_need_a_region_index(scene):
    two = scene + [_obj(5, "red cube", [-0.4, 0.0, 1.0])]
    with pytest.raises(SpatialQueryError, match=r"ambiguous: regions \[0, 5\]"):
        nearest(two, "red cube")
    r = nearest(two, "region 5")
    assert _indices(r) == [0] and r.reference == "the red cube (region 5)"
    assert _indices(nearest(two, 5)) == [0]
    assert "the red cube (region 0)" in r.answer


def test_query_mirrors_the_service(scene):
    assert _indices(query(scene, "nearest")) == [2]
    assert _indices(query(scene, "farthest", subject="red cube")) == [0]
    assert _indices(query(scene, "within", reference="blue ball", radius_m=0.25)) == [0, 2]
    assert _indices(query(scene, "left_of", reference="blue ball")) == [0]
    r = query(scene, "describe", subject="red cube", reference="blue ball")
    assert r.answer.startswith("the red cube is 0.20 m to the left of the blue ball")
    assert r.distances_m == [pytest.approx(0.2)]
    with pytest.raises(SpatialQueryError, match="unknown relation 'next_to'"):
        query(scene, "next_to")
    with pytest.raises(SpatialQueryError, match="describe needs both"):
        query(scene, "describe", subject="red cube")
    assert set(RELATIONS) == {
        "nearest",
        "farthest",
        "within",
        "left_of",
        "right_of",
        "above",
        "below",
        "in_front_of",
        "behind",
        "describe",
    }


def test_relation_config_validation():
    assert RelationConfig.from_dict(RelationConfig(margin_m=0.05).to_dict()) == RelationConfig(
        margin_m=0.05
    )
    with pytest.raises(ValueError, match="'margin' is not a key of RelationConfig"):
        RelationConfig.from_dict({"margin": 0.1})
    with pytest.raises(ValueError, match="margin_m"):
        RelationConfig(margin_m=-1.0)
    with pytest.raises(ValueError, match="slight_ratio"):
        RelationConfig(slight_ratio=2.0)
