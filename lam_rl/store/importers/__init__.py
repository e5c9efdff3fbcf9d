"""Importers for the public formats the paper's ecosystem uses (see docs/store.md):

- ``ufo-dataflow``: UFO dataflow result records, a folder of JSON files (``ufo.py``);
- ``gui360``: GUI-360 step JSONL, one step a line, grouped by ``execution_id`` (``gui360.py``).

Both produce trajectories (``traj_id`` = ``ufo-<unique_id>-<attempt>`` / ``gui360-<execution_id>``, so
importing the same data twice adds nothing) and task-plan records. A malformed record is reported
with its file (and line) and the field at fault, and the rest still imports; with ``strict=True`` any
issue aborts the import before anything is written. Every record is checked whole (its task plan and
its trajectory encoded) before anything of it is written, so a record is imported entirely or not at
all, and an import that finds nothing to import raises and leaves the store as it was: a store that
did not exist is not created.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lam_rl.logs import progress
from lam_rl.store.encode import EncodedTrajectories, encode_taskplans
from lam_rl.store.errors import InvalidRecord, StoreError
from lam_rl.store.importers import gui360, ufo
from lam_rl.store.importers.common import ImportIssue, ImportReport
from lam_rl.store.records import TaskPlanRecord, Trajectory
from lam_rl.store.schemas import SPLITS

if TYPE_CHECKING:
    from lam_rl.store.store import TrajectoryStore

__all__ = ["FORMATS", "ImportIssue", "ImportReport", "NothingImported", "import_path", "read_records"]

FORMATS: dict[str, Callable[..., Iterator[Any]]] = {
    ufo.FORMAT: ufo.read,
    gui360.FORMAT: gui360.read,
}
_FILES = {ufo.FORMAT: ufo.files, gui360.FORMAT: gui360.files}
_PATTERN = {ufo.FORMAT: "*.json", gui360.FORMAT: "*.jsonl"}
_PLAN_BATCH = 4096


class NothingImported(StoreError):
    """An import found no well-formed record to import (empty files, or every record malformed)."""


@dataclass
class _Record:
    """One well-formed source record: its task plan, its trajectory (encoded: it can be stored)."""

    plan: TaskPlanRecord
    trajectory: Trajectory | None
    encoded: EncodedTrajectories | None


def _files(fmt: str, path: str | Path) -> list[Path]:
    if fmt not in FORMATS:
        raise StoreError(f"unknown import format {fmt!r}; formats: {', '.join(FORMATS)}")
    p = Path(path)
    if not p.exists():
        raise StoreError(f"import path {p} does not exist")
    found = _FILES[fmt](p)
    if not found:
        raise StoreError(f"no {fmt} files under {p} (expected {_PATTERN[fmt]})")
    return found


def _records(
    fmt: str, path: Path, kw: dict[str, Any], tick: Callable[[int], object] | None = None
) -> Iterator[_Record | ImportIssue]:
    """Well-formed records (checked whole: encoded as the store will hold them) and issues, in order."""
    for item in FORMATS[fmt](path, tick=tick, **kw):
        if isinstance(item, ImportIssue):
            yield item
            continue
        plan, traj, where, line = item
        try:
            plan.check()
            encode_taskplans([plan])
            enc = EncodedTrajectories.of([traj]) if traj is not None else None
        except InvalidRecord as e:  # what the field checks did not catch, Arrow does: the same issue
            yield ImportIssue(where, "<record>", str(e), line)
            continue
        yield _Record(plan, traj, enc)


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
    _files(fmt, path)  # the same input errors as import_path, raised now
    p = Path(path)
    kw = _kw(fmt, phase, policy, policy_version, family, split)

    def gen() -> Iterator[TaskPlanRecord | Trajectory | ImportIssue]:
        for r in _records(fmt, p, kw):
            if isinstance(r, ImportIssue):
                yield r
                continue
            yield r.plan
            if r.trajectory is not None:
                yield r.trajectory

    return gen()


def _kw(
    fmt: str, phase: str, policy: str | None, policy_version: int, family: str, split: str
) -> dict[str, Any]:
    """The values every imported trajectory records, checked once (not as an issue per record)."""
    for name, value in (("phase", phase), ("policy", policy or fmt), ("family", family), ("split", split)):
        if not isinstance(value, str):
            raise StoreError(f"{name} must be a string, got {type(value).__name__}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise StoreError(
                f"{name} {value!r:.60} is not valid text (a lone surrogate); fix the argument"
            ) from None
    if split not in SPLITS:
        raise StoreError(f"split must be one of {', '.join(SPLITS)}, got {split!r:.40}")
    if (
        isinstance(policy_version, bool)
        or not isinstance(policy_version, int)
        or not 0 <= policy_version < 2**63
    ):
        raise StoreError(f"policy_version must be an integer from 0 to 2**63-1, got {policy_version!r:.40}")
    return {
        "phase": phase,
        "policy": policy or fmt,
        "policy_version": policy_version,
        "family": family,
        "split": split,
    }


def _summary(issues: list[ImportIssue], limit: int = 20) -> str:
    shown = "\n  ".join(str(i) for i in issues[:limit])
    more = f"\n  ... and {len(issues) - limit} more" if len(issues) > limit else ""
    return f"\n  {shown}{more}" if issues else ""


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
    show_progress: bool | None = None,
) -> ImportReport:
    """Import ``path`` into ``store``; returns counts and the issues found (each malformed record).

    Raises :class:`NothingImported` (nothing written, no store created) when there is no well-formed
    record, and :class:`InvalidRecord` under ``strict`` when any record is malformed. A progress bar
    (bytes read) shows on a terminal (``show_progress``: force it on or off; quiet under CI).
    """
    files = _files(fmt, path)
    p = Path(path)
    kw = _kw(fmt, phase, policy, policy_version, family, split)
    report = ImportReport(fmt, str(path), files=len(files))
    if strict:  # a first pass that writes nothing: any issue aborts
        issues: list[ImportIssue] = []
        records = 0
        for x in _records(fmt, p, kw):
            if isinstance(x, ImportIssue):
                issues.append(x)
            else:
                records += 1
        if issues:
            raise InvalidRecord(
                f"{len(issues)} malformed record(s) in {path}; nothing was imported:{_summary(issues)}"
            )
        if records == 0:
            raise NothingImported(f"nothing to import: {path} holds no {fmt} records ({len(files)} file(s))")
    if store.exists():
        store.verify()  # never add to a damaged store (StoreCorrupt names the table)
    total = 0
    for f in files:
        with contextlib.suppress(OSError):  # an unreadable file becomes an issue when it is read
            total += f.stat().st_size
    disable = None if show_progress is None else not show_progress
    bar = progress(total=total, unit="B", unit_scale=True, desc=f"import {fmt}", disable=disable)
    plans: list[TaskPlanRecord] = []
    try:
        with store.writer(batch_size=batch_size, flush_interval_s=3600.0, background=False) as w:
            for item in _records(fmt, p, kw, tick=bar.update):
                if isinstance(item, ImportIssue):
                    report.issues.append(item)
                    continue
                report.records += 1
                plans.append(item.plan)
                if len(plans) >= _PLAN_BATCH:
                    report.taskplans += store.add_taskplans(plans)
                    plans.clear()
                if item.encoded is not None:
                    w.add(item.encoded)
                bar.set_postfix(records=report.records, issues=len(report.issues), refresh=False)
            if plans:
                report.taskplans += store.add_taskplans(plans)
    finally:
        bar.close()
    for item, reason in w.quarantine:  # nothing should reach here: every record was encoded above
        ids = item.outcomes.column("traj_id").to_pylist() if isinstance(item, EncodedTrajectories) else []
        report.issues.append(ImportIssue(", ".join(map(str, ids)) or "<batch>", "<record>", reason))
    report.trajectories = w.totals.trajectories
    report.steps = w.totals.steps
    report.duplicates = w.totals.duplicates
    if report.records == 0:
        why = (
            f"all {len(report.issues)} record(s) are malformed:{_summary(report.issues)}"
            if report.issues
            else f"the {len(files)} file(s) hold no {fmt} records"
        )
        raise NothingImported(f"nothing imported from {path}: {why}")
    return report
