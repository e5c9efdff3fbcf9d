"""Offline evaluation on held-out reference trajectories (docs/paper.md, "Metrics"; the paper's section 5.3.1).

Each reference step is judged with the reference history in the prompt (teacher forcing):

- object accuracy: the predicted control (grounded on the step's observation) is an acceptable one
  (the reference control's name; a family may list equivalent controls in ``acceptable``),
- operation accuracy: the predicted function is the reference function,
- status accuracy: the predicted CONTINUE/FINISH is the reference status,
- step success rate (SSR): all three right,
- task success rate (TSR): every step of the task right.

An unparseable answer counts as wrong on all three (and as an invalid action).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lam_rl.agent.grounding import ground
from lam_rl.agent.parse import parse_decision
from lam_rl.agent.prompt import PromptBuilder
from lam_rl.data.sft import decision_of, observation_of, trajectory_examples
from lam_rl.env.protocol import Decision

METRICS = ("object_acc", "operation_acc", "status_acc", "ssr", "tsr")


@dataclass
class StepJudgement:
    traj_id: str
    family: str
    step: int
    object_ok: bool
    operation_ok: bool
    status_ok: bool
    valid: bool

    @property
    def success(self) -> bool:
        return self.object_ok and self.operation_ok and self.status_ok


@dataclass
class OfflineReport:
    steps: int = 0
    tasks: int = 0
    object_acc: float = 0.0
    operation_acc: float = 0.0
    status_acc: float = 0.0
    ssr: float = 0.0
    tsr: float = 0.0
    invalid_rate: float = 0.0
    by_family: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_step(row: dict[str, Any], predicted: Decision | None) -> StepJudgement:
    """Compare a prediction with a reference step row (store ``steps`` schema)."""
    ref = decision_of(row)
    if predicted is None:
        return StepJudgement(
            row["traj_id"], row.get("family", ""), int(row["step"]), False, False, False, False
        )
    acceptable = {ref.control_name} | set(row.get("acceptable") or [])
    if ref.function:
        grounded = ground(predicted, observation_of(row))
        obj_ok = grounded.control is not None and grounded.control.text in acceptable
    else:  # a bare FINISH: no control to get right
        obj_ok = not predicted.function
    return StepJudgement(
        row["traj_id"],
        row.get("family", ""),
        int(row["step"]),
        obj_ok,
        predicted.function == ref.function,
        predicted.status == ref.status,
        True,
    )


def aggregate(judgements: Iterable[StepJudgement]) -> OfflineReport:
    js = list(judgements)
    rep = OfflineReport()
    if not js:
        return rep

    def summarize(group: Sequence[StepJudgement]) -> dict[str, float]:
        by_traj: dict[str, list[StepJudgement]] = defaultdict(list)
        for j in group:
            by_traj[j.traj_id].append(j)
        n = len(group)
        return {
            "steps": float(n),
            "tasks": float(len(by_traj)),
            "object_acc": sum(j.object_ok for j in group) / n,
            "operation_acc": sum(j.operation_ok for j in group) / n,
            "status_acc": sum(j.status_ok for j in group) / n,
            "ssr": sum(j.success for j in group) / n,
            "tsr": sum(all(j.success for j in t) for t in by_traj.values()) / len(by_traj),
            "invalid_rate": sum(not j.valid for j in group) / n,
        }

    overall = summarize(js)
    rep.steps, rep.tasks = int(overall.pop("steps")), int(overall.pop("tasks"))
    for k, v in overall.items():
        setattr(rep, k, v)
    fams: dict[str, list[StepJudgement]] = defaultdict(list)
    for j in js:
        fams[j.family].append(j)
    rep.by_family = {f: summarize(g) for f, g in sorted(fams.items())}
    return rep


def group_trajectories(steps: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in steps:
        by[r["traj_id"]].append(r)
    return [sorted(v, key=lambda r: r["step"]) for _, v in sorted(by.items())]


def teacher_forced_prompts(traj: Sequence[dict[str, Any]], builder: PromptBuilder) -> list[str]:
    """The prompt of every step of a reference trajectory, with the reference history."""
    return [e.prompt for e in trajectory_examples(traj, builder)]


def evaluate_lm(
    steps: Iterable[dict[str, Any]],
    builder: PromptBuilder,
    generate: Callable[[list[str]], list[str]],
    batch_size: int = 32,
) -> OfflineReport:
    """Offline metrics of a language model; ``generate`` maps a batch of prompts to answers."""
    rows: list[dict[str, Any]] = []
    prompts: list[str] = []
    for traj in group_trajectories(steps):
        rows.extend(traj)
        prompts.extend(teacher_forced_prompts(traj, builder))
    judgements = []
    for s in range(0, len(prompts), batch_size):
        answers = generate(prompts[s : s + batch_size])
        for row, text in zip(rows[s : s + batch_size], answers, strict=True):
            judgements.append(judge_step(row, parse_decision(text).decision))
    return aggregate(judgements)


def evaluate_policy_offline(
    steps: Iterable[dict[str, Any]], make_expert: Callable[[dict[str, Any]], Any]
) -> OfflineReport:
    """Offline metrics of a stateful policy that acts from observations (the scripted expert).

    ``make_expert(first_row)`` returns an object with ``act(observation) -> Decision`` already
    reset to the trajectory's task; it sees the reference observations in order.
    """
    judgements = []
    for traj in group_trajectories(steps):
        expert = make_expert(traj[0])
        for row in traj:
            judgements.append(judge_step(row, expert.act(observation_of(row))))
    return aggregate(judgements)
