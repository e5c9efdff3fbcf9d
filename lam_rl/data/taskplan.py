"""Phase 0a: the task-plan corpus (task -> reference plan), cleaned, deduplicated and evolved.

Tasks come from the WordSim suite (many phrasings and parameters per family); *evolution*
rewrites a task into a harder one as the paper's "data evolution" does: templated, by joining it
with one or two other families into a composite task whose plan is the joined plans, or, when an
OpenAI-compatible endpoint is configured, by asking that model for a harder task and its plan
(a malformed answer falls back to the templated evolution and is counted).
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from lam_rl.data.config import TaskPlanConfig
from lam_rl.env.protocol import TaskSpec
from lam_rl.env.tasks import (
    list_families,
    make_composite,
    reference_actions,
    sample_tasks,
    stream_seed,
    task_split,
)
from lam_rl.store.records import TaskPlanRecord

log = logging.getLogger(__name__)

EVOLVE_PROMPT = (
    "Rewrite this Microsoft Word task into a harder one that needs more steps, adding at most 20 words, "
    'and give its plan. Answer with JSON only: {{"task": "...", "plan": ["1. ...", "2. ..."]}}.\n'
    "Task: {task}\nPlan: {plan}"
)


@dataclass
class CorpusStats:
    sampled: int = 0
    evolved: int = 0
    llm_rewritten: int = 0
    llm_rejected: int = 0
    duplicates: int = 0
    empty_plans: int = 0


def normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def record(task: TaskSpec, source: str, evolved_from: str | None = None) -> TaskPlanRecord:
    return TaskPlanRecord(
        task_id=task.task_id,
        app=task.app,
        family=task.family,
        source=source,
        task=task.request,
        plan=list(task.plan),
        evolved_from=evolved_from,
        split=task_split(task),
    )


def evolve(base: TaskSpec, rng: random.Random, composable: list[str]) -> TaskSpec | None:
    """A harder task built on ``base``: its family joined with one or two compatible others."""
    others = [f for f in composable if f != base.family]
    for _ in range(10):
        pool = [base.family, *rng.sample(others, k=min(5, len(others)))]
        try:
            harder = make_composite(rng.randrange(1 << 30), families=pool)
        except ValueError:  # these families do not combine on one template
            continue
        if any(p["family"] == base.family for p in harder.params.get("parts", [])):
            return harder
    return None


def llm_evolve(client, model: str, rec: TaskPlanRecord) -> TaskPlanRecord | None:
    """Ask an OpenAI-compatible model for a harder task and plan; None if the answer is unusable."""
    try:
        resp = client.chat.completions.create(
            model=model,
            messages=[
                {"role": "user", "content": EVOLVE_PROMPT.format(task=rec.task, plan=" ".join(rec.plan))}
            ],
            temperature=0.7,
            max_tokens=400,
        )
        text = resp.choices[0].message.content or ""
        obj = json.loads(text[text.index("{") : text.rindex("}") + 1])
        task, plan = str(obj["task"]).strip(), [str(p).strip() for p in obj["plan"] if str(p).strip()]
    except Exception:  # noqa: BLE001 - any failure of an external model is a rejected rewrite
        return None
    if not task or not plan or len(task.split()) > len(rec.task.split()) + 20:
        return None
    return TaskPlanRecord(
        task_id=f"{rec.task_id}-llm",
        app=rec.app,
        family=rec.family,
        source="evolved-llm",
        task=task,
        plan=plan,
        evolved_from=rec.task_id,
        split=rec.split,
    )


def build_corpus(cfg: TaskPlanConfig, seed: int) -> tuple[list[TaskPlanRecord], CorpusStats]:
    """Sampled suite tasks plus their evolutions, without duplicates or empty plans."""
    rng = random.Random(seed)
    stats = CorpusStats()
    composable = [f.name for f in list_families() if f.composable]
    out: list[TaskPlanRecord] = []
    seen: set[str] = set()

    def keep(rec: TaskPlanRecord) -> None:
        if not rec.plan:
            stats.empty_plans += 1
            return
        key = normalize(rec.task)
        if key in seen:
            stats.duplicates += 1
            return
        seen.add(key)
        out.append(rec)

    base = sample_tasks(cfg.num_tasks, seed, split="train")
    stats.sampled = len(base)
    for task in base:
        keep(record(task, "suite"))
    n_evolved = int(round(cfg.evolved_fraction * len(base)))
    evolved: list[TaskPlanRecord] = []
    for task in (
        rng.sample(base, k=min(n_evolved, len(base)))
        if n_evolved <= len(base)
        else rng.choices(base, k=n_evolved)
    ):
        if task.family not in composable:
            continue
        harder = evolve(task, rng, composable)
        if harder is None or task_split(harder) != "train":
            continue
        rec = record(harder, "evolved", evolved_from=task.task_id)
        evolved.append(rec)
        keep(rec)
    stats.evolved = len(evolved)
    if cfg.llm_base_url:
        import os

        from openai import OpenAI

        client = OpenAI(
            base_url=cfg.llm_base_url, api_key=os.environ.get(cfg.llm_api_key_env, "none"), max_retries=1
        )
        for rec in evolved[: cfg.llm_max_tasks]:
            better = llm_evolve(client, cfg.llm_model, rec)
            if better is None:
                stats.llm_rejected += 1
            else:
                stats.llm_rewritten += 1
                keep(better)
    return out, stats


def tokenizer_texts(n: int, seed: int, agent_cfg) -> Iterator[str]:
    """Prompts and targets of ``n`` tasks played in-process with their reference actions."""
    from lam_rl.agent.prompt import HistoryItem, PromptBuilder, format_target
    from lam_rl.env.client import VMClient
    from lam_rl.env.wordsim import WordSim

    builder = PromptBuilder(agent_cfg)
    vm = VMClient.in_process(WordSim("corpus"))
    for task in sample_tasks(n, stream_seed(seed, "tokenizer"), split="train", composite_fraction=0.2):
        obs = vm.reset(task)
        yield task.request + "\n" + "\n".join(task.plan)
        history: list[HistoryItem] = []
        plan: list[str] = []
        for d in reference_actions(task):
            prompt = builder.build(obs, task.request, history, plan)
            yield prompt.text
            yield format_target(d, agent_cfg, prompt.args)
            action = d.to_action()
            if action is None:
                break
            result = vm.step(action)
            control = result.control
            history.append(
                HistoryItem(
                    control.text if control else d.control_name,
                    control.type if control else None,
                    d.function,
                    dict(d.args),
                )
            )
            plan = list(d.plan)
            obs = result.observation
