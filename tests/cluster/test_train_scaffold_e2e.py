"""The learners' rank-0 scaffold on real Ray Train: the config dataclass arrives as it was loaded,
rank 0 gets the phase's one W&B run, ``publish`` registers the final folder, the summary comes back."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _body(run) -> dict[str, Any]:
    """A learner body without a model: what a real one would see, sent back as its summary."""
    from lam_rl.algos.engine import ds_config

    cfg = run.cfg
    hf = Path(cfg.run_dir) / "train" / "scaffold" / "final"
    hf.mkdir(parents=True, exist_ok=True)
    (hf / "config.json").write_text("{}")
    (hf / "model.safetensors").write_bytes(b"")
    if run.info.rank == 0:
        run.publish(hf, "scaffold-out", phase=run.args["phase"], step=3, **run.inputs)
        run.tracker.log({"train/loss": 1.5}, 1)
    optimizer = ds_config(cfg.learner, cfg.sft.optim, 1, 10, False)["optimizer"]["params"]
    return {
        "cfg_type": type(cfg).__name__,
        "phase": cfg.phase,
        "lr": cfg.sft.optim.lr,
        "optimizer_lr": optimizer["lr"],
        "rank0_tracked": run.tracker is not None,
    }


def test_the_config_dataclass_reaches_the_worker_and_rank_0_tracks_and_publishes(ray_session, cfg_factory):
    import ray.cloudpickle

    from cluster.train import run_learner
    from jobs.config import SFTJobConfig
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.tracking import find_offline_runs, read_jsonl_metrics

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the body lives in this test file
    cfg = cfg_factory("phase=plan", "sft.optim.lr=3.7e-4", "learner.num_workers=1", schema=SFTJobConfig)
    inputs = {"rows": 7, "tags": ["taskplan"]}
    summary = run_learner(
        _body,
        cfg,
        inputs,
        args={"phase": "plan"},
        name="scaffold",
        job_type="sft-plan",
        wandb_extra={"phase": "plan"},
    )
    # one hop across Ray: the job's own class, its switches and sft.optim.lr untouched, up to DeepSpeed's AdamW
    assert summary["cfg_type"] == "SFTJobConfig" and summary["phase"] == "plan"
    assert summary["lr"] == summary["optimizer_lr"] == 3.7e-4
    assert summary["rank0_tracked"] is True
    entry = CheckpointRegistry(cfg.run_dir / "checkpoints").latest("scaffold-out")
    assert entry is not None and entry.final and entry.phase == "plan" and entry.step == 3
    assert Path(entry.path) == cfg.run_dir / "checkpoints" / "scaffold-out"
    assert entry.info == inputs
    mirror = read_jsonl_metrics(cfg.run_dir / "metrics" / "scaffold.jsonl")
    assert [r["train/loss"] for r in mirror if "train/loss" in r] == [1.5]
    assert len(find_offline_runs(cfg.run_dir)) == 1  # rank 0's one W&B run, finished
