"""Rollout workers on embedded Ray against real WordSim VMs over loopback HTTP."""

import threading
import time
from collections import Counter

import pytest

from cluster.collect import expert_spec, run_rollouts
from cluster.fleet import start_fleet
from cluster.rollout import WorkItem
from lam_rl.env.tasks import sample_tasks
from lam_rl.store import TrajectoryStore

pytestmark = pytest.mark.e2e


def work(n, seed=0, prefix="collect"):
    return [
        WorkItem(f"{prefix}:{t.task_id}", t.model_dump(mode="json"))
        for t in sample_tasks(n, seed, split="train")
    ]


def test_four_vms_fifty_tasks_expert(ray_session, cfg_factory):
    cfg = cfg_factory("fleet.local=4")
    items = work(50)
    s = run_rollouts(cfg, items, expert_spec(cfg, 0), phase="collect")
    outcomes = (
        TrajectoryStore(cfg.store_uri).outcomes(columns=["traj_id", "success", "failure_kind"]).to_pylist()
    )
    assert len(outcomes) == 50 and {o["traj_id"] for o in outcomes} == {i.traj_id for i in items}
    rate = sum(o["success"] for o in outcomes) / 50
    assert rate == pytest.approx(s.success_rate) and 0.4 <= rate <= 0.9  # the expert's default noise (~62%)
    assert all(o["failure_kind"] in (None, "task_failed", "step_limit", "invalid_action") for o in outcomes)
    assert s.retries == 0 and s.workers_retired == 0


def test_killed_and_hung_vms_lose_and_duplicate_nothing(ray_session, cfg_factory):
    """R1: 16 VMs, 5 of them (30%) killed or hung mid-episode, 200 tasks."""
    cfg = cfg_factory(
        "fleet.local=16",
        "env.latency_ms=40",
        "env.timeout_s=2",
        "env.connect_retries=1",
        "env.backoff_s=0.05",
        "rollout.max_retries=3",
    )
    items = work(200, seed=3)
    fleet = start_fleet(cfg.fleet, cfg.env)
    faults = {1: "crash", 4: "crash", 7: "crash", 10: "hang", 13: "hang"}
    injected = []

    def chaos():  # once the rollout is under way: each target VM holds a task (it is mid-episode)
        from lam_rl.env.client import VMClient

        deadline = time.monotonic() + 600
        for index in faults:
            vm = VMClient(fleet.endpoints[index].url, fleet.token, timeout_s=30)
            while vm.health().task_id is None and time.monotonic() < deadline:
                time.sleep(0.05)
            vm.close()
        for index, kind in faults.items():
            fleet.host.fault.remote(index, kind, 60.0 if kind == "hang" else None)
            injected.append(index)
            time.sleep(0.3)

    t = threading.Thread(target=chaos)
    t.start()
    try:
        s = run_rollouts(cfg, items, expert_spec(cfg, 0), phase="collect", fleet=fleet)
    finally:
        t.join()
        fleet.stop()
    assert sorted(injected) == sorted(faults)
    store = TrajectoryStore(cfg.store_uri)
    outcomes = store.outcomes(columns=["traj_id", "success", "failure_kind", "num_steps"]).to_pylist()
    ids = Counter(o["traj_id"] for o in outcomes)
    assert len(outcomes) == 200 and set(ids) == {i.traj_id for i in items} and max(ids.values()) == 1
    # every visible trajectory is whole: its step rows match its outcome's count
    steps = Counter(r["traj_id"] for r in store.steps(columns=["traj_id"]).to_pylist())
    assert all(steps.get(o["traj_id"], 0) == o["num_steps"] for o in outcomes)
    # the faults were seen, retried on healthy or restarted VMs, and labelled
    retried = {k: v for k, v in s.failures.items() if k.startswith("retried_")}
    assert s.retries >= 3 and set(retried) <= {"retried_vm_error", "retried_timeout"}, s.failures
    assert s.vm_restarts >= 3
    infra_final = [o for o in outcomes if o["failure_kind"] in ("vm_error", "timeout")]
    assert len(infra_final) <= 2  # retries on healthy VMs recover nearly every task
    # 16 VMs, 2 worker processes (one per CPU): the faulted VMs' neighbours in the same process kept playing
    first = [w for w in s.workers if w["round"] == 1]
    assert len(first) == 16 and len({w["pid"] for w in first}) == 2, first
    healthy = [w for w in first if int(w["vm"].rsplit("-", 1)[1]) not in faults]
    assert all(w["done"] >= 3 for w in healthy), healthy
