"""Phase 4a: the reward model, then rewards for every recorded step.

    python -m jobs.reward config=tiny [reward.lora.r=8 reward.optim.epochs=2]

Trains the RM (LAM3 backbone with a scalar head, LoRA r=8/alpha=32/dropout=0.1, MSE on +1 for
steps of successful trajectories and -1 for failed ones) on Ray Train + DeepSpeed, reports
held-out step accuracy and AUC, registers it as ``reward.output``, then serves it (RewardServer,
Ray Serve) to score the steps of ``reward.tags`` and writes the rewards back as a new store version.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from cluster.reward import score_store, train_reward
from jobs import run_job
from jobs.config import Config
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.store import TrajectoryStore

if TYPE_CHECKING:
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


def prepare(cfg: Config) -> None:
    """Train the reward model when it does not exist yet (its Ray Train workers track themselves)."""
    if CheckpointRegistry(cfg.run_dir / "checkpoints").latest(cfg.reward.output) is None:
        summary = train_reward(cfg)
        log.info("reward model: %s", summary)


def main(cfg: Config, tr: Tracker) -> None:
    """Score the steps of reward.tags with the reward model, in the job's W&B run."""
    out = score_store(cfg, tr)
    log.info("rewards written: %s", out)
    tr.summary(**out)


if __name__ == "__main__":
    run_job(Config, main, name="reward", doc=__doc__, check=check, prepare=prepare)
