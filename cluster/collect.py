"""Drive a rollout: start the fleet, the task queue, the store writer and the rollout workers (each
driving several VMs, ``plan_workers``); show progress; make sure every task has exactly one outcome
in the store; tag the result.

Used by phase 0b (expert collection), phase 3 (exploration), online evaluation and online PPO.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import ray

from cluster.config import RolloutConfig
from cluster.fleet import start_fleet
from cluster.rollout import RolloutWorker, TaskQueue, WorkItem
from lam_rl.config import ConfigError
from lam_rl.logs import progress

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)


@dataclass
class RolloutSummary:
    tasks: int = 0
    done: int = 0
    successes: int = 0
    steps: int = 0
    invalid: int = 0
    retries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    vm_restarts: int = 0
    workers_retired: int = 0
    seconds: float = 0.0
    committed: int = 0
    rounds: int = 1
    workers: list[dict[str, Any]] = field(
        default_factory=list
    )  # per VM connection: done, steps, started, finished

    @property
    def success_rate(self) -> float:
        return self.successes / max(self.done, 1)

    @property
    def steps_per_s(self) -> float:
        return self.steps / max(self.seconds, 1e-9)

    def metrics(self, prefix: str = "rollout") -> dict[str, float]:
        out = {
            f"{prefix}/tasks_done": self.done,
            f"{prefix}/success_rate": self.success_rate,
            f"{prefix}/steps_per_s": self.steps_per_s,
            f"{prefix}/invalid_actions": self.invalid,
            f"{prefix}/infra_retries": self.retries,
            f"{prefix}/vm_restarts": self.vm_restarts,
            f"{prefix}/vms_retired": self.workers_retired,
        }
        out.update({f"{prefix}/failures/{k}": v for k, v in self.failures.items()})
        return out


def expert_spec(cfg: Config, seed: int) -> dict[str, Any]:
    return {"kind": "expert", "expert": asdict(cfg.expert), "seed": seed, "name": "expert"}


def checkpoint_spec(cfg: Config, name: str, tokenizer_json: str, app: str = "policy") -> dict[str, Any]:
    return {
        "kind": "checkpoint",
        "agent": asdict(cfg.agent),
        "tokenizer": tokenizer_json,
        "app": app,
        "name": name,
    }


def run_rollouts(
    cfg: Config,
    items: list[WorkItem],
    policy_spec: dict[str, Any],
    *,
    phase: str,
    tracker=None,
    desc: str = "rollouts",
    max_rounds: int = 3,
    fleet=None,
) -> RolloutSummary:
    """Play every item once; returns when each has exactly one committed outcome in the store.

    ``fleet``: an already started fleet (``cluster.fleet.start_fleet``) to use and leave running.
    """
    from cluster.store_io import close_store_writer, store_writer
    from lam_rl.store import TrajectoryStore

    if not items:
        raise ConfigError(f"{desc}: no tasks to play")
    t0 = time.time()
    own_fleet = fleet is None
    if own_fleet:
        fleet = start_fleet(cfg.fleet, cfg.env, count=min(cfg.fleet.local, len(items)))
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir)
    summary = RolloutSummary(tasks=len(items))
    pending = list(items)
    try:
        for round_ in range(1, max_rounds + 1):
            summary.rounds = round_
            writer = store_writer(cfg.store, uri=cfg.store_uri)
            queue = TaskQueue.options(scheduling_strategy=driver_node()).remote(
                pending, cfg.rollout.max_retries, cfg.rollout.lease_timeout_s
            )
            groups = plan_workers(cfg.rollout, len(fleet.endpoints), cluster_resources())
            tag = uuid.uuid4().hex[:8]  # named (tests and chaos drills find them), unique per round
            workers = [
                RolloutWorker.options(
                    name=f"rollout-{tag}-w{w}", resources=dict(cfg.rollout.resources) or None
                ).remote(
                    f"w{w}",
                    [
                        (ep.name, ep.url, ep.host, ep.index, i)
                        for i, ep in ((i, fleet.endpoints[i]) for i in group)
                    ],
                    fleet.token,
                    queue,
                    writer,
                    policy_spec,
                    phase=phase,
                    env=cfg.env,
                    fleet=cfg.fleet,
                    rollout=cfg.rollout,
                )
                for w, group in enumerate(groups)
            ]
            if round_ == 1:
                log.info("%s: %d VMs on %d rollout workers", desc, len(fleet.endpoints), len(workers))
            runs = [w.run.remote() for w in workers]
            _watch(
                queue, runs, summary, t0, tracker, desc, cfg.rollout.progress_every_s, len(fleet.endpoints)
            )
            summary.workers += [dict(r, round=round_) for r in _results(runs, groups, fleet)]
            close_store_writer(cfg.store, uri=cfg.store_uri)
            for w in workers:
                ray.kill(w)
            ray.kill(queue)
            committed = store.committed([it.traj_id for it in items])
            summary.committed = len(committed)
            pending = [it for it in items if it.traj_id not in committed]
            if not pending:
                break
            log.warning("%s: %d outcomes did not reach the store; replaying them", desc, len(pending))
            summary.done -= len(pending)
            summary.successes = 0  # recounted from the store below
    finally:
        if own_fleet:
            fleet.stop()
    summary.seconds = time.time() - t0
    if pending:
        raise RuntimeError(
            f"{desc}: {len(pending)} of {len(items)} tasks have no outcome after {max_rounds} rounds"
        )
    outcomes = store.outcomes(traj_id=[it.traj_id for it in items], columns=["success", "num_steps"])
    summary.successes = sum(outcomes.column("success").to_pylist())
    summary.done = outcomes.num_rows
    if tracker is not None:
        tracker.log(summary.metrics())
    return summary


def plan_workers(rollout: RolloutConfig, vms: int, resources: dict[str, float]) -> list[list[int]]:
    """Which VMs (indices) each rollout worker process drives: ``rollout.workers`` processes, or
    ceil(VMs / ``rollout.vms_per_worker``), or by default one per CPU of the cluster (no more than
    fit the ``rollout.resources`` each asks for, none without a VM); the VMs spread evenly."""
    if rollout.workers:
        n = rollout.workers
    elif rollout.vms_per_worker:
        n = math.ceil(vms / rollout.vms_per_worker)
    else:
        n = max(1, int(resources.get("CPU", 1)))
        for key, amount in rollout.resources.items():
            n = min(n, max(1, int(resources.get(key, 0) // amount)))
    for key, amount in rollout.resources.items():
        if resources.get(key, 0) < amount:
            raise ConfigError(
                f"rollout.resources asks each rollout worker for {amount:g} {key!r} but the Ray cluster "
                f"offers {resources.get(key, 0):g}; start a node with that resource or change rollout.resources"
            )
    n = max(1, min(n, vms))
    base, extra = divmod(vms, n)
    groups, start = [], 0
    for w in range(n):
        size = base + (w < extra)
        groups.append(list(range(start, start + size)))
        start += size
    return groups


def cluster_resources() -> dict[str, float]:
    return dict(ray.cluster_resources())


def driver_node():
    """Schedule on the driver's node (hard): the task queue lives and dies with the job's driver, so
    losing a rollout node never loses the queue."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)


