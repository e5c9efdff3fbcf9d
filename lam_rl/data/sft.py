"""SFT examples: task -> plan (phase 1) and state -> action (phases 2-3, Appendix C format).

An example is a prompt and a target; tokenised, the loss falls on target tokens only (labels are
-100 on the prompt), and truncation never cuts the target: an over-long prompt loses its oldest
tokens after BOS, and an example whose target alone does not fit is dropped (and counted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lam_rl.agent.args import ArgCandidates
from lam_rl.agent.config import AgentConfig
from lam_rl.agent.prompt import HistoryItem, PromptBuilder, format_target
from lam_rl.env.protocol import Control, Decision, Observation

PLAN_INSTRUCTION = "Plan the steps to complete this Word task."


@dataclass
class Example:
    prompt: str
    target: str
    key: str = ""  # traj_id:step or task_id, for tracing and splits
    args: ArgCandidates | None = None  # the prompt's candidate arguments (agent.arg_labels)


@dataclass
class EncodeStats:
    examples: int = 0
    prompt_truncated: int = 0
    dropped_target_too_long: int = 0


# ----------------------------------------------------------------------------- builders


def plan_prompt(task: str) -> str:
    return f"{PLAN_INSTRUCTION}\n<Task:> {task}"


def plan_target(plan: Sequence[str]) -> str:
    return "\n".join(plan)


def plan_examples(records: Iterable[dict[str, Any]]) -> list[Example]:
    """Phase 1: one example per task-plan record (``task``, ``plan``, ``task_id``)."""
    return [
        Example(plan_prompt(r["task"]), plan_target(r["plan"]), str(r.get("task_id", ""))) for r in records
    ]


def observation_of(row: dict[str, Any]) -> Observation:
    controls = [
        Control(
            label=int(c["label"]),
            text=c["text"],
            type=c["type"],
            rect=tuple(c.get("rect") or (0, 0, 0, 0)),
            window=c.get("window"),
        )
        for c in row.get("controls") or []
    ]
    return Observation(controls=controls, canvas=row.get("canvas") or "", dialog=row.get("dialog"))


def decision_of(row: dict[str, Any]) -> Decision:
    args = row.get("args") or "{}"
    return Decision(
        thought=row.get("thought") or "",
        control_label=row.get("control_label"),
        control_name=row.get("control_text"),
        function=row.get("function") or "",
        args=json.loads(args) if isinstance(args, str) else dict(args),
        status=row.get("status") or "CONTINUE",
        plan=list(row.get("plan") or []),
    )


def history_item(row: dict[str, Any], obs: Observation) -> HistoryItem:
    ctype = next((c.type for c in obs.controls if c.label == row.get("control_label")), None)
    args = row.get("args") or "{}"
    return HistoryItem(
        row.get("control_text"),
        ctype,
        row.get("function") or "",
        json.loads(args) if isinstance(args, str) else args,
    )


def trajectory_examples(steps: Sequence[dict[str, Any]], builder: PromptBuilder) -> list[Example]:
    """Phases 2-3: one example per step of one trajectory (rows of the store's steps table).

    The prompt carries the previous steps' actions and the previous step's plan, exactly as the
    rollout worker builds them at run time. With ``agent.arg_labels`` an argument whose text is one
    of the prompt's candidates is written as its label in the target (the step's stored arguments
    are always the text that ran), any other argument literally.
    """
    rows = sorted(steps, key=lambda r: r["step"])
    out: list[Example] = []
    history: list[HistoryItem] = []
    prev_plan: list[str] = []
    for row in rows:
        obs = observation_of(row)
        prompt = builder.build(obs, row["request"], history, prev_plan)
        target = format_target(decision_of(row), builder.cfg, prompt.args)
        out.append(Example(prompt.text, target, f"{row['traj_id']}:{row['step']}", prompt.args))
        if row.get("valid", True) is False:  # as at run time: an invalid answer adds no history
            continue
        if row.get("function"):
            history.append(history_item(row, obs))
        prev_plan = list(row.get("plan") or [])
    return out


def action_examples(steps: Iterable[dict[str, Any]], builder: PromptBuilder) -> list[Example]:
    """Examples for every trajectory in ``steps`` (rows of many trajectories, any order)."""
    by_traj: dict[str, list[dict[str, Any]]] = {}
    for row in steps:
        by_traj.setdefault(row["traj_id"], []).append(row)
    out: list[Example] = []
    for traj_id in sorted(by_traj):
        out.extend(trajectory_examples(by_traj[traj_id], builder))
    return out


# ----------------------------------------------------------------------------- tokenising


def chat_prompt(tokenizer, prompt: str) -> str:
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
    )


def encode(
    tokenizer, examples: Sequence[Example], max_len: int, stats: EncodeStats | None = None
) -> list[dict[str, list[int]]]:
    """Token ids and labels (-100 on the prompt) for each example that fits ``max_len``."""
    stats = stats if stats is not None else EncodeStats()
    if not examples:
        return []
    prompts = tokenizer([chat_prompt(tokenizer, e.prompt) for e in examples], add_special_tokens=False)[
        "input_ids"
    ]
    targets = tokenizer([e.target for e in examples], add_special_tokens=False)["input_ids"]
    eos = tokenizer.eos_token_id
    out = []
    for p, t in zip(prompts, targets, strict=True):
        t = [*t, eos]
        if len(t) + 2 > max_len:
            stats.dropped_target_too_long += 1
            continue
        if len(p) + len(t) > max_len:
            keep = max_len - len(t) - 1
            p = p[:1] + p[len(p) - keep :]
            stats.prompt_truncated += 1
        out.append({"input_ids": p + t, "labels": [-100] * len(p) + t})
        stats.examples += 1
    return out


def agent_builder(cfg: AgentConfig, tokenizer=None) -> PromptBuilder:
    count = (
        (lambda s: len(tokenizer(s, add_special_tokens=False)["input_ids"]))
        if tokenizer is not None
        else None
    )
    return PromptBuilder(cfg, count)


def scored_examples(steps: Iterable[dict[str, Any]], builder: PromptBuilder) -> list[tuple[Example, float]]:
    """Reward-model examples: every step's (prompt, action) labelled +1 if its trajectory succeeded,
    -1 if it failed (docs/paper.md, phase 4). An invalid model answer is scored as its raw text."""
    by_traj: dict[str, list[dict[str, Any]]] = {}
    for row in steps:
        by_traj.setdefault(row["traj_id"], []).append(row)
    out: list[tuple[Example, float]] = []
    for traj_id in sorted(by_traj):
        rows = sorted(by_traj[traj_id], key=lambda r: r["step"])
        examples = trajectory_examples(rows, builder)
        for row, ex in zip(rows, examples, strict=True):
            if row.get("valid", True) is False:
                ex = Example(ex.prompt, (row.get("raw") or "").strip() or "{}", ex.key)
            out.append((ex, 1.0 if row["success"] else -1.0))
    return out
