"""Phases 1-3: supervised fine-tuning on Ray Train + DeepSpeed.

    python -m jobs.sft phase=plan      # LAM1: task -> plan pretraining on the task-plan corpus
    python -m jobs.sft phase=imitate   # LAM2: imitation of the expert's successful trajectories
    python -m jobs.sft phase=boost     # LAM3: expert successes + LAM2's exploration successes

Each phase starts from the previous LAM's checkpoint, resumes from its own last checkpoint
(learner.resume=auto), and registers an HF folder under <run dir>/checkpoints/.
"""

from __future__ import annotations

import logging

from cluster.sft import check_inputs, sft_done, train_sft
from jobs import run_job
from jobs.config import SFTJobConfig

log = logging.getLogger("jobs.sft")


def check(cfg: SFTJobConfig) -> None:
    """The phase's starting checkpoint and its store tags, with rows to train on."""
    check_inputs(cfg, cfg.phase)


def main(cfg: SFTJobConfig) -> None:
    summary = train_sft(cfg, cfg.phase)
    log.info(
        "sft %s finished: %s",
        cfg.phase,
        {k: round(v, 4) if isinstance(v, float) else v for k, v in summary.items()},
    )


def for_phase(phase: str):
    """(run, done, check) of one SFT phase, for the pipeline (whose config has no ``phase=``)."""
    return (
        lambda cfg: train_sft(cfg, phase),
        lambda cfg: sft_done(cfg, phase),
        lambda cfg: check_inputs(cfg, phase),
    )


if __name__ == "__main__":
    run_job(SFTJobConfig, main, name="sft", doc=__doc__, check=check)
