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

The parts, each one module, composed here (imports only go one way, ``core`` <- parts <- ``store``):
``core.StoreCore`` (datasets, snapshots, the tags manifest, read plans), ``reading.Reader``,
``tags.Tags``, ``rewards.Rewards`` and ``maintenance.Maintenance``, each built with the core.
:class:`TrajectoryStore` owns one of each, forwards their public methods, and writes.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import lance
import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store.config import StoreConfig
from lam_rl.store.core import Snapshot, StoreCore, first_per
from lam_rl.store.encode import EncodedTrajectories, concat, encode_taskplans
from lam_rl.store.errors import InvalidRecord, StoreError, guarded
from lam_rl.store.maintenance import Maintenance
from lam_rl.store.reading import Reader
from lam_rl.store.records import TaskPlanRecord, Trajectory
from lam_rl.store.rewards import Rewards
from lam_rl.store.tags import Tags

__all__ = ["Snapshot", "TrajectoryStore", "WriteResult"]

log = logging.getLogger(__name__)

_IN_CHUNK = 512
_M = TypeVar("_M", bound=Callable[..., Any])


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


def _via(part: str, method: _M) -> _M:
    """A method of :class:`TrajectoryStore` that calls ``method`` of its part ``part`` (same name,
    signature and docstring, so ``help(store.steps)`` and search find the part's code)."""

    @functools.wraps(method)
    def forward(self: TrajectoryStore, *args: Any, **kwargs: Any) -> Any:
        return method(getattr(self, part), *args, **kwargs)

    return forward  # type: ignore[return-value]


class TrajectoryStore:
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
        self.core = StoreCore(uri, storage_options, create=create)
        self.uri, self.storage_options = self.core.uri, self.core.storage_options
        self.reader = Reader(self.core)
        self.tagger = Tags(self.core, subject=self)
        self.rewards = Rewards(self.core)
        self.maintenance = Maintenance(self.core, self.reader, self.tagger, self.rewards)
        self._committed_ids = _CommittedIds()

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

    # ------------------------------------------------------------------ the parts' methods

    table_uri = _via("core", StoreCore.table_uri)
    exists = _via("core", StoreCore.exists)
    dataset = _via("core", StoreCore.dataset)
    verify = _via("core", StoreCore.verify)
    snapshot = _via("core", StoreCore.snapshot)
    get_tag = _via("core", StoreCore.get_tag)

    steps = _via("reader", Reader.steps)
    outcomes = _via("reader", Reader.outcomes)
    taskplans = _via("reader", Reader.taskplans)
    read = _via("reader", Reader.read)
    iter_batches = _via("reader", Reader.iter_batches)
    count = _via("reader", Reader.count)
    trajectories = _via("reader", Reader.trajectories)
    resolve = _via("reader", Reader.resolve)
    row_addresses = _via("reader", Reader.row_addresses)
    step_addresses_by_outcome = _via("reader", Reader.step_addresses_by_outcome)
    take_rows = _via("reader", Reader.take_rows)

    tags = _via("tagger", Tags.tags)
    has_tag = _via("tagger", Tags.has_tag)
    tag = _via("tagger", Tags.tag)
    delete_tag = _via("tagger", Tags.delete_tag)

    write_rewards = _via("rewards", Rewards.write_rewards)
    reward_models = _via("rewards", Rewards.reward_models)

    stats = _via("maintenance", Maintenance.stats)
    info = _via("maintenance", Maintenance.info)
    compact = _via("maintenance", Maintenance.compact)

    def create(self) -> TrajectoryStore:
        """Create the (empty) tables of a new store now; a no-op on an existing store. Writes call it."""
        self.core.create()
        return self

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
        first = first_per(enc.outcomes, "traj_id")
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
                    self.core.append("steps", enc.steps, 0)
                    break
                except StoreError as e:
                    if attempt == retries:
                        raise
                    log.warning("steps append failed (%s); retrying under new write ids", e)
                    enc = enc.with_new_write_ids()  # the failed append may have landed: never reuse its ids
                    time.sleep(min(0.05 * 2**attempt, 2.0))
            result.commits += 1
        # The commit point: once this append lands, the whole batch is visible.
        self.core.append("outcomes", enc.outcomes, retries)
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
            self.core.append("taskplans", encoded, retries)
        return encoded.num_rows
