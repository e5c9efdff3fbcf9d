"""Rollout throughput: steps/s with 1, 4 and 16 rollout workers (one WordSim VM each, 100 ms per VM
step), the framework's overhead per step against a raw protocol loop, and batched vs unbatched
policy serving at 32 concurrent callers.

    .venv/bin/python bench/rollout.py [--json] [--smoke] [--latency-ms 100] [--tasks-per-worker 6]

Steady-state rates are measured inside the workers (first lease to last completion), so actor
start-up is excluded (it is reported). The expert policy acts, so VM time dominates, as with real
VMs. Headline: steps/s with 16 workers / steps/s with 1 worker (goal >= 12x on this 2-core machine).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SMOKE_HELP, emit, tiny_job_config  # noqa: E402


def steady_rate(summary) -> float:
    """Steps/s while every worker was running and warm: episodes finished between the end of the
    last worker's first episode (lazy imports, connections) and the first worker's last episode."""
    ws = [w for w in summary.workers if w["started"] and len(w["episodes"]) > 1]
    t0 = max(min(t for t, _ in w["episodes"]) for w in ws)
    t1 = min(max(t for t, _ in w["episodes"]) for w in ws)
    steps = sum(n for w in ws for t, n in w["episodes"] if t0 < t <= t1)
    return steps / (t1 - t0)


def rollout_rate(root: Path, workers: int, latency_ms: float, per_worker: int) -> tuple[float, float]:
    from cluster.collect import expert_spec, run_rollouts
    from cluster.rollout import WorkItem
    from lam_rl.env.tasks import sample_tasks

    cfg = tiny_job_config(
        root / f"w{workers}-{latency_ms}", f"fleet.local={workers}", f"env.latency_ms={latency_ms}"
    )
    tasks = sample_tasks(workers * per_worker, workers, split="train")
    items = [WorkItem(f"b:{t.task_id}", t.model_dump(mode="json")) for t in tasks]
    t = time.perf_counter()
    s = run_rollouts(cfg, items, expert_spec(cfg, 0), phase="bench")
    return steady_rate(s), time.perf_counter() - t


def raw_loop_ms_per_step(tasks: int) -> float:
    """The same episodes with no framework: a VMClient over HTTP and the expert in one process."""
    import secrets

    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import ExpertAdapter
    from lam_rl.env.client import VMClient
    from lam_rl.env.config import EnvConfig, ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.fleet import serve_many
    from lam_rl.env.tasks import sample_tasks

    token = secrets.token_urlsafe(16)
    with serve_many(1, token=token, cfg=EnvConfig()) as fleet:
        client = VMClient(fleet.urls[0], token)
        policy = ExpertAdapter(ExpertPolicy(ExpertConfig(), seed=0))
        steps, t = 0, time.perf_counter()
        for i, task in enumerate(sample_tasks(tasks, 1, split="train")):
            steps += run_episode(client, policy, task, traj_id=f"raw{i}", phase="bench").outcome.num_steps
        elapsed = time.perf_counter() - t
        client.close()
    return 1000 * elapsed / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--latency-ms", type=float, default=100.0)
    ap.add_argument("--tasks-per-worker", type=int, default=12)
    ap.add_argument("--overhead-tasks", type=int, default=60)
    ap.add_argument("--no-serving", action="store_true", help="skip the batched-serving comparison")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    # worker counts; serving: callers, calls each, model (hidden, layers), WordSim tasks for the prompts
    counts, callers, calls, shape, prompt_tasks = (1, 4, 16), 32, 8, (128, 4), 30
    if args.smoke:
        counts, callers, calls, shape, prompt_tasks = (1, 2), 4, 2, (32, 1), 3
        args.latency_ms, args.tasks_per_worker, args.overhead_tasks = 20.0, 3, 6

    import ray

    root = Path(tempfile.mkdtemp(prefix="lam-bench-rollout-"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    extra = {}
    rates = {}
    for n in counts:
        rates[n], wall = rollout_rate(root, n, args.latency_ms, args.tasks_per_worker)
        extra[f"{n} worker(s): steps/s"] = round(rates[n], 2)
        extra[f"{n} worker(s): wall time incl. start-up (s)"] = round(wall, 1)
    extra[f"{counts[1]} workers / 1 worker"] = round(rates[counts[1]] / rates[1], 2)

    # (smoke: the 1-worker run above stands in; the same code path, one Ray job fewer)
    fw = rates[1] if args.smoke else rollout_rate(root, 1, 0.0, args.overhead_tasks // 6 * 6 or 6)[0]
    raw = raw_loop_ms_per_step(args.overhead_tasks)
    extra["raw protocol loop (ms/step)"] = round(raw, 2)
    extra["rollout worker (ms/step)"] = round(1000 / fw, 2)
    extra["framework overhead per step (ms, goal <= 5)"] = round(1000 / fw - raw, 2)

    if not args.no_serving:
        from serving import policy_throughput, tiny_checkpoint, tiny_pairs

        lm = tiny_checkpoint(root / "lm", hidden=shape[0], layers=shape[1])
        pairs = tiny_pairs(prompt_tasks)  # the tiny config's prompts, as the rollouts send them
        unbatched = policy_throughput(lm, 1, callers, calls, pairs)
        batched = policy_throughput(lm, callers, callers, calls, pairs)
        extra[f"policy serving, {callers} callers, unbatched (answers/s)"] = round(unbatched, 2)
        extra[f"policy serving, {callers} callers, batched (answers/s)"] = round(batched, 2)
        extra["policy serving batched/unbatched (goal >= 4x)"] = round(batched / unbatched, 2)
    top = counts[-1]
    emit(
        {
            "name": f"rollout_{top}_workers_vs_1",
            "value": rates[top],
            "unit": "steps/s",
            "baseline": rates[1],
            "ratio": rates[top] / rates[1],
            "goal": ">= 12x (16 workers)",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
