"""The torch IterableDataset: pinned data, rank and worker sharding, deterministic order."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader

from lam_rl.store import EmptySelection, StoreError
from lam_rl.store.synthetic import make_trajectory
from lam_rl.store.torch_data import StoreDataset

from .conftest import local_and_az


def keys(items):
    return [(r["traj_id"], r["step"]) for r in items]


@pytest.fixture
def filled(store, trajs):
    store.write(trajs)
    return store


@local_and_az
def test_ranks_split_the_data_evenly_and_completely(filled):
    n = filled.count("steps")
    ranks = [
        StoreDataset(filled, columns=["traj_id", "step"], rank=r, world_size=3, seed=1) for r in range(3)
    ]
    parts = [keys(d) for d in ranks]
    per = -(-n // 3)
    assert [len(p) for p in parts] == [per] * 3 == [len(d) for d in ranks]
    assert set().union(*map(set, parts)) == set(keys(filled.steps(columns=["traj_id", "step"]).to_pylist()))
    trimmed = [keys(StoreDataset(filled, columns=["traj_id", "step"], rank=r, world_size=3, drop_last=True))
               for r in range(3)]  # fmt: skip
    assert all(len(p) == n // 3 for p in trimmed)
    flat = [k for p in trimmed for k in p]
    assert len(flat) == len(set(flat))  # disjoint


def test_order_is_deterministic_per_seed_and_epoch(filled):
    a = StoreDataset(filled, columns=["traj_id", "step"], seed=7)
    b = StoreDataset(filled, columns=["traj_id", "step"], seed=7)
    assert keys(a) == keys(b)
    first = keys(a)
    a.set_epoch(1)
    assert keys(a) != first and sorted(keys(a)) == sorted(first)
    assert keys(StoreDataset(filled, columns=["traj_id", "step"], seed=8)) != first
    plain = StoreDataset(filled, columns=["traj_id", "step"], shuffle=False)
    assert keys(plain) == keys(filled.steps(columns=["traj_id", "step"]).to_pylist())


def test_the_dataset_pins_its_data_when_built(filled, trajs):
    ds = StoreDataset(filled, columns=["traj_id"], success=True)
    before = len(ds)
    filled.write([make_trajectory(i, seed=99, steps=3) for i in range(10)])
    assert len(list(ds)) == before


def test_dataloader_workers_split_a_rank_without_overlap(filled):
    ds = StoreDataset(filled, columns=["traj_id", "step"], rank=1, world_size=2, seed=3, block_rows=16)
    loader = DataLoader(ds, batch_size=8, num_workers=2, multiprocessing_context="spawn", collate_fn=list)
    got = [k for batch in loader for k in keys(batch)]
    assert sorted(got) == sorted(keys(ds))


@local_and_az
def test_whole_trajectories_and_rewards(filled, trajs):
    ds = StoreDataset(
        filled, "trajectories", success=True, seed=0, transform=lambda t: (t["traj_id"], t["steps"])
    )
    items = list(ds)
    assert sorted(t for t, _ in items) == sorted(t.traj_id for t in trajs if t.outcome.success)
    for _, steps in items:
        assert [s["step"] for s in steps] == list(range(len(steps)))
    t = next(t for t in trajs if t.steps)
    filled.write_rewards([(t.traj_id, s.step, 0.5) for s in t.steps], reward_model="rm")
    scored = StoreDataset(filled, columns=["traj_id", "reward"], traj_id=t.traj_id, reward_model="rm")
    assert [r["reward"] for r in scored] == [0.5] * len(t.steps)


def test_empty_and_bad_arguments(filled):
    with pytest.raises(EmptySelection, match="StoreDataset: no steps match phase='explore'"):
        StoreDataset(filled, phase="explore")
    assert list(StoreDataset(filled, phase="explore", allow_empty=True)) == []
    with pytest.raises(StoreError, match="outside world_size"):
        StoreDataset(filled, rank=2, world_size=2)
    with pytest.raises(StoreError, match="table must be one of"):
        StoreDataset(filled, "taskplans")


def test_collates_into_tensors(filled):
    ds = StoreDataset(filled, columns=["step", "latency_ms"], seed=0)
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert isinstance(batch["step"], torch.Tensor) and batch["step"].shape == (4,)
