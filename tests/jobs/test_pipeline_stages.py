"""Pipeline stage bookkeeping that needs no training: a forced stage starts from scratch."""

from __future__ import annotations

import pytest

from jobs.config import PipelineConfig
from jobs.pipeline import STAGES, fresh_start
from lam_rl.config import ConfigError, load_config


def _cfg(repo_root, tmp_path, *extra):
    return load_config(
        PipelineConfig,
        ["config=tiny", f"run.root={tmp_path}", *extra],
        configs_dir=repo_root / "jobs/configs",
    )


def test_forced_training_stage_drops_only_its_own_resumable_state(repo_root, tmp_path):
    cfg = _cfg(repo_root, tmp_path, "reward.output=rm-b")
    for name in ["lam2", "lam3", "rm-b"]:
        (cfg.run_dir / "train" / name / "ds" / "step00000040").mkdir(parents=True)
        (cfg.run_dir / "train" / name / "final").mkdir()
    fresh_start(cfg, "sft-imitate")
    fresh_start(cfg, "reward")
    fresh_start(cfg, "collect")  # not a training stage: nothing to drop
    assert not (cfg.run_dir / "train" / "lam2" / "ds").exists()
    assert not (cfg.run_dir / "train" / "rm-b" / "ds").exists()
    assert (cfg.run_dir / "train" / "lam3" / "ds" / "step00000040").is_dir()  # another stage's state is kept
    assert (cfg.run_dir / "train" / "lam2" / "final").is_dir()


def test_unknown_stage_is_a_config_error(repo_root, tmp_path):
    with pytest.raises(ConfigError, match="unknown pipeline stage 'sft-imitat'"):
        _cfg(repo_root, tmp_path, "force=[sft-imitat]")
    with pytest.raises(ConfigError, match="unknown pipeline stage 'nope'"):
        _cfg(repo_root, tmp_path, "stages=[collect,nope]")
    assert [s[0] for s in STAGES][:2] == ["taskplan", "collect"]
