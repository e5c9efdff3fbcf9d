"""The whole recipe in order, resumable: each stage is skipped when its output already exists.

    python -m jobs.pipeline config=tiny                 # what `make demo` runs (embedded Ray)
    python -m jobs.pipeline stages=[collect,sft-imitate] force=[sft-imitate]

0a taskplan -> 0b collect -> 1 sft-plan (LAM1) -> 2 sft-imitate (LAM2) -> 3 explore + sft-boost (LAM3)
-> 4 reward + ppo (LAM4) -> evaluate -> report. Every stage is also a job of its own (jobs/*.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from cluster.ppo import train_ppo
from cluster.sft import SFT_PHASES, sft_done, train_sft
from cluster.sft import check_inputs as check_sft_inputs
from jobs import collect, evaluate, explore, ppo, reward, run_job, taskplan
from jobs.config import PipelineConfig
from lam_rl.config import ConfigError

log = logging.getLogger("jobs.pipeline")


def write_report(cfg: PipelineConfig) -> None:
    from lam_rl.config import to_dict
    from lam_rl.eval.report import write_report as report
    from lam_rl.tracking import Tracker

    with Tracker(
        cfg.tracking, run_dir=cfg.run_dir, name="report", job_type="report", config=to_dict(cfg)
    ) as tr:
        path = report(cfg.run_dir, tracker=tr)
    log.info("report: %s", path)


def report_done(cfg: PipelineConfig) -> bool:
    return False  # cheap, and always reflects the latest results


# the learner's resumable DeepSpeed state per training stage (run_dir/train/<name>/ds)
TRAIN_DIRS = {f"sft-{phase}": name for phase, name in SFT_PHASES.items()}


def fresh_start(cfg: PipelineConfig, stage: str) -> None:
    """A forced training stage starts over: drop its resumable learner state, which may come from
    another config (a crash-restart inside the stage still resumes from what this run writes)."""
    import shutil

    out = {**TRAIN_DIRS, "ppo": cfg.ppo.output, "reward": cfg.reward.output}.get(stage)
    if out is None:
        return
    ds = cfg.run_dir / "train" / out / "ds"
    if ds.is_dir():
        log.info("stage %s: forced, removing its resumable state %s", stage, ds)
        shutil.rmtree(ds)


Stage = tuple[str, Callable[[PipelineConfig], object], Callable[[PipelineConfig], bool]]
STAGES: list[Stage] = [
    ("taskplan", taskplan.main, taskplan.done),
    ("collect", collect.main, collect.done),
    ("sft-plan", lambda c: train_sft(c, "plan"), lambda c: sft_done(c, "plan")),
    ("sft-imitate", lambda c: train_sft(c, "imitate"), lambda c: sft_done(c, "imitate")),
    ("explore", explore.main, explore.done),
    ("sft-boost", lambda c: train_sft(c, "boost"), lambda c: sft_done(c, "boost")),
    ("reward", reward.main, reward.done),
    ("ppo", train_ppo, ppo.done),
    ("evaluate", evaluate.main, evaluate.done),
    ("report", write_report, report_done),
]


# The input check of each stage that has inputs of its own (outputs of earlier stages or given paths).
CHECKS: dict[str, Callable[[PipelineConfig], object]] = {
    "taskplan": taskplan.check,
    "collect": collect.check,
    "sft-plan": lambda c: check_sft_inputs(c, "plan"),
    "sft-imitate": lambda c: check_sft_inputs(c, "imitate"),
    "explore": explore.check,
    "sft-boost": lambda c: check_sft_inputs(c, "boost"),
    "reward": reward.check,
    "ppo": ppo.check,
    "evaluate": evaluate.check,
}


def check_stages(cfg: PipelineConfig) -> None:
    known = [name for name, _, _ in STAGES]
    for s in [*cfg.stages, *cfg.force]:
        if s not in known:
            raise ConfigError(f"unknown pipeline stage '{s}'. Stages: {', '.join(known)}")


def check(cfg: PipelineConfig) -> None:
    """Stage names, then the inputs of the first stage that will run: later stages read what earlier
    ones write, so only the first can be checked before anything runs (each checks again when it starts).
    """
    check_stages(cfg)
    for name, _, done in STAGES:
        if cfg.stages and name not in cfg.stages:
            continue
        if name in cfg.force or not done(cfg):
            if name in CHECKS:
                CHECKS[name](cfg)
            return


def main(cfg: PipelineConfig) -> None:
    check_stages(cfg)
    t_all = time.time()
    for name, run, done in STAGES:
        if cfg.stages and name not in cfg.stages:
            continue
        if name not in cfg.force and done(cfg):
            log.info("stage %s: output exists, skipped", name)
            continue
        if name in cfg.force:
            fresh_start(cfg, name)
        t0 = time.time()
        log.info("stage %s: running", name)
        run(cfg)
        log.info("stage %s: done in %.1fs", name, time.time() - t0)
    log.info("pipeline finished in %.1fs: outputs in %s", time.time() - t_all, cfg.run_dir)


if __name__ == "__main__":
    run_job(PipelineConfig, main, name="pipeline", doc=__doc__, check=check)
