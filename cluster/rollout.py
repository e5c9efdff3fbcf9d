"""Rollout workers: Ray actors that each drive several VMs, fed by a leasing task queue, writing whole
trajectories.

- :class:`TaskQueue` (actor) hands out leased tasks. A lease that fails for infrastructure reasons
  (VM died or hung, policy server unreachable) or that expires (worker died) puts the task back,
  up to ``max_retries``; after that the task's one outcome is an infrastructure failure. A task is
  completed at most once (a stale lease cannot complete it), and its trajectory id is fixed per
  task, so the store's exactly-once write makes "exactly one outcome per task" hold end to end.
- :class:`RolloutWorker` (actor) is one process driving K VMs, one connection (thread) each:
  lease -> ``run_episode`` -> complete -> write (``cluster.multiplex``, the loop without Ray). A
  failing VM is healed (a local WordSim VM is restarted by its host; a remote one is
  health-checked with backoff) or, after ``max_vm_failures`` in a row, retired, while the other
  connections of the worker keep playing. Finished trajectories go to the store's writer in
  batches per worker.
"""

from __future__ import annotations

import functools
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import ray

from cluster.config import FleetConfig, RolloutConfig
from lam_rl.agent.config import AgentConfig
from lam_rl.agent.episode import EpisodeLimits
from lam_rl.env.config import EnvConfig

log = logging.getLogger(__name__)


@dataclass
class WorkItem:
    """A task to play: ``traj_id`` is fixed per item so a retry can never add a second outcome."""

    traj_id: str
    task: dict[str, Any]
    split: str = "train"
    attempt: int = 0  # exploration attempt index (not an infrastructure retry)


@dataclass
class _Entry:
    item: WorkItem
    retries: int = 0
    lease: str | None = None
    worker: str | None = None
    leased_at: float = 0.0
    state: str = "pending"  # pending | leased | done


@dataclass
class QueueStats:
    total: int = 0
    done: int = 0
    pending: int = 0
    leased: int = 0
    successes: int = 0
    steps: int = 0
    invalid: int = 0
    retries: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    workers_retired: int = 0
    vm_restarts: int = 0
    started: float = 0.0


