"""Phase 4a: the reward model, then rewards for every recorded step.

    python -m jobs.reward config=tiny [reward.lora.r=8 reward.optim.epochs=2]

Trains the RM (LAM3 backbone with a scalar head, LoRA r=8/alpha=32/dropout=0.1, MSE on +1 for
steps of successful trajectories and -1 for failed ones) on Ray Train + DeepSpeed, reports
held-out step accuracy and AUC, registers it as ``reward.output``, then serves it (RewardServer,
Ray Serve) to score the steps of ``reward.tags`` and writes the rewards back as a new store version.
"""

from __future__ import annotations

import logging

from cluster.reward import score_store, train_reward
from jobs import run_job
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.config import to_dict
from lam_rl.job_configs import Config
from lam_rl.store import TrajectoryStore
from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.reward")


def done(cfg: Config) -> bool:
    trained = CheckpointRegistry(cfg.run_dir / "checkpoints").latest(cfg.reward.output) is not None
    return trained and TrajectoryStore(cfg.store_uri, cfg.store.storage_options).has_tag(cfg.reward.score_tag)


def main(cfg: Config) -> None:
    if CheckpointRegistry(cfg.run_dir / "checkpoints").latest(cfg.reward.output) is None:
        summary = train_reward(cfg)
        log.info("reward model: %s", summary)
    with Tracker(
        cfg.tracking, run_dir=cfg.run_dir, name="reward-scoring", job_type="reward", config=to_dict(cfg)
    ) as tr:
        out = score_store(cfg, tr)
        log.info("rewards written: %s", out)
        tr.summary(**out)


if __name__ == "__main__":
    run_job(Config, main, name="reward", doc=__doc__)
