"""GUI-360 step JSONL -> trajectories + task plans.

One JSON object a line, one line per step; the steps of an execution share ``execution_id``::

    {execution_id, app_domain, request, template, step_id, total_steps,
     evaluation: {reason, evidence, sub_scores, complete},
     step: {screenshot_clean, ui_tree, control_infos: {uia_controls_info: [{label, control_text,
            control_type, control_rect}]}, subtask, observation, thought,
            action: {action_type, control_text, control_label, function, args, rectangle, ...},
            status: CONTINUE|FINISH|OVERALL_FINISH}}

Lines are grouped by ``execution_id`` across every file given, ordered by ``step_id`` and renumbered
from 0; a trajectory is imported only whole: a malformed line (bad JSON, a missing or mistyped field)
drops its execution with an issue naming the file, line and field, and so does a gap in ``step_id``
or a duplicate step. Mapping: ``uia_controls_info`` -> controls, ``observation`` -> canvas,
``thought`` -> thought, ``action`` -> control/function/args, the remaining subtasks -> plan,
``evaluation`` -> outcome (success is ``complete == "yes"``); the request and the subtasks also
become a task-plan record (``source="gui360"``). Screenshots and UI trees are not stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.store.errors import InvalidRecord
from lam_rl.store.importers.common import FieldError, ImportIssue, get, label
from lam_rl.store.records import Outcome, StepRecord, TaskPlanRecord, Trajectory

FORMAT = "gui360"


def files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.jsonl") if p.is_file())


def _rect(value: Any, where: str) -> list[int]:
    if value is None:
        return []
    if isinstance(value, dict):
        try:
            return [int(value[k]) for k in ("left", "top", "right", "bottom")]
        except (KeyError, TypeError, ValueError):
            raise FieldError(where, "expected {left, top, right, bottom}") from None
    if isinstance(value, list) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) for x in value
    ):
        return [int(x) for x in value]
    raise FieldError(where, f"expected [left, top, right, bottom], got {value!r:.60}")


_META = ("app_domain", "request", "template", "total_steps", "evaluation")


@dataclass
class _Line:
    step_id: int
    file: str
    line: int
    step: StepRecord
    subtask: str
    rec: dict[str, Any]  # the execution-level fields only (screenshots and UI trees are dropped)


@dataclass
class _Execution:
    lines: list[_Line] = field(default_factory=list)
    broken: ImportIssue | None = None


def parse_line(rec: Any) -> tuple[str, int, StepRecord, str]:
    """(execution_id, step_id, step, subtask) of one line; raises FieldError naming the field."""
    if not isinstance(rec, dict):
        raise FieldError("<line>", f"expected a JSON object, got {type(rec).__name__}")
    exec_id = get(rec, "execution_id", types=str)
    step_id = get(rec, "step_id", types=int)
    get(rec, "app_domain", types=str)
    request = get(rec, "request", types=str)
    status = get(rec, "step.status", types=str).upper()
    if status not in ("CONTINUE", "FINISH", "OVERALL_FINISH"):
        raise FieldError("step.status", f"expected CONTINUE, FINISH or OVERALL_FINISH, got {status!r}")
    infos = get(rec, "step.control_infos.uia_controls_info", types=list, required=False, nullable=True) or []
    controls = []
    for i, c in enumerate(infos):
        where = f"step.control_infos.uia_controls_info[{i}]"
        if not isinstance(c, dict):
            raise FieldError(where, f"expected an object, got {type(c).__name__}")
        controls.append(
            {
                "label": label(c.get("label"), f"{where}.label"),
                "text": str(c.get("control_text") or ""),
                "type": str(c.get("control_type") or ""),
                "rect": _rect(c.get("control_rect"), f"{where}.control_rect"),
            }
        )
    function = get(rec, "step.action.function", types=str, required=False, nullable=True) or ""
    args = get(rec, "step.action.args", types=dict, required=False, nullable=True) or {}
    step = StepRecord(
        step=0,
        request=request,
        controls=controls,
        canvas=get(rec, "step.observation", types=str, required=False, nullable=True) or "",
        thought=get(rec, "step.thought", types=str, required=False, nullable=True) or "",
        control_label=label(
            get(rec, "step.action.control_label", required=False, nullable=True), "step.action.control_label"
        ),
        control_text=get(rec, "step.action.control_text", types=str, required=False, nullable=True),
        function=function,
        args=args,
        status="CONTINUE" if status == "CONTINUE" else "FINISH",
        valid=True,
    )
    subtask = get(rec, "step.subtask", types=str, required=False, nullable=True) or ""
    return exec_id, step_id, step, subtask


def _trajectory(
    exec_id: str, ex: _Execution, *, phase: str, policy: str, policy_version: int, family: str, split: str
) -> tuple[TaskPlanRecord, Trajectory]:
    lines = sorted(ex.lines, key=lambda x: x.step_id)
    first = lines[0]
    ids = [x.step_id for x in lines]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise FieldError("step_id", f"execution {exec_id!r} has step {dup} twice")
    start = ids[0]
    if ids != list(range(start, start + len(ids))):
        missing = sorted(set(range(start, ids[-1] + 1)) - set(ids))
        raise FieldError("step_id", f"execution {exec_id!r} is missing step(s) {missing}")
    total = first.rec.get("total_steps")
    if isinstance(total, int) and not isinstance(total, bool) and total != len(ids):
        raise FieldError("total_steps", f"execution {exec_id!r} says {total} steps but has {len(ids)}")
    complete = str(get(first.rec, "evaluation.complete", types=str)).strip().lower()
    if complete not in ("yes", "no", "unsure"):
        raise FieldError("evaluation.complete", f"expected yes, no or unsure, got {complete!r}")
    subtasks = [x.subtask for x in lines]
    steps = []
    for i, x in enumerate(lines):
        x.step.step = i
        x.step.plan = [s for s in subtasks[i + 1 :] if s]
        steps.append(x.step)
    steps[-1].status = "FINISH"
    app = get(first.rec, "app_domain", types=str)
    request = get(first.rec, "request", types=str)
    template = get(first.rec, "template", types=str, required=False, nullable=True) or ""
    outcome = Outcome(
        traj_id=f"gui360-{exec_id}",
        task_id=exec_id,
        family=family,
        app=app,
        template=Path(template.replace("\\", "/")).stem if template else "",
        split=split,
        phase=phase,
        policy=policy,
        policy_version=policy_version,
        success=complete == "yes",
        complete=complete,
        reason=get(first.rec, "evaluation.reason", types=str, required=False, nullable=True) or "",
        sub_scores=get(first.rec, "evaluation.sub_scores", types=dict, required=False, nullable=True) or {},
        failure_kind=None if complete == "yes" else ("verifier_no" if complete == "no" else "unsure"),
        task={"execution_id": exec_id, "app": app, "request": request, "template": template},
        worker=FORMAT,
    )
    plan = TaskPlanRecord(
        task_id=exec_id,
        task=request,
        plan=[s for s in subtasks if s],
        app=app,
        family=family,
        source=FORMAT,
        split=split,
    )
    return plan, Trajectory(outcome, steps)


def read(
    path: Path, *, phase: str, policy: str, policy_version: int = 0, family: str = "", split: str = "train"
) -> Iterator[TaskPlanRecord | Trajectory | ImportIssue]:
    """Task plans, trajectories and issues from GUI-360 JSONL files (grouped across files).

    An execution is emitted as soon as it has ``total_steps`` steps, so memory holds only unfinished
    executions; the rest are checked (and emitted or reported) at the end.
    """
    executions: dict[str, _Execution] = {}
    done: set[str] = set()
    kw = {
        "phase": phase,
        "policy": policy,
        "policy_version": policy_version,
        "family": family,
        "split": split,
    }
    for f in files(path):
        try:
            fh = f.open(encoding="utf-8")
        except OSError as e:
            yield ImportIssue(str(f), "<file>", f"cannot read: {e}")
            continue
        with fh:
            for n, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    rec = json.loads(text)
                except json.JSONDecodeError as e:
                    yield ImportIssue(str(f), "<line>", f"not JSON: {e.msg}", n)
                    continue
                exec_id = rec.get("execution_id") if isinstance(rec, dict) else None
                try:
                    exec_id, step_id, step, subtask = parse_line(rec)
                except FieldError as e:
                    issue = ImportIssue(str(f), e.field, e.message, n)
                    if isinstance(exec_id, str):  # the execution is incomplete now: drop it whole
                        executions.setdefault(exec_id, _Execution()).broken = issue
                    yield issue
                    continue
                if exec_id in done:
                    yield ImportIssue(
                        str(f),
                        "step_id",
                        f"execution {exec_id!r} step {step_id} comes after the "
                        "execution was complete (a duplicate line?)",
                        n,
                    )
                    continue
                ex = executions.setdefault(exec_id, _Execution())
                ex.lines.append(_Line(step_id, str(f), n, step, subtask, {k: rec.get(k) for k in _META}))
                total = rec.get("total_steps")
                if ex.broken is None and isinstance(total, int) and len(ex.lines) == total:
                    done.add(exec_id)
                    yield from _emit(exec_id, executions.pop(exec_id), kw)
    for exec_id, ex in executions.items():
        if ex.broken is None and ex.lines:
            yield from _emit(exec_id, ex, kw)


def _emit(
    exec_id: str, ex: _Execution, kw: dict[str, Any]
) -> Iterator[TaskPlanRecord | Trajectory | ImportIssue]:
    first = min(ex.lines, key=lambda x: x.step_id)
    try:
        plan, traj = _trajectory(exec_id, ex, **kw)
        plan.check()
        traj.check()
    except FieldError as e:
        yield ImportIssue(first.file, e.field, e.message, first.line)
        return
    except InvalidRecord as e:
        yield ImportIssue(first.file, "<record>", str(e), first.line)
        return
    yield plan
    yield traj
