"""The store's core: its datasets, snapshots and read plans. Every other part receives one.

:class:`StoreCore` opens, creates, migrates and version-pins the five Lance datasets under one root,
appends to them, reads the tags manifest, and turns a :class:`Query` into *plans* (versions +
selection) and a plan into the winning outcomes it selects (the exactly-once rule in ``store.py``).
The reader, tags, rewards and maintenance parts each receive the core as a constructor argument;
:class:`~lam_rl.store.store.TrajectoryStore` composes them. Nothing here imports those parts.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import lance
import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store import schemas
from lam_rl.store.errors import (
    EmptySelection,
    SchemaMismatch,
    StoreCorrupt,
    StoreError,
    StoreNotFound,
    TagNotFound,
    TagScopeError,
    corrupt,
    guarded,
    is_storage_error,
    producer_hint,
    short_error,
)
from lam_rl.store.remote import access_error

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """One Lance version per table: a consistent view of the whole store (cheap to pickle/send)."""

    versions: dict[str, int]

    def to_dict(self) -> dict[str, int]:
        return dict(self.versions)

    @classmethod
    def coerce(cls, value: Snapshot | Mapping[str, int]) -> Snapshot:
        if isinstance(value, Snapshot):
            return value
        if isinstance(value, Mapping):
            missing = [t for t in schemas.TABLES if t not in value]
            if missing:
                raise StoreError(f"a version mapping must name every table; missing: {', '.join(missing)}")
            return cls({t: int(value[t]) for t in schemas.TABLES})
        raise StoreError(
            f"version must be a Snapshot (store.snapshot()) or a {{table: version}} mapping, got {value!r}"
        )


def _add_null_columns(ds: lance.LanceDataset, fields: list[pa.Field]) -> None:
    """Add all-null columns: a metadata-only commit where Lance can (``add_columns(fields)``), else an
    SQL ``NULL`` per column (older pylance), which writes the null column once."""
    try:
        ds.add_columns(fields)
    except (TypeError, ValueError) as e:
        if any(f.name in ds.schema.names for f in fields):  # another writer added them meanwhile
            raise
        if not all(pa.types.is_string(f.type) for f in fields):
            raise StoreError(f"cannot add columns {[f.name for f in fields]} with this pylance: {e}") from e
        ds.add_columns({f.name: "CAST(NULL AS STRING)" for f in fields})


def _set_schema_version(ds: lance.LanceDataset) -> None:
    """Record the current schema version in a migrated table's metadata (skipped on a pylance that
    cannot change schema metadata: readers go by the columns a table has, not by this label)."""
    meta = {k.decode(): v.decode() for k, v in (ds.schema.metadata or {}).items()}
    meta[schemas.VERSION_KEY.decode()] = str(schemas.SCHEMA_VERSION)
    if hasattr(ds, "update_schema_metadata"):
        ds.update_schema_metadata(meta)
    elif hasattr(ds, "replace_schema_metadata"):
        ds.replace_schema_metadata(meta)


def first_per(t: pa.Table, key: str) -> pa.Table:
    """Keep the first row of each value of ``key`` (exact duplicate rows from a retried commit)."""
    col = t.column(key)
    if len(pc.unique(col)) == t.num_rows:
        return t
    seen: set[Any] = set()
    keep = []
    for i, v in enumerate(col.to_pylist()):
        if v not in seen:
            seen.add(v)
            keep.append(i)
    return t.take(pa.array(keep, pa.int64()))


@dataclass(frozen=True)
class TagInfo:
    """A tag: pinned versions + a selection (+ the reward model whose rewards reads should use)."""

    name: str
    versions: dict[str, int]
    selection: dict[str, Any]
    reward_model: str | None = None
    reward_model_version: int | None = None
    note: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def snapshot(self) -> Snapshot:
        return Snapshot(dict(self.versions))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": dict(self.versions),
            "selection": dict(self.selection),
            "reward_model": self.reward_model,
            "reward_model_version": self.reward_model_version,
            "note": self.note,
            "counts": dict(self.counts),
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TagInfo:
        """A row of the ``tags`` manifest dataset."""
        return cls(
            name=row["name"],
            versions={k: int(v) for k, v in json.loads(row["versions"]).items()},
            selection=json.loads(row["selection"] or "{}"),
            reward_model=row.get("reward_model"),
            reward_model_version=row.get("reward_model_version"),
            note=row.get("note") or "",
            counts=json.loads(row.get("counts") or "{}"),
            created_at=row.get("created_at"),
        )


@dataclass(frozen=True)
class Query:
    """What a read selects: every read (``steps``, ``iter_batches``, ``resolve``, ``StoreDataset``,
    ``read_dataset``, ...) takes these as keywords and builds one with :meth:`of`.

    Fields:
        version: a :class:`Snapshot` from ``store.snapshot()`` or a ``{table: version}`` mapping
            (default: pin the latest versions now).
        tag: a tag name, or several (their trajectories, each once); not with ``version``.
        where: a raw Lance SQL predicate on the read table's columns.
        reward_model, reward_model_version: fill steps' ``reward`` from that model's rewards
            (default: the tag's reward model, if it names one).
        filters: trajectory-, step- or task-plan-level keys (``phase=``, ``success=``, ...); a list
            means "any of".
    """

    version: Snapshot | Mapping[str, int] | None = None
    tag: str | Sequence[str] | None = None
    where: str | None = None
    reward_model: str | None = None
    reward_model_version: int | None = None
    filters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        *,
        version: Snapshot | Mapping[str, int] | None = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        reward_model: str | None = None,
        reward_model_version: int | None = None,
        **filters: Any,
    ) -> Query:
        return cls(version, tag, where, reward_model, reward_model_version, filters)


@dataclass
class Winners:
    """The winning outcome row of every traj_id at one outcomes version."""

    write_ids: pa.Array
    dup_free: bool
    total_steps: int


@dataclass
class Plan:
    """One read: versions + selection (a read of several tags is several plans)."""

    versions: dict[str, int]
    selection: F.Selection
    where: str | None = None
    label: str = "latest snapshot"
    reward_model: str | None = None
    reward_model_version: int | None = None
    hint: str = ""


@dataclass
class Selected:
    write_ids: pa.Array  # selected outcomes' write ids (winners only)
    traj_ids: pa.Array
    num_steps: int
    exact: bool  # a pushed-down steps filter alone gives exactly these trajectories' steps
    alone: bool = True  # no trajectory of an earlier plan had to be left out


def nothing_matches(what: str, plans: Sequence[Plan], uri: str, *, reader: str = "") -> EmptySelection:
    """The error of a read that selected nothing: the selections and snapshots it read, and which job
    produces such data (``reader`` names a reader other than the store's own, e.g. ``StoreDataset``)."""
    sels = "; ".join(F.describe(p.selection, p.where) for p in plans)
    labels = " + ".join(p.label for p in plans)
    prefix = f"{reader}: " if reader else ""
    return EmptySelection(f"{prefix}no {what} match {sels} in {labels} of {uri}; {plans[0].hint}")


class StoreCore:
    """The datasets of the store at ``uri`` (see :class:`~lam_rl.store.store.TrajectoryStore` for
    ``storage_options`` and ``create``); opening never creates or changes anything."""

    def __init__(
        self, uri: str | os.PathLike, storage_options: Mapping[str, str] | None = None, *, create: bool = True
    ):
        self.uri = str(uri).rstrip("/")
        self.storage_options = dict(storage_options or {})
        self._cache: dict[tuple[str, int], lance.LanceDataset] = {}
        self._winners_cache: dict[int, Winners] = {}
        self._current: set[str] = set()  # tables whose schema is the current version (no migration due)
        self._create_lock = threading.Lock()
        local = self._local_path()
        if local is not None and local.exists() and not local.is_dir():
            raise StoreCorrupt(
                f"--store/store.uri {self.uri} is a file, not a trajectory store (a directory holding "
                f"{', '.join(t + '.lance' for t in schemas.TABLES)}); give the store's root directory"
            )
        present = self._present()
        self._new = not any(present.values())
        if self._new and not create:
            raise StoreNotFound(
                f"no trajectory store at {self.uri}; run a job that writes one "
                f"(python -m jobs.collect) or `lam-rl store import ... --store {self.uri}` first"
            )
        if not self._new:
            missing = [t for t, ok in present.items() if not ok]
            if missing:
                raise StoreCorrupt(
                    f"the trajectory store at {self.uri} is incomplete: {', '.join(t + '.lance' for t in missing)} "
                    "missing while the other tables exist (deleted or damaged); restore it from a copy, or move "
                    "the store aside and let a job write a new one (nothing was created)"
                )
            for t in schemas.TABLES:
                self._check_schema(t)

    # ------------------------------------------------------------------ datasets

    def table_uri(self, table: str) -> str:
        if table not in schemas.SCHEMAS:
            raise StoreError(f"unknown table '{table}'; tables: {', '.join(schemas.TABLES)}")
        return f"{self.uri}/{table}.lance"

    def _local_path(self) -> Path | None:
        if self.uri.startswith("file://"):
            return Path(self.uri[len("file://") :])
        return None if "://" in self.uri else Path(self.uri)

    def _present(self) -> dict[str, bool]:
        """Which tables exist. A store another process is creating right now shows some of its tables,
        each empty at version 1, for a moment: such a partial answer is re-checked before it is believed
        (a table deleted from a store in use is reported at once)."""
        deadline = time.monotonic() + 3.0
        while True:
            present = {t: self._exists(t) for t in schemas.TABLES}
            if all(present.values()) or not any(present.values()) or time.monotonic() > deadline:
                return present
            if not all(self._fresh(t) for t, ok in present.items() if ok):
                return present
            time.sleep(0.1)

    def _fresh(self, table: str) -> bool:
        try:
            ds = lance.dataset(self.table_uri(table), storage_options=self.storage_options or None)
            return ds.version == 1 and ds.count_rows() == 0
        except (ValueError, OSError, RuntimeError):
            return False

    def _exists(self, table: str) -> bool:
        try:
            lance.dataset(self.table_uri(table), storage_options=self.storage_options or None)
            return True
        except (ValueError, OSError, RuntimeError) as e:
            refused = access_error(self.uri, self.storage_options, e)  # before "not found": a missing container
            if refused is not None:
                raise refused from None
            if isinstance(e, FileNotFoundError) or "not found" in str(e).lower():
                return False
            if is_storage_error(e):
                raise corrupt(self.uri, e, f"opening {table}.lance") from None
            raise

    def exists(self) -> bool:
        """Whether the store's tables exist (False for a store nothing was written to yet)."""
        if self._new:
            self._refresh_new()
        return not self._new

    def _refresh_new(self) -> None:
        """A store that was new when opened may have been created since (by another process)."""
        if self._new and all(self._exists(t) for t in schemas.TABLES):
            self._new = False

    def create(self) -> None:
        """Create the (empty) tables of a new store now; a no-op on an existing store. Writes call it."""
        with self._create_lock:
            if not self._new:
                return
            for t in schemas.TABLES:
                if not self._exists(t):
                    self._create(t)
                self._current.add(t)
            self._new = False

    def _create(self, table: str) -> None:
        try:
            lance.write_dataset(
                schemas.empty(table),
                self.table_uri(table),
                mode="create",
                storage_options=self.storage_options or None,
            )
        except OSError as e:  # another process created it first
            if "already exists" not in str(e).lower():
                raise

    def _check_schema(self, table: str) -> None:
        ds = self.dataset(table)
        found = schemas.schema_version_of(ds.schema)
        if found is not None and found > schemas.SCHEMA_VERSION:
            raise SchemaMismatch(
                f"{self.table_uri(table)} has schema version {found}, newer than this lam-rl's "
                f"{schemas.SCHEMA_VERSION}: upgrade lam-rl to read it"
            )
        if not schemas.missing_columns(table, ds.schema):
            self._current.add(table)

    def _migrate(self, table: str) -> None:
        """Bring an older table to the current schema before writing to it: add the columns it lacks
        (all null: a metadata-only Lance commit) and record the version (see ``schemas.py``)."""
        if table in self._current:
            return
        for attempt in range(4):
            ds = self.dataset(table)
            missing = schemas.missing_columns(table, ds.schema)
            try:
                if missing:
                    _add_null_columns(ds, missing)
                    ds = self.dataset(table)
                if schemas.schema_version_of(ds.schema) != schemas.SCHEMA_VERSION:
                    _set_schema_version(ds)
                break
            except (OSError, ValueError, RuntimeError) as e:  # another writer migrated it meanwhile
                if attempt == 3:
                    raise StoreError(f"cannot migrate {self.table_uri(table)} to schema version "
                                     f"{schemas.SCHEMA_VERSION}: {short_error(e)}") from e  # fmt: skip
                time.sleep(0.05 * 2**attempt)
        log.info("migrated %s to schema version %d", self.table_uri(table), schemas.SCHEMA_VERSION)
        self._current.add(table)

    def dataset(self, table: str, version: int | None = None) -> lance.LanceDataset:
        """The Lance dataset of ``table`` (latest, or pinned at ``version``)."""
        if self._new:
            self._refresh_new()
            if self._new:
                raise StoreNotFound(
                    f"no trajectory store at {self.uri} yet (nothing was written to it); run a job that "
                    f"writes one (python -m jobs.collect) or `lam-rl store import ... --store {self.uri}` first"
                )
        opts = self.storage_options or None
        if version is None:
            try:
                return lance.dataset(self.table_uri(table), storage_options=opts)
            except (ValueError, OSError, RuntimeError) as e:
                if is_storage_error(e) or "not found" in str(e).lower():
                    raise corrupt(self.uri, e, f"opening {table}.lance") from None
                raise
        key = (table, int(version))
        ds = self._cache.get(key)
        if ds is None:
            try:
                ds = lance.dataset(self.table_uri(table), version=int(version), storage_options=opts)
            except (ValueError, OSError, RuntimeError) as e:
                if "not found" in str(e).lower() and "version" in str(e).lower():
                    raise StoreError(f"{table} has no version {version} ({short_error(e)})") from None
                if is_storage_error(e) or "not found" in str(e).lower():
                    raise corrupt(self.uri, e, f"opening {table}.lance version {version}") from None
                raise
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = ds
        return ds

    def verify(self, version: Snapshot | Mapping[str, int] | None = None) -> None:
        """Check that every table (latest, or at ``version``) can be read: each data file is there and
        whole (Lance's own validation: file footers and sizes, not every byte). Raises
        :class:`StoreCorrupt` naming the table."""
        versions = Snapshot.coerce(version).versions if version is not None else {}
        for t in schemas.TABLES:
            ds = self.dataset(t, versions.get(t))
            try:
                ds.validate()
            except Exception as e:  # noqa: BLE001 - Lance raises OSError/ValueError for damage
                if is_storage_error(e) or isinstance(e, ValueError):
                    raise corrupt(self.uri, e, f"{t}.lance version {ds.version}") from None
                raise

    @guarded
    def snapshot(self, tag: str | None = None) -> Snapshot:
        """Pin the current version of every table (or the versions a tag names).

        Outcomes are pinned first: every step of a trajectory committed by then is already in the
        steps version pinned next.
        """
        if tag is not None:
            return self.get_tag(tag).snapshot
        order = ("tags", "outcomes", "steps", "rewards", "taskplans")
        return Snapshot({t: self.dataset(t).version for t in order})

    def append(self, table: str, data: pa.Table, retries: int) -> None:
        """Append ``data`` to ``table`` (one Lance commit, retried with backoff); a new store's tables
        are created by its first append, an older table is migrated first."""
        self.create()  # a new store's tables are created by its first write
        self._migrate(table)
        for attempt in range(retries + 1):
            try:
                lance.write_dataset(
                    data, self.table_uri(table), mode="append", storage_options=self.storage_options or None
                )
                return
            except (OSError, RuntimeError, ValueError) as e:
                if attempt == retries:
                    refused = access_error(self.uri, self.storage_options, e)
                    if refused is not None:
                        raise refused from e
                    raise StoreError(
                        f"cannot append {data.num_rows} rows to {self.table_uri(table)}: {short_error(e)}"
                    ) from e
                log.warning("append to %s failed (%s); retrying", table, e)
                time.sleep(min(0.05 * 2**attempt, 2.0))

    # ------------------------------------------------------------------ tags manifest

    def manifest(self) -> dict[str, TagInfo]:
        """Every live tag by name (the latest row of each name in the ``tags`` dataset)."""
        if not self.exists():  # nothing written yet: no tags (and nothing is created by asking)
            return {}
        t = self.dataset("tags").to_table()
        latest: dict[str, dict[str, Any]] = {}
        for row in t.to_pylist():  # rows in commit order: a later row replaces an earlier one
            latest[row["name"]] = row
        return {n: TagInfo.from_row(r) for n, r in latest.items() if not r.get("deleted")}

    @guarded
    def get_tag(self, name: str) -> TagInfo:
        tags = self.manifest()
        if name not in tags:
            have = ", ".join(sorted(tags)) or "none yet"
            raise TagNotFound(
                f"no tag '{name}' in the store at {self.uri} (tags: {have}); {producer_hint(name)}"
            )
        return tags[name]

    # ------------------------------------------------------------------ planning reads

    def plans(self, table: str, query: Query) -> list[Plan]:
        """A read of ``table`` as plans: one for a version (default: the latest snapshot, pinned now),
        one per tag (the tag's versions, its selection merged with the query's filters)."""
        version, tag, where = query.version, query.tag, query.where
        reward_model, reward_model_version = query.reward_model, query.reward_model_version
        sel = F.normalize(query.filters, table)
        if tag is not None and version is not None:
            raise StoreError("give either tag= or version=, not both (a tag already names versions)")
        if tag is None:
            versions = (Snapshot.coerce(version) if version is not None else self.snapshot()).versions
            hint = producer_hint(str((sel.get("phase") or ("",))[0]) or table)
            return [
                Plan(
                    dict(versions),
                    sel,
                    where,
                    "latest snapshot" if version is None else f"version {versions}",
                    reward_model,
                    reward_model_version,
                    hint,
                )
            ]
        names = [tag] if isinstance(tag, str) else list(tag)
        if not names:
            raise StoreError("tag= was given an empty list")
        plans = []
        for name in names:
            info = self.get_tag(name)
            tag_sel = F.normalize(
                info.selection, table, allowed=tuple(dict.fromkeys(F.TRAJ_KEYS + F.TASKPLAN_KEYS))
            )
            outside = [k for k in tag_sel if k not in F.KEYS[table]]
            if outside:
                raise TagScopeError(
                    f"tag '{name}' selects by {', '.join(outside)}, which {table} do not have: "
                    f"it is a tag for {'taskplans' if table != 'taskplans' else 'trajectories'}"
                )
            plans.append(
                Plan(
                    dict(info.versions),
                    F.merge(tag_sel, sel),
                    where,
                    f"tag '{name}'",
                    reward_model if reward_model is not None else info.reward_model,
                    reward_model_version if reward_model is not None else info.reward_model_version,
                    producer_hint(name),
                )
            )
        return plans

    def forget_winners(self) -> None:
        """Drop the cached winners (after rows were deleted from outcomes: ``compact``)."""
        self._winners_cache.clear()

    def winners(self, outcomes_version: int) -> Winners:
        """The winning outcome row of every traj_id at ``outcomes_version`` (cached per version)."""
        w = self._winners_cache.get(outcomes_version)
        if w is not None:
            return w
        t = self.dataset("outcomes", outcomes_version).to_table(columns=["traj_id", "write_id", "num_steps"])
        ids = t.column("traj_id")
        dup_free = len(pc.unique(ids)) == t.num_rows
        if not dup_free:
            vc = pc.value_counts(ids)
            dups = vc.field("values").filter(pc.greater(vc.field("counts"), 1))
            is_dup = pc.is_in(ids, value_set=dups)
            best: dict[str, tuple[str, int]] = {}
            sub_idx = pc.indices_nonzero(is_dup).to_pylist()
            for i, tid, wid in zip(
                sub_idx,
                ids.take(sub_idx).to_pylist(),
                t.column("write_id").take(sub_idx).to_pylist(),
                strict=True,
            ):
                if tid not in best or (wid, i) < best[tid]:
                    best[tid] = (wid, i)
            keep = pa.array(sorted(i for _, i in best.values()), pa.int64())
            idx = pa.array(range(t.num_rows), pa.int64())
            t = t.filter(pc.or_(pc.invert(is_dup), pc.is_in(idx, value_set=keep)))
        w = Winners(
            t.column("write_id").combine_chunks(), dup_free, int(pc.sum(t.column("num_steps")).as_py() or 0)
        )
        if len(self._winners_cache) > 16:
            self._winners_cache.clear()
        self._winners_cache[outcomes_version] = w
        return w

    def select(self, plan: Plan, exclude_traj_ids: pa.Array | None = None) -> Selected:
        """The winning outcomes a plan selects (trajectory-level filters are applied on outcomes)."""
        winners = self.winners(plan.versions["outcomes"])
        traj_sel = F.restrict(plan.selection, F.TRAJ_KEYS)
        ds = self.dataset("outcomes", plan.versions["outcomes"])
        t = ds.to_table(columns=["traj_id", "write_id", "num_steps"], filter=F.to_sql(traj_sel))
        if not winners.dup_free:
            t = t.filter(pc.is_in(t.column("write_id"), value_set=winners.write_ids))
            t = first_per(t, "write_id")
        alone = exclude_traj_ids is None or len(exclude_traj_ids) == 0
        if not alone:
            t = t.filter(pc.invert(pc.is_in(t.column("traj_id"), value_set=exclude_traj_ids)))
        steps_count = self.dataset("steps", plan.versions["steps"]).count_rows()
        clean = winners.dup_free and steps_count == winners.total_steps
        outcome_only = any(k not in F.TRAJ_KEYS_IN_STEPS for k in traj_sel)
        exact = clean and not outcome_only and alone
        return Selected(
            t.column("write_id").combine_chunks(),
            t.column("traj_id").combine_chunks(),
            int(pc.sum(t.column("num_steps")).as_py() or 0),
            exact,
            alone,
        )

    def selected(self, plans: Sequence[Plan]) -> Iterator[tuple[Plan, Selected]]:
        """Each plan with the winning outcomes it selects, less the trajectories an earlier plan
        selected: a read of several tags gives each trajectory once."""
        emitted: list[pa.Array] = []
        for plan in plans:
            sel = self.select(plan, pa.concat_arrays(emitted) if emitted else None)
            emitted.append(sel.traj_ids)
            yield plan, sel
