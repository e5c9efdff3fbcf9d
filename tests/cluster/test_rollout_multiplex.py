"""Many VM connections per rollout worker process: the loop without Ray (threads, a local queue, real
WordSim VMs over loopback HTTP), then on embedded Ray (a worker killed mid-run, policy batching)."""

import threading
import time
from collections import Counter

import pytest

from cluster.collect import expert_spec, plan_workers, run_rollouts
from cluster.config import RolloutConfig
from cluster.fleet import start_fleet
from cluster.multiplex import Endpoint, LockedQueue, VMConnection, WriteBatcher, run_connections
from cluster.rollout import LeaseQueue, WorkItem, connection_seed
from lam_rl.agent.episode import EpisodeLimits
from lam_rl.agent.policy import ExpertAdapter
from lam_rl.env.config import EnvConfig, ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.fleet import serve_many
from lam_rl.env.tasks import sample_tasks
from lam_rl.store import TrajectoryStore


def work(n, seed=0, prefix="mux"):
    return [
        WorkItem(f"{prefix}:{t.task_id}", t.model_dump(mode="json"))
        for t in sample_tasks(n, seed, split="train")
    ]


def test_plan_spreads_vms_evenly_and_scales_with_cores_not_vms():
    sizes = lambda groups: [len(g) for g in groups]  # noqa: E731
    cpus = {"CPU": 2.0}
    assert sizes(plan_workers(RolloutConfig(), 1000, cpus)) == [500, 500]  # auto: one per CPU
    assert sizes(plan_workers(RolloutConfig(), 1, {"CPU": 8.0})) == [1]  # never more workers than VMs
    assert sizes(plan_workers(RolloutConfig(workers=3), 10, cpus)) == [4, 3, 3]
    assert sizes(plan_workers(RolloutConfig(vms_per_worker=125), 1000, cpus)) == [125] * 8
    assert sizes(plan_workers(RolloutConfig(vms_per_worker=1), 4, cpus)) == [1, 1, 1, 1]  # a process per VM
    groups = plan_workers(RolloutConfig(workers=4), 10, cpus)
    assert sorted(i for g in groups for i in g) == list(range(10))
    # auto with a custom resource: no more workers than the nodes offering it can hold
    rc = RolloutConfig(resources={"rollout_node": 2})
    assert sizes(plan_workers(rc, 100, {"CPU": 16.0, "rollout_node": 6.0})) == [34, 33, 33]
    from lam_rl.config import ConfigError

    with pytest.raises(ConfigError, match="rollout_node"):
        plan_workers(rc, 100, {"CPU": 16.0})
    with pytest.raises(ConfigError, match="both set"):
        RolloutConfig(workers=2, vms_per_worker=3)
    # each connection's expert draws its own stream
    assert len({connection_seed(0, i) for i in range(1000)}) == 1000


def test_k_connections_in_one_process_a_crashed_and_a_hung_vm_disturb_no_neighbour():
    """6 connections (threads) in this process, 36 tasks; VM 1 crashes and VM 4 hangs mid-episode.
    Every task gets exactly one outcome, the four healthy connections keep playing, the writes are
    batched, and the connections really run at once."""
    env = EnvConfig(latency_ms=60, timeout_s=1.5, connect_retries=1, backoff_s=0.05)
    items = work(36, seed=4)
    queue = LockedQueue(LeaseQueue(items, max_retries=3, lease_timeout_s=60))
    written, sends = [], []

    def send(batch):
        sends.append(len(batch))
        written.extend(batch)

    batcher = WriteBatcher(send, max_items=8, max_wait_s=0.5)
    with serve_many(6, token="tok", cfg=env) as fleet:
        conns = [
            VMConnection(
                f"w0/{vm.name}",
                Endpoint(vm.name, vm.url, i),
                "tok",
                queue,
                batcher,
                ExpertAdapter(ExpertPolicy(ExpertConfig(), seed=connection_seed(0, i))),
                phase="collect",
                env=env,
                limits=EpisodeLimits(12, 3),
                restart=fleet.restart,
            )
            for i, vm in enumerate(fleet)
        ]
        faulted = threading.Event()

        def chaos():  # once VMs 1 and 4 each hold a task: crash one, hang the other
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (fleet[1].agent.task and fleet[4].agent.task):
                time.sleep(0.01)
            fleet[1].crash()
            fleet[4].hang(20.0)
            faulted.set()

        t = threading.Thread(target=chaos)
        t.start()
        results = run_connections(conns)
        t.join()
        batcher.close()
    assert faulted.is_set()
    stats = queue.get_stats()
    ids = Counter(tr.outcome.traj_id for tr in written)
    assert set(ids) == {i.traj_id for i in items} and max(ids.values()) == 1, ids
    assert stats.done == 36 and stats.retries >= 2, stats
    assert all(len(tr.steps) == tr.outcome.num_steps for tr in written)  # whole trajectories
    by_vm = {r["vm"]: r for r in results}
    # the faulted VMs were restarted (a healthy VM of a very loaded machine may time out too)
    assert {"wordsim-1", "wordsim-4"} <= {r["vm"] for r in results if r["vm_restarts"]}, results
    assert all(by_vm[f"wordsim-{i}"]["done"] >= 3 for i in (0, 2, 3, 5)), results  # neighbours kept going
    assert len(sends) <= 36 // 2, sends  # batched: at most half as many writer calls as trajectories
    # six at a time, not one after another: every connection had started before any had finished
    assert max(r["started"] for r in results) < min(r["finished"] for r in results), results


