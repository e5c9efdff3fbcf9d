"""The Ray side: one writer actor fed by many tasks, and the Ray Data reader (real Ray, local)."""

from __future__ import annotations

import pytest

from lam_rl.store import EmptySelection, StoreConfig, TrajectoryStore
from lam_rl.store.synthetic import make_trajectory

pytestmark = pytest.mark.e2e


@pytest.fixture
def ray_local(ray_session):
    """The session's embedded Ray (tests/conftest.py): one Ray per pytest process."""
    return ray_session


@pytest.mark.parametrize("backend", ["local", "az"])
def test_rollout_tasks_share_one_writer_and_ray_data_reads_the_same_rows(
    ray_local, tmp_path, backend, request
):
    ray = ray_local
    from cluster.store_io import close_store_writer, read_dataset, store_writer
    from lam_rl.store.encode import EncodedTrajectories

    uri, opts = str(tmp_path / "store"), {}
    if backend == "az":  # Azure Blob on Azurite: the writer actor and Ray Data's reader get the options
        uri, opts = request.getfixturevalue("az_store")
    cfg = StoreConfig(uri=uri, storage_options=opts, batch_size=32, flush_interval_s=0.5)
    writer = store_writer(cfg)  # the driver owns it

    @ray.remote
    def rollout(k: int) -> int:
        w = store_writer(cfg)  # the same actor, by name
        for i in range(40 * k, 40 * k + 50):  # overlapping ranges: re-sent trajectories
            w.add.remote(EncodedTrajectories.of([make_trajectory(i, seed=3)]))
        ray.get(w.flush.remote())
        return k

    assert sorted(ray.get([rollout.remote(k) for k in range(3)])) == [0, 1, 2]
    assert ray.get(writer.stats.remote())["failed_commits"] == 0
    totals = close_store_writer(cfg)
    assert totals["trajectories"] == 130 and totals["duplicates"] == 20
    store = TrajectoryStore(uri, opts)
    assert store.outcomes().num_rows == 130

    cols = ["traj_id", "step", "function"]
    ds = read_dataset(uri, "steps", columns=cols, storage_options=opts, success=True)
    got = sorted((r["traj_id"], r["step"], r["function"]) for r in ds.take_all())
    want = sorted(
        (r["traj_id"], r["step"], r["function"]) for r in store.steps(columns=cols, success=True).to_pylist()
    )
    assert got == want and got
    store.tag("collect-expert", phase="collect")
    assert read_dataset(store, "outcomes", tag="collect-expert").count() == 130
    with pytest.raises(EmptySelection):
        read_dataset(store, "steps", phase="explore")
