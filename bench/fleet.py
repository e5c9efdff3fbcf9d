"""A thousand simulated VMs from a few rollout worker processes: throughput, memory per VM connection
and a chaos phase, in one run.

    .venv/bin/python bench/fleet.py [--json] [--smoke] [--vms 1000] [--latency 2.0] [--workers 8]

- **Throughput** (headline): ``--vms`` WordSim VMs (hosted by ``--hosts`` VMHost processes, one
  port each with a URL path per VM where the host supports it), every VM step taking ``--latency``
  seconds, played by the scripted expert from ``--workers`` rollout worker processes (``rollout.workers``).
  Steps/s are counted while every connection has work (from the moment half a fleet's worth of
  episodes have finished until the queue hands out its last task) and compared with the ideal,
  VMs / latency (500 steps/s for 1,000 VMs at 2 s). Goal: >= 0.8 of ideal.
- **Memory per VM connection**: the USS (memory only that process holds) of the worker processes,
  sampled during the run, divided by their connections; against a baseline measured first in the same
  run, today's shape of one worker process per VM (``rollout.vms_per_worker=1``, ``--baseline-vms``
  VMs). Goal <= 5 MB per connection.
- **Chaos**: once the throughput window has closed, ``--chaos`` of the VMs (a fraction) are crashed or
  hung (half each) mid-episode; the run must still end with exactly one trajectory per task in the
  store, and the count of tasks, outcomes and duplicates is printed.

On a shared machine the VM hosts, the workers and everything else compete for the same cores: the
figures are then a lower bound (say what else was running when you record them).
"""

from __future__ import annotations

import argparse
import inspect
import math
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SMOKE_HELP, emit, tiny_job_config  # noqa: E402


