"""The frame pool (fo1_ros.train.pool)."""

from __future__ import annotations

import shutil

import pytest

from fo1_ros.synth import SceneConfig
from fo1_ros.train.pool import build_pool, check_pool_fits


def test_frame_pool_larger_than_the_free_disk_is_refused_before_rendering(tmp_path):
    """A pool that cannot fit fails at once with the sizes (build_pool checks before rendering)."""

    cfg = SceneConfig()
    fits = shutil.disk_usage(tmp_path).free // (cfg.width * cfg.height * 3)
    check_pool_fits(tmp_path, 1, cfg)
    check_pool_fits(tmp_path, fits // 2, cfg)
    with pytest.raises(OSError, match="GiB free"):
        check_pool_fits(tmp_path, fits + 1, cfg)
    # build_pool refuses before it allocates or renders anything
    with pytest.raises(OSError, match="GiB free"):
        build_pool(tmp_path / "pool", list(range(fits + 1)), cfg, workers=1, use_proposer=False)
    assert list((tmp_path / "pool").iterdir()) == []
