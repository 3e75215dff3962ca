"""make_proposal_source (fo1_ros/proposals/__init__.py): the one factory of proposal sources."""

from __future__ import annotations

import numpy as np
import pytest

from fo1_ros.proposals import (
    SOURCE_NAMES,
    GivenBoxes,
    RGBDConfig,
    RGBDProposer,
    make_proposal_source,
)


# ------------------------------------------------------------------------------ factory
def test_factory_default_is_rgbd():
    src = make_proposal_source()
    assert isinstance(src, RGBDProposer) and src.name == "rgbd"
    assert make_proposal_source("RGBD", band_px=9).config.band_px == 9
    cfg = RGBDConfig(min_seed_px=20)
    assert make_proposal_source("rgbd", config=cfg).config is cfg


def test_factory_given():
    src = make_proposal_source("given", boxes=np.array([[1, 2, 30, 40]]))
    assert isinstance(src, GivenBoxes)
    props = src(np.zeros((50, 60, 3), np.uint8))
    np.testing.assert_array_equal(props.boxes, [[1, 2, 30, 40]])


def test_factory_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as e:
        make_proposal_source("upn")
    for name in SOURCE_NAMES:
        assert repr(name) in str(e.value)


@pytest.mark.parametrize("name, kwargs", [("rgbd", {"no_such_field": 1}), ("given", {"nope": 1}),
                                          ("rgbd", {"config": RGBDConfig(), "band_px": 3})])
def test_factory_bad_arguments(name, kwargs):
    with pytest.raises(ValueError):
        make_proposal_source(name, **kwargs)


def test_factory_hf_needs_an_existing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing_model"):
        make_proposal_source("hf", folder=tmp_path / "missing_model")