def _named_workers():
    import ray

    return [n for n in ray.util.list_named_actors() if n.startswith("rollout-")]


@pytest.mark.e2e
def test_worker_process_killed_mid_run_every_task_one_outcome(ray_session, cfg_factory):
    import ray

    cfg = cfg_factory(
        "fleet.local=6",
        "rollout.workers=2",
        "env.latency_ms=100",
        "rollout.lease_timeout_s=4",
    )
    items = work(60, seed=6)
    fleet = start_fleet(cfg.fleet, cfg.env)
    killed = []

    def chaos():  # once both workers run and the VMs have started 12 tasks: kill one process
        from lam_rl.env.client import VMClient

        clients = [VMClient(ep.url, fleet.token, timeout_s=30) for ep in fleet.endpoints]
        deadline = time.monotonic() + 120
        names, seen = [], set()
        while time.monotonic() < deadline and (len(names) < 2 or len(seen) < 12):
            names = _named_workers()
            seen |= {c.health().task_id for c in clients} - {None}
            time.sleep(0.02)
        for c in clients:
            c.close()
        name = sorted(names)[0]
        ray.kill(ray.get_actor(name))
        killed.append((name, len(seen)))

    t = threading.Thread(target=chaos)
    t.start()
    try:
        s = run_rollouts(cfg, items, expert_spec(cfg, 0), phase="collect", fleet=fleet)
    finally:
        t.join()
        fleet.stop()
    assert killed
    store = TrajectoryStore(cfg.store_uri)
    outcomes = store.outcomes(columns=["traj_id", "num_steps"]).to_pylist()
    ids = Counter(o["traj_id"] for o in outcomes)
    assert len(outcomes) == 60 and set(ids) == {i.traj_id for i in items} and max(ids.values()) == 1
    steps = Counter(r["traj_id"] for r in store.steps(columns=["traj_id"]).to_pylist())
    assert all(steps.get(o["traj_id"], 0) == o["num_steps"] for o in outcomes)
    first = [w for w in s.workers if w["round"] == 1]
    died = [w for w in first if w.get("died")]
    assert len(first) == 6 and len(died) == 3, s.workers  # the killed process's three connections
    # the other process's connections kept playing and took over the dead one's leases
    assert sum(w["done"] for w in first if not w.get("died")) >= 30, first


@pytest.mark.e2e
def test_policy_requests_of_connections_in_one_process_are_batched(ray_session, cfg_factory, tmp_path):
    from cluster import policy_server
    from cluster.collect import checkpoint_spec
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.config import ModelConfig
    from lam_rl.models.corpus import project_corpus

    tok = train_tokenizer(project_corpus(["Make the title bold."] * 20), 400)
    mc = ModelConfig(hidden=32, layers=1, heads=2, kv_heads=2, intermediate=64, max_seq_len=1024)
    ckpt = save_pretrained(build_model(mc, tok, seed=1), tok, tmp_path / "lm")
    cfg = cfg_factory(
        "fleet.local=6",
        "rollout.workers=1",
        "rollout.max_steps=2",
        "rollout.max_invalid=3",
        "policy.max_new_tokens=8",
        "policy.batch_wait_ms=20",
    )
    policy_server.deploy(cfg.policy, ckpt, 1, http=cfg.serve, app_name="policy")
    try:
        spec = checkpoint_spec(cfg, "lam", str(ckpt / "tokenizer.json"))
        s = run_rollouts(cfg, work(8, seed=8, prefix="batch"), spec, phase="explore")
        info = policy_server.serve.get_app_handle("policy").info.remote().result()
    finally:
        policy_server.shutdown()
    assert s.done == 8 and len({w["worker"].split("/")[0] for w in s.workers}) == 1
    # six connections of one process ask at once: the server's batches hold more than one request
    assert info["served"] >= 8 and info["served"] / info["batches"] >= 1.5, info
