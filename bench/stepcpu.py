"""CPU one rollout step costs, on the worker and on the VM host, against the baseline of the
client sending each request the way ``http.client`` does (headers and body in two writes) and the
episode runner dumping a step's controls one ``model_dump`` at a time (the code before both cuts).

    .venv/bin/python bench/stepcpu.py [--json] [--smoke] [--episodes 150] [--rounds 3]

One VM host process (``lam-rl env serve``'s ``paths`` layout, no step latency) and, in this process,
one :class:`cluster.multiplex.VMConnection` playing ``--episodes`` training tasks with the scripted
expert, its finished trajectories encoded for the store as a rollout worker does. Each round plays
the same tasks twice, once with the baseline transport and once with today's, alternating; the CPU
time (user + system) of this process and of the host process is divided by the steps played. The
headline is the median over the rounds of (worker + host) CPU per step, today's against the
baseline's. CPU time, not wall time: what limits a fleet on few cores, and what a loaded machine
disturbs least.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SMOKE_HELP, emit  # noqa: E402


def _two_writes(transport_cls):
    """The baseline: the transport as it was, requests sent by ``http.client`` (two writes)."""
    import lam_rl.env.client as C

    class TwoWrites(transport_cls):
        def request(self, method, path, body, headers, timeout):
            conn = self._connect()
            deadline = time.monotonic() + timeout
            conn.response_class = lambda sock, **kw: http.client.HTTPResponse(
                C._DeadlineSocket(sock, deadline), **kw
            )
            try:
                conn.sock.settimeout(timeout)
                conn.request(method, self.prefix + path, body=body, headers=headers)
                resp = conn.getresponse()
                data = self._read(resp)
            except TimeoutError as e:
                self.close()
                raise C._Timeout(str(e)) from e
            except (http.client.HTTPException, OSError) as e:
                self.close()
                raise C._Dropped(type(e).__name__) from e
            if resp.will_close:
                self.close()
            return resp.status, data

    return TwoWrites


class _PerControl:
    """The baseline's controls: one ``model_dump`` per control."""

    @staticmethod
    def dump_python(controls):
        return [c.model_dump() for c in controls]


def play(url: str, token: str, tasks, host, baseline: bool) -> tuple[int, float, float]:
    """(steps, worker CPU s, host CPU s) for one connection playing ``tasks``."""
    import psutil

    import lam_rl.agent.episode as E
    import lam_rl.env.client as C
    from cluster.multiplex import Endpoint, LockedQueue, VMConnection, WriteBatcher
    from cluster.rollout import LeaseQueue
    from lam_rl.agent.episode import EpisodeLimits
    from lam_rl.agent.policy import ExpertAdapter
    from lam_rl.env.config import EnvConfig, ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.store import EncodedTrajectories

    today, dump = C._Transport, E._CONTROLS
    if baseline:
        C._Transport, E._CONTROLS = _two_writes(today), _PerControl
    try:
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
    finally:
        C._Transport, E._CONTROLS = today, dump
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
        args.episodes, args.rounds = 4, 1

    import psutil
    import vmhost

    from cluster.rollout import WorkItem
    from lam_rl.env.tasks import sample_tasks

    proc, urls = vmhost.start_host(Path(tempfile.mkdtemp(prefix="lam-bench-stepcpu-")), 1, 0.0, "auto")
    try:
        host = psutil.Process(proc.pid)
        tasks = [
            WorkItem(f"b:{t.task_id}", t.model_dump(mode="json"))
            for t in sample_tasks(args.episodes, 7, split="train")
        ]
        play(urls[0], vmhost.TOKEN, tasks[:2], host, False)  # warm-up: imports, first encodes
        rows: dict[str, list[tuple[float, float]]] = {"baseline": [], "today": []}
        for _ in range(args.rounds):
            for label in ("baseline", "today"):
                steps, w, h = play(urls[0], vmhost.TOKEN, tasks, host, label == "baseline")
                rows[label].append((1000 * w / steps, 1000 * h / steps))
    finally:
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
            "ratio": today / base,
            "goal": "<= 3 ms per step, worker + host (500 steps/s on 2 cores at 0.8 of ideal)",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
