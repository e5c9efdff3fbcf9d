"""Entry points: one module per phase, each runnable as ``python -m jobs.<name> key=value ...``.

This folder is the ``--working-dir`` of ``ray job submit``; configs are in ``jobs/configs/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"


def run_job(
    schema: type,
    fn: Callable[[Any], Any],
    name: str,
    doc: str | None = None,
    needs_ray: bool = True,
    check: Callable[[Any], Any] | None = None,
) -> None:
    """Run a job; ``check(cfg)`` checks its inputs (raising ConfigError) before anything is written."""
    from cluster.runtime import job_main

    job_main(schema, fn, name=name, configs_dir=CONFIGS_DIR, doc=doc, needs_ray=needs_ray, check=check)
