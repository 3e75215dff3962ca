"""SceneConfig validation, serialisation and the shared vocabulary constants."""

import json

import pytest

from fo1_ros.synth import (
    CATEGORIES,
    COLOURS,
    SIZE_CLASS_RANGES_M,
    SIZE_CLASSES,
    TEXT_ALPHABET,
    TEXT_CATEGORIES,
    SceneConfig,
)


def test_vocabulary_sizes():
    assert len(CATEGORIES) >= 6 and len(set(CATEGORIES)) == len(CATEGORIES)
    assert len(COLOURS) >= 10
    for similar in (("red", "orange", "pink"), ("blue", "cyan", "purple")):
        assert set(similar) <= set(COLOURS)
    assert all(len(rgb) == 3 and all(0 <= c <= 255 for c in rgb) for rgb in COLOURS.values())
    assert SIZE_CLASSES == ("small", "medium", "large")
    assert set(TEXT_CATEGORIES) <= set(CATEGORIES)
    assert TEXT_ALPHABET == "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def test_size_classes_do_not_overlap():
    ranges = [SIZE_CLASS_RANGES_M[c] for c in SIZE_CLASSES]
    for (lo, hi), (next_lo, _) in zip(ranges, ranges[1:]):
        assert lo < hi < next_lo


def test_defaults_and_intrinsics():
    cfg = SceneConfig()
    assert (cfg.width, cfg.height) == (640, 480)
    fx, fy = cfg.focal_px
    assert fx == fy == pytest.approx(320 / 0.5773502691896257)  # 60 deg horizontal FOV
    assert cfg.principal_point == (319.5, 239.5)
    explicit = SceneConfig(width=320, height=240, fx=300.0, cx=160.0)
    assert explicit.focal_px == (300.0, 300.0)
    assert explicit.principal_point == (160.0, 119.5)


def test_round_trip_through_json():
    cfg = SceneConfig(width=320, height=240, n_objects=[2, 5], categories=["cube", "ball"],
                      colours=["red", "pink"], text_probability=0.5, shadows=False)
    data = cfg.to_dict()
    assert isinstance(data["n_objects"], list)
    again = SceneConfig.from_dict(json.loads(json.dumps(data)))
    assert again == cfg
    assert again.n_objects == (2, 5) and again.categories == ("cube", "ball")


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="n_object"):
        SceneConfig.from_dict({"n_object": [1, 3]})
    with pytest.raises(TypeError):
        SceneConfig.from_dict([("width", 3)])


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"width": 0}, ValueError, "width"),
        ({"width": "640"}, TypeError, "width"),
        ({"height": 12.5}, TypeError, "height"),
        ({"hfov_deg": 200}, ValueError, "hfov_deg"),
        ({"fy": 300.0}, ValueError, "fy"),
        ({"fx": -1.0}, ValueError, "fx"),
        ({"n_objects": (5, 2)}, ValueError, "n_objects"),
        ({"n_objects": (0, 2)}, ValueError, "n_objects"),
        ({"n_objects": 3}, TypeError, "n_objects"),
        ({"categories": ("cube", "teapot")}, ValueError, "teapot"),
        ({"categories": ()}, ValueError, "categories"),
        ({"categories": "cube"}, TypeError, "categories"),
        ({"colours": ("red", "red")}, ValueError, "duplicate"),
        ({"colours": ("magenta",)}, ValueError, "magenta"),
        ({"size_classes": ("huge",)}, ValueError, "huge"),
        ({"text_probability": 1.5}, ValueError, "text_probability"),
        ({"text_length": (1, 9)}, ValueError, "text_length"),
        ({"camera_distance_m": (1.0, 0.5)}, ValueError, "camera_distance_m"),
        ({"camera_pitch_deg": (20, 95)}, ValueError, "camera_pitch_deg"),
        ({"ambient": (0.2, float("nan"))}, ValueError, "ambient"),
        ({"shadows": 1}, TypeError, "shadows"),
        ({"depth_min_m": 3.0, "depth_max_m": 2.0}, ValueError, "depth_min_m"),
        ({"depth_dropout_fraction": 0.9}, ValueError, "depth_dropout_fraction"),
        ({"depth_edge_px": True}, TypeError, "depth_edge_px"),
        ({"supersample": 4}, ValueError, "supersample"),
    ],
)
def test_invalid_values_name_the_field(kwargs, exc, words):
    with pytest.raises(exc, match=words):
        SceneConfig(**kwargs)
