"""Many VM connections in one process: the rollout worker's loop, without Ray.

A rollout worker process drives K VMs at once. Each VM gets a :class:`VMConnection`: its own thread,
client, policy instance and leases, so one VM that crashes, hangs or is retired only stops its own
connection; the others keep playing. What the connections share is passed in as plain objects:

- a task queue with the :class:`~cluster.rollout.LeaseQueue` methods (``lease``, ``complete``,
  ``complete_and_lease``, ``failed``, ``note``, ``finished``): :class:`LockedQueue` wraps a local
  ``LeaseQueue``; ``cluster.rollout`` passes one that calls the ``TaskQueue`` actor;
- a :class:`WriteBatcher`, which sends the finished trajectories of all connections to the store's
  writer in batches (one call per ``max_items`` trajectories or ``max_wait_s``);
- ``restart(index) -> url`` when the VMs are local WordSim VMs that their host can restart.

Threads, not asyncio: the VM client, the policies and ``run_episode`` are blocking code, a
connection spends nearly all its time waiting on a VM step, and a thread costs well under a MB
(docs/rollouts.md has the measurements). :func:`run_connections` runs a list of connections to the
end and returns each one's counts.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from lam_rl.agent.episode import EpisodeLimits, infra_failure, run_episode
from lam_rl.agent.policy import PolicyError
from lam_rl.env.client import VMClient, VMError, VMTimeout
from lam_rl.env.config import EnvConfig
from lam_rl.env.protocol import TaskSpec

log = logging.getLogger(__name__)


class Queue(Protocol):
    def lease(self, worker: str) -> Any: ...
    def complete(self, lease: str, summary: dict[str, Any]) -> bool: ...
    def complete_and_lease(self, lease: str, summary: dict[str, Any], worker: str) -> Any: ...
    def failed(self, lease: str, kind: str) -> str: ...
    def note(self, event: str) -> None: ...
    def finished(self) -> bool: ...


class LockedQueue:
    """A local ``LeaseQueue`` shared by the threads of one process (the actor serialises calls itself)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.lock = threading.Lock()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        fn = getattr(self.queue, name)

        def call(*args: Any) -> Any:
            with self.lock:
                return fn(*args)

        return call


class WriteBatcher:
    """Collects the finished trajectories of all connections and hands them to ``send`` in batches:
    when ``max_items`` are waiting, or ``max_wait_s`` after the oldest arrived (a background thread),
    and on :meth:`close`. ``send(list_of_trajectories)`` must not block long (the Ray side sends
    without waiting for the commit); the driver replays any outcome that never reached the store."""

    def __init__(self, send: Callable[[list[Any]], None], max_items: int = 16, max_wait_s: float = 1.0):
        self.send = send
        self.max_items, self.max_wait_s = max_items, max_wait_s
        self.items: list[Any] = []
        self.oldest = 0.0
        self.cond = threading.Condition()
        self.closed = False
        self.sends = 0
        self.thread = threading.Thread(target=self._timer, name="rollout-writes", daemon=True)
        self.thread.start()

    def add(self, traj: Any) -> None:
        with self.cond:
            if not self.items:
                self.oldest = time.monotonic()
            self.items.append(traj)
            if len(self.items) >= self.max_items:
                self._flush_locked()
            else:
                self.cond.notify()

    def _flush_locked(self) -> None:
        batch, self.items = self.items, []
        if batch:
            self.sends += 1
            self.send(batch)

    def _timer(self) -> None:
        with self.cond:
            while not self.closed:
                if not self.items:
                    self.cond.wait()
                    continue
                left = self.oldest + self.max_wait_s - time.monotonic()
                if left > 0:
                    self.cond.wait(left)
                    continue
                self._flush_locked()

    def close(self) -> None:
        with self.cond:
            self._flush_locked()
            self.closed = True
            self.cond.notify_all()
        self.thread.join(timeout=5)


@dataclass
class Endpoint:
    """One VM a connection drives: its name, URL and (local VMs) its index at the host."""

    name: str
    url: str
    index: int | None = None


def _summary(traj: Any) -> dict[str, Any]:
    o = traj.outcome
    return {
        "success": o.success,
        "num_steps": o.num_steps,
        "num_invalid": o.num_invalid,
        "failure_kind": o.failure_kind,
    }


