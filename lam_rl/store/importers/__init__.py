"""Importers for the public formats the paper's ecosystem uses (see PAPER.md):

- ``ufo-dataflow``: UFO dataflow result records, a folder of JSON files (``ufo.py``);
- ``gui360``: GUI-360 step JSONL, one step a line, grouped by ``execution_id`` (``gui360.py``).

Both produce trajectories (``traj_id`` = ``ufo-<unique_id>`` / ``gui360-<execution_id>``, so importing
the same data twice adds nothing) and task-plan records. A malformed record is reported with its
file (and line) and the field at fault, and the rest still imports; with ``strict=True`` any issue
aborts the import before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lam_rl.store.errors import InvalidRecord, StoreError
from lam_rl.store.importers import gui360, ufo
from lam_rl.store.importers.common import ImportIssue, ImportReport
from lam_rl.store.records import TaskPlanRecord, Trajectory

if TYPE_CHECKING:
    from lam_rl.store.store import TrajectoryStore

__all__ = ["FORMATS", "ImportIssue", "ImportReport", "import_path", "read_records"]

FORMATS: dict[str, Callable[..., Iterator[TaskPlanRecord | Trajectory | ImportIssue]]] = {
    ufo.FORMAT: ufo.read,
    gui360.FORMAT: gui360.read,
}
_FILES = {ufo.FORMAT: ufo.files, gui360.FORMAT: gui360.files}


def read_records(
    fmt: str,
    path: str | Path,
    *,
    phase: str = "collect",
    policy: str | None = None,
    policy_version: int = 0,
    family: str = "",
    split: str = "train",
) -> Iterator[TaskPlanRecord | Trajectory | ImportIssue]:
    """Parse ``path`` without writing: task plans, trajectories and issues, in file order."""
    if fmt not in FORMATS:
        raise StoreError(f"unknown import format {fmt!r}; formats: {', '.join(FORMATS)}")
    p = Path(path)
    if not p.exists():
        raise StoreError(f"import path {p} does not exist")
    if not _FILES[fmt](p):
        raise StoreError(
            f"no {fmt} files under {p} (expected {'*.json' if fmt == ufo.FORMAT else '*.jsonl'})"
        )
    return FORMATS[fmt](
        p, phase=phase, policy=policy or fmt, policy_version=policy_version, family=family, split=split
    )


def import_path(
    store: TrajectoryStore,
    fmt: str,
    path: str | Path,
    *,
    phase: str = "collect",
    policy: str | None = None,
    policy_version: int = 0,
    family: str = "",
    split: str = "train",
    strict: bool = False,
    batch_size: int = 256,
) -> ImportReport:
    """Import ``path`` into ``store``; returns counts and the issues found (each malformed record)."""
    kw = {
        "phase": phase,
        "policy": policy,
        "policy_version": policy_version,
        "family": family,
        "split": split,
    }
    if fmt not in FORMATS:
        raise StoreError(f"unknown import format {fmt!r}; formats: {', '.join(FORMATS)}")
    report = ImportReport(fmt, str(path), files=len(_FILES[fmt](Path(path))) if Path(path).exists() else 0)
    if strict:  # a first pass that writes nothing: any issue aborts
        issues = [x for x in read_records(fmt, path, **kw) if isinstance(x, ImportIssue)]
        if issues:
            shown = "\n  ".join(str(i) for i in issues[:20])
            more = f"\n  ... and {len(issues) - 20} more" if len(issues) > 20 else ""
            raise InvalidRecord(
                f"{len(issues)} malformed record(s) in {path}; nothing was imported:\n  {shown}{more}"
            )
    plans: list[TaskPlanRecord] = []
    with store.writer(batch_size=batch_size, flush_interval_s=3600.0, background=False) as w:
        for item in read_records(fmt, path, **kw):
            if isinstance(item, ImportIssue):
                report.issues.append(item)
            elif isinstance(item, TaskPlanRecord):
                plans.append(item)
                if len(plans) >= 4096:
                    report.taskplans += store.add_taskplans(plans)
                    plans.clear()
            else:
                w.add(item)
    if plans:
        report.taskplans += store.add_taskplans(plans)
    report.trajectories = w.totals.trajectories
    report.steps = w.totals.steps
    report.duplicates = w.totals.duplicates
    return report
