"""Phase 4b: PPO from LAM3 to LAM4, with the reward model's scores as rewards.

    python -m jobs.ppo ppo.mode=offline                   # the paper: re-answer the failed trajectories' states, no VMs
    python -m jobs.ppo ppo.mode=online ppo.iterations=4   # beyond it: act in WordSim VMs through the policy server

Actor, critic and the frozen reference run as DeepSpeed engines in Ray Train workers; the paper's
settings are the defaults (lr 1.4e-5, batch 8, minibatch 1, 4 PPO epochs, target KL 0.1, initial KL
coefficient 0.2, rewards in [-0.5, 0.5]). The result is registered as ``ppo.output`` (LAM4).
"""

from __future__ import annotations

import logging

from cluster.ppo import train_ppo
from jobs import run_job
from jobs.config import Config
from lam_rl.checkpoints import CheckpointRegistry

log = logging.getLogger("jobs.ppo")


def done(cfg: Config) -> bool:
    return CheckpointRegistry(cfg.run_dir / "checkpoints").latest(cfg.ppo.output) is not None


def check(cfg: Config) -> None:
    """The starting checkpoint, the reward model when it is used, and (offline) the failed states."""
    if cfg.ppo.algo in ("grpo", "rloo"):
        from cluster.trl_online import check_inputs
    else:
        from cluster.ppo import check_inputs
    check_inputs(cfg)
    if cfg.ppo.mode == "online" and cfg.ppo.algo not in ("grpo", "rloo") and cfg.fleet.vms:
        from cluster.fleet import check_vms  # online PPO plays its episodes in these VMs

        check_vms(cfg.fleet, cfg.env)


def main(cfg: Config) -> None:
    summary = train_ppo(cfg)
    log.info("ppo %s finished: %s", cfg.ppo.mode, summary)


if __name__ == "__main__":
    run_job(Config, main, name="ppo", doc=__doc__, check=check)
