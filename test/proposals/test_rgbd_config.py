"""fo1_ros/proposals/rgbd_config.py: RGBDConfig checks and its dict round trip."""

from __future__ import annotations

import pytest

from fo1_ros.proposals import RGBDConfig


# ------------------------------------------------------------------------------ config
@pytest.mark.parametrize("field, value", [("max_side", 8), ("ransac_iterations", 0), ("noise_base_m", -1.0),
                                          ("depth_min_m", 20.0), ("min_plane_fraction", 1.5),
                                          ("object_size_m", (0.5, 0.1)), ("colour_edge", float("nan"))])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field):
        RGBDConfig(**{field: value})


def test_config_dict_round_trip_and_unknown_keys():
    cfg = RGBDConfig(band_px=9, postprocess={"top_k": 20})
    assert cfg.postprocess.top_k == 20
    assert RGBDConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown keys"):
        RGBDConfig.from_dict({"band": 3})
