"""Entry points: one module per phase, each runnable as ``python -m jobs.<name> key=value ...``.

This package ships in the wheel with its YAML configs (``jobs/configs/``, found through
``importlib.resources``), so every job runs the same from a checkout, from the ``--working-dir`` of
``ray job submit`` and from an installed ``lam-rl``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from lam_rl.phases import TABLE, PhaseSpec, job_schemas

# The packaged configs (tiny.yaml, small.yaml): `config=NAME` looks here first, then at files.
CONFIGS_DIR = resources.files(__name__) / "configs"

# job name -> "module:Class" of its config, for every job the phase table (lam_rl/phases.py) runs
JOBS: dict[str, str] = job_schemas()


def schema_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def run_main(
    main: Callable[..., Any], cfg: Any, spec: PhaseSpec, prepare: Callable[[Any], Any] | None = None
) -> Any:
    """Run a job's work on ``cfg``, as ``run_job`` and the pipeline both do: ``prepare(cfg)`` first
    (work that tracks itself, e.g. the reward model's Ray Train workers), then ``main(cfg, tracker)``
    inside the job's one W&B run (``spec.run``), or ``main(cfg)`` when the job has none."""
    if prepare is not None:
        prepare(cfg)
    if spec.run is None:
        return main(cfg)
    from lam_rl.config import to_dict
    from lam_rl.tracking import Tracker

    with Tracker(
        cfg.tracking, run_dir=cfg.run_dir, name=spec.run, job_type=spec.job_type, config=to_dict(cfg)
    ) as tracker:
        return main(cfg, tracker)


def run_job(
    schema: type,
    fn: Callable[..., Any],
    name: str,
    doc: str | None = None,
    needs_ray: bool = True,
    check: Callable[[Any], Any] | None = None,
    prepare: Callable[[Any], Any] | None = None,
) -> None:
    """Run a job; ``check(cfg)`` checks its inputs (raising ConfigError) before anything is written.
    ``fn`` is called as :func:`run_main` calls it (with the Tracker when the job's phase has a run)."""
    if JOBS.get(name) != schema_path(schema):
        raise RuntimeError(
            f"job {name!r} runs with {schema_path(schema)} but jobs.JOBS says {JOBS.get(name)}: "
            "set the schema of its rows in lam_rl/phases.py"
        )
    from cluster.runtime import job_main

    spec = next(p for p in TABLE if p.job == name)
    job_main(
        schema,
        lambda cfg: run_main(fn, cfg, spec, prepare),
        name=name,
        configs_dir=CONFIGS_DIR,
        doc=doc,
        needs_ray=needs_ray,
        check=check,
    )