class LeaseQueue:
    """The task queue's logic (usable without Ray); ``TaskQueue`` is it as a Ray actor."""

    def __init__(self, items: list[WorkItem], max_retries: int, lease_timeout_s: float) -> None:
        self.entries = {it.traj_id: _Entry(it) for it in items}
        self.order = deque(it.traj_id for it in items)
        self.max_retries = max_retries
        self.lease_timeout_s = lease_timeout_s
        self.by_lease: dict[str, str] = {}
        self.stats = QueueStats(total=len(items), pending=len(items), started=time.time())
        # many connections call lease/finished many times a second: scan the leases for expired
        # ones at most a few times per lease timeout (and once a second), not on every call
        self._expire_every = min(1.0, lease_timeout_s / 4)
        self._expired_at = 0.0

    def _expire(self) -> None:
        now = time.time()
        if now - self._expired_at < self._expire_every:
            return
        self._expired_at = now
        for e in self.entries.values():
            if now - e.leased_at <= self.lease_timeout_s:
                continue
            if e.state == "leased":
                self._release(e, "lease_expired")
            elif e.state == "final":  # the worker meant to record the failure died: play it once more
                self.by_lease.pop(e.lease or "", None)
                e.state, e.lease = "pending", None
                self.stats.pending += 1
                self.order.append(e.item.traj_id)

    def _release(self, e: _Entry, kind: str) -> str:
        self.by_lease.pop(e.lease or "", None)
        e.lease, e.worker = None, None
        self.stats.leased -= 1
        if e.retries < self.max_retries:
            e.retries += 1
            e.state = "pending"
            self.stats.pending += 1
            self.stats.retries += 1
            self.order.append(e.item.traj_id)
            return "retry"
        e.state = "final"  # the caller records the infrastructure failure, then completes it
        return "final"

    def lease(self, worker: str) -> tuple[str, WorkItem, int] | None:
        self._expire()
        while self.order:
            key = self.order.popleft()
            e = self.entries[key]
            if e.state != "pending":
                continue
            e.state, e.lease, e.worker, e.leased_at = "leased", uuid.uuid4().hex, worker, time.time()
            self.by_lease[e.lease] = key
            self.stats.pending -= 1
            self.stats.leased += 1
            return e.lease, e.item, e.retries
        return None

    def complete(self, lease: str, summary: dict[str, Any]) -> bool:
        """Accept the outcome of a current lease (False for a stale one: do not write it)."""
        key = self.by_lease.pop(lease, None)
        if key is None:
            return False
        e = self.entries[key]
        if e.state not in ("leased", "final"):
            return False
        if e.state == "leased":
            self.stats.leased -= 1
        e.state, e.lease = "done", None
        s = self.stats
        s.done += 1
        s.successes += int(bool(summary.get("success")))
        s.steps += int(summary.get("num_steps", 0))
        s.invalid += int(summary.get("num_invalid", 0))
        kind = summary.get("failure_kind")
        if kind:
            s.failures[kind] = s.failures.get(kind, 0) + 1
        return True

    def complete_and_lease(
        self, lease: str, summary: dict[str, Any], worker: str
    ) -> tuple[bool, tuple[str, WorkItem, int] | None]:
        """``complete`` then ``lease`` in one call (one round trip per episode for a worker)."""
        return self.complete(lease, summary), self.lease(worker)

    def failed(self, lease: str, kind: str) -> str:
        """An infrastructure failure on a lease: 'retry' (requeued), 'final' (record it) or 'stale'."""
        key = self.by_lease.get(lease)
        if key is None:
            return "stale"
        s = self.stats
        s.failures[f"retried_{kind}"] = s.failures.get(f"retried_{kind}", 0) + 1
        e = self.entries[key]
        verdict = self._release(e, kind)
        if verdict == "final":  # the worker completes it with the failure outcome
            self.by_lease[lease] = key
            e.lease, e.leased_at = lease, time.time()
        return verdict

    def note(self, event: str) -> None:
        if event == "worker_retired":
            self.stats.workers_retired += 1
        elif event == "vm_restart":
            self.stats.vm_restarts += 1

    def get_stats(self) -> QueueStats:
        self._expire()
        return self.stats

    def finished(self) -> bool:
        self._expire()
        return self.stats.done >= self.stats.total


TaskQueue = ray.remote(num_cpus=0)(LeaseQueue)


def make_policy(spec: dict[str, Any]):
    """Build a policy inside a worker from a picklable spec (expert, checkpoint, openai)."""
    from lam_rl.agent.policy import ExpertAdapter, LMPolicy, openai_generate
    from lam_rl.agent.prompt import PromptBuilder

    kind = spec["kind"]
    if kind == "expert":
        from lam_rl.env.config import ExpertConfig
        from lam_rl.env.expert import ExpertPolicy

        return ExpertAdapter(
            ExpertPolicy(ExpertConfig(**spec["expert"]), seed=spec.get("seed", 0)), spec.get("name", "expert")
        )
    agent = AgentConfig(**spec["agent"])
    count = _token_counter(str(spec["tokenizer"])) if spec.get("tokenizer") else None
    builder = PromptBuilder(agent, count)
    if kind == "checkpoint":
        from ray import serve

        from cluster.policy_server import serve_generate_fn

        handle = serve.get_app_handle(spec.get("app", "policy"))
        return LMPolicy(serve_generate_fn(handle), builder, spec.get("name", "lam"))
    if kind == "openai":
        import os

        from lam_rl.agent.policy import SYSTEM_PROMPT

        gen = openai_generate(
            spec["base_url"],
            os.environ.get(spec.get("api_key_env", "OPENAI_API_KEY"), "none"),
            spec["model"],
            system_prompt=SYSTEM_PROMPT if spec.get("system_prompt", True) else None,
        )
        return LMPolicy(gen, builder, spec.get("name", spec["model"]))
    raise ValueError(f"unknown policy kind {kind!r}")


def connection_seed(seed: int, index: int) -> int:
    """The expert's seed on connection ``index``: its own stream of the job's seed (numpy's
    SeedSequence, so neighbouring connections never share or overlap a random stream)."""
    import numpy as np

    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


