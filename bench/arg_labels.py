"""What argument labels (``agent.arg_labels``) cost and give on the tiny config, without a model.

    .venv/bin/python bench/arg_labels.py [--json] [--smoke] [--tasks N]

The scripted expert (its error model on, as phase 0b collects) plays N training tasks drawn from
every family (plus composites) in in-process WordSim; its trajectories become SFT examples twice,
with the switch off (the baseline) and on, and a byte-level BPE tokenizer trained as phase 0a trains
it (the tiny vocabulary, on prompts and targets with the switch on) measures them. Printed: prompt
tokens with and without labels (mean and 95th percentile, and how often the budget trimmed the
candidate list), and the share of argument-taking steps whose SFT target gives the argument as a
label (by function). Headline: mean prompt tokens with labels over without (goal <= 1.25: the
section must leave room for the controls in a 256-token prompt). About a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit  # noqa: E402


def expert_rows(n: int, seed: int) -> list[dict]:
    """Step rows (the store's steps shape) of the noisy expert playing ``n`` training tasks."""
    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import ExpertAdapter
    from lam_rl.env.client import VMClient
    from lam_rl.env.config import ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.tasks import sample_tasks
    from lam_rl.env.wordsim import WordSim

    vm = VMClient.in_process(WordSim("bench"))
    rows = []
    for i, task in enumerate(sample_tasks(n, seed, split="train", composite_fraction=0.1)):
        traj = run_episode(
            vm, ExpertAdapter(ExpertPolicy(ExpertConfig(), seed=i)), task, traj_id=f"t{i}", phase="b"
        )
        for s in traj.steps:
            rows.append(asdict(s) | {"traj_id": f"t{i}", "family": task.family})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="12 tasks, a small tokenizer: proves it runs")
    ap.add_argument("--tasks", type=int, default=250, help="training tasks the expert plays (tiny: 250)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n = 12 if args.smoke else args.tasks

    from jobs.config import Config
    from lam_rl.agent.args import LABELLED_ARGS, uses_label
    from lam_rl.agent.prompt import PromptBuilder
    from lam_rl.config import load_config
    from lam_rl.data.sft import action_examples
    from lam_rl.data.taskplan import tokenizer_texts
    from lam_rl.models.tokenizer import train_tokenizer

    configs = Path(__file__).resolve().parents[1] / "jobs" / "configs"
    cfg = load_config(Config, ["config=tiny", "tracking.mode=disabled"], configs_dir=configs)
    on = cfg.agent
    off = replace(on, arg_labels=False)
    t0 = time.perf_counter()
    samples = 20 if args.smoke else cfg.taskplan.tokenizer_samples
    tok = train_tokenizer(tokenizer_texts(samples, args.seed, on), cfg.tokenizer.vocab_size)

    def count(s: str) -> int:
        return len(tok(s, add_special_tokens=False)["input_ids"])

    rows = expert_rows(n, args.seed)
    ex_off = action_examples(rows, PromptBuilder(off, count))
    ex_on = action_examples(rows, PromptBuilder(on, count))
    tok_off = [count(e.prompt) for e in ex_off]
    tok_on = [count(e.prompt) for e in ex_on]
    trimmed = sum(e.args is not None and e.prompt.count("\n@") < len(e.args.texts) for e in ex_on)
    shown = [e.prompt.count("\n@") for e in ex_on]
    by_fn: Counter[str] = Counter()
    labelled: Counter[str] = Counter()
    for e in ex_on:
        t = json.loads(e.target)
        fn = t.get("function") or ""
        if fn in LABELLED_ARGS and any(k in (t.get("args") or {}) for k in LABELLED_ARGS[fn]):
            by_fn[fn] += 1
            labelled[fn] += uses_label(fn, t["args"])
    steps = sum(by_fn.values())
    frac = sum(labelled.values()) / steps if steps else 0.0
    mean_on, mean_off = statistics.mean(tok_on), statistics.mean(tok_off)

    def p95(xs: list[int]) -> int:
        return sorted(xs)[int(0.95 * (len(xs) - 1))]

    print(f"{n} tasks, {len(ex_on)} steps, {time.perf_counter() - t0:.0f} s")
    print(f"prompt tokens without labels: mean {mean_off:.1f}, p95 {p95(tok_off)}, max {max(tok_off)}")
    print(f"prompt tokens with labels:    mean {mean_on:.1f}, p95 {p95(tok_on)}, max {max(tok_on)}")
    print(
        f"candidate lines shown: mean {statistics.mean(shown):.1f}; list trimmed by the budget in {trimmed} prompts"
    )
    print(f"argument-taking steps whose target uses a label: {sum(labelled.values())}/{steps} = {frac:.1%}")
    for fn in sorted(by_fn):
        print(f"  {fn}: {labelled[fn]}/{by_fn[fn]}")
    emit(
        {
            "name": "arg_labels_prompt_tokens",
            "value": round(mean_on, 1),
            "unit": "tokens/prompt",
            "baseline": round(mean_off, 1),
            "ratio": round(mean_on / mean_off, 3),
            "goal": "<= 1.25",
            "smoke": args.smoke,
        },
        args.json,
        {"label_fraction": round(frac, 3)},
    )


if __name__ == "__main__":
    main()
