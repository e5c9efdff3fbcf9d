"""The whole recipe in order, resumable: each stage is skipped when its output already exists.

    python -m jobs.pipeline config=tiny                 # what `make demo` runs (embedded Ray)
    python -m jobs.pipeline stages=[collect,sft-imitate] force=[sft-imitate]

0a taskplan -> 0b collect -> 1 sft-plan (LAM1) -> 2 sft-imitate (LAM2) -> 3 explore + sft-boost (LAM3)
-> 4 reward + ppo (LAM4) -> evaluate -> report. Every stage is also a job of its own (jobs/*.py).
"""

from __future__ import annotations

import functools
import importlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping

from jobs import run_job, run_main
from jobs.config import PipelineConfig
from lam_rl import phases
from lam_rl.phases import PhaseSpec

log = logging.getLogger("jobs.pipeline")


def write_report(cfg: PipelineConfig, tracker) -> None:
    from lam_rl.eval.report import write_report as report

    path = report(cfg.run_dir, tracker=tracker)
    log.info("report: %s", path)


def report_done(cfg: PipelineConfig) -> bool:
    return False  # cheap, and always reflects the latest results


def fresh_start(cfg: PipelineConfig, stage: str) -> None:
    """A forced training stage starts over: drop its resumable learner state, which may come from
    another config (a crash-restart inside the stage still resumes from what this run writes)."""
    import shutil

    spec = phases.PHASES.get(stage)
    ds = spec.state_dir(cfg) if spec is not None else None
    if ds is not None and ds.is_dir():
        log.info("stage %s: forced, removing its resumable state %s", stage, ds)
        shutil.rmtree(ds)


Run = Callable[[PipelineConfig], object]
Done = Callable[[PipelineConfig], bool]


@functools.cache
def _stage(name: str) -> tuple[Run, Done, Run | None]:
    """(run, done, check) of a row of the phase table: its job module's, run as ``run_job`` runs it
    (``prepare``, then ``main`` in the job's W&B run). A job with one module for several phases
    (``jobs.sft``) gives the functions of each phase with ``for_phase(key)``. The job module is
    imported the first time its stage is asked for, so a bad config is refused before torch,
    transformers or Ray are imported."""
    spec: PhaseSpec = phases.PHASES[name]
    if not spec.module:  # the report: a pipeline step of its own
        return lambda c: run_main(write_report, c, spec), report_done, None
    job = importlib.import_module(spec.module)
    if hasattr(job, "for_phase"):
        return job.for_phase(spec.key)
    prepare = getattr(job, "prepare", None)
    return (
        lambda c: run_main(job.main, c, spec, prepare=prepare),
        job.done,
        getattr(job, "check", None),
    )


def _run(name: str) -> Run:
    return lambda c: _stage(name)[0](c)


def _done(name: str) -> Done:
    return lambda c: _stage(name)[1](c)


Stage = tuple[str, Run, Done]
_NAMES = [spec.name for spec in phases.stages()]
# (name, run, done) in the phase table's order; the pipeline skips a stage when done is true
STAGES: list[Stage] = [(name, _run(name), _done(name)) for name in _NAMES]


def run_stage(name: str, cfg: PipelineConfig) -> object:
    """Run one stage on ``cfg`` as the pipeline does (its job's work, in its W&B run), done or not."""
    return _stage(name)[0](cfg)


class _Checks(Mapping[str, Run]):
    """The input check of each stage that has inputs of its own (outputs of earlier stages or given
    paths); a stage's job module is imported when its check is asked for."""

    def __getitem__(self, name: str) -> Run:
        check = _stage(name)[2] if name in _NAMES else None
        if check is None:
            raise KeyError(name)
        return check

    def __iter__(self) -> Iterator[str]:
        return (name for name in _NAMES if _stage(name)[2] is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


CHECKS: Mapping[str, Run] = _Checks()


def check(cfg: PipelineConfig) -> None:
    """The inputs of the first stage that will run (the stage names are checked when the config
    loads): later stages read what earlier ones write, so only the first can be checked before
    anything runs (each checks again when it starts)."""
    for name, _, done in STAGES:
        if cfg.stages and name not in cfg.stages:
            continue
        if name in cfg.force or not done(cfg):
            if name in CHECKS:
                CHECKS[name](cfg)
            return


def _keep_ctrl_c(handler: object) -> None:
    """Put back the driver's Ctrl-C handler if a stage's library left its own behind (Ray Train's
    ``fit`` does; ``cluster.train.fit_keeping_sigint`` restores it, this catches any other): a
    Ctrl-C between stages must stop the pipeline, not reach a finished run's controller."""
    import signal
    import threading

    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is not handler
    ):
        log.debug("restoring the driver's SIGINT handler (a stage left %r)", signal.getsignal(signal.SIGINT))
        signal.signal(signal.SIGINT, handler)  # type: ignore[arg-type]


def main(cfg: PipelineConfig) -> None:
    import signal

    t_all = time.time()
    ctrl_c = signal.getsignal(signal.SIGINT)
    for name, run, done in STAGES:
        _keep_ctrl_c(ctrl_c)
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
