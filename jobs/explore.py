"""Phase 3a (self-boosting): LAM2 retries the tasks the expert failed, in VMs.

    python -m jobs.explore config=tiny explore.attempts=2 explore.temperature=0.7

The checkpoint is served by the policy server (Ray Serve, batched generation); rollout workers
act with it; every attempt's trajectory lands in the store under ``explore.tag`` and phase 3b
(``jobs.sft phase=boost``) trains on the successes.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from cluster.explore import explore
from jobs import run_job
from jobs.config import Config
from lam_rl.store import TrajectoryStore

if TYPE_CHECKING:
    from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.explore")


def done(cfg: Config) -> bool:
    from lam_rl.store.errors import StoreNotFound

    try:  # create=False: asking must not create an empty store
        return TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False).has_tag(cfg.explore.tag)
    except StoreNotFound:
        return False


def check(cfg: Config) -> None:
    """Phase 3's inputs: the expert's failed trajectories to retry and the checkpoint that retries them."""
    from cluster.explore import failed_tasks
    from lam_rl.checkpoints import CheckpointRegistry, resolve_checkpoint
    from lam_rl.config import ConfigError

    e = cfg.explore
    resolve_checkpoint(
        e.checkpoint, CheckpointRegistry(cfg.run_dir / "checkpoints"), "jobs.sft phase=imitate"
    )
    if not failed_tasks(TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False), e.source_tag, 1):
        raise ConfigError(f"tag '{e.source_tag}' has no failed training trajectories to retry")
    if cfg.fleet.vms:
        from cluster.fleet import check_vms

        check_vms(cfg.fleet, cfg.env)


def main(cfg: Config, tr: Tracker) -> None:
    s = explore(cfg, tr)
    log.info("explore: %d attempts, %d successes (%.1f%%)", s.done, s.successes, 100 * s.success_rate)
    tr.summary(attempts=s.done, successes=s.successes, success_rate=s.success_rate)


if __name__ == "__main__":
    run_job(Config, main, name="explore", doc=__doc__, check=check)
