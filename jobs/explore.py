"""Phase 3a (self-boosting): LAM2 retries the tasks the expert failed, in VMs.

    python -m jobs.explore config=tiny explore.attempts=2 explore.temperature=0.7

The checkpoint is served by the policy server (Ray Serve, batched generation); rollout workers
act with it; every attempt's trajectory lands in the store under ``explore.tag`` and phase 3b
(``jobs.sft phase=boost``) trains on the successes.
"""

from __future__ import annotations

import logging

from cluster.explore import explore
from jobs import run_job
from lam_rl.config import to_dict
from lam_rl.job_configs import Config
from lam_rl.store import TrajectoryStore
from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.explore")


def done(cfg: Config) -> bool:
    return TrajectoryStore(cfg.store_uri, cfg.store.storage_options).has_tag(cfg.explore.tag)


def main(cfg: Config) -> None:
    with Tracker(
        cfg.tracking, run_dir=cfg.run_dir, name="explore", job_type="explore", config=to_dict(cfg)
    ) as tr:
        s = explore(cfg, tr)
        log.info("explore: %d attempts, %d successes (%.1f%%)", s.done, s.successes, 100 * s.success_rate)
        tr.summary(attempts=s.done, successes=s.successes, success_rate=s.success_rate)


if __name__ == "__main__":
    run_job(Config, main, name="explore", doc=__doc__)
