"""A torch ``IterableDataset`` over the store: sharded by rank and DataLoader worker, deterministic.

    from lam_rl.store.torch_data import StoreDataset

    ds = StoreDataset(store, "steps", tag="collect-expert", success=True, seed=0)   # pins the data now
    loader = DataLoader(ds, batch_size=16, num_workers=2, multiprocessing_context="spawn",
                        collate_fn=my_collate)
    for epoch in range(3):
        ds.set_epoch(epoch)
        for batch in loader: ...

How it works: the dataset resolves the read once, when it is built (a tag, a :class:`Snapshot`, or
the latest versions at that moment), and lists the Lance row addresses of the selected rows (a scan
of one small column). Each epoch shuffles that list with ``(seed, epoch)``, splits it like
``DistributedSampler`` (every rank gets the same number of items: padded by wrapping around, or
trimmed with ``drop_last``), splits a rank's share across DataLoader workers, and fetches rows in
blocks by address (Lance random access). The same seed, epoch, rank and world size always give
the same items in the same order.

Items are dicts (one row), or with ``table="trajectories"`` one dict per trajectory
``{"traj_id", "outcome": {...}, "steps": [{...}, ...]}`` (steps in order), passed through
``transform`` if given. Lance is not fork-safe: use ``multiprocessing_context="spawn"`` for
DataLoader workers. Build the dataset in the driver (or pass ``version=``/``tag=``) so every rank
reads the same pinned data.

This module imports torch; ``import lam_rl.store`` does not import it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from lam_rl.store.core import nothing_matches
from lam_rl.store.errors import StoreError
from lam_rl.store.store import TrajectoryStore

TABLES = ("steps", "outcomes", "trajectories")


def _dist() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


class StoreDataset(IterableDataset):
    """Rows (or whole trajectories) of a pinned store read, sharded and shuffled deterministically.

    Args:
        store: a :class:`TrajectoryStore` or its URI.
        table: ``steps``, ``outcomes`` or ``trajectories``.
        columns: projection for ``steps``/``outcomes`` (default: all public columns).
        query: what to read, as in ``store.steps()`` (:class:`~lam_rl.store.core.Query`: ``version``,
            ``tag``, ``where``, ``reward_model``, ``reward_model_version`` and filters).
        shuffle: shuffle each epoch (else storage order).
        seed: shuffling seed (combined with the epoch).
        rank, world_size: this process's shard (default: torch.distributed, else RANK/WORLD_SIZE, else 0/1).
        drop_last: trim to a multiple of world_size instead of padding by wrapping around.
        block_rows: rows fetched per Lance take.
        transform: applied to every item.
        allow_empty: an empty selection yields nothing instead of raising :class:`EmptySelection`.
    """

    def __init__(
        self,
        store: TrajectoryStore | str,
        table: str = "steps",
        *,
        columns: Sequence[str] | None = None,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
        block_rows: int = 256,
        transform: Callable[[Any], Any] | None = None,
        storage_options: dict[str, str] | None = None,
        allow_empty: bool = False,
        **query: Any,
    ):
        super().__init__()
        if table not in TABLES:
            raise StoreError(f"StoreDataset table must be one of {TABLES}, got {table!r}")
        self.store = (
            store
            if isinstance(store, TrajectoryStore)
            else TrajectoryStore(store, storage_options, create=False)
        )
        self.table = table
        self.columns = list(columns) if columns is not None else None
        if table == "trajectories" and columns is not None:
            raise StoreError("columns= is not supported for table='trajectories' (items carry whole rows)")
        if query.get("tag") is None and query.get("version") is None:
            query["version"] = self.store.snapshot()  # pin now: every worker, rank and epoch reads the same
        self.plans = self.store.resolve(table, **query)
        d_rank, d_world = _dist()
        self.rank = d_rank if rank is None else int(rank)
        self.world_size = d_world if world_size is None else int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise StoreError(f"rank {self.rank} is outside world_size {self.world_size}")
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.block_rows = max(1, int(block_rows))
        self.transform = transform
        self.allow_empty = allow_empty
        self.epoch = 0
        self._units: np.ndarray | None = None  # (n, 2): plan index, row address
        self._spans: list[list[np.ndarray]] | None = None  # trajectories: steps addresses per outcome
        self._index()  # here, in the driver: DataLoader workers receive it with the dataset

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (call before each epoch, as with DistributedSampler)."""
        self.epoch = int(epoch)

    # ------------------------------------------------------------------ index

    def _index(self) -> np.ndarray:
        if self._units is None:
            base = "outcomes" if self.table == "trajectories" else self.table
            per_plan = self.store.row_addresses(base, self.plans)
            units = [
                np.stack([np.full(len(a), i, dtype=np.uint64), a.astype(np.uint64)], axis=1)
                for i, a in enumerate(per_plan)
            ]
            self._units = np.concatenate(units) if units else np.zeros((0, 2), dtype=np.uint64)
            if self.table == "trajectories":
                self._spans = [
                    self.store.step_addresses_by_outcome(p, a)
                    for p, a in zip(self.plans, per_plan, strict=True)
                ]
            if len(self._units) == 0 and not self.allow_empty:
                raise nothing_matches(self.table, self.plans, self.store.uri, reader="StoreDataset")
        return self._units

    def __len__(self) -> int:
        """Items this rank yields per epoch (all DataLoader workers together)."""
        n = len(self._index())
        return n // self.world_size if self.drop_last else math.ceil(n / self.world_size)

    def shard(self, epoch: int | None = None) -> np.ndarray:
        """Positions (into the index) this rank reads in ``epoch``, before the DataLoader-worker split."""
        units = self._index()
        n = len(units)
        order = np.arange(n)
        if self.shuffle and n:
            np.random.default_rng([self.seed, self.epoch if epoch is None else epoch]).shuffle(order)
        if n == 0:
            return order
        if self.drop_last:
            per = n // self.world_size
            order = order[: per * self.world_size]
        else:
            per = math.ceil(n / self.world_size)
            order = np.resize(order, per * self.world_size)  # wraps around
        return order[self.rank :: self.world_size]

    # ------------------------------------------------------------------ iteration

    def __iter__(self) -> Iterator[Any]:
        mine = self.shard()
        info = get_worker_info()
        if info is not None:
            mine = mine[info.id :: info.num_workers]
        units = self._index()
        for start in range(0, len(mine), self.block_rows):
            block = units[mine[start : start + self.block_rows]]
            for item in self._fetch(block, mine[start : start + self.block_rows]):
                yield self.transform(item) if self.transform is not None else item

    def _fetch(self, block: np.ndarray, positions: np.ndarray) -> list[Any]:
        out: list[Any] = [None] * len(block)
        for p in np.unique(block[:, 0]):
            where = np.nonzero(block[:, 0] == p)[0]
            plan = self.plans[int(p)]
            addrs = block[where, 1]
            if self.table != "trajectories":
                rows = self.store.take_rows(self.table, plan, addrs, self.columns).to_pylist()
                for i, row in zip(where, rows, strict=True):
                    out[i] = row
                continue
            outcomes = self.store.take_rows("outcomes", plan, addrs).to_pylist()
            spans = self._spans[int(p)]
            first = int(np.nonzero(self._units[:, 0] == p)[0][0]) if len(self._units) else 0
            step_addrs = [spans[int(positions[i]) - first] for i in where]
            flat = np.concatenate(step_addrs) if step_addrs else np.zeros(0, dtype=np.uint64)
            steps = self.store.take_rows("steps", plan, flat).to_pylist() if len(flat) else []
            k = 0
            for i, o, sa in zip(where, outcomes, step_addrs, strict=True):
                out[i] = {"traj_id": o["traj_id"], "outcome": o, "steps": steps[k : k + len(sa)]}
                k += len(sa)
        return out
