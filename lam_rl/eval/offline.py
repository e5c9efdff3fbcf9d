"""Offline evaluation on held-out reference trajectories (docs/paper.md, "Metrics"; the paper's section 5.3.1).

Each reference step is judged with the reference history in the prompt (teacher forcing):

- object accuracy: the predicted control (grounded on the step's observation) is an acceptable one
  (the reference control's name; a family may list equivalent controls in ``acceptable``),
- operation accuracy: the predicted function is the reference function,
- status accuracy: the predicted CONTINUE/FINISH is the reference status,
- step success rate (SSR): all three right,
- task success rate (TSR): every step of the task right,
- argument accuracy (``arg_acc``): over the reference steps whose function takes an argument
  (``ARG_FUNCTIONS``: select_text, set_edit_text, keyboard_input, summary, insert_table,
  select_table, wheel_mouse_input), the predicted function is the reference one and its arguments
  match (``args_match``: labels resolved against the step's candidate arguments, defaults filled
  in, text compared with whitespace collapsed and case folded, measures by number and unit),
- TSR with arguments (``tsr_args``): every step right and every step's arguments matching.

An unparseable answer, or one whose argument label names no candidate, counts as wrong on all
(and as an invalid action).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lam_rl.agent.args import ArgCandidates, resolve_args
from lam_rl.agent.grounding import ground
from lam_rl.agent.parse import parse_decision
from lam_rl.agent.prompt import PromptBuilder
from lam_rl.data.sft import decision_of, observation_of, trajectory_examples
from lam_rl.env.protocol import ARGS, Decision

METRICS = ("object_acc", "operation_acc", "status_acc", "ssr", "tsr", "arg_acc", "tsr_args")
ARG_FUNCTIONS = (
    "select_text",
    "set_edit_text",
    "keyboard_input",
    "summary",
    "insert_table",
    "select_table",
    "wheel_mouse_input",
)
"""Functions that take an argument of the task's (text or number): where argument accuracy is counted."""

_MEASURE = re.compile(r"^(-?\d+(?:\.\d+)?|-?\.\d+)\s*(\"|in|inch|inches|pt|cm|mm|%)?$", re.IGNORECASE)
_UNITS = {'"': "in", "inch": "in", "inches": "in"}


def _norm_value(v: Any) -> tuple:
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float)):
        return ("num", float(v), "")
    if isinstance(v, str):
        text = " ".join(v.split())
        m = _MEASURE.match(text)
        if m:
            unit = (m.group(2) or "").lower()
            return ("num", float(m.group(1)), _UNITS.get(unit, unit))
        return ("text", text.casefold())
    return ("other", repr(v))


def values_match(a: Any, b: Any) -> bool:
    """Whether two argument values mean the same: text with whitespace collapsed and case folded (as
    the verifiers and WordSim compare text); a measure (``18``, ``18 pt``, ``1.5"``) by its number,
    and its unit when both give one."""
    x, y = _norm_value(a), _norm_value(b)
    if x[0] == y[0] == "num":
        return x[1] == y[1] and (x[2] == y[2] or not x[2] or not y[2])
    return x == y


def args_match(function: str, predicted: dict[str, Any], reference: dict[str, Any]) -> bool:
    """The same argument names (defaults of ``protocol.ARGS`` filled in) with matching values."""
    spec = ARGS.get(function, {})
    defaults = {k: d for k, (_, d) in spec.items() if d is not ...}
    p, r = defaults | dict(predicted), defaults | dict(reference)
    return p.keys() == r.keys() and all(values_match(p[k], r[k]) for k in r)


@dataclass
class StepJudgement:
    traj_id: str
    family: str
    step: int
    object_ok: bool
    operation_ok: bool
    status_ok: bool
    valid: bool
    arg_ok: bool = False
    """The predicted function and arguments (labels resolved) match the reference's."""
    takes_args: bool = False
    """The reference step's function is one of ``ARG_FUNCTIONS`` (counted in ``arg_acc``)."""

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
    arg_acc: float | None = None
    """None when no reference step takes an argument."""
    tsr_args: float = 0.0
    invalid_rate: float = 0.0
    by_family: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_step(
    row: dict[str, Any], predicted: Decision | None, args: ArgCandidates | None = None
) -> StepJudgement:
    """Compare a prediction with a reference step row (store ``steps`` schema); ``args``: the
    candidate arguments of the step's prompt, against which argument labels resolve."""
    ref = decision_of(row)
    takes_args = ref.function in ARG_FUNCTIONS
    resolved, _, why = (
        resolve_args(dict(predicted.args), args, predicted.function) if predicted else ({}, {}, "")
    )
    if predicted is None or why is not None:
        return StepJudgement(
            row["traj_id"],
            row.get("family", ""),
            int(row["step"]),
            False,
            False,
            False,
            False,
            False,
            takes_args,
        )
    acceptable = {ref.control_name} | set(row.get("acceptable") or [])
    if ref.function:
        grounded = ground(predicted, observation_of(row), args)
        obj_ok = grounded.control is not None and grounded.control.text in acceptable
        arg_ok = predicted.function == ref.function and args_match(ref.function, resolved, ref.args)
    else:  # a bare FINISH: no control to get right
        obj_ok = arg_ok = not predicted.function
    return StepJudgement(
        row["traj_id"],
        row.get("family", ""),
        int(row["step"]),
        obj_ok,
        predicted.function == ref.function,
        predicted.status == ref.status,
        True,
        arg_ok,
        takes_args,
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
        with_args = [j for j in group if j.takes_args]
        out = {
            "steps": float(n),
            "tasks": float(len(by_traj)),
            "object_acc": sum(j.object_ok for j in group) / n,
            "operation_acc": sum(j.operation_ok for j in group) / n,
            "status_acc": sum(j.status_ok for j in group) / n,
            "ssr": sum(j.success for j in group) / n,
            "tsr": sum(all(j.success for j in t) for t in by_traj.values()) / len(by_traj),
            "tsr_args": sum(all(j.success and j.arg_ok for j in t) for t in by_traj.values()) / len(by_traj),
            "invalid_rate": sum(not j.valid for j in group) / n,
        }
        if with_args:
            out["arg_steps"] = float(len(with_args))
            out["arg_acc"] = sum(j.arg_ok for j in with_args) / len(with_args)
        return out

    overall = summarize(js)
    rep.steps, rep.tasks = int(overall.pop("steps")), int(overall.pop("tasks"))
    overall.pop("arg_steps", None)
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
    examples = []
    for traj in group_trajectories(steps):
        rows.extend(traj)
        examples.extend(trajectory_examples(traj, builder))
    judgements = []
    for s in range(0, len(examples), batch_size):
        batch = examples[s : s + batch_size]
        answers = generate([e.prompt for e in batch])
        for row, ex, text in zip(rows[s : s + batch_size], batch, answers, strict=True):
            judgements.append(judge_step(row, parse_decision(text).decision, ex.args))
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
