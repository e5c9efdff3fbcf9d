"""The batched writer: commits per batch, flush interval, failures keep data queued."""

from __future__ import annotations

import shutil
import threading
import time

import pytest

from lam_rl.store import StoreError, StoreWriter
from lam_rl.store.encode import EncodedTrajectories
from lam_rl.store.synthetic import make_trajectory

from .conftest import local_and_az, visible


@local_and_az
def test_one_commit_pair_per_batch(store, trajs):
    v0 = store.dataset("outcomes").version
    with store.writer(batch_size=25, flush_interval_s=3600) as w:
        for t in trajs:
            w.add(t)
        assert w.pending == 10  # 60 = 2 full batches + 10 queued
        assert store.dataset("outcomes").version == v0 + 2
    assert store.dataset("outcomes").version == v0 + 3  # close() committed the rest
    assert w.totals.trajectories == 60 and w.totals.commits == 6
    assert store.outcomes().num_rows == 60


def test_the_flush_interval_commits_a_partial_batch(store, trajs):
    w = store.writer(batch_size=1000, flush_interval_s=0.2)
    w.add(trajs[0])
    w.add(trajs[1])
    deadline = time.monotonic() + 10
    while w.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w.pending == 0
    assert store.outcomes().num_rows == 2
    w.close()


def test_max_pending_steps_bounds_memory(store):
    w = store.writer(batch_size=1000, flush_interval_s=3600, max_pending_steps=20, background=False)
    for i in range(6):
        w.add(make_trajectory(i, steps=5))
    assert w.pending == 2 and w.totals.commits == 2  # a commit at 20 steps
    w.close()


def test_encoded_batches_and_resends_through_the_writer(store, trajs):
    with store.writer(batch_size=7, flush_interval_s=3600) as w:
        for t in trajs[:30]:
            w.add(EncodedTrajectories.of([t]))
        w.add(EncodedTrajectories.of(trajs[20:40]))  # overlaps what was sent
        w.add_many(trajs[35:])
    assert w.totals.trajectories == 60 and w.totals.duplicates == 15
    assert visible(store) == {t.traj_id: list(range(len(t.steps))) for t in trajs if t.steps}


def test_a_failed_commit_keeps_the_batch_queued(store, trajs):
    """Break the steps dataset for real (a file where the directory was); fix it; nothing is lost."""
    store.write(trajs[:1])
    steps_dir = store.table_uri("steps")
    backup = steps_dir + ".bak"
    w = store.writer(batch_size=100, flush_interval_s=3600, retries=0, background=False)
    for t in trajs[1:10]:
        w.add(t)
    shutil.move(steps_dir, backup)
    with open(steps_dir, "w") as fh:
        fh.write("not a dataset")
    with pytest.raises(StoreError, match="cannot append"):
        w.flush()
    assert w.pending == 9 and w.failed_commits == 1
    import os

    os.remove(steps_dir)
    shutil.move(backup, steps_dir)
    assert w.flush().trajectories == 9
    assert store.outcomes().num_rows == 10
    w.close()


@local_and_az
def test_many_threads_one_writer(store):
    w: StoreWriter = store.writer(batch_size=16, flush_interval_s=0.1)
    trajs = [make_trajectory(i, seed=5) for i in range(80)]

    def send(k: int) -> None:
        for t in trajs[k::4] + trajs[:10]:  # every thread also re-sends the first ten
            w.add(t)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    w.close()
    assert store.outcomes().num_rows == 80
    assert visible(store) == {t.traj_id: list(range(len(t.steps))) for t in trajs if t.steps}


def test_misuse_is_reported(store, trajs):
    w = store.writer(flush_interval_s=3600)
    with pytest.raises(StoreError, match="takes a Trajectory"):
        w.add({"traj_id": "x"})
    w.close()
    with pytest.raises(StoreError, match="closed"):
        w.add(trajs[0])
    with pytest.raises(StoreError, match="batch_size"):
        store.writer(batch_size=0)
