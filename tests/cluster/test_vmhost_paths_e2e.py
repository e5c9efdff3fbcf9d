"""A rollout job's local VMs behind one port (``fleet.local_layout=paths``): the VMHost actor serves
them at /vms/<name>, the multiplexed rollout workers drive them, and a crash or hang of some VMs
loses and duplicates no task (the host restarts each at its same URL)."""

import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import pytest

from cluster.collect import expert_spec, run_rollouts
from cluster.fleet import start_fleet
from cluster.rollout import WorkItem
from lam_rl.config import ConfigError
from lam_rl.env.tasks import sample_tasks
from lam_rl.store import TrajectoryStore

pytestmark = pytest.mark.e2e


def test_local_layout_is_checked_at_load(cfg_factory):
    with pytest.raises(ConfigError, match=r"fleet\.local_layout.*'ports' or 'paths'"):
        cfg_factory("fleet.local_layout=path")


def test_rollouts_on_vms_behind_one_port(ray_session, cfg_factory):
    cfg = cfg_factory(
        "fleet.local=12",
        "fleet.local_layout=paths",
        "env.latency_ms=40",
        "env.timeout_s=2",
        "env.connect_retries=1",
        "env.backoff_s=0.05",
        "rollout.max_retries=3",
    )
    items = [
        WorkItem(f"collect:{t.task_id}", t.model_dump(mode="json"))
        for t in sample_tasks(60, 5, split="train")
    ]
    fleet = start_fleet(cfg.fleet, cfg.env)
    urls = [urlsplit(e.url) for e in fleet.endpoints]
    assert len({u.port for u in urls}) == 1 and [u.path for u in urls] == [
        f"/vms/wordsim-{i}" for i in range(12)
    ]
    faults = {2: "crash", 7: "crash", 10: "hang"}
    injected = []

    def chaos():  # each target VM mid-episode (it holds a task), then its fault
        from lam_rl.env.client import VMClient

        deadline = time.monotonic() + 600
        for index, kind in faults.items():
            with VMClient(fleet.endpoints[index].url, fleet.token, timeout_s=30) as vm:
                while vm.health().task_id is None and time.monotonic() < deadline:
                    time.sleep(0.05)
            fleet.host.fault.remote(index, kind, 60.0 if kind == "hang" else None)
            injected.append(index)

    t = threading.Thread(target=chaos)
    t.start()
    try:
        s = run_rollouts(cfg, items, expert_spec(cfg, 0), phase="collect", fleet=fleet)
    finally:
        t.join()
        fleet.stop()
    assert sorted(injected) == sorted(faults)
    store = TrajectoryStore(cfg.store_uri)
    outcomes = store.outcomes(columns=["traj_id", "failure_kind", "num_steps"]).to_pylist()
    ids = Counter(o["traj_id"] for o in outcomes)
    assert len(outcomes) == 60 and set(ids) == {i.traj_id for i in items} and max(ids.values()) == 1
    steps = Counter(r["traj_id"] for r in store.steps(columns=["traj_id"]).to_pylist())
    assert all(steps.get(o["traj_id"], 0) == o["num_steps"] for o in outcomes)  # whole or absent
    assert s.vm_restarts >= 2 and s.retries >= 2, (s.vm_restarts, s.retries, s.failures)
