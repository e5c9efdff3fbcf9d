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
from jobs.config import Config
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.config import to_dict
from lam_rl.store import TrajectoryStore
from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.reward")


def done(cfg: Config) -> bool:
    from lam_rl.store.errors import StoreNotFound

    if CheckpointRegistry(cfg.run_dir / "checkpoints").latest(cfg.reward.output) is None:
        return False
    try:  # create=False: asking must not create an empty store
        return TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False).has_tag(cfg.reward.score_tag)
    except StoreNotFound:
        return False


def check(cfg: Config) -> None:
    """Training's inputs (LAM3, successes and failures under reward.tags) or, once the RM exists,
    the tags whose steps it scores."""
    from cluster.reward import check_inputs
    from lam_rl.config import ConfigError

    if CheckpointRegistry(cfg.run_dir / "checkpoints").latest(cfg.reward.output) is None:
        check_inputs(cfg)
        return
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    for t in cfg.reward.tags:
        if not store.has_tag(t):
            raise ConfigError(
                f"store tag '{t}' does not exist in {cfg.store_uri}; run the phase that writes it first"
            )


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
    run_job(Config, main, name="reward", doc=__doc__, check=check)