def _results(runs, groups: list[list[int]], fleet) -> list[dict[str, Any]]:
    """One entry per VM connection; a worker process that died reports its connections as lost
    (its leases expired and went to the other workers, or the next round replays them)."""
    out: list[dict[str, Any]] = []
    for w, (ref, group) in enumerate(zip(runs, groups, strict=True)):
        try:
            out.extend(ray.get(ref))
        except ray.exceptions.RayError as e:
            log.warning(
                "rollout worker w%d died (%s); its VMs' tasks went back to the queue", w, type(e).__name__
            )
            out.extend(
                {
                    "worker": f"w{w}/{fleet.endpoints[i].name}",
                    "vm": fleet.endpoints[i].name,
                    "died": True,
                    "episodes": [],
                    "started": None,
                    "done": 0,
                    "steps": 0,
                }
                for i in group
            )
    return out


def _watch(
    queue, runs, summary: RolloutSummary, t0: float, tracker, desc: str, every: float, connections: int
) -> None:
    """Progress bar and W&B metrics until the workers are done (totals add up over rounds)."""
    carry = RolloutSummary(**{k: v for k, v in asdict(summary).items() if k not in ("failures", "workers")})
    carry.failures = dict(summary.failures)
    bar = progress(total=summary.tasks, desc=desc, unit="task", initial=carry.done)
    while True:
        ready, _ = ray.wait(runs, num_returns=len(runs), timeout=every)
        s = ray.get(queue.get_stats.remote())
        for key in ("done", "successes", "steps", "invalid", "retries", "vm_restarts", "workers_retired"):
            setattr(summary, key, getattr(carry, key) + getattr(s, key))
        summary.failures = {
            k: carry.failures.get(k, 0) + s.failures.get(k, 0) for k in {*carry.failures, *s.failures}
        }
        summary.seconds = time.time() - t0
        bar.update(summary.done - bar.n)
        bar.set_postfix(success=f"{summary.success_rate:.0%}", steps_s=f"{summary.steps_per_s:.1f}")
        if tracker is not None:
            tracker.log(summary.metrics())
        if len(ready) == len(runs):
            break
        if s.workers_retired >= connections and s.done < s.total:
            bar.close()
            raise RuntimeError(
                f"{desc}: every VM was retired with {s.total - s.done} tasks left; check the fleet"
            )
    bar.close()
