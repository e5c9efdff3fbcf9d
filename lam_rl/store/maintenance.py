"""Statistics, table information and compaction of the trajectory store."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store import schemas
from lam_rl.store.core import Snapshot, StoreCore
from lam_rl.store.errors import TagScopeError, guarded
from lam_rl.store.reading import Reader
from lam_rl.store.rewards import Rewards
from lam_rl.store.tags import Tags

log = logging.getLogger(__name__)

STAT_COLUMNS = [
    "traj_id",
    "phase",
    "policy",
    "policy_version",
    "family",
    "split",
    "success",
    "complete",
    "failure_kind",
    "num_steps",
    "num_invalid",
]


def _group(t: pa.Table, key: str) -> dict[str, dict[str, Any]]:
    if t.num_rows == 0:
        return {}
    g = t.group_by(key).aggregate([("num_steps", "count"), ("num_steps", "sum"), ("success_i", "sum")])
    out = {}
    for k, n, steps, succ in zip(
        g.column(key).to_pylist(),
        g.column("num_steps_count").to_pylist(),
        g.column("num_steps_sum").to_pylist(),
        g.column("success_i_sum").to_pylist(),
        strict=True,
    ):
        name = "null" if k is None else (str(k).lower() if isinstance(k, bool) else str(k))
        out[name] = {
            "trajectories": int(n),
            "steps": int(steps or 0),
            "successes": int(succ or 0),
            "success_rate": round((succ or 0) / n, 4) if n else 0.0,
        }
    return dict(sorted(out.items()))


def step_length_stats(num_steps: Sequence[int]) -> dict[str, Any]:
    """min/mean/median/p90/max and a histogram (steps -> trajectories) of trajectory lengths."""
    xs = sorted(int(x) for x in num_steps)
    if not xs:
        return {"min": 0, "mean": 0.0, "median": 0.0, "p90": 0, "max": 0, "histogram": {}}
    n = len(xs)
    median = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    hist: dict[str, int] = {}
    for x in xs:
        hist[str(x)] = hist.get(str(x), 0) + 1
    return {
        "min": xs[0],
        "mean": round(sum(xs) / n, 3),
        "median": median,
        "p90": xs[min(n - 1, int(0.9 * n))],
        "max": xs[-1],
        "histogram": hist,
    }


class Maintenance:
    """Stats, info and compaction of a :class:`~lam_rl.store.store.TrajectoryStore`: over its
    :class:`StoreCore`, with its reader, tags and rewards parts for the counts it reports."""

    def __init__(self, core: StoreCore, reader: Reader, tags: Tags, rewards: Rewards):
        self.core, self.reader, self.tags, self.rewards = core, reader, tags, rewards
        self.uri = core.uri

    @guarded
    def stats(
        self, *, version: Any = None, tag: str | Sequence[str] | None = None, **filters: Any
    ) -> dict[str, Any]:
        """Counts of trajectories and steps, by phase/success/family/policy/split/failure kind, and the
        step-length distribution (a JSON-able dict with top-level ``trajectories`` and ``steps``).

        Step counts come from the outcomes (``num_steps``), which by construction equal the visible steps.
        """
        if tag is None and version is None:
            version = self.core.snapshot()
        # the counts come from outcomes alone: check every table is whole so a damaged store is not
        # reported as healthy (a truncated steps file would only show when read)
        names = [] if tag is None else [tag] if isinstance(tag, str) else list(tag)
        for snap in [self.core.get_tag(n).snapshot for n in names] or [version]:
            self.core.verify(snap)
        where = {"version": version, "tag": tag}
        t = schemas.empty("outcomes").select(STAT_COLUMNS)
        if all(k in F.TRAJ_KEYS for k in filters):
            with contextlib.suppress(TagScopeError):  # a task-plan tag has no trajectories
                t = self.reader.read("outcomes", columns=STAT_COLUMNS, allow_empty=True, **where, **filters)
        t = t.append_column("success_i", pc.cast(t.column("success"), pa.int64()))
        policy = pc.binary_join_element_wise(
            pc.fill_null(t.column("policy"), ""), pc.cast(t.column("policy_version"), pa.string()), "@"
        )
        t = t.append_column("policy_at", policy)
        n = t.num_rows
        succ = int(pc.sum(t.column("success_i")).as_py() or 0)
        out: dict[str, Any] = {
            "uri": self.uri,
            "schema_version": schemas.SCHEMA_VERSION,
            "trajectories": n,
            "steps": int(pc.sum(t.column("num_steps")).as_py() or 0),
            "successes": succ,
            "success_rate": round(succ / n, 4) if n else 0.0,
            "invalid_steps": int(pc.sum(t.column("num_invalid")).as_py() or 0),
            "by_phase": _group(t, "phase"),
            "by_success": _group(t, "success"),
            "by_family": _group(t, "family"),
            "by_policy": _group(t, "policy_at"),
            "by_split": _group(t, "split"),
            "by_failure_kind": _group(t.filter(pc.invert(t.column("success"))), "failure_kind"),
            "step_lengths": step_length_stats(t.column("num_steps").to_pylist()),
            "taskplans": 0,
            "taskplans_by_source": {},
        }
        if all(k in F.TASKPLAN_KEYS for k in filters):
            try:
                tp = self.reader.read(
                    "taskplans", columns=["task_id", "source"], allow_empty=True, **where, **filters
                )
            except TagScopeError:  # a trajectory tag has no task-plan view
                tp = schemas.empty("taskplans").select(["task_id", "source"])
            out["taskplans"] = tp.num_rows
            if tp.num_rows:
                g = tp.group_by("source").aggregate([("task_id", "count")])
                out["taskplans_by_source"] = dict(
                    zip(g.column("source").to_pylist(), g.column("task_id_count").to_pylist(), strict=True)
                )
        if tag is None:
            snap = Snapshot.coerce(version)
            out["versions"] = snap.to_dict()
            out["rewards"] = self.core.dataset("rewards", snap.versions["rewards"]).count_rows()
            out["reward_models"] = self.rewards.reward_models(snap)
            out["tags"] = [i.name for i in self.tags.tags()]
        else:
            out["tag"] = tag
        return out

    @guarded
    def info(self) -> dict[str, Any]:
        """Per table: latest version, rows, fragments; plus the tags (for ``lam-rl store ls``)."""
        self.core.verify()
        tables = {}
        for name in schemas.TABLES:
            ds = self.core.dataset(name)
            tables[name] = {
                "version": ds.version,
                "rows": ds.count_rows(),
                "fragments": len(ds.get_fragments()),
                "uri": self.core.table_uri(name),
            }
        return {
            "uri": self.uri,
            "schema_version": schemas.SCHEMA_VERSION,
            "tables": tables,
            "tags": [i.to_dict() for i in self.tags.tags()],
        }

    @guarded
    def compact(
        self, *, grace_s: float = 3600.0, cleanup_older_than_s: float | None = None
    ) -> dict[str, Any]:
        """Delete invisible rows and merge small fragments; returns what it did.

        Invisible rows are steps of writes whose outcome never committed (a writer killed between its
        two commits) or lost a race, older than ``grace_s`` (a live writer may be between its commits),
        and losing duplicate outcome rows. Visible data never changes. ``cleanup_older_than_s`` also
        removes old versions nothing tags (time travel to them is then gone).
        """
        t0 = time.perf_counter()
        winners = self.core.winners(self.core.dataset("outcomes").version)
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=grace_s)
        report: dict[str, Any] = {"orphan_steps": 0, "duplicate_outcomes": 0}
        steps = self.core.dataset("steps").to_table(columns=["write_id", "created_at"])
        stale = steps.filter(
            pc.and_(
                pc.invert(pc.is_in(steps.column("write_id"), value_set=winners.write_ids)),
                pc.less(steps.column("created_at"), pa.scalar(cutoff, schemas.TIMESTAMP)),
            )
        )
        report["orphan_steps"] = stale.num_rows
        self._delete_write_ids("steps", pc.unique(stale.column("write_id")).to_pylist())
        outs = self.core.dataset("outcomes").to_table(columns=["write_id"])
        losers = outs.filter(pc.invert(pc.is_in(outs.column("write_id"), value_set=winners.write_ids)))
        report["duplicate_outcomes"] = losers.num_rows
        self._delete_write_ids("outcomes", pc.unique(losers.column("write_id")).to_pylist())
        report["compaction"] = {}
        for name in schemas.TABLES:
            ds = self.core.dataset(name)
            if len(ds.get_fragments()) > 1:
                m = ds.optimize.compact_files()
                report["compaction"][name] = {"removed": m.fragments_removed, "added": m.fragments_added}
        if cleanup_older_than_s is not None:
            report["cleanup"] = {}
            for name in schemas.TABLES:
                st = self.core.dataset(name).cleanup_old_versions(
                    older_than=timedelta(seconds=cleanup_older_than_s), error_if_tagged_old_versions=False
                )
                report["cleanup"][name] = {
                    "bytes_removed": st.bytes_removed,
                    "versions_removed": st.old_versions,
                }
        self.core.forget_winners()
        report["seconds"] = round(time.perf_counter() - t0, 3)
        return report

    def _delete_write_ids(self, table: str, write_ids: list[str]) -> None:
        ds = self.core.dataset(table)
        for i in range(0, len(write_ids), 512):
            ds.delete(F.to_sql({"write_id": tuple(write_ids[i : i + 512])}))
