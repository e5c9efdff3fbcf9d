"""Entry points: one module per phase, each runnable as ``python -m jobs.<name> key=value ...``.

This package ships in the wheel with its YAML configs (``jobs/configs/``, found through
``importlib.resources``), so every job runs the same from a checkout, from the ``--working-dir`` of
``ray job submit`` and from an installed ``lam-rl``.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from importlib import resources
from typing import Any

# The packaged configs (tiny.yaml, small.yaml): `config=NAME` looks here first, then at files.
CONFIGS_DIR = resources.files(__name__) / "configs"

# The config class of each job ("module:Class"), for the jobs whose class is not the shared Config
# (they add top-level switches such as `phase=`). The job list itself is the modules of this package.
DEFAULT_SCHEMA = "jobs.config:Config"
SCHEMAS: dict[str, str] = {
    "pipeline": "jobs.config:PipelineConfig",
    "ppo": "jobs.config:PPOJobConfig",
    "sft": "jobs.config:SFTJobConfig",
}

# job name -> "module:Class" of its config, for every job module (jobs.<name>) of this package
JOBS: dict[str, str] = {
    m.name: SCHEMAS.get(m.name, DEFAULT_SCHEMA)
    for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if not m.ispkg and not m.name.startswith("_") and m.name != "config"  # config: the classes, not a job
}


def schema_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def run_job(
    schema: type,
    fn: Callable[[Any], Any],
    name: str,
    doc: str | None = None,
    needs_ray: bool = True,
    check: Callable[[Any], Any] | None = None,
) -> None:
    """Run a job; ``check(cfg)`` checks its inputs (raising ConfigError) before anything is written."""
    if JOBS.get(name) != schema_path(schema):
        raise RuntimeError(
            f"job {name!r} runs with {schema_path(schema)} but jobs.JOBS says {JOBS.get(name)}: "
            "add the job's config class to jobs.SCHEMAS"
        )
    from cluster.runtime import job_main

    job_main(schema, fn, name=name, configs_dir=CONFIGS_DIR, doc=doc, needs_ray=needs_ray, check=check)
