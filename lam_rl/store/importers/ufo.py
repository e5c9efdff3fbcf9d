"""UFO dataflow result records (the paper's task-action data pipeline) -> trajectories + task plans.

UFO's dataflow writes one JSON file per task and run under ``results/<stage>/<verdict>/<name>.json``:
``<stage>`` is ``instantiation``, ``execution`` or ``dataflow`` (both), ``<verdict>`` is
``instantiation_pass|fail`` or ``execution_pass|fail|unsure`` (a file holding a list of records is
accepted too)::

    {unique_id, app, original: {original_task, original_steps[]},
     execution_result: {result: {reason, sub_scores{}, complete} | null,
                        error: {type, message, traceback} | null},
     instantiation_result: {choose_template: {result, error},
                            prefill: {result: {instantiated_request,
                                               instantiated_plan[{Step, Subtask, ControlLabel, ControlText,
                                                                  Function, Args, Success, MatchedControlText}]},
                                      error},
                            instantiation_evaluation: {result: {judge, thought, request_type}, error}},
     time_cost: {choose_template, prefill, instantiation_evaluation, execute, execute_eval, total}}

Mapping:

- the original task and steps become a task-plan record (``source="ufo-dataflow"``);
- a record that was *executed* (a result, an execution error, an ``execute`` time, or a file in an
  ``execution_*`` folder) becomes a trajectory. Every execution is its own trajectory
  ``ufo-<unique_id>-<attempt>``: ``<attempt>`` is a hash of the record's content, so the failed run
  and the passing re-run of one task are two trajectories, and importing the same file twice (from
  any folder) adds nothing;
- steps are the instantiated plan in order: ``Subtask`` -> thought, ``ControlLabel``/``ControlText``
  -> control, ``Function``/``Args`` -> action, ``Success`` -> ok, the remaining subtasks -> plan, the
  plan step as written -> raw. When the execution raised, UFO marks the steps it never reached with
  ``Success: null``: those are left out (the trajectory ends at the step that failed);
- the judge's ``complete`` (yes/no/unsure) and reason -> outcome (success is ``complete == "yes"``).
  A run that raised (``result: null``, an ``error``) is a failed trajectory: ``complete="no"`` (UFO
  files it under ``execution_fail``), failure kind ``timeout`` for a timeout error and ``error``
  otherwise, reason ``"<type>: <message>"``;
- kept in the outcome's ``extra``: ``instantiation_evaluation`` (judge, thought, request type), the
  whole ``time_cost`` breakdown and the execution error (with its traceback) as written, any
  instantiation-stage errors, the source file, its folder and the attempt id.

The records carry no control lists or document text, so those stay empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
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
    seconds,
    template_stem,
    text,
)
from lam_rl.store.records import Outcome, StepRecord, TaskPlanRecord, Trajectory

FORMAT = "ufo-dataflow"
_PLAN = "instantiation_result.prefill.result.instantiated_plan"
_STAGES = ("choose_template", "prefill", "instantiation_evaluation")


def files(path: Path) -> list[Path]:
    return [path] if path.is_file() else sorted(p for p in path.rglob("*.json") if p.is_file())


def attempt_id(rec: Any) -> str:
    """12 hex digits of the SHA-256 of the record's canonical JSON: the same run gives the same id
    wherever its file lies; a re-run (another result, other times) gives another."""
    canon = json.dumps(rec, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("ascii")).hexdigest()[:12]


def _error(error: Any, field: str) -> tuple[str, str]:
    """(type, message) of a UFO error: ``{type, message, traceback}`` (execution), ``{type,
    error_message, traceback}`` (instantiation stages) or a plain string."""
    if isinstance(error, str):
        return "Error", error
    if isinstance(error, dict):
        kind = error.get("type")
        msg = error.get("message", error.get("error_message"))
        kind = kind if isinstance(kind, str) and kind else "Error"
        kind = kind.removeprefix("<class '").removesuffix("'>")  # str(e.__class__) in instantiation errors
        return kind, msg if isinstance(msg, str) else ""
    raise FieldError(field, f"expected an error object or string, got {type(error).__name__}")


def _failure(complete: str, error: tuple[str, str] | None, steps: list[StepRecord]) -> str | None:
    if error is not None:
        kind, msg = error
        return "timeout" if "timeout" in kind.lower() or "timed out" in msg.lower() else "error"
    if complete == "yes":
        return None
    if any(not s.ok for s in steps):
        return "invalid_action"
    return "verifier_no" if complete == "no" else "unsure"


def _executed(result: Any, error: Any, time_cost: dict[str, Any], folder: str) -> bool:
    return (
        result is not None or error is not None or "execute" in time_cost or folder.startswith("execution_")
    )


def _steps(plan: list[Any], request: str, *, errored: bool) -> list[StepRecord]:
    for i, p in enumerate(plan):
        if not isinstance(p, dict):
            raise FieldError(f"{_PLAN}[{i}]", f"expected an object, got {type(p).__name__}")
    if errored:  # UFO sets Success on each step it reached; the rest were never executed
        reached = [i for i, p in enumerate(plan) if p.get("Success") is not None]
        executed = plan[: reached[-1] + 1] if reached else []
    else:
        executed = plan
    subtasks = [p.get("Subtask") if isinstance(p.get("Subtask"), str) else "" for p in plan]
    steps: list[StepRecord] = []
    for i, p in enumerate(executed):
        where = f"{_PLAN}[{i}]"
        function = get(p, "Function", types=str)
        args = get(p, "Args", types=dict, required=False, nullable=True) or {}
        success = get(p, "Success", types=bool, required=False, nullable=True)
        check_json(p, where)
        steps.append(
            StepRecord(
                step=i,
                request=request,
                thought=get(p, "Subtask", types=str, required=False, default="") or "",
                control_label=label(p.get("ControlLabel"), f"{where}.ControlLabel"),
                control_text=get(p, "ControlText", types=str, required=False, nullable=True),
                function=function,
                args=args,
                status="FINISH" if i == len(executed) - 1 else "CONTINUE",
                plan=[s for s in subtasks[i + 1 :] if s],
                ok=True if success is None else success,
                error=None if success is not False else "the step failed when UFO executed it",
                valid=bool(function),
                raw=json.dumps(p, ensure_ascii=False),
            )
        )
    return steps


def parse_record(
    rec: Any,
    *,
    phase: str,
    policy: str,
    policy_version: int,
    family: str,
    split: str,
    folder: str = "",
    source: str = "",
) -> tuple[TaskPlanRecord, Trajectory | None]:
    """One dataflow result -> (task plan, trajectory or None when the task was never executed).

    ``folder`` is the verdict folder the file lies in (``execution_fail``, ...), ``source`` its path.
    """
    if not isinstance(rec, dict):
        raise FieldError("<record>", f"expected a JSON object, got {type(rec).__name__}")
    uid = get(rec, "unique_id", types=(str, int))
    if isinstance(uid, str) and not uid.strip():
        raise FieldError("unique_id", "is empty")
    app = get(rec, "app", types=str)
    task = get(rec, "original.original_task", types=str)
    orig_steps = get(rec, "original.original_steps", types=list, required=False, nullable=True) or []
    for i, s in enumerate(orig_steps):
        if not isinstance(s, str):
            raise FieldError(f"original.original_steps[{i}]", f"expected a string, got {type(s).__name__}")
        text(s, f"original.original_steps[{i}]")
    task_id = str(uid)
    plan_rec = TaskPlanRecord(
        task_id=task_id, task=task, plan=list(orig_steps), app=app, family=family, source=FORMAT, split=split
    )
    get(rec, "execution_result", types=dict, required=False, nullable=True)
    result = get(rec, "execution_result.result", types=dict, required=False, nullable=True)
    error = get(rec, "execution_result.error", required=False, nullable=True)
    time_cost = get(rec, "time_cost", types=dict, required=False, nullable=True) or {}
    if not _executed(result, error, time_cost, folder):
        return plan_rec, None
    err = _error(error, "execution_result.error") if error is not None else None
    if result is not None:
        complete = judge_answer(rec, "execution_result.result.complete")
        reason = get(rec, "execution_result.result.reason", types=str, required=False, default="") or ""
        sub_scores = (
            get(rec, "execution_result.result.sub_scores", types=dict, required=False, nullable=True) or {}
        )
        check_json(sub_scores, "execution_result.result.sub_scores")
    else:  # the run raised (or stopped) before the judge: UFO files it under execution_fail
        complete, sub_scores = "no", {}
        reason = f"{err[0]}: {err[1]}" if err else "the execution produced no result"
    if err is not None:
        complete = "no" if complete == "yes" else complete  # an error is never a success
        reason = reason or f"{err[0]}: {err[1]}"
    get(rec, "instantiation_result", types=dict, required=False, nullable=True)
    get(rec, "instantiation_result.prefill", types=dict, required=False, nullable=True)
    prefill = get(rec, "instantiation_result.prefill.result", types=dict, required=False, nullable=True)
    if prefill is None and err is None:
        raise FieldError("instantiation_result.prefill.result", "missing for an executed task")
    prefill = prefill or {}
    request = get(prefill, "instantiated_request", types=str, required=err is None, nullable=err is not None)
    plan = get(prefill, "instantiated_plan", types=list, required=err is None, nullable=err is not None) or []
    steps = _steps(plan, request if isinstance(request, str) else task, errored=err is not None)
    template = get(
        rec, "instantiation_result.choose_template.result", types=str, required=False, nullable=True
    )
    extra: dict[str, Any] = {"source_file": printable(source), "folder": printable(folder)}
    evaluation = get(
        rec, "instantiation_result.instantiation_evaluation", types=dict, required=False, nullable=True
    )
    if evaluation is not None:
        extra["instantiation_evaluation"] = check_json(
            evaluation, "instantiation_result.instantiation_evaluation"
        )
    if time_cost:
        extra["time_cost"] = check_json(time_cost, "time_cost")
    if error is not None:
        extra["execution_error"] = check_json(error, "execution_result.error")
    stage_errors = {}
    for stage in _STAGES:
        e = get(rec, f"instantiation_result.{stage}", types=dict, required=False, nullable=True)
        if e and e.get("error") is not None:
            stage_errors[stage] = check_json(e["error"], f"instantiation_result.{stage}.error")
    if stage_errors:
        extra["instantiation_errors"] = stage_errors
    aid = attempt_id(rec)
    extra["attempt_id"] = aid
    outcome = Outcome.judged(
        traj_id=f"ufo-{uid}-{aid}",
        task_id=task_id,
        complete=complete,
        family=family,
        app=app,
        template=template_stem(template),
        split=split,
        phase=phase,
        policy=policy,
        policy_version=policy_version,
        reason=reason,
        sub_scores=sub_scores,
        failure_kind=_failure(complete, err, steps),
        duration_s=seconds(time_cost.get("total"), "time_cost.total"),
        task={"unique_id": uid, "app": app, "request": request, "original_task": task, "template": template},
        worker=FORMAT,
        extra=extra,
    )
    return plan_rec, Trajectory(outcome, steps)


def read(
    path: Path,
    *,
    phase: str,
    policy: str,
    policy_version: int = 0,
    family: str = "",
    split: str = "train",
    tick: Callable[[int], object] | None = None,
) -> Iterator[tuple[TaskPlanRecord, Trajectory | None, str, int | None] | ImportIssue]:
    """(task plan, trajectory or None, file, None) per record, or an issue per malformed record.

    ``tick(n)`` is told the bytes read (a progress bar).
    """
    for f in files(path):
        name = str(f)
        try:
            raw = f.read_bytes()
        except OSError as e:
            yield ImportIssue(name, "<file>", f"cannot read: {e}")
            continue
        if tick is not None:
            tick(len(raw))
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as e:
            yield ImportIssue(name, "<file>", f"not UTF-8 text: {e.reason} at byte {e.start}")
            continue
        except json.JSONDecodeError as e:
            yield ImportIssue(name, "<file>", f"not a JSON file: {e.msg} (line {e.lineno})")
            continue
        except RecursionError:
            yield ImportIssue(name, "<file>", "not a JSON file this importer can read: nested too deeply")
            continue
        records = data if isinstance(data, list) else [data]
        folder = f.parent.name if f.parent != f else ""
        for k, rec in enumerate(records):
            where = f"{f}[{k}]" if isinstance(data, list) else name
            try:
                plan_rec, traj = parse_record(
                    rec,
                    phase=phase,
                    policy=policy,
                    policy_version=policy_version,
                    family=family,
                    split=split,
                    folder=folder,
                    source=f.as_posix(),
                )
            except FieldError as e:
                yield ImportIssue(where, e.field, e.message)
                continue
            except RecursionError:
                yield ImportIssue(where, "<record>", "nested too deeply")
                continue
            yield plan_rec, traj, where, None
