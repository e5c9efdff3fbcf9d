"""The Ray side of the trajectory store: a shared writer actor and a Ray Data reader.

Rollout workers (one per VM, many per node) send whole trajectories to one named writer actor per
store, which batches them into few Lance commits (``lam_rl.store.StoreWriter``: exactly once per
traj_id, visible whole or not at all)::

    writer = store_writer(cfg.store, uri=cfg.store_uri)   # in the driver: creates it (and owns it)
    # in each rollout worker: the same call returns the same actor
    writer.add.remote(EncodedTrajectories.of([traj]))     # encode in the worker: Arrow travels
    ...
    close_store_writer(cfg.store, uri=cfg.store_uri)      # driver, at the end: commit and stop

Encoding in the worker (``EncodedTrajectories.of``) keeps the actor's CPU for commits and lets Ray
ship Arrow buffers instead of pickling Python objects; ``add.remote(traj)`` works too.

``read_dataset`` gives a ``ray.data.Dataset`` over a pinned read (a tag, a snapshot or the latest
versions), with the same filters and exactly-once semantics as ``TrajectoryStore.steps()``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import ray

from cluster.runtime import on_this_node
from lam_rl.store import EncodedTrajectories, StoreConfig, Trajectory, TrajectoryStore, schemas
from lam_rl.store import filters as F
from lam_rl.store.core import nothing_matches
from lam_rl.store.errors import StoreError
from lam_rl.store.reading import columns_of, fill_missing
from lam_rl.store.rewards import reward_lookup

log = logging.getLogger(__name__)


# num_cpus=0: it mostly waits on I/O, and a CPU share would starve it behind a learner that holds
# every core (online PPO: the Train worker plus the policy server it starts take them all)
@ray.remote(max_concurrency=8, num_cpus=0)
class StoreWriterActor:
    """A :class:`~lam_rl.store.writer.StoreWriter` in an actor: many producers, few commits.

    Threaded (``max_concurrency``): producers keep adding while a commit is in flight.
    """

    def __init__(
        self,
        uri: str,
        storage_options: dict[str, str] | None = None,
        batch_size: int = 256,
        flush_interval_s: float = 5.0,
        max_pending_steps: int = 20000,
        commit_retries: int = 3,
    ):
        self.store = TrajectoryStore(uri, storage_options)
        self.writer = self.store.writer(
            batch_size=batch_size,
            flush_interval_s=flush_interval_s,
            max_pending_steps=max_pending_steps,
            retries=commit_retries,
        )

    def add(
        self, items: Trajectory | EncodedTrajectories | Sequence[Trajectory | EncodedTrajectories]
    ) -> int:
        """Queue trajectories; returns how many are pending (a commit may run in this call)."""
        if isinstance(items, (Trajectory, EncodedTrajectories)):
            items = [items]
        self.writer.add_many(items)
        return self.writer.pending

    def flush(self) -> dict[str, Any]:
        """Commit everything queued now; returns what this commit did."""
        return asdict(self.writer.flush())

    def close(self) -> dict[str, Any]:
        """Flush and stop; returns the writer's totals."""
        return asdict(self.writer.close())

    def stats(self) -> dict[str, Any]:
        return {
            "uri": self.store.uri,
            "pending": self.writer.pending,
            "totals": asdict(self.writer.totals),
            "failed_commits": self.writer.failed_commits,
            "last_error": repr(self.writer.last_error) if self.writer.last_error else None,
            "quarantined": [(repr(item)[:200], reason) for item, reason in self.writer.quarantine[-10:]],
        }


def writer_name(cfg: StoreConfig, uri: str) -> str:
    """One writer per store: the configured name plus a hash of the URI."""
    return f"{cfg.writer_name}-{hashlib.sha1(uri.encode()).hexdigest()[:10]}"