class VMConnection:
    """One VM's loop: lease -> ``run_episode`` -> complete -> write, until the queue is drained or
    the VM is retired. A failing VM is healed (a local VM restarted by ``restart``; a remote one
    health-checked with backoff) or, after ``max_vm_failures`` failed checks, retired."""

    def __init__(
        self,
        name: str,
        vm: Endpoint,
        token: str,
        queue: Queue,
        batcher: WriteBatcher,
        policy: Any,
        *,
        phase: str,
        env: EnvConfig,
        limits: EpisodeLimits,
        max_vm_failures: int = 3,
        restart: Callable[[int], str] | None = None,
        poll_s: tuple[float, float] = (0.05, 1.0),
    ) -> None:
        self.name, self.vm, self.token = name, vm, token
        self.url = vm.url
        self.queue, self.batcher, self.policy = queue, batcher, policy
        self.phase, self.env, self.limits = phase, env, limits
        self.max_vm_failures = max_vm_failures
        self.restart = restart
        self.poll_s = poll_s
        self.client = VMClient.from_config(self.url, token, env, name=name)
        self.consecutive_failures = 0
        self.vm_restarts = 0

    def _heal(self, err: Exception) -> bool:
        """Bring the VM back after a failure; False when it should be retired."""
        self.consecutive_failures += 1
        if isinstance(err, PolicyError):
            time.sleep(min(5.0, self.env.backoff_s * 2**self.consecutive_failures))
            return self.consecutive_failures <= 10
        if self.restart is not None and self.vm.index is not None:  # a local VM: its host restarts it
            self.url = self.restart(self.vm.index)
            self.client.close()
            self.client = VMClient.from_config(self.url, self.token, self.env, name=self.name)
            self.queue.note("vm_restart")
            self.vm_restarts += 1
            return True
        delay = self.env.backoff_s
        for _ in range(self.max_vm_failures):
            time.sleep(delay)
            delay *= 2
            try:
                self.client.health()
                return self.consecutive_failures < 3 * self.max_vm_failures
            except VMError:
                continue
        return False

    def _next(self) -> Any:
        """The next lease; None once every task has its outcome. Idle connections poll with backoff
        (a thousand of them must not flood the queue while the last episodes finish)."""
        delay = self.poll_s[0]
        while True:
            got = self.queue.lease(self.name)
            if got is not None or self.queue.finished():
                return got
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(self.poll_s[1], delay * 2)

    def run(self) -> dict[str, Any]:
        """Work until the queue is drained or the VM is retired; returns this connection's counts and
        the finish time and length of every episode (for throughput measurements; ``vm_episodes``
        counts only the steps that reached the VM: a FINISH or an invalid answer sends nothing)."""
        done = failures = 0
        episodes: list[tuple[float, int]] = []
        vm_episodes: list[tuple[float, int]] = []
        started: float | None = None
        retired = None
        got = self._next()
        while got is not None:
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
            except Exception as e:  # noqa: BLE001 - a failure of this connection, never of its neighbours
                failures += 1
                if isinstance(e, PolicyError):
                    kind = "policy_error"
                elif isinstance(e, VMError):
                    kind = "timeout" if isinstance(e, VMTimeout) else "vm_error"
                else:  # a bug or an unexpected answer: hand the task back and stop this connection
                    kind = "worker_error"
                    log.exception("%s: unexpected error on %s", self.name, self.url)
                self._record_failure(lease, item, retries, kind, e)
                if kind == "worker_error" or not self._heal(e):
                    retired = kind
                    self.queue.note("worker_retired")
                    log.warning("%s: retiring VM %s after repeated failures", self.name, self.url)
                    break
                got = self._next()
                continue
            self.consecutive_failures = 0
            accepted, got = self.queue.complete_and_lease(lease, _summary(traj), self.name)
            if accepted:
                self.batcher.add(traj)
                done += 1
                now = time.time()
                episodes.append((now, traj.outcome.num_steps))
                vm_episodes.append((now, sum(1 for st in traj.steps if st.step_ms > 0)))
            if got is None:
                got = self._next()
        self.client.close()
        return {
            "worker": self.name,
            "vm": self.vm.name,
            "done": done,
            "infra_failures": failures,
            "vm_restarts": self.vm_restarts,
            "retired": retired,
            "started": started,
            "finished": time.time(),
            "episodes": episodes,
            "vm_episodes": vm_episodes,
            "steps": sum(n for _, n in episodes),
        }

    def _record_failure(self, lease: str, item: Any, retries: int, kind: str, err: Exception) -> None:
        """Tell the queue; when the task's retries are spent, write its one infrastructure outcome."""
        if self.queue.failed(lease, kind) != "final":
            return
        traj = infra_failure(
            TaskSpec.model_validate(item.task),
            traj_id=item.traj_id,
            phase=self.phase,
            policy=getattr(self.policy, "name", "policy"),
            kind=kind,
            reason=f"{retries + 1} attempts failed; last: {err}",
            split=item.split,
            attempt=item.attempt,
            worker=self.name,
            vm_name=self.url,
        )
        if self.queue.complete(lease, _summary(traj)):
            self.batcher.add(traj)


def run_connections(connections: list[VMConnection]) -> list[dict[str, Any]]:
    """Run every connection in its own thread until each is done; one result per connection (a
    connection that raised despite its own handling reports the error instead of counts)."""
    results: list[dict[str, Any] | None] = [None] * len(connections)

    def play(i: int, conn: VMConnection) -> None:
        try:
            results[i] = conn.run()
        except BaseException as e:  # noqa: BLE001 - reported; the neighbours keep going
            log.exception("%s: connection stopped", conn.name)
            results[i] = {"worker": conn.name, "vm": conn.vm.name, "error": repr(e), "episodes": []}

    threads = [
        threading.Thread(target=play, args=(i, c), name=f"vm-{c.name}", daemon=True)
        for i, c in enumerate(connections)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r or {} for r in results]