@functools.lru_cache(maxsize=4)
def _token_counter(path: str):
    """One tokenizer per worker process, shared by its connections' prompt builders."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(path)
    return lambda s: len(tok.encode(s, add_special_tokens=False).ids)


@ray.remote(num_cpus=0, max_restarts=0, max_concurrency=2)  # 2: info() answers while run() works
class RolloutWorker:
    """One rollout worker process driving several VMs, one :class:`~cluster.multiplex.VMConnection`
    (thread) each. Thin: the loop is ``cluster.multiplex``; this adds the Ray queue, the shared
    store writer and the VM hosts' restarts. ``vms`` is a list of (name, url, host, index, global_index):
    ``host`` the ``VMHost`` actor of a local VM (None for a remote one), ``index`` its index there."""

    def __init__(
        self,
        name: str,
        vms: list[tuple[str, str, Any, int | None, int]],
        token: str,
        queue,
        writer,
        policy_spec: dict[str, Any],
        *,
        phase: str,
        env: EnvConfig,
        fleet: FleetConfig,
        rollout: RolloutConfig,
    ) -> None:
        import os

        from cluster.multiplex import Endpoint, VMConnection, WriteBatcher

        self.name, self.pid = name, os.getpid()
        self.writes: list[Any] = []
        self.writer = writer
        self.batcher = WriteBatcher(self._send, max_items=max(1, min(32, 2 * len(vms))))
        q = _RayQueue(queue)
        limits = EpisodeLimits(rollout.max_steps, rollout.max_invalid)
        self.connections = [
            VMConnection(
                f"{name}/{vm_name}",
                Endpoint(vm_name, url, index),
                token,
                q,
                self.batcher,
                make_policy(_per_connection(policy_spec, gidx)),
                phase=phase,
                env=env,
                limits=limits,
                max_vm_failures=fleet.max_vm_failures,
                restart=None if host is None else functools.partial(_restart, host),
            )
            for vm_name, url, host, index, gidx in vms
        ]

    def info(self) -> dict[str, Any]:
        return {"worker": self.name, "pid": self.pid, "connections": len(self.connections)}

    def run(self) -> list[dict[str, Any]]:
        """Drive every connection until the queue is drained (or its VM retired); one result per
        connection (``cluster.multiplex.VMConnection.run``) with this worker's process id."""
        from cluster.multiplex import run_connections

        results = run_connections(self.connections)
        self.batcher.close()
        ray.get(self.writes)  # every trajectory this worker sent is with the writer
        for r in results:
            r["pid"] = self.pid
            r["writer_calls"] = self.batcher.sends
        return results

    def _send(self, trajs: list[Any]) -> None:
        """Send a batch of finished trajectories to the store's writer without waiting for its commit
        (at most a few sends in flight; a lost one is replayed by the driver's reconciliation)."""
        from lam_rl.store import EncodedTrajectories

        self.writes.append(self.writer.add.remote(EncodedTrajectories.of(trajs)))
        if len(self.writes) > 8:
            _, self.writes = ray.wait(self.writes, num_returns=len(self.writes) - 4)


def _restart(host, index: int) -> str:
    return ray.get(host.restart.remote(index))


def _per_connection(spec: dict[str, Any], index: int) -> dict[str, Any]:
    if spec["kind"] != "expert":
        return spec
    return {**spec, "seed": connection_seed(spec.get("seed", 0), index)}


class _RayQueue:
    """The ``TaskQueue`` actor behind the queue methods a connection calls (blocking, thread-safe)."""

    def __init__(self, handle) -> None:
        self.handle = handle

    def lease(self, worker: str):
        return ray.get(self.handle.lease.remote(worker))

    def complete(self, lease: str, summary: dict[str, Any]) -> bool:
        return ray.get(self.handle.complete.remote(lease, summary))

    def complete_and_lease(self, lease: str, summary: dict[str, Any], worker: str):
        return ray.get(self.handle.complete_and_lease.remote(lease, summary, worker))

    def failed(self, lease: str, kind: str) -> str:
        return ray.get(self.handle.failed.remote(lease, kind))

    def note(self, event: str) -> None:
        self.handle.note.remote(event)

    def finished(self) -> bool:
        return ray.get(self.handle.finished.remote())
