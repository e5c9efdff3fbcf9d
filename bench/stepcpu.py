"""CPU one rollout step costs, on the worker and on the VM host, against the baseline of the VM host
answering every request through its FastAPI app (the code before ``server.FastPath``).

    .venv/bin/python bench/stepcpu.py [--json] [--smoke] [--episodes 150] [--rounds 3]

Two VM host processes (``lam-rl env serve``'s ``paths`` layout, no step latency): today's, and the
baseline, the same code with ``FastPath`` passing every request on to the FastAPI app. In this
process, one :class:`cluster.multiplex.VMConnection` plays ``--episodes`` training tasks with the
scripted expert against one host, its finished trajectories encoded for the store as a rollout
worker does. Each round plays the same tasks against both hosts, alternating; the CPU time (user +
system) of this process and of the host process is divided by the steps played. The headline is
the median over the rounds of (worker + host) CPU per step, today's against the baseline's. CPU
time, not wall time: what limits a fleet on few cores, and what a loaded machine disturbs least.
(The previous cut's baseline, the client's two writes per request, is in docs/benchmarks.md.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SMOKE_HELP, emit  # noqa: E402

_NO_FAST_PATH = """
import lam_rl.env.server as S
async def _through(self, scope, receive, send):
    await self.app(scope, receive, send)
S.FastPath.__call__ = _through
"""


def play(url: str, token: str, tasks, host) -> tuple[int, float, float]:
    """(steps, worker CPU s, host CPU s) for one connection playing ``tasks``."""
    import psutil

    from cluster.multiplex import Endpoint, LockedQueue, VMConnection, WriteBatcher
    from cluster.rollout import LeaseQueue
    from lam_rl.agent.episode import EpisodeLimits
    from lam_rl.agent.policy import ExpertAdapter
    from lam_rl.env.config import EnvConfig, ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.store import EncodedTrajectories

    queue = LockedQueue(LeaseQueue(tasks, max_retries=3, lease_timeout_s=900))
    batcher = WriteBatcher(EncodedTrajectories.of, max_items=32, max_wait_s=1000)
    conn = VMConnection(
        "w0/0",
        Endpoint("vm", url, None),
        token,
        queue,
        batcher,
        ExpertAdapter(ExpertPolicy(ExpertConfig(), seed=1)),
        phase="bench",
        env=EnvConfig(timeout_s=60, reset_timeout_s=60, connect_retries=2, backoff_s=0.1),
        limits=EpisodeLimits(12, 3),
    )
    me = psutil.Process()
    w0, h0 = me.cpu_times(), host.cpu_times()
    out = conn.run()
    batcher.close()
    w1, h1 = me.cpu_times(), host.cpu_times()
    if out["done"] != len(tasks):
        raise SystemExit(f"bench/stepcpu.py: {out['done']} of {len(tasks)} episodes finished ({out})")
    return (
        out["steps"],
        (w1.user + w1.system) - (w0.user + w0.system),
        (h1.user + h1.system) - (h0.user + h0.system),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--episodes", type=int, default=150, help="tasks played per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="baseline/today pairs (median taken)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.episodes, args.rounds = 10, 1

    import psutil
    import vmhost

    from cluster.rollout import WorkItem
    from lam_rl.env.tasks import sample_tasks

    hosts = {}
    try:
        for label in ("baseline", "today"):
            code = vmhost.HOST
            vmhost.HOST = (_NO_FAST_PATH if label == "baseline" else "") + code
            try:
                proc, urls = vmhost.start_host(
                    Path(tempfile.mkdtemp(prefix="lam-bench-stepcpu-")), 1, 0.0, "auto"
                )
            finally:
                vmhost.HOST = code
            hosts[label] = (proc, urls[0], psutil.Process(proc.pid))
        tasks = [
            WorkItem(f"b:{t.task_id}", t.model_dump(mode="json"))
            for t in sample_tasks(args.episodes, 7, split="train")
        ]
        for _, url, host in hosts.values():
            play(url, vmhost.TOKEN, tasks[:2], host)  # warm-up: imports, first encodes
        rows: dict[str, list[tuple[float, float]]] = {"baseline": [], "today": []}
        for _ in range(args.rounds):
            for label in ("baseline", "today"):
                _, url, host = hosts[label]
                steps, w, h = play(url, vmhost.TOKEN, tasks, host)
                rows[label].append((1000 * w / steps, 1000 * h / steps))
    finally:
        for proc, _, _ in hosts.values():
            vmhost.stop_host(proc)

    def med(label: str, i: int) -> float:
        return statistics.median(r[i] for r in rows[label])

    extra = {}
    for label in ("baseline", "today"):
        extra[f"{label}: worker / host CPU per step (ms), median of {args.rounds}"] = (
            f"{med(label, 0):.2f} / {med(label, 1):.2f}"
        )
    extra["rounds (worker, host ms)"] = {
        k: [(round(a, 2), round(b, 2)) for a, b in v] for k, v in rows.items()
    }
    base = med("baseline", 0) + med("baseline", 1)
    today = med("today", 0) + med("today", 1)
    emit(
        {
            "name": "rollout_step_cpu",
            "value": today,
            "unit": "ms CPU per step (worker + host)",
            "baseline": base,
            "ratio": today / base if base else 1.0,  # a smoke run can measure 0 CPU ticks
            "goal": "<= 3 ms per step, worker + host (500 steps/s on 2 cores at 0.8 of ideal)",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
