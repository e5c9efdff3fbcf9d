"""Evaluation: LAM1..LAM4 and the expert, offline on the held-out reference trajectories (object,
operation and status accuracy, step and task success rate) and online in WordSim VMs (task success
by the verifier, completion time, steps per task, step latency, invalid actions, per family).

    python -m jobs.evaluate config=tiny [eval.models=[lam2,lam4] eval.online=false]

Writes <run dir>/eval/results.json and W&B tables; ``lam-rl report`` turns them into report.md.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from cluster.evaluate import evaluate
from jobs import run_job
from jobs.config import Config

if TYPE_CHECKING:
    from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.evaluate")


def done(cfg: Config) -> bool:
    return (cfg.run_dir / "eval" / "results.json").exists()


def check(cfg: Config) -> None:
    """The held-out reference trajectories, and every checkpoint given as a path."""
    from cluster.evaluate import models_to_evaluate
    from lam_rl.config import ConfigError
    from lam_rl.store import TrajectoryStore

    tag = cfg.collect.eval_tag
    if not TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False).has_tag(tag):
        raise ConfigError(
            f"store tag '{tag}' does not exist in {cfg.store_uri}; run jobs.collect (phase 0b) first"
        )
    models_to_evaluate(cfg)
    if cfg.eval.online and cfg.fleet.vms:
        from cluster.fleet import check_vms

        check_vms(cfg.fleet, cfg.env)


def main(cfg: Config, tr: Tracker) -> None:
    results = evaluate(cfg, tr)
    log.info(
        "evaluation written to %s (%d models)",
        cfg.run_dir / "eval" / "results.json",
        len(results["models"]),
    )


if __name__ == "__main__":
    run_job(Config, main, name="evaluate", doc=__doc__, check=check)
