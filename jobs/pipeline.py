"""The whole recipe in order, resumable: each stage is skipped when its output already exists.

    python -m jobs.pipeline config=tiny            # everything, embedded Ray
    python -m jobs.pipeline stages=[base] force=[base]

Stages so far: base (tokenizer + LAM0). Each phase job adds its stage here as it lands.
"""

from __future__ import annotations

import logging
import time

from jobs import run_job
from lam_rl.config import to_dict
from lam_rl.job_configs import PipelineConfig
from lam_rl.models.bootstrap import ensure_base_model
from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.pipeline")


def stage_base(cfg: PipelineConfig) -> None:
    with Tracker(cfg.tracking, run_dir=cfg.run_dir, name="base", job_type="base", config=to_dict(cfg)) as tr:
        path, params = ensure_base_model(cfg.model, cfg.tokenizer, cfg.run_dir, cfg.run.seed)
        tr.log({"model/parameters": params})
        tr.summary(checkpoint=str(path), parameters=params)


def base_done(cfg: PipelineConfig) -> bool:
    return (cfg.run_dir / "checkpoints" / "base" / "config.json").exists()


STAGES = [
    ("base", stage_base, base_done),
]


def main(cfg: PipelineConfig) -> None:
    known = [name for name, _, _ in STAGES]
    for s in [*cfg.stages, *cfg.force]:
        if s not in known:
            from lam_rl.config import ConfigError

            raise ConfigError(f"unknown pipeline stage '{s}'. Stages: {', '.join(known)}")
    for name, fn, done in STAGES:
        if cfg.stages and name not in cfg.stages:
            continue
        if done(cfg) and name not in cfg.force:
            log.info("stage %s: output exists, skipped", name)
            continue
        t0 = time.time()
        log.info("stage %s: running", name)
        fn(cfg)
        log.info("stage %s: done in %.1fs", name, time.time() - t0)
    log.info("pipeline finished: outputs in %s", cfg.run_dir)


if __name__ == "__main__":
    run_job(PipelineConfig, main, name="pipeline", doc=__doc__)