def store_writer(
    cfg: StoreConfig, *, uri: str | None = None, namespace: str | None = None
) -> ray.actor.ActorHandle:
    """Get the store's shared writer actor, creating it on first use (safe to call from every worker)."""
    uri = uri or cfg.uri
    if not uri:
        raise StoreError("config key 'store.uri' is not set (a local path or s3://, az://, gs:// URI)")
    # on the caller's node (the driver's): losing a rollout or learner node never loses the writer
    opts = {"name": writer_name(cfg, uri), "get_if_exists": True, "scheduling_strategy": on_this_node()}
    if namespace is not None:
        opts["namespace"] = namespace
    return StoreWriterActor.options(**opts).remote(
        uri,
        dict(cfg.storage_options or {}),
        cfg.batch_size,
        cfg.flush_interval_s,
        cfg.max_pending_steps,
        cfg.commit_retries,
    )


def close_store_writer(
    cfg: StoreConfig, *, uri: str | None = None, namespace: str | None = None
) -> dict[str, Any]:
    """Commit what the shared writer holds, stop it and return its totals ({} if there is none)."""
    uri = uri or cfg.uri or ""
    try:
        handle = ray.get_actor(writer_name(cfg, uri), namespace=namespace)
    except ValueError:
        return {}
    totals = ray.get(handle.close.remote())
    ray.kill(handle)
    return totals


class _Keep:
    """map_batches callable: keep rows of selected writes, fill rewards, drop helper columns."""

    def __init__(self, write_ids: pa.Array | None, lookup: Any, columns: list[str], table: str = "steps"):
        self.write_ids, self.lookup, self.columns, self.table = write_ids, lookup, columns, table

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.write_ids is not None:
            batch = batch.filter(pc.is_in(batch.column("write_id"), value_set=self.write_ids))
        if self.lookup is not None and batch.num_rows:
            batch = pa.Table.from_batches(
                [self.lookup.apply(b) for b in batch.to_batches()], schema=batch.schema
            )
        # an older schema's missing columns read as nulls
        return fill_missing(batch, self.table, self.columns)


def read_dataset(
    store: TrajectoryStore | str,
    table: str = "steps",
    *,
    columns: Sequence[str] | None = None,
    storage_options: dict[str, str] | None = None,
    allow_empty: bool = False,
    **query: Any,
) -> ray.data.Dataset:
    """A ``ray.data.Dataset`` of ``steps``/``outcomes`` rows selected as in ``TrajectoryStore.steps()``.

    Reads the pinned Lance versions with ``ray.data.read_lance`` (filters pushed down) and keeps only
    the steps of each trajectory's winning write, so the rows are exactly those ``store.steps()``
    returns for the same arguments (``query``: ``version``, ``tag``, ``where``, ``reward_model``,
    ``reward_model_version`` and filters, as in :class:`lam_rl.store.core.Query`).
    """
    if table not in ("steps", "outcomes"):
        raise StoreError(
            f"read_dataset reads steps or outcomes, not {table!r} (taskplans: store.taskplans())"
        )
    s = store if isinstance(store, TrajectoryStore) else TrajectoryStore(store, storage_options, create=False)
    cols = columns_of(table, columns)
    plans = s.resolve(table, **query)
    parts: list[ray.data.Dataset] = []
    for plan, sel in s.core.selected(plans):
        if len(sel.write_ids) == 0:
            continue
        need = list(cols) + [c for c in ("write_id",) if c not in cols]
        lookup = None
        if table == "steps" and plan.reward_model is not None and "reward" in cols:
            lookup = reward_lookup(s.core, plan)
            need += [c for c in ("traj_id", "step") if c not in need]
        keys = F.TRAJ_KEYS_IN_STEPS + F.STEP_KEYS if table == "steps" else F.TRAJ_KEYS
        sql = F.to_sql(F.restrict(plan.selection, keys), plan.where)
        have = set(s.dataset(table, plan.versions[table]).schema.names)
        scanner: dict[str, Any] = {"columns": [c for c in need if c in have]}
        if sql:
            scanner["filter"] = sql
        ds = ray.data.read_lance(
            s.table_uri(table),
            version=plan.versions[table],
            storage_options=s.storage_options or None,
            scanner_options=scanner,
        )
        parts.append(ds.map_batches(_Keep(sel.write_ids, lookup, cols, table), batch_format="pyarrow"))
    if not parts:
        if allow_empty:
            return ray.data.from_arrow(schemas.SCHEMAS[table].empty_table().select(cols))
        raise nothing_matches(table, plans, s.uri)
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
