"""Does the recipe work? The whole pipeline at a larger-than-CI config, then the LAM1..LAM4 + expert
table (online task success in WordSim, offline step metrics on the reference trajectories).

    .venv/bin/python bench/efficacy.py [--json] [--smoke] [--run-root runs/efficacy] [--config tiny] [KEY=VALUE ...]

Not in CI: about half an hour on 2 cores (``--smoke``, in CI: the expert alone on two held-out tasks
of a seconds-long taskplan + collect, in a temporary run directory, through the same code path). The pipeline is resumable, so a second call with the same
--run-root only re-runs what is missing (pass force=[evaluate,report] to re-evaluate).
Goal (the compass): LAM1 < LAM2 <= LAM3 <= LAM4 in online task success, and LAM4 above the expert.
Headline: LAM4's online task success rate vs the expert's (baseline), measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SMOKE_HELP, SMOKE_OVERRIDES, emit  # noqa: E402

# What the bench runs on top of --config: twice the demo's data, more exploration and PPO states, and
# twice the held-out tasks (tiny.yaml's 10-family curriculum and 8 SFT epochs). About half an hour.
DEFAULTS = [
    "tracking.mode=offline",
    "collect.num_tasks=500",
    "collect.eval_tasks=40",
    "explore.max_tasks=60",
    "explore.attempts=2",
    "ppo.max_states=64",
    "eval.max_tasks=40",
]
MODELS = ["lam1", "lam2", "lam3", "lam4", "expert"]


def compass(online: dict[str, dict]) -> dict[str, bool]:
    tsr = {m: online.get(m, {}).get("tsr") for m in MODELS}
    ok = all(v is not None for v in tsr.values())
    return {
        "LAM1 < LAM2": ok and tsr["lam1"] < tsr["lam2"],
        "LAM2 <= LAM3": ok and tsr["lam2"] <= tsr["lam3"],
        "LAM3 <= LAM4": ok and tsr["lam3"] <= tsr["lam4"],
        "LAM4 > expert": ok and tsr["lam4"] > tsr["expert"],
    }


def table(results: dict) -> str:
    off, on = results.get("offline", {}), results.get("online", {})
    lines = [
        "| model | online TSR | steps/task | invalid rate | offline SSR | offline TSR | object acc | operation acc |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def f(row: dict, key: str) -> str:
        v = row.get(key)
        return "-" if v is None else f"{v:.3f}"

    for m in MODELS:
        a, b = on.get(m, {}), off.get(m, {})
        lines.append(
            f"| {m.upper() if m != 'expert' else 'expert'} | {f(a, 'tsr')} | {f(a, 'steps_per_task')} | "
            f"{f(a, 'invalid_rate')} | {f(b, 'ssr')} | {f(b, 'tsr')} | {f(b, 'object_acc')} | "
            f"{f(b, 'operation_acc')} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--run-root", default=None, help="default: runs/efficacy (--smoke: a temporary folder)")
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    ap.add_argument("overrides", nargs="*", help="more KEY=VALUE config overrides")
    args = ap.parse_args()
    defaults = DEFAULTS
    if args.smoke:  # no model is trained: the expert row is what the smoke run fills
        defaults = [*SMOKE_OVERRIDES, "eval.models=[]", "stages=[taskplan,collect,evaluate,report]"]
    if args.run_root is None:
        args.run_root = (
            tempfile.mkdtemp(prefix="lam-bench-efficacy-") if args.smoke else str(ROOT / "runs" / "efficacy")
        )

    cmd = [
        sys.executable,
        "-m",
        "jobs.pipeline",
        f"config={args.config}",
        f"run.root={args.run_root}",
        "run.name=efficacy",
        *defaults,
        *args.overrides,
    ]
    print("running:", " ".join(cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=ROOT, check=True)
    minutes = (time.time() - t0) / 60
    run_dir = Path(args.run_root) / "efficacy"
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    print(table(results))
    checks = compass(results.get("online", {}))
    for k, v in checks.items():
        print(f"  {k}: {'yes' if v else 'no'}")
    for m, row in (results.get("online_splits") or {}).items():  # goal: |gap| <= 10 points
        print(f"  {m}: plain {row.get('plain', 0):.1%}, paraphrase {row.get('paraphrase', 0):.1%}, "
              f"gap {100 * row.get('gap', 0):+.1f} pts")  # fmt: skip
    if results.get("paired"):  # goal: each step and LAM4 vs the expert beyond noise (lam_rl/eval/paired.py)
        from lam_rl.eval.paired import markdown

        print("paired comparisons (same held-out tasks; b: A solved, B not; c: the reverse; McNemar p):")
        print(markdown(results["paired"]))
    on = results.get("online", {})
    lam4, expert = on.get("lam4", {}).get("tsr", 0.0), on.get("expert", {}).get("tsr", 0.0)
    emit(
        {
            "name": "efficacy_lam4_online_tsr",
            "value": lam4,
            "unit": "task success rate",
            "baseline": expert,
            "ratio": lam4 / expert if expert else 0.0,
            "goal": ">= 1.0 (LAM4 above the expert; LAM1 < LAM2 <= LAM3 <= LAM4)",
            "smoke": args.smoke,
        },
        args.json,
        extra={"pipeline minutes": f"{minutes:.1f}", "report": run_dir / "report" / "report.md"},
    )


if __name__ == "__main__":
    main()
