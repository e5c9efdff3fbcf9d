"""GUI-360 step JSONL -> trajectories + task plans.

One JSON object a line, one line per step; the steps of an execution share ``execution_id``::

    {execution_id, app_domain, request, template, step_id, total_steps,
     evaluation: {reason, evidence, sub_scores, complete},
     step: {screenshot_clean, screenshot_desktop, screenshot_annotated, screenshot_selected_controls,
            ui_tree, control_infos: {application_windows_info, uia_controls_info: [{label, control_text,
            control_type, control_rect}]}, subtask, observation, thought,
            action: {action_type, control_text, control_label, function, args, rectangle,
                     coordinate_x, coordinate_y, desktop_rectangle, desktop_coordinate_x, ...},
            status: CONTINUE|FINISH|OVERALL_FINISH, tags}}

Lines are grouped by ``execution_id`` across every file given, ordered by ``step_id`` and renumbered
from 0; a trajectory is imported only whole: a malformed line (bad JSON or UTF-8, a missing or
mistyped field) drops its execution with an issue naming the file, line and field, and so does a gap
in ``step_id`` or a duplicate step. Mapping: ``uia_controls_info`` -> controls, ``observation`` ->
canvas, ``thought`` -> thought, ``action`` -> control/function/args, the remaining subtasks -> plan,
``evaluation`` -> outcome (success is ``complete == "yes"``); the request and the subtasks also become
a task-plan record (``source="gui360"``).

Kept in ``extra``, as written: per step the screenshot paths (paths, never image bytes), the rest of
the action (``action_type``, coordinates, rectangles, ...), ``tags`` and the original ``step_id``; per
trajectory the rest of ``evaluation`` (``evidence``) and the source file. UI trees and window
information are not stored (they are large, and the control list carries what a policy reads).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.store.importers.common import (
    FieldError,
    ImportIssue,
    check_json,
    get,
    judge_answer,
    label,
    printable,
    template_stem,
)
from lam_rl.store.records import INT32, Outcome, StepRecord, TaskPlanRecord, Trajectory

FORMAT = "gui360"
SCREENSHOTS = (
    "screenshot_clean",
    "screenshot_desktop",
    "screenshot_annotated",
    "screenshot_selected_controls",
)
_MAPPED_ACTION = ("control_text", "control_label", "function", "args")


def files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.jsonl") if p.is_file())


def _coord(x: Any, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise FieldError(where, f"expected a number, got {type(x).__name__} {x!r:.40}")
    try:
        n = round(x)
    except (OverflowError, ValueError):  # inf, nan
        raise FieldError(where, f"expected a finite number, got {x!r}") from None
    if not INT32[0] <= n <= INT32[1]:
        raise FieldError(where, f"{x!r:.40} is out of range (a 32-bit integer)")
    return n


def _rect(value: Any, where: str) -> list[int]:
    """[left, top, right, bottom] as integers (pixels: a fractional value is rounded)."""
    if value is None:
        return []
    if isinstance(value, dict):
        missing = [k for k in ("left", "top", "right", "bottom") if k not in value]
        if missing:
            raise FieldError(where, f"expected {{left, top, right, bottom}}, missing {', '.join(missing)}")
        return [_coord(value[k], f"{where}.{k}") for k in ("left", "top", "right", "bottom")]
    if isinstance(value, list):
        return [_coord(x, f"{where}[{i}]") for i, x in enumerate(value)]
    raise FieldError(where, f"expected [left, top, right, bottom], got {value!r:.60}")


_META = ("app_domain", "request", "template", "total_steps", "evaluation")


@dataclass
class _Line:
    step_id: int
    file: str
    line: int
    step: StepRecord
    subtask: str
    rec: dict[str, Any]  # the execution-level fields only (screenshots and UI trees are not kept here)


@dataclass
class _Execution:
    lines: list[_Line] = field(default_factory=list)
    broken: ImportIssue | None = None


def parse_line(rec: Any) -> tuple[str, int, StepRecord, str]:
    """(execution_id, step_id, step, subtask) of one line; raises FieldError naming the field."""
    if not isinstance(rec, dict):
        raise FieldError("<line>", f"expected a JSON object, got {type(rec).__name__}")
    exec_id = get(rec, "execution_id", types=str)
    if not exec_id.strip():
        raise FieldError("execution_id", "is empty")
    step_id = get(rec, "step_id", types=int)
    get(rec, "app_domain", types=str)
    request = get(rec, "request", types=str)
    get(rec, "step", types=dict)
    status = get(rec, "step.status", types=str).upper()
    if status not in ("CONTINUE", "FINISH", "OVERALL_FINISH"):
        raise FieldError("step.status", f"expected CONTINUE, FINISH or OVERALL_FINISH, got {status!r:.60}")
    get(rec, "step.control_infos", types=dict, required=False, nullable=True)
    infos = get(rec, "step.control_infos.uia_controls_info", types=list, required=False, nullable=True) or []
    controls = []
    for i, c in enumerate(infos):
        where = f"step.control_infos.uia_controls_info[{i}]"
        if not isinstance(c, dict):
            raise FieldError(where, f"expected an object, got {type(c).__name__}")
        text = get(c, "control_text", types=(str, int, float), required=False, nullable=True)
        kind = get(c, "control_type", types=str, required=False, nullable=True)
        controls.append(
            {
                "label": label(c.get("label"), f"{where}.label"),
                "text": "" if text is None else str(text),
                "type": kind or "",
                "rect": _rect(c.get("control_rect"), f"{where}.control_rect"),
            }
        )
    action = get(rec, "step.action", types=dict, required=False, nullable=True) or {}
    function = get(action, "function", types=str, required=False, nullable=True) or ""
    args = get(action, "args", types=dict, required=False, nullable=True) or {}
    check_json(args, "step.action.args")
    extra: dict[str, Any] = {"step_id": step_id}
    shots = {}
    for key in SCREENSHOTS:
        v = get(rec, f"step.{key}", types=str, required=False, nullable=True)
        if v:
            shots[key.removeprefix("screenshot_")] = v
    if shots:
        extra["screenshots"] = shots
    rest = {k: v for k, v in action.items() if k not in _MAPPED_ACTION}
    if rest:
        extra["action"] = check_json(rest, "step.action")
    tags = get(rec, "step.tags", required=False, nullable=True)
    if tags is not None:
        extra["tags"] = check_json(tags, "step.tags")
    step = StepRecord(
        step=0,
        request=request,
        controls=controls,
        canvas=get(rec, "step.observation", types=str, required=False, nullable=True) or "",
        thought=get(rec, "step.thought", types=str, required=False, nullable=True) or "",
        control_label=label(
            get(action, "control_label", required=False, nullable=True), "step.action.control_label"
        ),
        control_text=get(action, "control_text", types=str, required=False, nullable=True),
        function=function,
        args=args,
        status="CONTINUE" if status == "CONTINUE" else "FINISH",
        valid=True,
        extra=extra,
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
        raise FieldError("step_id", f"execution {exec_id!r:.80} has step {dup} twice")
    start = ids[0]
    if ids != list(range(start, start + len(ids))):
        missing = sorted(set(range(start, ids[-1] + 1)) - set(ids))
        shown = ", ".join(map(str, missing[:10])) + (
            f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        )
        raise FieldError("step_id", f"execution {exec_id!r:.80} is missing step(s) [{shown}]")
    total = first.rec.get("total_steps")
    if isinstance(total, int) and not isinstance(total, bool) and total != len(ids):
        raise FieldError("total_steps", f"execution {exec_id!r:.80} says {total} steps but has {len(ids)}")
    get(first.rec, "evaluation", types=dict)
    complete = judge_answer(first.rec, "evaluation.complete")
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
    evaluation = first.rec["evaluation"]
    sub_scores = get(evaluation, "sub_scores", types=dict, required=False, nullable=True) or {}
    check_json(sub_scores, "evaluation.sub_scores")
    extra: dict[str, Any] = {"source_file": printable(first.file)}
    rest = {k: v for k, v in evaluation.items() if k not in ("reason", "sub_scores", "complete")}
    if rest:
        extra["evaluation"] = check_json(rest, "evaluation")  # evidence, and anything else the judge wrote
    outcome = Outcome.judged(
        traj_id=f"gui360-{exec_id}",
        task_id=exec_id,
        complete=complete,
        family=family,
        app=app,
        template=template_stem(template),
        split=split,
        phase=phase,
        policy=policy,
        policy_version=policy_version,
        reason=get(evaluation, "reason", types=str, required=False, nullable=True) or "",
        sub_scores=sub_scores,
        failure_kind=None if complete == "yes" else ("verifier_no" if complete == "no" else "unsure"),
        task={"execution_id": exec_id, "app": app, "request": request, "template": template},
        worker=FORMAT,
        extra=extra,
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
    path: Path,
    *,
    phase: str,
    policy: str,
    policy_version: int = 0,
    family: str = "",
    split: str = "train",
    tick: Callable[[int], object] | None = None,
) -> Iterator[tuple[TaskPlanRecord, Trajectory, str, int] | ImportIssue]:
    """(task plan, trajectory, file, line) per execution, or an issue, from GUI-360 JSONL files
    (grouped across files). ``tick(n)`` is told the bytes read (a progress bar).

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
            fh = f.open("rb")
        except OSError as e:
            yield ImportIssue(str(f), "<file>", f"cannot read: {e}")
            continue
        with fh:
            for n, raw in enumerate(fh, start=1):
                if tick is not None:
                    tick(len(raw))
                if not raw.strip():
                    continue
                try:
                    rec = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as e:
                    yield ImportIssue(str(f), "<line>", f"not UTF-8 text: {e.reason} at byte {e.start}", n)
                    continue
                except json.JSONDecodeError as e:
                    yield ImportIssue(str(f), "<line>", f"not JSON: {e.msg}", n)
                    continue
                except RecursionError:
                    yield ImportIssue(
                        str(f), "<line>", "not JSON this importer can read: nested too deeply", n
                    )
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
                except RecursionError:
                    yield ImportIssue(str(f), "<line>", "nested too deeply", n)
                    continue
                if exec_id in done:
                    yield ImportIssue(
                        str(f),
                        "step_id",
                        f"execution {exec_id!r:.80} step {step_id} comes after the "
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
) -> Iterator[tuple[TaskPlanRecord, Trajectory, str, int] | ImportIssue]:
    first = min(ex.lines, key=lambda x: x.step_id)
    try:
        plan, traj = _trajectory(exec_id, ex, **kw)
    except FieldError as e:
        yield ImportIssue(first.file, e.field, e.message, first.line)
        return
    except RecursionError:
        yield ImportIssue(first.file, "<record>", "nested too deeply", first.line)
        return
    yield plan, traj, first.file, first.line
