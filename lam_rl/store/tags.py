"""Tags: named phase outputs (``collect-expert``, ``explore-lam2``) that later phases read by name.

A tag is a :class:`Snapshot` (one version per table) plus a row selection (``phase``, ``policy``,
``success``, ...). It is recorded twice:

- as a Lance tag of the same name on each data table (``steps``, ``outcomes``, ``taskplans``,
  ``rewards``) at the snapshot's version, so Lance's ``cleanup_old_versions`` keeps those versions;
- as a row in the ``tags`` manifest dataset (versions, selection, counts, note). The manifest row is
  written last and is what makes the tag exist; replacing or deleting a tag appends a newer row.

Reading by tag reads the named versions and applies the selection, so data appended later (by any
phase) never leaks into a tagged input, and a tagged input never changes.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store.core import Plan, Snapshot, StoreCore, TagInfo
from lam_rl.store.errors import EmptySelection, StoreError, TagExists, guarded, producer_hint
from lam_rl.store.records import utcnow
from lam_rl.store.schemas import TAGS

__all__ = ["TAG_HOOKS", "TagInfo", "Tags", "check_tag_name"]

log = logging.getLogger(__name__)

TAG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
TAGGED_TABLES = ("steps", "outcomes", "taskplans", "rewards")

# Called with (store, tag name) after a tag is created or moved, in the tagging process. The W&B
# Tracker subscribes while it is open, so each tag becomes a W&B dataset artifact where it is made.
# A hook that raises is logged and skipped: the tag itself has already been written.
TAG_HOOKS: list[Callable[[Any, str], None]] = []


def check_tag_name(name: str) -> str:
    if not isinstance(name, str) or not TAG_NAME.fullmatch(name):
        raise StoreError(
            f"bad tag name {name!r}: use letters, digits, '.', '-' and '_' (start with a letter or digit), "
            "e.g. collect-expert or explore-lam2"
        )
    return name


class Tags:
    """The tag methods of a :class:`~lam_rl.store.store.TrajectoryStore`, over its :class:`StoreCore`.

    ``subject`` is what :data:`TAG_HOOKS` are called with (the store the caller holds).
    """

    def __init__(self, core: StoreCore, subject: Any = None):
        self.core = core
        self.uri = core.uri
        self.subject = subject

    @guarded
    def tags(self) -> list[TagInfo]:
        """Every live tag, oldest first."""
        return sorted(self.core.manifest().values(), key=lambda i: (i.created_at or utcnow(), i.name))

    @guarded
    def has_tag(self, name: str) -> bool:
        return name in self.core.manifest()

    @guarded
    def tag(
        self,
        name: str,
        *,
        version: Snapshot | Mapping[str, int] | None = None,
        replace: bool = False,
        note: str = "",
        reward_model: str | None = None,
        reward_model_version: int | None = None,
        allow_empty: bool = False,
        **selection: Any,
    ) -> TagInfo:
        """Name the current snapshot (or ``version``) plus ``selection`` as ``name``.

        ``selection`` takes trajectory keys (``phase, policy, policy_version, success, family, app,
        split, task_id, template, complete, failure_kind, ...``) and/or task-plan keys (``source``).
        Raises :class:`EmptySelection` if it selects no trajectory and no task plan, and
        :class:`TagExists` if ``name`` is taken (unless ``replace``).
        """
        check_tag_name(name)
        if not replace and self.has_tag(name):
            raise TagExists(
                f"tag '{name}' already exists in {self.uri}; pass replace=True (--replace) to move it"
            )
        snap = Snapshot.coerce(version) if version is not None else self.core.snapshot()
        self.core.verify(snap)  # never name damaged data as a phase's output
        allowed = tuple(dict.fromkeys(F.TRAJ_KEYS + F.TASKPLAN_KEYS))
        sel = F.normalize(selection, "tag", allowed=allowed)
        counts = self._tag_counts(snap, sel)
        if not any(counts.values()) and not allow_empty:
            raise EmptySelection(
                f"tag '{name}' would select nothing: no trajectories or task plans match "
                f"{F.describe(sel)} in {self.uri}; {producer_hint(str((sel.get('phase') or (name,))[0]))}"
            )
        for table in TAGGED_TABLES:
            tags = self.core.dataset(table).tags
            v = snap.versions[table]
            try:
                if name in tags.list():
                    tags.update(name, v)
                else:
                    tags.create(name, v)
            except (ValueError, OSError) as e:  # another process created it in between
                if "exist" not in str(e).lower():
                    raise
                tags.update(name, v)
        info = TagInfo(
            name=name,
            versions=dict(snap.versions),
            selection={k: list(v) if len(v) > 1 else v[0] for k, v in sel.items()},
            reward_model=reward_model,
            reward_model_version=reward_model_version,
            note=note,
            counts=counts,
            created_at=utcnow(),
        )
        self._append_manifest(info, deleted=False)
        for hook in list(TAG_HOOKS):
            try:
                hook(self.subject, name)
            except Exception:  # a hook (W&B) must never fail a tag that is already written
                log.warning("store tag hook %r failed for tag %s", hook, name, exc_info=True)
        return info

    @guarded
    def delete_tag(self, name: str) -> None:
        """Remove a tag (its data stays; Lance may then clean up versions nothing else pins)."""
        info = self.core.get_tag(name)
        self._append_manifest(info, deleted=True)
        for table in TAGGED_TABLES:
            tags = self.core.dataset(table).tags
            if name in tags.list():
                tags.delete(name)

    def _append_manifest(self, info: TagInfo, *, deleted: bool) -> None:
        row = {
            "name": info.name,
            "versions": json.dumps(info.versions, sort_keys=True),
            "selection": json.dumps(info.selection, sort_keys=True),
            "reward_model": info.reward_model,
            "reward_model_version": info.reward_model_version,
            "note": info.note,
            "counts": json.dumps(info.counts, sort_keys=True),
            "deleted": deleted,
            "created_at": utcnow(),
        }
        self.core.append("tags", pa.Table.from_pylist([row], schema=TAGS), retries=3)

    def _tag_counts(self, snap: Snapshot, sel: F.Selection) -> dict[str, int]:
        counts = {"trajectories": 0, "steps": 0, "taskplans": 0}
        if all(k in F.TRAJ_KEYS for k in sel):
            s = self.core.select(Plan(dict(snap.versions), sel))
            counts["trajectories"], counts["steps"] = len(s.write_ids), s.num_steps
        if all(k in F.TASKPLAN_KEYS for k in sel):
            ds = self.core.dataset("taskplans", snap.versions["taskplans"])
            ids = ds.to_table(columns=["task_id"], filter=F.to_sql(sel)).column("task_id")
            counts["taskplans"] = len(pc.unique(ids))
        return counts