def start_hosts(n_vms: int, hosts: int, env, token: str):
    """``n_vms`` WordSim VMs on ``hosts`` VMHost actors (the ``paths`` layout when the host has it)."""
    from dataclasses import asdict

    import ray

    from cluster.fleet import Fleet, VMEndpoint, VMHost
    from lam_rl.env.fleet import serve_many

    paths = "layout" in inspect.signature(serve_many).parameters
    sizes = [n_vms // hosts + (h < n_vms % hosts) for h in range(hosts)]
    actors = []
    for h, size in enumerate(sizes):
        try:
            actors.append(
                VMHost.remote(size, token, asdict(env), 0, f"h{h}", **({"layout": "paths"} if paths else {}))
            )
        except TypeError:  # a VMHost without layouts: a port per VM
            paths = False
            actors.append(VMHost.remote(size, token, asdict(env), 0, f"h{h}"))
    endpoints = []
    for actor in actors:
        urls, names = ray.get([actor.urls.remote(), actor.names.remote()])
        endpoints += [VMEndpoint(nm, u, actor, i) for i, (nm, u) in enumerate(zip(names, urls, strict=True))]
    return Fleet(token, endpoints, None), actors, ("paths" if paths else "ports")


class Sampler(threading.Thread):
    """Samples the rollout workers' USS and CPU time (psutil) while they run; gets their pids from the
    named worker actors. ``on_progress`` is the tracker hook run_rollouts calls with its metrics."""

    def __init__(self, every_s: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.every_s = every_s
        self.uss: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.conns: dict[int, int] = {}
        self.series: list[tuple[float, float]] = []  # (time, CPU seconds of all workers so far)
        self.done = 0
        self.stop_event = threading.Event()

    def log(self, metrics: dict) -> None:  # the Tracker interface run_rollouts uses
        self.done = int(metrics.get("rollout/tasks_done", self.done))

    def run(self) -> None:
        import psutil
        import ray

        while not self.stop_event.wait(self.every_s):
            for name in [n for n in ray.util.list_named_actors() if n.startswith("rollout-")]:
                try:
                    info = ray.get(ray.get_actor(name).info.remote(), timeout=10)
                    p = psutil.Process(info["pid"])
                    uss = p.memory_full_info().uss
                    t = p.cpu_times()
                except Exception:  # noqa: BLE001 - a worker that just ended or died
                    continue
                pid = info["pid"]
                self.conns[pid] = info["connections"]
                self.uss[pid] = max(self.uss.get(pid, 0), uss)
                self.cpu[pid] = t.user + t.system
            self.series.append((time.time(), sum(self.cpu.values())))

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=30)

    def cpu_between(self, t0: float, t1: float) -> float:
        """Worker CPU seconds spent between two times (nearest samples inside the interval)."""
        inside = [c for t, c in self.series if t0 <= t <= t1]
        return inside[-1] - inside[0] if len(inside) >= 2 else float("nan")

    def mb_per_connection(self) -> float:
        return sum(self.uss.values()) / max(1, sum(self.conns.values())) / 2**20


def items_for(n: int, seed: int, prefix: str):
    from cluster.rollout import WorkItem
    from lam_rl.env.tasks import sample_tasks

    return [
        WorkItem(f"{prefix}:{t.task_id}", t.model_dump(mode="json"))
        for t in sample_tasks(n, seed, split="train")
    ]


def check_outcomes(cfg, items) -> tuple[int, int, int]:
    """(tasks, trajectories in the store for them, task ids with more than one)."""
    from lam_rl.store import TrajectoryStore

    ids = Counter(
        TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
        .outcomes(columns=["traj_id"])
        .column("traj_id")
        .to_pylist()
    )
    want = {it.traj_id for it in items}
    return len(want), sum(v for k, v in ids.items() if k in want), sum(1 for k in want if ids.get(k, 0) > 1)


def baseline(root: Path, vms: int, latency: float, episodes: int) -> float:
    """MB (USS) per worker process of today's shape: one process per VM."""
    from cluster.collect import expert_spec, run_rollouts

    cfg = tiny_job_config(
        root / "baseline",
        f"fleet.local={vms}",
        "rollout.vms_per_worker=1",
        f"env.latency_ms={latency * 1000}",
        f"env.timeout_s={max(5.0, 3 * latency)}",
    )
    sampler = Sampler(every_s=max(0.5, latency))
    sampler.start()
    items = items_for(vms * episodes, 101, "base")
    run_rollouts(cfg, items, expert_spec(cfg, 0), phase="bench", tracker=sampler)
    sampler.stop()
    return sampler.mb_per_connection()


def window_rate(summary, n_vms: int, total: int) -> tuple[float, float]:
    """Steps/s while every connection had work: episodes finished between the (N/2)-th finish and the
    (total - N)-th (until then the queue still had tasks to hand out). Returns (rate, seconds, start, end)."""
    # VM steps only: the ideal counts steps that wait on a VM (a FINISH or an invalid answer sends none)
    eps = sorted(e for w in summary.workers if w.get("round") == 1 for e in w.get("vm_episodes", []))
    lo, hi = n_vms // 2, total - n_vms
    if hi - lo < 2 or hi > len(eps):
        lo, hi = len(eps) // 4, 3 * len(eps) // 4
    if hi - lo < 2:  # too few episodes for a window (a tiny run): all of them
        lo, hi = 0, len(eps)
    t0, t1 = eps[lo][0], eps[hi - 1][0]
    steps = sum(n for t, n in eps[lo + 1 : hi])
    return steps / max(t1 - t0, 1e-9), t1 - t0, t0, t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=2.0, help="seconds per VM step")
    ap.add_argument(
        "--workers", type=int, default=8, help="rollout worker processes (at most 8 for the goal)"
    )
    ap.add_argument("--hosts", type=int, default=0, help="VMHost processes (0: one per 250 VMs, at most 4)")
    ap.add_argument("--episodes", type=int, default=4, help="tasks per VM")
    ap.add_argument("--baseline-vms", type=int, default=8, help="VMs of the one-process-per-VM baseline")
    ap.add_argument("--chaos", type=float, default=0.1, help="fraction of VMs crashed or hung mid-run")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.vms, args.latency, args.workers, args.episodes, args.baseline_vms = 8, 0.2, 2, 3, 2
    hosts = args.hosts or max(1, min(4, math.ceil(args.vms / 250)))

    import ray

    from cluster.collect import expert_spec, run_rollouts

    root = Path(tempfile.mkdtemp(prefix="lam-bench-fleet-"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="lam-bench-fleet")
    extra: dict = {}
    base_mb = baseline(root, args.baseline_vms, args.latency, 2)
    extra[f"baseline: one process per VM ({args.baseline_vms} VMs), USS per VM (MB)"] = round(base_mb, 1)

    timeout = max(2.0, 5 * args.latency)  # a loaded host answers late: only a hung VM should time out
    cfg = tiny_job_config(
        root / "fleet",
        f"fleet.local={args.vms}",
        f"rollout.workers={args.workers}",
        f"env.latency_ms={args.latency * 1000}",
        f"env.timeout_s={timeout}",
        f"env.reset_timeout_s={timeout}",
        "env.connect_retries=1",
        "env.backoff_s=0.1",
        "rollout.lease_timeout_s=900",
        "rollout.progress_every_s=1",
    )
    t = time.perf_counter()
    fleet, actors, layout = start_hosts(args.vms, hosts, cfg.env, secrets.token_urlsafe(16))
    extra["VM hosts"] = f"{hosts} process(es), layout {layout}, started in {time.perf_counter() - t:.1f} s"
    total = args.vms * args.episodes
    items = items_for(total, 7, "fleet")
    sampler = Sampler(every_s=max(1.0, args.latency))
    chaos_n = max(1, round(args.chaos * args.vms)) if args.chaos > 0 else 0
    injected: list[int] = []

    def chaos() -> None:  # once the throughput window has closed (every task handed out)
        while sampler.done < total - args.vms and not sampler.stop_event.is_set():
            time.sleep(0.2)
        if sampler.stop_event.is_set():
            return
        step = max(1, args.vms // max(1, chaos_n))
        for k, i in enumerate(range(0, args.vms, step)[:chaos_n]):
            ep = fleet.endpoints[i]
            kind = "crash" if k % 2 == 0 else "hang"
            ep.host.fault.remote(ep.index, kind, 3 * timeout if kind == "hang" else None)
            injected.append(i)

    sampler.start()
    chaos_thread = threading.Thread(target=chaos, daemon=True)
    chaos_thread.start()
    t = time.perf_counter()
    try:
        s = run_rollouts(cfg, items, expert_spec(cfg, 0), phase="bench", tracker=sampler, fleet=fleet)
    finally:
        sampler.stop()
        chaos_thread.join(timeout=5)
        for a in actors:
            ray.get(a.stop.remote(), timeout=60)
            ray.kill(a)
    wall = time.perf_counter() - t
    rate, window, w0, w1 = window_rate(s, args.vms, total)
    ideal = args.vms / args.latency
    mb = sampler.mb_per_connection()
    n_tasks, n_out, dup = check_outcomes(cfg, items)
    cpu_s = sampler.cpu_between(w0, w1)
    marginal = (sum(sampler.uss.values()) / 2**20 - len(sampler.uss) * base_mb) / max(
        1, sum(sampler.conns.values())
    )
    extra["run"] = (
        f"{args.vms} VMs, {args.workers} workers, {total} tasks in {wall:.0f} s ({s.rounds} round(s))"
    )
    extra["steps/s while every connection had work"] = f"{rate:.1f} over {window:.0f} s (ideal {ideal:.0f})"
    extra["USS per VM connection (MB, goal <= 5)"] = round(mb, 2)
    extra["memory: one process per VM / per connection"] = round(base_mb / max(mb, 1e-9), 1)
    extra["USS per connection beyond a worker's own base (MB)"] = round(marginal, 2)
    extra["worker CPU in the window: ms per step / cores"] = (
        f"{1000 * cpu_s / max(1e-9, rate * window):.2f} / {cpu_s / max(window, 1e-9):.2f}"
    )
    extra["worker USS total (MB)"] = round(sum(sampler.uss.values()) / 2**20, 1)
    extra[f"chaos: VMs crashed/hung ({args.chaos:.0%})"] = (
        f"{len(injected)} injected; retries {s.retries}, restarts {s.vm_restarts}"
    )
    extra["infrastructure retries by kind"] = {
        k: v for k, v in s.failures.items() if k.startswith("retried_")
    }
    extra["chaos: tasks / trajectories / duplicated"] = f"{n_tasks} / {n_out} / {dup}"
    if n_out != n_tasks or dup:
        raise SystemExit(
            f"bench/fleet.py: exactly-once broken: {n_tasks} tasks, {n_out} trajectories, {dup} duplicated"
        )
    emit(
        {
            "name": f"fleet_{args.vms}_vms_steps_vs_ideal",
            "value": rate,
            "unit": "steps/s",
            "baseline": ideal,
            "ratio": rate / ideal,
            "goal": ">= 0.8 of ideal (VMs / latency)",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
