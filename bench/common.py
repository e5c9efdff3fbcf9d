"""Helpers shared by the benchmarks: result printing and a tiny model/tokenizer built in place."""

from __future__ import annotations

import contextlib
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


SMOKE_HELP = (
    "tiny sizes, seconds: proves the bench still runs end to end (CI runs every bench this way); "
    "its figures mean nothing"
)
# Overrides that shrink a pipeline run to seconds per stage for --smoke (a ~20k-parameter model, one VM).
SMOKE_OVERRIDES = [
    "tracking.mode=disabled",
    "model.hidden=32",
    "model.layers=1",
    "model.heads=2",
    "model.kv_heads=2",
    "model.intermediate=64",
    "tokenizer.vocab_size=300",
    "taskplan.num_tasks=10",
    "taskplan.tokenizer_samples=3",
    "collect.num_tasks=3",
    "collect.eval_tasks=2",
    "fleet.local=1",
    "rollout.max_steps=3",
    "policy.max_new_tokens=8",
    "eval.max_tasks=2",
    "eval.max_new_tokens=8",
]
JSON_KEYS = ("name", "value", "unit", "baseline", "ratio", "goal")


def tiny_job_config(root: Path, *overrides: str):
    """The tiny job config with its runs under ``root``, W&B off, and ``key=value`` overrides."""
    from jobs.config import Config
    from lam_rl.config import load_config

    return load_config(
        Config,
        ["config=tiny", f"run.root={root}", "tracking.mode=disabled", *overrides],
        configs_dir=Path(__file__).resolve().parents[1] / "jobs" / "configs",
    )


def emit(result: dict[str, Any], as_json: bool, extra: dict[str, Any] | None = None) -> None:
    """Print a headline result; with --json the last line of stdout is one JSON object.

    That is guaranteed, not hoped for: Ray (and Serve) are shut down first and stdout is flushed
    before the JSON line; after it, stdout is closed to everything else: Python's ``print`` and
    whatever Ray, its atexit handlers or a C library write to file descriptor 1 go to stderr instead.
    ``result["smoke"]`` (set by ``--smoke``) is carried into the JSON so a smoke figure is never taken
    for a measurement.
    """
    shutdown_ray()  # its shutdown messages come before the results, never after the JSON
    for k, v in (extra or {}).items():
        print(f"  {k}: {v}")
    print(
        f"{result['name']}: {result['value']:.4g} {result['unit']} vs baseline {result['baseline']:.4g} "
        f"-> ratio {result['ratio']:.3g} (goal {result['goal']})"
        + (" [smoke run: sizes too small to mean anything]" if result.get("smoke") else "")
    )
    if as_json:
        keys = [*JSON_KEYS, *(["smoke"] if result.get("smoke") else [])]
        line = json.dumps({k: result[k] for k in keys})
        sys.stdout.flush()
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # fd 1 now writes to stderr
        sys.stdout = sys.stderr


def shutdown_ray() -> None:
    """Shut down Serve and Ray if this process started them (their shutdown logs come before the JSON)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return
    serve = sys.modules.get("ray.serve")
    if serve is not None:
        with contextlib.suppress(Exception):  # Serve never started in this process
            serve.shutdown()
    ray.shutdown()


def tiny_checkpoint(
    path: Path, *, hidden: int = 128, layers: int = 4, vocab: int = 1024, seed: int = 0
) -> Path:
    """A tiny Llama + locally trained tokenizer saved as an HF folder (the tiny config's shape)."""
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.config import ModelConfig
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
