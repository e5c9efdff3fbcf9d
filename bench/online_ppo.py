"""Does online PPO raise the policy's success on its training tasks? (phase 4, beyond the paper)

    .venv/bin/python bench/online_ppo.py [--json] [--smoke] [--run-root runs/bench-online] [--iterations 6] [KEY=VALUE ...]

Runs the tiny pipeline up to LAM3 when the run directory has none (resumable, about 9 minutes),
then ``jobs.ppo ppo.mode=online`` from LAM3: each iteration the current weights are served by the policy
server, rollout workers play the same ``ppo.online_tasks`` training tasks in WordSim VMs (sampling
at ``ppo.temperature``), the verifier's verdicts are the reward, and the update's weights are
swapped in for the next iteration. The last pass only measures the final policy.

Headline: the final policy's success on the training tasks vs iteration 0's (LAM3, the baseline),
both measured in this run under the same sampling. Not in CI: about 15 minutes on 2 cores. ``--smoke`` (in
CI): one online PPO iteration from the untrained base model of a seconds-long taskplan, two tasks, in a
temporary run directory, through the same commands.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SMOKE_HELP, SMOKE_OVERRIDES, emit  # noqa: E402

PPO = [
    "ppo.online_tasks=32",
    "ppo.online_step_reward=0",  # the verifier alone (the RM's tiny-config AUC is ~0.6-0.8)
    "ppo.lr=1e-4",
    "ppo.temperature=0.7",
    "ppo.output=lam4-online",
]


def main() -> None:
    from lam_rl.tracking import read_jsonl_metrics

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--run-root", default=None, help="default: runs/bench-online (--smoke: a temporary folder)"
    )
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--iterations", type=int, default=6)
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    ap.add_argument("overrides", nargs="*", help="more KEY=VALUE config overrides")
    args = ap.parse_args()
    if args.run_root is None:
        args.run_root = (
            tempfile.mkdtemp(prefix="lam-bench-online-")
            if args.smoke
            else str(ROOT / "runs" / "bench-online")
        )
    common = [f"config={args.config}", f"run.root={args.run_root}", "tracking.mode=offline"]
    first = ["jobs.pipeline", "stages=[taskplan,collect,sft-plan,sft-imitate,explore,sft-boost]"]
    if args.smoke:  # PPO from the untrained base model (no LAM3): only taskplan runs first
        args.iterations, first = 1, ["jobs.taskplan"]  # taskplan alone needs no Ray
        common += SMOKE_OVERRIDES
        args.overrides = [
            "ppo.init_checkpoint=base",
            "ppo.online_tasks=2",
            "ppo.batch_size=2",
            "ppo.minibatch_size=1",
            "ppo.ppo_epochs=1",
            "ppo.gen_length=8",
            *args.overrides,
        ]

    t0 = time.time()
    subprocess.run([sys.executable, "-m", *first, *common, *args.overrides], cwd=ROOT, check=True)
    cmd = [
        sys.executable,
        "-m",
        "jobs.ppo",
        *common,
        "ppo.mode=online",
        f"ppo.iterations={args.iterations}",
        *PPO,
        *args.overrides,  # last: the user's KEY=VALUE wins over the bench's settings
    ]
    print("running:", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    minutes = (time.time() - t0) / 60

    from jobs.config import Config
    from lam_rl.config import load_config

    cfg = load_config(Config, [*common, *PPO, *args.overrides], configs_dir=ROOT / "jobs" / "configs")
    run_dir = cfg.run_dir
    rows = read_jsonl_metrics(run_dir / "metrics" / "ppo-online.jsonl")
    rates = [r["online/success_rate"] for r in rows if "online/success_rate" in r][-(args.iterations + 1) :]
    kls = [r["ppo/kl"] for r in rows if "ppo/kl" in r][-args.iterations :]
    print("iteration  success on the training tasks")
    for i, rate in enumerate(rates):
        print(
            f"  {i:>2}       {rate:.3f}"
            + (f"   (KL to LAM3 before the update: {kls[i]:.3f})" if i < len(kls) else "")
        )
    first, last = rates[0], rates[-1]
    emit(
        {
            "name": "online_ppo_train_task_success",
            "value": last,
            "unit": "task success rate",
            "baseline": first,
            # a baseline of 0 is floored at one task, so the ratio stays a finite number
            "ratio": last / max(first, 1 / cfg.ppo.online_tasks),
            "goal": ">= 1.2 (final policy vs iteration 0, same tasks, same sampling)",
            "smoke": args.smoke,
        },
        args.json,
        extra={"minutes": f"{minutes:.1f}", "metrics": run_dir / "metrics" / "ppo-online.jsonl"},
    )


if __name__ == "__main__":
    main()
