"""The trajectory store: Lance datasets under one root URI; the only way data moves between phases.

Layout (``<root>`` is a local path or an ``s3://``/``az://``/``gs://`` URI)::

    <root>/steps.lance  outcomes.lance  taskplans.lance  rewards.lance  tags.lance

How a trajectory becomes visible exactly once, whole or not at all:

1. the writer gives every attempt to write a trajectory a fresh ``write_id``;
2. it appends the steps (one Lance commit for a whole batch of trajectories), then the outcomes
   (a second commit). The outcome row is the commit marker;
3. a reader pins an outcomes version *before* a steps version, keeps one outcome per ``traj_id``
   (the smallest ``write_id`` when concurrent writers raced), and shows only steps whose
   ``write_id`` is a winning outcome's. Steps of a crashed or losing write are never visible;
4. a writer skips trajectories whose outcome is already committed, so re-sending is cheap.

Lance versions every commit, so a :class:`Snapshot` (one version per table) is a consistent,
repeatable view; a tag (``tags.py``) names a snapshot plus a row selection.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lance
import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store import schemas
from lam_rl.store.config import StoreConfig
from lam_rl.store.encode import EncodedTrajectories, concat, encode_taskplans
from lam_rl.store.errors import (
    InvalidRecord,
    SchemaMismatch,
    StoreCorrupt,
    StoreError,
    StoreNotFound,
    TagScopeError,
    corrupt,
    guarded,
    is_storage_error,
    producer_hint,
    short_error,
)
from lam_rl.store.maintenance import MaintenanceMixin
from lam_rl.store.reading import ReadMixin, _first_per
from lam_rl.store.records import TaskPlanRecord, Trajectory
from lam_rl.store.rewards import RewardsMixin
from lam_rl.store.tags import TagsMixin

log = logging.getLogger(__name__)

_IN_CHUNK = 512


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


@dataclass
class WriteResult:
    """What one commit of a batch of trajectories did."""

    trajectories: int = 0
    steps: int = 0
    duplicates: int = 0
    """Trajectories skipped because the same traj_id was already committed or repeated in the batch."""
    commits: int = 0
    seconds: float = 0.0
    rejected: int = 0
    """Trajectories a writer set aside because they cannot be stored (see ``StoreWriter.quarantine``)."""

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.trajectories += other.trajectories
        self.steps += other.steps
        self.duplicates += other.duplicates
        self.commits += other.commits
        self.seconds += other.seconds
        self.rejected += other.rejected
        return self


class _CommittedIds:
    """traj_ids with a committed outcome, read fragment by fragment as outcomes grow.

    Rows are only ever deleted from outcomes when they lose to another row of the same traj_id
    (``compact``), so an id once seen stays committed.
    """

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.fragments: set[int] = set()
        self.version: int | None = None

    def refresh(self, ds: lance.LanceDataset) -> None:
        if ds.version == self.version:
            return
        frags = ds.get_fragments()
        new = [f for f in frags if f.fragment_id not in self.fragments]
        if new:
            t = ds.scanner(columns=["traj_id"], fragments=new).to_table()
            self.ids.update(t.column("traj_id").to_pylist())
        self.fragments = {f.fragment_id for f in frags}
        self.version = ds.version


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


def _drop_repeated_parts(parts: list[EncodedTrajectories]) -> tuple[list[EncodedTrajectories], int]:
    """The same encoded trajectories sent twice (a producer's retry) carry the same write ids: keep the
    first copy (the rest are duplicates), so a resend never poisons a batch."""
    if len(parts) < 2:
        return parts, 0
    seen: set[str] = set()
    out, dropped = [], 0
    for p in parts:
        wids = p.outcomes.column("write_id").to_pylist()
        if seen.isdisjoint(wids):
            seen.update(wids)
            out.append(p)
            continue
        fresh = pa.array(sorted(set(wids) - seen), pa.string())
        dropped += sum(1 for w in wids if w in seen)
        seen.update(wids)
        if len(fresh):
            out.append(
                EncodedTrajectories(
                    p.outcomes.filter(pc.is_in(p.outcomes.column("write_id"), value_set=fresh)),
                    p.steps.filter(pc.is_in(p.steps.column("write_id"), value_set=fresh)),
                )
            )
    return out, dropped


@dataclass
class _Winners:
    """The winning outcome row of every traj_id at one outcomes version."""

    write_ids: pa.Array
    dup_free: bool
    total_steps: int


@dataclass
class _Plan:
    """One read: versions + selection (a read of several tags is several plans)."""

    versions: dict[str, int]
    selection: F.Selection
    where: str | None = None
    label: str = "latest snapshot"
    reward_model: str | None = None
    reward_model_version: int | None = None
    hint: str = ""


@dataclass
class _Selected:
    write_ids: pa.Array  # selected outcomes' write ids (winners only)
    traj_ids: pa.Array
    num_steps: int
    exact: bool  # a pushed-down steps filter alone gives exactly these trajectories' steps
    extra: dict[str, Any] = field(default_factory=dict)


class TrajectoryStore(ReadMixin, TagsMixin, RewardsMixin, MaintenanceMixin):
    """Open the store at ``uri``; opening and reading never create or change anything.

    Args:
        uri: root directory or object-store URI; the five datasets live under it.
        storage_options: passed to Lance for object stores (credentials, region, endpoint).
        create: where there is no store yet, let the first write create it (False: raise
            :class:`StoreNotFound` now). Reads of a store nothing was written to yet raise
            :class:`StoreNotFound` (or return nothing with ``allow_empty=True``).

    A store that exists only in part (a table deleted), a table that cannot be opened, or a URI that is
    a file raises :class:`StoreCorrupt` whatever ``create`` says: nothing is recreated over damage.
    """

    def __init__(
        self, uri: str | os.PathLike, storage_options: Mapping[str, str] | None = None, *, create: bool = True
    ):
        self.uri = str(uri).rstrip("/")
        self.storage_options = dict(storage_options or {})
        self._cache: dict[tuple[str, int], lance.LanceDataset] = {}
        self._winners_cache: dict[int, _Winners] = {}
        self._committed_ids = _CommittedIds()
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

    @classmethod
    def from_config(
        cls, store: StoreConfig, run_dir: str | os.PathLike | None = None, *, create: bool = True
    ) -> TrajectoryStore:
        """The store a job's ``store`` section names: ``store.uri``, else ``<run_dir>/store``, opened
        with ``store.storage_options`` (``create`` as in the constructor)."""
        uri = store.uri or (str(Path(run_dir) / "store") if run_dir is not None else None)
        if not uri:
            raise StoreError("config key 'store.uri' is not set (a local path or s3://, az://, gs:// URI)")
        return cls(uri, dict(store.storage_options or {}), create=create)

    def __repr__(self) -> str:
        return f"TrajectoryStore({self.uri!r})"

    def __reduce__(self):  # picklable by URI (Ray actors, DataLoader workers)
        return (TrajectoryStore, (self.uri, self.storage_options))

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

    def create(self) -> TrajectoryStore:
        """Create the (empty) tables of a new store now; a no-op on an existing store. Writes call it."""
        with self._create_lock:
            if not self._new:
                return self
            for t in schemas.TABLES:
                if not self._exists(t):
                    self._create(t)
                self._current.add(t)
            self._new = False
        return self

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

    # ------------------------------------------------------------------ writing

    def writer(self, batch_size: int | None = None, flush_interval_s: float | None = None, **kwargs: Any):
        """A batched, exactly-once writer (see :class:`lam_rl.store.writer.StoreWriter`)."""
        from lam_rl.store.writer import StoreWriter

        return StoreWriter(self, batch_size=batch_size, flush_interval_s=flush_interval_s, **kwargs)

    @guarded
    def committed(self, traj_ids: Iterable[str]) -> set[str]:
        """Which of ``traj_ids`` already have a committed outcome (at the latest version).

        Keeps the committed ids of the outcome fragments it has read, so each call reads only the
        fragments committed since the last one (this writer's and other writers'), not the table.
        """
        ids = set(traj_ids)
        if not ids or not self.exists():
            return set()
        self._committed_ids.refresh(self.dataset("outcomes"))
        return ids & self._committed_ids.ids

    def _append(self, table: str, data: pa.Table, retries: int) -> None:
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
                    raise StoreError(
                        f"cannot append {data.num_rows} rows to {self.table_uri(table)}: {short_error(e)}"
                    ) from e
                log.warning("append to %s failed (%s); retrying", table, e)
                time.sleep(min(0.05 * 2**attempt, 2.0))

    @guarded
    def write(self, items: Iterable[Trajectory | EncodedTrajectories], *, retries: int = 3) -> WriteResult:
        """Commit whole trajectories now (two Lance commits for the batch), exactly once per traj_id.

        ``items`` are :class:`Trajectory` objects and/or :class:`EncodedTrajectories` (Arrow, encoded
        by the producer). A traj_id already committed, or repeated in the batch, is skipped and
        counted in ``duplicates``. Most producers want :meth:`writer` (batching, a flush interval).
        """
        t0 = time.perf_counter()
        trajs: list[Trajectory] = []
        parts: list[EncodedTrajectories] = []
        for it in items:
            if isinstance(it, Trajectory):
                it.check()
                trajs.append(it)
            elif isinstance(it, EncodedTrajectories):
                parts.append(it)
            else:
                raise InvalidRecord(f"expected a Trajectory or EncodedTrajectories, got {type(it).__name__}")
        if trajs:
            parts.insert(0, EncodedTrajectories.of(trajs, check=False))
        result = WriteResult()
        parts, result.duplicates = _drop_repeated_parts(parts)
        if not parts:
            return result
        enc = concat(parts)
        enc = EncodedTrajectories(enc.outcomes.combine_chunks(), enc.steps.combine_chunks()).validate()
        first = _first_per(enc.outcomes, "traj_id")
        done = self.committed(first.column("traj_id").to_pylist())
        keep = first.filter(
            pc.invert(pc.is_in(first.column("traj_id"), value_set=pa.array(sorted(done), pa.string())))
        )
        result.duplicates += enc.outcomes.num_rows - keep.num_rows
        if keep.num_rows == 0:
            result.seconds = time.perf_counter() - t0
            return result
        if keep.num_rows < enc.outcomes.num_rows:
            steps = enc.steps.filter(
                pc.is_in(enc.steps.column("write_id"), value_set=keep.column("write_id"))
            )
            enc = EncodedTrajectories(keep, steps)
        if enc.steps.num_rows:
            for attempt in range(retries + 1):
                try:
                    self._append("steps", enc.steps, 0)
                    break
                except StoreError as e:
                    if attempt == retries:
                        raise
                    log.warning("steps append failed (%s); retrying under new write ids", e)
                    enc = enc.with_new_write_ids()  # the failed append may have landed: never reuse its ids
                    time.sleep(min(0.05 * 2**attempt, 2.0))
            result.commits += 1
        # The commit point: once this append lands, the whole batch is visible.
        self._append("outcomes", enc.outcomes, retries)
        result.commits += 1
        result.trajectories, result.steps = enc.outcomes.num_rows, enc.steps.num_rows
        result.seconds = time.perf_counter() - t0
        return result

    @guarded
    def add_taskplans(self, records: Iterable[TaskPlanRecord], *, retries: int = 3) -> int:
        """Append task-plan records (exactly once per task_id); returns how many were new."""
        batch: dict[str, TaskPlanRecord] = {}
        for r in records:
            if not isinstance(r, TaskPlanRecord):
                raise InvalidRecord(f"expected a TaskPlanRecord, got {type(r).__name__}")
            r.check()
            batch.setdefault(r.task_id, r)
        if not batch:
            return 0
        encoded = encode_taskplans(list(batch.values()))  # before any read: a bad record changes nothing
        done: set[str] = set()
        if self.exists():
            ds = self.dataset("taskplans")
            ids = sorted(batch)
            for i in range(0, len(ids), _IN_CHUNK):
                pred = F.to_sql({"task_id": tuple(ids[i : i + _IN_CHUNK])})
                done.update(ds.to_table(columns=["task_id"], filter=pred).column("task_id").to_pylist())
        if done:
            encoded = encoded.filter(
                pc.invert(pc.is_in(encoded.column("task_id"), value_set=pa.array(sorted(done), pa.string())))
            )
        if encoded.num_rows:
            self._append("taskplans", encoded, retries)
        return encoded.num_rows

    # ------------------------------------------------------------------ planning reads

    def _plans(
        self,
        table: str,
        *,
        version: Snapshot | Mapping[str, int] | None,
        tag: str | Sequence[str] | None,
        filters: Mapping[str, Any],
        where: str | None,
        reward_model: str | None = None,
        reward_model_version: int | None = None,
    ) -> list[_Plan]:
        sel = F.normalize(filters, table)
        if tag is not None and version is not None:
            raise StoreError("give either tag= or version=, not both (a tag already names versions)")
        if tag is None:
            versions = (Snapshot.coerce(version) if version is not None else self.snapshot()).versions
            hint = producer_hint(str((sel.get("phase") or ("",))[0]) or table)
            return [
                _Plan(
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
                _Plan(
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

    def _winners(self, outcomes_version: int) -> _Winners:
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
        w = _Winners(
            t.column("write_id").combine_chunks(), dup_free, int(pc.sum(t.column("num_steps")).as_py() or 0)
        )
        if len(self._winners_cache) > 16:
            self._winners_cache.clear()
        self._winners_cache[outcomes_version] = w
        return w

    def _select(self, plan: _Plan, exclude_traj_ids: pa.Array | None = None) -> _Selected:
        """The winning outcomes a plan selects (trajectory-level filters are applied on outcomes)."""
        winners = self._winners(plan.versions["outcomes"])
        traj_sel = F.restrict(plan.selection, F.TRAJ_KEYS)
        ds = self.dataset("outcomes", plan.versions["outcomes"])
        t = ds.to_table(columns=["traj_id", "write_id", "num_steps"], filter=F.to_sql(traj_sel))
        if not winners.dup_free:
            t = t.filter(pc.is_in(t.column("write_id"), value_set=winners.write_ids))
            t = _first_per(t, "write_id")
        if exclude_traj_ids is not None and len(exclude_traj_ids):
            t = t.filter(pc.invert(pc.is_in(t.column("traj_id"), value_set=exclude_traj_ids)))
        steps_count = self.dataset("steps", plan.versions["steps"]).count_rows()
        clean = winners.dup_free and steps_count == winners.total_steps
        outcome_only = any(k not in F.TRAJ_KEYS_IN_STEPS for k in traj_sel)
        exact = clean and not outcome_only and exclude_traj_ids is None
        return _Selected(
            t.column("write_id").combine_chunks(),
            t.column("traj_id").combine_chunks(),
            int(pc.sum(t.column("num_steps")).as_py() or 0),
            exact,
        )
