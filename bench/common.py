"""Helpers shared by the benchmarks: result printing and a tiny model/tokenizer built in place."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def emit(result: dict[str, Any], as_json: bool, extra: dict[str, Any] | None = None) -> None:
    """Print a headline result; with --json the last line is one JSON object."""
    for k, v in (extra or {}).items():
        print(f"  {k}: {v}")
    print(
        f"{result['name']}: {result['value']:.4g} {result['unit']} vs baseline {result['baseline']:.4g} "
        f"-> ratio {result['ratio']:.3g} (goal {result['goal']})"
    )
    if as_json:
        print(json.dumps({k: result[k] for k in ("name", "value", "unit", "baseline", "ratio", "goal")}))


def tiny_checkpoint(
    path: Path, *, hidden: int = 128, layers: int = 4, vocab: int = 1024, seed: int = 0
) -> Path:
    """A tiny Llama + locally trained tokenizer saved as an HF folder (the tiny config's shape)."""
    from lam_rl.config import ModelConfig
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.corpus import project_corpus

    if (path / "config.json").exists():
        return path
    tok = train_tokenizer(project_corpus(["Click the Bold button on the Home tab."] * 50), vocab)
    model = build_model(
        ModelConfig(hidden=hidden, layers=layers, heads=4, kv_heads=4, intermediate=hidden * 11 // 4),
        tok,
        seed=seed,
    )
    return save_pretrained(model, tok, path)


def concurrent_throughput(call: Callable[[int], Any], callers: int, calls_each: int) -> float:
    """Calls per second with ``callers`` threads each making ``calls_each`` sequential calls."""
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            for j in range(calls_each):
                call(i * calls_each + j)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(callers)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    return callers * calls_each / (time.perf_counter() - t)


def wordsim_examples(n_tasks: int, seed: int = 0, agent_cfg=None):
    """SFT examples (Appendix C prompt, target JSON) from reference runs of WordSim tasks, in-process."""
    from lam_rl.agent.config import AgentConfig
    from lam_rl.agent.prompt import HistoryItem, PromptBuilder, format_target
    from lam_rl.data.sft import Example
    from lam_rl.env.client import VMClient
    from lam_rl.env.tasks import reference_actions, sample_tasks
    from lam_rl.env.wordsim import WordSim

    cfg = agent_cfg or AgentConfig()
    builder = PromptBuilder(cfg)
    vm = VMClient.in_process(WordSim("bench"))
    out = []
    for task in sample_tasks(n_tasks, seed, split="train"):
        obs = vm.reset(task)
        history, plan = [], []
        for d in reference_actions(task):
            out.append(Example(builder.build(obs, task.request, history, plan).text, format_target(d, cfg)))
            r = vm.step(d.to_action())
            c = r.control
            history.append(
                HistoryItem(c.text if c else d.control_name, c.type if c else None, d.function, dict(d.args))
            )
            plan, obs = list(d.plan), r.observation
    return out
