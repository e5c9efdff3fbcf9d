"""WordSim VM agent: steps/s over HTTP vs the in-process transport, and the expert's success rate.

    .venv/bin/python bench/env.py [--json] [--smoke] [--tasks 200] [--expert-tasks 1000]

Throughput: the noiseless expert plays the same task instances against (a) one VM agent served by
``lam-rl env serve`` in a separate process, over loopback HTTP, and (b) the in-process transport;
only the ``step`` calls are timed (per-step latency percentiles are printed too, as are whole
episodes per second including reset and evaluate). Headline: HTTP steps/s with the in-process
rate as baseline; goal: framework overhead <= 5 ms per step over HTTP, i.e. >= 200 steps/s.
Then the expert at default noise plays ``--expert-tasks`` instances (20% composites, all splits)
in-process and its task success rate is printed (goal: 60-70%, as GPT-4o in the paper).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SMOKE_HELP, emit  # noqa: E402

TOKEN = "bench-token"


def play(vm, tasks, expert) -> tuple[list[float], int, float, int]:
    """Run the expert over ``tasks``; return per-step latencies (s), steps, wall time, successes."""
    lat: list[float] = []
    ok = 0
    t0 = time.perf_counter()
    for task in tasks:
        obs = vm.reset(task)
        expert.reset(task)
        for _ in range(20):
            d = expert.act(obs)
            action = d.to_action()
            if action is not None:
                s = time.perf_counter()
                res = vm.step(action)
                lat.append(time.perf_counter() - s)
                obs = res.observation
            if d.status == "FINISH":
                break
        ok += vm.evaluate().complete == "yes"
    return lat, len(lat), time.perf_counter() - t0, ok


def serve_subprocess(tmp: Path) -> tuple[subprocess.Popen, str]:
    ready = tmp / "ready.json"
    env = dict(os.environ, LAM_VM_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "env",
            "serve",
            "--port",
            "0",
            "--max-steps",
            "0",
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"lam-rl env serve did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["vms"][0]["url"]


def pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Last line: one JSON object with the headline.")
    ap.add_argument("--tasks", type=int, default=200, help="Task instances for the throughput runs.")
    ap.add_argument("--expert-tasks", type=int, default=1000, help="Task instances for the success rate.")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.tasks, args.expert_tasks = 8, 20

    from lam_rl.env.client import VMClient
    from lam_rl.env.config import ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.tasks import sample_tasks
    from lam_rl.env.wordsim import WordSim

    tasks = sample_tasks(args.tasks, 0, split="all", composite_fraction=0.2)
    perfect = ExpertConfig(noise=False)

    local = VMClient.in_process(WordSim("bench-local", max_steps=0))
    play(local, tasks[:20], ExpertPolicy(perfect))  # warm caches
    lat_l, n_l, wall_l, ok_l = play(local, tasks, ExpertPolicy(perfect))
    inproc = n_l / sum(lat_l)

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = serve_subprocess(Path(tmp))
        try:
            with VMClient(url, TOKEN, name="bench-http", timeout_s=30) as vm:
                play(vm, tasks[:20], ExpertPolicy(perfect))
                lat_h, n_h, wall_h, ok_h = play(vm, tasks, ExpertPolicy(perfect))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    http = n_h / sum(lat_h)
    assert ok_l == ok_h == len(tasks), "the noiseless expert must solve every task"

    ex_tasks = sample_tasks(args.expert_tasks, 1, split="all", composite_fraction=0.2)
    t0 = time.perf_counter()
    _, _, _, ok = play(
        VMClient.in_process(WordSim("bench-expert", max_steps=0)),
        ex_tasks,
        ExpertPolicy(ExpertConfig(), seed=0),
    )
    rate = ok / len(ex_tasks)
    extra = {
        "in-process step": f"{inproc:.0f} steps/s, p50 {statistics.median(lat_l) * 1000:.2f} ms, p95 {pct(lat_l, 0.95):.2f} ms",
        "HTTP step (separate server process)": f"{http:.0f} steps/s, p50 {statistics.median(lat_h) * 1000:.2f} ms, p95 {pct(lat_h, 0.95):.2f} ms",
        "HTTP overhead per step": f"{(1 / http - 1 / inproc) * 1000:.2f} ms",
        "episodes/s incl. reset+evaluate": f"in-process {len(tasks) / wall_l:.1f}, HTTP {len(tasks) / wall_h:.1f} ({n_h / len(tasks):.2f} steps/episode)",
        "expert success at default noise": f"{rate:.1%} of {len(ex_tasks)} tasks (20% composite), {time.perf_counter() - t0:.1f}s",
        "noiseless expert": f"{ok_h}/{len(tasks)} solved over HTTP",
    }
    emit(
        {
            "name": "wordsim_http_steps_per_s",
            "value": round(http, 1),
            "unit": "steps/s",
            "baseline": round(inproc, 1),
            "ratio": round(http / inproc, 4),
            "goal": ">= 200 steps/s over HTTP (<= 5 ms per step); expert 60-70% at default noise",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
