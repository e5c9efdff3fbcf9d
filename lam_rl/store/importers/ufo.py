"""UFO dataflow result records (the paper's task-action data pipeline) -> trajectories + task plans.

A record is one JSON file (UFO writes ``dataflow/results/<stage>/<verdict>/<id>.json``; a file holding
a list of records is accepted too)::

    {unique_id, app, original: {original_task, original_steps[]},
     execution_result: {result: {reason, sub_scores{}, complete}, error},
     instantiation_result: {choose_template: {result, error},
                            prefill: {result: {instantiated_request,
                                               instantiated_plan[{Step, Subtask, ControlLabel, ControlText,
                                                                  Function, Args, Success, MatchedControlText}]},
                                      error},
                            instantiation_evaluation: {result: {judge, thought}, error}},
     time_cost: {...}}

Mapping: the original task and steps become a task-plan record (``source="ufo-dataflow"``); an
executed record (``execution_result.result`` present) becomes a trajectory ``ufo-<unique_id>`` whose
steps are the instantiated plan in order: ``Subtask`` -> thought, ``ControlLabel``/``ControlText`` ->
control, ``Function``/``Args`` -> action, ``Success`` -> ok, the remaining subtasks -> plan, the plan
step as written -> raw; ``complete`` (yes/no/unsure) and the judge's reason -> outcome (success is
``complete == "yes"``). The records carry no control lists or document text, so those stay empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lam_rl.store.errors import InvalidRecord
from lam_rl.store.importers.common import FieldError, ImportIssue, get, label
from lam_rl.store.records import Outcome, StepRecord, TaskPlanRecord, Trajectory

FORMAT = "ufo-dataflow"


def files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*.json") if p.is_file())


def _failure(complete: str, error: Any, steps: list[StepRecord]) -> str | None:
    if error:
        return "error"
    if complete == "yes":
        return None
    if any(not s.ok for s in steps):
        return "invalid_action"
    return "verifier_no" if complete == "no" else "unsure"


def parse_record(
    rec: Any, *, phase: str, policy: str, policy_version: int, family: str, split: str
) -> tuple[TaskPlanRecord, Trajectory | None]:
    """One dataflow result -> (task plan, trajectory or None when the task was never executed)."""
    if not isinstance(rec, dict):
        raise FieldError("<record>", f"expected a JSON object, got {type(rec).__name__}")
    uid = get(rec, "unique_id", types=(str, int))
    app = get(rec, "app", types=str)
    task = get(rec, "original.original_task", types=str)
    orig_steps = get(rec, "original.original_steps", types=list, required=False, default=[])
    for i, s in enumerate(orig_steps):
        if not isinstance(s, str):
            raise FieldError(f"original.original_steps[{i}]", f"expected a string, got {type(s).__name__}")
    task_id = str(uid)
    plan_rec = TaskPlanRecord(
        task_id=task_id, task=task, plan=list(orig_steps), app=app, family=family, source=FORMAT, split=split
    )
    result = get(rec, "execution_result.result", types=dict, required=False, nullable=True)
    if result is None:
        return plan_rec, None
    complete = get(rec, "execution_result.result.complete", types=str).strip().lower()
    if complete not in ("yes", "no", "unsure"):
        raise FieldError("execution_result.result.complete", f"expected yes, no or unsure, got {complete!r}")
    request = get(rec, "instantiation_result.prefill.result.instantiated_request", types=str)
    plan = get(rec, "instantiation_result.prefill.result.instantiated_plan", types=list)
    base = "instantiation_result.prefill.result.instantiated_plan"
    subtasks = [str(p.get("Subtask") or "") if isinstance(p, dict) else "" for p in plan]
    steps: list[StepRecord] = []
    for i, p in enumerate(plan):
        where = f"{base}[{i}]"
        if not isinstance(p, dict):
            raise FieldError(where, f"expected an object, got {type(p).__name__}")
        function = get(p, "Function", types=str)
        args = get(p, "Args", types=dict, required=False, nullable=True) or {}
        success = get(p, "Success", types=bool, required=False, nullable=True)
        steps.append(
            StepRecord(
                step=i,
                request=request,
                thought=get(p, "Subtask", types=str, required=False, default="") or "",
                control_label=label(p.get("ControlLabel"), f"{where}.ControlLabel"),
                control_text=get(p, "ControlText", types=str, required=False, nullable=True),
                function=function,
                args=args,
                status="FINISH" if i == len(plan) - 1 else "CONTINUE",
                plan=[s for s in subtasks[i + 1 :] if s],
                ok=True if success is None else success,
                error=None if success is not False else "the step failed when UFO executed it",
                valid=bool(function),
                raw=json.dumps(p, ensure_ascii=False),
            )
        )
    error = get(rec, "execution_result.error", required=False, nullable=True)
    template = get(
        rec, "instantiation_result.choose_template.result", types=str, required=False, nullable=True
    )
    sub_scores = (
        get(rec, "execution_result.result.sub_scores", types=dict, required=False, nullable=True) or {}
    )
    outcome = Outcome(
        traj_id=f"ufo-{uid}",
        task_id=task_id,
        family=family,
        app=app,
        template=Path(template.replace("\\", "/")).stem if template else "",
        split=split,
        phase=phase,
        policy=policy,
        policy_version=policy_version,
        success=complete == "yes",
        complete=complete,
        reason=get(rec, "execution_result.result.reason", types=str, required=False, default="") or "",
        sub_scores=sub_scores,
        failure_kind=_failure(complete, error, steps),
        duration_s=float(
            get(rec, "time_cost.total", types=(int, float), required=False, nullable=True) or 0.0
        ),
        task={"unique_id": uid, "app": app, "request": request, "original_task": task, "template": template},
        worker=FORMAT,
    )
    return plan_rec, Trajectory(outcome, steps)


def read(
    path: Path, *, phase: str, policy: str, policy_version: int = 0, family: str = "", split: str = "train"
) -> Iterator[TaskPlanRecord | Trajectory | ImportIssue]:
    """Task plans, trajectories and issues (one per malformed record) from a folder of result files."""
    for f in files(path):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            yield ImportIssue(str(f), "<file>", f"not a JSON file: {e}")
            continue
        records = data if isinstance(data, list) else [data]
        for k, rec in enumerate(records):
            name = f"{f}[{k}]" if isinstance(data, list) else str(f)
            try:
                plan_rec, traj = parse_record(
                    rec, phase=phase, policy=policy, policy_version=policy_version, family=family, split=split
                )
                plan_rec.check()
                if traj is not None:
                    traj.check()
            except FieldError as e:
                yield ImportIssue(name, e.field, e.message)
                continue
            except InvalidRecord as e:
                yield ImportIssue(name, "<record>", str(e))
                continue
            yield plan_rec
            if traj is not None:
                yield traj
