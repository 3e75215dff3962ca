"""CameraModel: construction, validation, projection, scaling, fitting to an image size, box mapping."""

from types import SimpleNamespace

import numpy as np
import pytest

from fo1_ros.geometry import CameraModel

K = [[525.0, 0.0, 319.5], [0.0, 520.0, 239.5], [0.0, 0.0, 1.0]]


def test_from_matrix_and_camera_info_agree():
    a = CameraModel.from_matrix(K, 640, 480)
    b = CameraModel.from_camera_info(np.asarray(K).reshape(-1).tolist(), 640, 480)
    c = CameraModel.from_msg(SimpleNamespace(k=np.asarray(K).reshape(-1), width=640, height=480))
    assert a == b == c
    np.testing.assert_array_equal(a.K, np.asarray(K))
    assert a.shape == (480, 640)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(fx=0.0), "fx"),
        (dict(fy=-1.0), "fy"),
        (dict(fx=float("nan")), "fx"),
        (dict(cx=float("inf")), "cx"),
        (dict(width=0), "width"),
        (dict(height=2.5), "height"),
    ],
)
def test_invalid_intrinsics_name_the_field(kwargs, field):
    base = dict(fx=525.0, fy=525.0, cx=319.5, cy=239.5, width=640, height=480)
    base.update(kwargs)
    with pytest.raises(ValueError, match=field):
        CameraModel(**base)


def test_uncalibrated_camera_info_is_rejected():
    with pytest.raises(ValueError, match="fx"):
        CameraModel.from_camera_info([0.0] * 9, 640, 480)


def test_bad_matrix_shapes_and_rows():
    with pytest.raises(ValueError, match="shape"):
        CameraModel.from_matrix(np.eye(2), 640, 480)
    with pytest.raises(ValueError, match="9 values"):
        CameraModel.from_camera_info([1.0] * 8, 640, 480)
    bad = np.asarray(K).copy()
    bad[2, 2] = 2.0
    with pytest.raises(ValueError, match="last row"):
        CameraModel.from_matrix(bad, 640, 480)
    with pytest.raises(TypeError, match="CameraInfo"):
        CameraModel.from_msg(object())


@pytest.mark.parametrize("skew", [0.0, 1.5])
def test_project_back_project_round_trip(skew):
    cam = CameraModel(fx=525.0, fy=520.0, cx=319.5, cy=239.5, width=640, height=480, skew=skew)
    rng = np.random.default_rng(0)
    pts = rng.uniform([-1, -1, 0.2], [1, 1, 5], size=(50, 3))
    uv = cam.project(pts)
    np.testing.assert_allclose(cam.back_project(uv, pts[:, 2]), pts, atol=1e-12)
    # the matrix form gives the same pixels
    h = pts @ cam.K.T
    np.testing.assert_allclose(uv, h[:, :2] / h[:, 2:], atol=1e-9)


def test_points_behind_the_camera_project_to_nan():
    cam = CameraModel.from_matrix(K, 640, 480)
    uv = cam.project([[0.1, 0.1, -1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert np.isnan(uv[:2]).all() and np.isfinite(uv[2]).all()


def test_back_project_image_matches_pointwise():
    cam = CameraModel.from_matrix(K, 8, 6).scaled(8, 6)
    depth = np.linspace(0.5, 2.0, 48).reshape(6, 8)
    cloud = cam.back_project_image(depth)
    assert cloud.shape == (6, 8, 3)
    np.testing.assert_allclose(cloud[4, 7], cam.back_project([[7.0, 4.0]], [depth[4, 7]])[0])
    with pytest.raises(ValueError, match="does not match"):
        cam.back_project_image(np.ones((5, 8)))


def test_scaled_follows_the_pixel_area_mapping():
    cam = CameraModel.from_matrix(K, 640, 480)
    half = cam.scaled(320, 240)
    pts = np.array([[0.2, -0.1, 1.0], [-0.3, 0.25, 2.0]])
    uv, uv_half = cam.project(pts), half.project(pts)
    # pixel centre j of the full image maps to (j + 0.5) / 2 - 0.5 in the half image
    np.testing.assert_allclose(uv_half, (uv + 0.5) * 0.5 - 0.5, atol=1e-9)
    back = half.scaled(640, 480)
    np.testing.assert_allclose(back.K, cam.K, atol=1e-12)
    with pytest.raises(ValueError, match="width"):
        cam.scaled(0, 240)


def test_box_to_maps_boxes_between_intrinsics():
    cam = CameraModel.from_matrix(K, 640, 480)
    np.testing.assert_allclose(
        cam.box_to([[10, 20, 110, 220]], cam), [[10, 20, 110, 220]], atol=1e-9
    )
    half = cam.scaled(320, 240)
    np.testing.assert_allclose(
        cam.box_to([[10, 20, 110, 220]], half), [[5, 10, 55, 110]], atol=1e-9
    )
    # a different camera: the box still covers the same rays
    other = CameraModel(fx=400.0, fy=400.0, cx=150.0, cy=100.0, width=300, height=200)
    box = np.array([[100.0, 50.0, 300.0, 250.0]])
    mapped = cam.box_to(box, other)
    corners = np.array([[100.0, 50.0], [300.0, 250.0]]) - 0.5
    expect = other.normalized_to_pixel(cam.pixel_to_normalized(corners)) + 0.5
    np.testing.assert_allclose(mapped.reshape(2, 2), expect, atol=1e-9)


def test_fit_to_the_same_size_is_the_model_itself():
    cam = CameraModel.from_matrix(K, 640, 480)
    assert cam.fit_to(640, 480) is cam


def test_fit_to_another_size_of_the_same_aspect_rescales_exactly():
    cam = CameraModel.from_matrix(K, 640, 480)
    half = cam.fit_to(320, 240)
    assert half == cam.scaled(320, 240)
    assert (half.width, half.height) == (320, 240)
    # the exact pixel-area mapping: cx' = s (cx + 0.5) - 0.5, not image_proc's s cx
    assert (half.fx, half.fy) == (525.0 * 0.5, 520.0 * 0.5)
    assert (half.cx, half.cy) == (0.5 * (319.5 + 0.5) - 0.5, 0.5 * (239.5 + 0.5) - 0.5)
    assert (half.cx, half.cy) == (159.5, 119.5)
    double = cam.fit_to(1280, 960)
    assert (double.cx, double.cy) == (2 * (319.5 + 0.5) - 0.5, 2 * (239.5 + 0.5) - 0.5)
    # within the tolerance of 0.01 on width / height (a 1-pixel rounding of an odd size)
    near = cam.fit_to(641, 480)
    assert (near.width, near.height) == (641, 480)
    assert near.cx == pytest.approx(641 / 640 * (319.5 + 0.5) - 0.5)


def test_fit_to_another_aspect_is_refused_naming_both_sizes():
    cam = CameraModel.from_matrix(K, 640, 480)
    with pytest.raises(ValueError, match=r"for 640x480 images cannot describe 500x500 images \(another aspect"):
        cam.fit_to(500, 500)
    with pytest.raises(ValueError, match="640x360"):
        cam.fit_to(640, 360)
    with pytest.raises(ValueError, match="height must be a positive integer"):
        cam.fit_to(640, 0)
