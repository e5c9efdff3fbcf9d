"""Rollout workers: one Ray actor per VM, fed by a leasing task queue, writing whole trajectories.

- :class:`TaskQueue` (actor) hands out leased tasks. A lease that fails for infrastructure reasons
  (VM died or hung, policy server unreachable) or that expires (worker died) puts the task back,
  up to ``max_retries``; after that the task's one outcome is an infrastructure failure. A task is
  completed at most once (a stale lease cannot complete it), and its trajectory id is fixed per
  task, so the store's exactly-once write makes "exactly one outcome per task" hold end to end.
- :class:`RolloutWorker` (actor) owns one VM endpoint: lease -> ``run_episode`` -> complete ->
  write. A failing VM is healed (a local WordSim VM is restarted by its host; a remote one is
  health-checked with backoff) or, after ``max_vm_failures`` in a row, retired.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import ray

from cluster.config import FleetConfig, RolloutConfig
from lam_rl.agent.config import AgentConfig
from lam_rl.agent.episode import EpisodeLimits, infra_failure, run_episode
from lam_rl.agent.policy import PolicyError
from lam_rl.env.config import EnvConfig
from lam_rl.env.protocol import TaskSpec

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
        self.order = [it.traj_id for it in items]
        self.max_retries = max_retries
        self.lease_timeout_s = lease_timeout_s
        self.by_lease: dict[str, str] = {}
        self.stats = QueueStats(total=len(items), pending=len(items), started=time.time())

    def _expire(self) -> None:
        now = time.time()
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
            key = self.order.pop(0)
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
        return all(e.state == "done" for e in self.entries.values())


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
    count = None
    if spec.get("tokenizer"):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(spec["tokenizer"]))
        count = lambda s: len(tok.encode(s, add_special_tokens=False).ids)  # noqa: E731
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


@ray.remote(num_cpus=0, max_restarts=0)
class RolloutWorker:
    def __init__(
        self,
        name: str,
        vm_url: str,
        token: str,
        queue,
        writer,
        policy_spec: dict[str, Any],
        *,
        phase: str,
        env: EnvConfig,
        fleet: FleetConfig,
        rollout: RolloutConfig,
        host=None,
        host_index: int | None = None,
    ) -> None:
        from lam_rl.env.client import VMClient

        self.name = name
        self.url = vm_url
        self.token = token
        self.queue, self.writer = queue, writer
        self.phase = phase
        self.env, self.fleet, self.rollout = env, fleet, rollout
        self.host, self.host_index = host, host_index
        self.client = VMClient.from_config(vm_url, token, env, name=name)
        self.policy = make_policy(policy_spec)
        self.limits = EpisodeLimits(rollout.max_steps, rollout.max_invalid)
        self.consecutive_failures = 0
        self.writes: list[Any] = []

    def _heal(self, err: Exception) -> bool:
        """Bring the VM back after a failure; False when it should be retired."""
        from lam_rl.env.client import VMError

        self.consecutive_failures += 1
        if isinstance(err, PolicyError):
            time.sleep(min(5.0, self.env.backoff_s * 2**self.consecutive_failures))
            return self.consecutive_failures <= 10
        if self.host is not None:  # a local WordSim VM: its host restarts it
            from lam_rl.env.client import VMClient

            self.url = ray.get(self.host.restart.remote(self.host_index))
            self.client.close()
            self.client = VMClient.from_config(self.url, self.token, self.env, name=self.name)
            self.queue.note.remote("vm_restart")
            return True
        delay = self.env.backoff_s
        for _ in range(self.fleet.max_vm_failures):
            time.sleep(delay)
            delay *= 2
            try:
                self.client.health()
                return self.consecutive_failures < 3 * self.fleet.max_vm_failures
            except VMError:
                continue
        return False

    def run(self) -> dict[str, Any]:
        """Work until the queue is drained or the VM is retired; returns this worker's counts and the
        finish time and length of every episode (for throughput measurements)."""
        from lam_rl.env.client import VMError, VMTimeout

        done = failures = 0
        episodes: list[tuple[float, int]] = []
        started: float | None = None
        got = ray.get(self.queue.lease.remote(self.name))
        while True:
            if got is None:
                if ray.get(self.queue.finished.remote()):
                    break
                time.sleep(0.05)
                got = ray.get(self.queue.lease.remote(self.name))
                continue
            lease, item, retries = got
            started = started or time.time()
            task = TaskSpec.model_validate(item.task)
            try:
                traj = run_episode(
                    self.client,
                    self.policy,
                    task,
                    traj_id=item.traj_id,
                    phase=self.phase,
                    split=item.split,
                    attempt=item.attempt,
                    limits=self.limits,
                    worker=self.name,
                    vm_name=self.url,
                )
            except (VMError, PolicyError) as e:
                failures += 1
                if isinstance(e, PolicyError):
                    kind = "policy_error"
                else:
                    kind = "timeout" if isinstance(e, VMTimeout) else "vm_error"
                verdict = ray.get(self.queue.failed.remote(lease, kind))
                if verdict == "final":
                    traj = infra_failure(
                        task,
                        traj_id=item.traj_id,
                        phase=self.phase,
                        policy=self.policy.name,
                        kind=kind,
                        reason=f"{retries + 1} attempts failed; last: {e}",
                        split=item.split,
                        attempt=item.attempt,
                        worker=self.name,
                        vm_name=self.url,
                    )
                    if ray.get(self.queue.complete.remote(lease, self._summary(traj))):
                        self._write(traj)
                if not self._heal(e):
                    self.queue.note.remote("worker_retired")
                    log.warning("%s: retiring VM %s after repeated failures", self.name, self.url)
                    break
                got = ray.get(self.queue.lease.remote(self.name))
                continue
            self.consecutive_failures = 0
            accepted, got = ray.get(
                self.queue.complete_and_lease.remote(lease, self._summary(traj), self.name)
            )
            if accepted:
                self._write(traj)
                done += 1
                episodes.append((time.time(), traj.outcome.num_steps))
        ray.get(self.writes)  # every trajectory this worker sent is with the writer
        self.client.close()
        return {
            "worker": self.name,
            "done": done,
            "infra_failures": failures,
            "started": started,
            "finished": time.time(),
            "episodes": episodes,
            "steps": sum(n for _, n in episodes),
        }

    def _write(self, traj) -> None:
        """Send a finished trajectory to the store's writer without waiting for its commit
        (at most a few sends in flight; a lost one is replayed by the driver's reconciliation)."""
        from lam_rl.store import EncodedTrajectories

        self.writes.append(self.writer.add.remote(EncodedTrajectories.of([traj])))
        if len(self.writes) > 8:
            _, self.writes = ray.wait(self.writes, num_returns=len(self.writes) - 4)

    @staticmethod
    def _summary(traj) -> dict[str, Any]:
        o = traj.outcome
        return {
            "success": o.success,
            "num_steps": o.num_steps,
            "num_invalid": o.num_invalid,
            "failure_kind": o.failure_kind,
        }
