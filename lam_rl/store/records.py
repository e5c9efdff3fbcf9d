"""Plain Python records mirroring the store's rows; producers (rollout workers, importers, the
task-plan job) build these and hand them to a :class:`~lam_rl.store.writer.StoreWriter`.

A :class:`Trajectory` is one outcome plus its steps. The trajectory-level columns that ``steps``
repeats (``traj_id, task_id, family, app, phase, policy, policy_version, success``) always come from
the outcome, so a producer sets them once; ``num_steps``/``num_invalid`` are counted from the steps.
Steps are numbered ``0..n-1`` in order.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

from lam_rl.store import schemas
from lam_rl.store.errors import InvalidRecord

__all__ = [
    "StepRecord",
    "Outcome",
    "Trajectory",
    "TaskPlanRecord",
    "new_traj_id",
    "utcnow",
]

TRAJ_COLUMNS = ("traj_id", "task_id", "family", "app", "phase", "policy", "policy_version", "success")
"""Columns of ``steps`` that are copied from the trajectory's outcome."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_traj_id(prefix: str = "traj") -> str:
    """A fresh, unique trajectory id (a retried send must reuse the id it got the first time)."""
    return f"{prefix}-{uuid.uuid4().hex}"


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def _json(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    if hasattr(value, "model_dump"):  # a pydantic model such as protocol.TaskSpec
        value = value.model_dump(mode="json")
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as e:
        raise InvalidRecord(f"{what} must be JSON-serialisable: {e}") from None
    except RecursionError:
        raise InvalidRecord(f"{what} is nested too deeply to store as JSON") from None


def _extra(value: Any, what: str) -> str | None:
    """``extra`` as stored: None for nothing, else a JSON object."""
    if value is None or (isinstance(value, Mapping) and not value):
        return None
    if not isinstance(value, Mapping):
        raise InvalidRecord(f"{what} must be a mapping (JSON object), got {type(value).__name__}")
    return _json(dict(value), what)


F32_MAX = 3.4028234663852886e38
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _number(value: Any, where: str, name: str, *, nullable: bool = False) -> None:
    """A float column's value must be a finite number that fits float32 (stored as given, not as inf)."""
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRecord(
            f"{where}: field '{name}' = {value!r:.60}: {name} must be a number, got {type(value).__name__}"
        )
    if not math.isfinite(value) or abs(value) > F32_MAX:
        raise InvalidRecord(
            f"{where}: field '{name}' = {value!r:.60}: {name} must be finite and within float32 range"
        )


def _integer(value: Any, where: str, name: str, bounds: tuple[int, int], *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(
            f"{where}: field '{name}' = {value!r:.60}: {name} must be an integer, got {type(value).__name__}"
        )
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidRecord(
            f"{where}: field '{name}' = {value!r:.60}: {name} does not fit the column ({bounds[0]}..{bounds[1]})"
        )


def _unjson(value: str | None) -> Any:
    if value is None or value == "":
        return {}
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _control(c: Any) -> Any:
    if isinstance(c, Mapping):
        return c
    try:
        return {
            "label": c.label,
            "text": c.text,
            "type": c.type,
            "rect": list(c.rect),
            "window": getattr(c, "window", None),
        }
    except AttributeError:
        raise InvalidRecord(
            f"a control must be a mapping or an object with label/text/type/rect, got {type(c).__name__}"
        ) from None


@dataclass
class StepRecord:
    """One step: the state the policy saw, what it decided, and what the VM did with it."""

    step: int
    request: str = ""
    controls: list[Any] = field(default_factory=list)
    """``{label, text, type, rect}`` mappings (extra keys ignored) or ``protocol.Control`` objects."""
    canvas: str = ""
    thought: str = ""
    control_label: int | None = None
    control_text: str | None = None
    function: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    status: str = "CONTINUE"
    plan: list[str] = field(default_factory=list)
    ok: bool = True
    """The VM applied the action."""
    error: str | None = None
    valid: bool = True
    """The policy's output parsed into an action."""
    raw: str | None = None
    """The model's raw generation (None for scripted experts)."""
    reward: float | None = None
    latency_ms: float = 0.0
    """Time the policy took for this step."""
    step_ms: float = 0.0
    """Time the VM took to apply the action."""
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields of the source record with no column of their own (importers: screenshot paths,
    coordinates, rectangles); stored as a JSON object, empty -> null."""
    # Copied from the outcome when the trajectory is written (see Trajectory).
    traj_id: str = ""
    task_id: str = ""
    family: str = ""
    app: str = ""
    phase: str = ""
    policy: str = ""
    policy_version: int = 0
    success: bool = False

    def check(self, where: str = "step") -> None:
        """Cheap checks (no encoding): the writer encodes, and quarantines what Arrow cannot store."""
        if self.status not in schemas.STATUSES:
            raise InvalidRecord(f"{where}: status must be one of {schemas.STATUSES}, got {self.status!r}")
        _number(self.reward, where, "reward", nullable=True)
        _number(self.latency_ms, where, "latency_ms")
        _number(self.step_ms, where, "step_ms")
        _integer(self.control_label, where, "control_label", INT32, nullable=True)
        if not isinstance(self.plan, (list, tuple)) or not all(isinstance(p, str) for p in self.plan):
            raise InvalidRecord(f"{where}: plan must be a list of strings, got {self.plan!r:.80}")
        if not isinstance(self.controls, (list, tuple)):
            raise InvalidRecord(f"{where}: controls must be a list, got {type(self.controls).__name__}")
        if any(c is None for c in self.controls):
            raise InvalidRecord(f"{where}: controls must not hold null entries")
        if self.extra is not None and not isinstance(self.extra, Mapping):
            raise InvalidRecord(f"{where}: extra must be a mapping, got {type(self.extra).__name__}")

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["controls"] = [_control(c) for c in self.controls]
        row["args"] = _json(self.args, "args")
        row["plan"] = list(self.plan)
        row["created_at"] = self.created_at or utcnow()
        row["extra"] = _extra(self.extra, "extra")
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> StepRecord:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in row.items() if k in names}
        kw["args"] = _unjson(row.get("args"))
        kw["controls"] = [dict(c) for c in row.get("controls") or [] if c is not None]
        kw["plan"] = list(row.get("plan") or [])
        kw["extra"] = _unjson(row.get("extra"))
        return cls(**kw)


@dataclass
class Outcome:
    """A trajectory's outcome: the verifier's verdict, why it ended, and the task to replay it."""

    traj_id: str
    task_id: str
    family: str = ""
    app: str = "word"
    template: str = ""
    split: str = "train"
    phase: str = ""
    policy: str = ""
    policy_version: int = 0
    attempt: int = 0
    success: bool = False
    complete: str = "no"
    """The judge's answer: yes | no | unsure (only yes counts as a success in the paper)."""
    reason: str = ""
    sub_scores: dict[str, Any] = field(default_factory=dict)
    failure_kind: str | None = None
    """None for successes; vm_error | timeout | invalid_action | step_limit | gave_up | ... otherwise."""
    num_steps: int = 0
    num_invalid: int = 0
    duration_s: float = 0.0
    task: Any = field(default_factory=dict)
    """The TaskSpec (a dict or the pydantic model) so a later phase can replay the task."""
    worker: str = ""
    vm: str = ""
    created_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields of the source record with no column of their own (importers: the judge's verdict, time
    costs, the error, the source file); stored as a JSON object, empty -> null."""

    def check(self) -> None:
        """Cheap checks (no encoding): the writer encodes, and quarantines what Arrow cannot store."""
        if not self.traj_id or not isinstance(self.traj_id, str):
            raise InvalidRecord(f"outcome.traj_id must be a non-empty string, got {self.traj_id!r:.80}")
        where = f"trajectory {self.traj_id!r:.80}"
        if self.split not in schemas.SPLITS:
            raise InvalidRecord(f"{where}: split must be one of {schemas.SPLITS}, got {self.split!r:.40}")
        if self.complete not in schemas.COMPLETE:
            raise InvalidRecord(
                f"{where}: complete must be one of {schemas.COMPLETE}, got {self.complete!r:.40}"
            )
        if not isinstance(self.success, bool):
            raise InvalidRecord(f"{where}: success must be a bool, got {type(self.success).__name__}")
        _integer(self.policy_version, where, "policy_version", INT64)
        _integer(self.attempt, where, "attempt", INT32)
        _number(self.duration_s, where, "duration_s")
        if self.extra is not None and not isinstance(self.extra, Mapping):
            raise InvalidRecord(f"{where}: extra must be a mapping, got {type(self.extra).__name__}")

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["sub_scores"] = _json(self.sub_scores, "sub_scores")
        row["task"] = _json(self.task, "task")
        row["created_at"] = self.created_at or utcnow()
        row["extra"] = _extra(self.extra, "extra")
        return row

    @classmethod
    def judged(cls, *, traj_id: str, task_id: str, complete: str, **fields: Any) -> Outcome:
        """An outcome from the judge's answer ``complete``: only ``yes`` is a success."""
        return cls(traj_id=traj_id, task_id=task_id, success=complete == "yes", complete=complete, **fields)

    @classmethod
    def of_task(cls, task: Any, *, traj_id: str, complete: str, vm: str = "", **fields: Any) -> Outcome:
        """The outcome of a run of ``task`` (a TaskSpec): its identity and a replayable copy of it."""
        return cls.judged(
            traj_id=traj_id,
            task_id=task.task_id,
            complete=complete,
            family=task.family,
            app=task.app,
            template=task.template,
            task=task.model_dump(mode="json"),
            vm=vm,
            **fields,
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Outcome:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in row.items() if k in names}
        kw["sub_scores"] = _unjson(row.get("sub_scores"))
        kw["task"] = _unjson(row.get("task"))
        kw["extra"] = _unjson(row.get("extra"))
        return cls(**kw)


@dataclass
class Trajectory:
    """One trajectory: its outcome and its steps (possibly none)."""

    outcome: Outcome
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def traj_id(self) -> str:
        return self.outcome.traj_id

    def check(self) -> None:
        """Raise :class:`InvalidRecord` unless the trajectory can be written as is."""
        self.outcome.check()
        for i, s in enumerate(self.steps):
            if not isinstance(s, StepRecord):
                raise InvalidRecord(
                    f"trajectory {self.traj_id!r}: steps[{i}] is {type(s).__name__}, not StepRecord"
                )
            if s.step != i:
                raise InvalidRecord(
                    f"trajectory {self.traj_id!r}: steps must be numbered 0..n-1 in order; "
                    f"steps[{i}].step is {s.step}"
                )
            if s.traj_id and s.traj_id != self.traj_id:
                raise InvalidRecord(
                    f"trajectory {self.traj_id!r}: steps[{i}].traj_id is {s.traj_id!r} (leave it empty or equal)"
                )
            s.check(f"trajectory {self.traj_id!r} step {i}")

    def rows(
        self, write_id: str = "", now: datetime | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(outcome row, step rows), with the trajectory-level columns copied onto every step."""
        now = now or utcnow()
        o = self.outcome
        orow = o.to_row()
        orow["write_id"] = write_id
        orow["num_steps"] = len(self.steps)
        orow["num_invalid"] = sum(1 for s in self.steps if not s.valid)
        orow["created_at"] = o.created_at or now
        shared = {k: orow[k] for k in TRAJ_COLUMNS}
        srows = []
        for s in self.steps:
            r = s.to_row()
            r.update(shared)
            r["write_id"] = write_id
            r["created_at"] = s.created_at or now
            srows.append(r)
        return orow, srows

    def with_steps_from_rows(self, rows: Iterable[Mapping[str, Any]]) -> Trajectory:
        return Trajectory(
            self.outcome, [StepRecord.from_row(r) for r in sorted(rows, key=lambda r: r["step"])]
        )

    @classmethod
    def from_rows(cls, outcome: Mapping[str, Any], steps: Iterable[Mapping[str, Any]]) -> Trajectory:
        return cls(Outcome.from_row(outcome)).with_steps_from_rows(steps)


@dataclass
class TaskPlanRecord:
    """A task -> plan record (phase 0a output, phase 1 input)."""

    task_id: str
    task: str
    plan: list[str] = field(default_factory=list)
    app: str = "word"
    family: str = ""
    source: str = ""
    """Where it came from: seed, evolved, ufo-dataflow, gui360, ..."""
    evolved_from: str | None = None
    split: str = "train"
    created_at: datetime | None = None

    def check(self) -> None:
        if not self.task_id or not isinstance(self.task_id, str):
            raise InvalidRecord(f"taskplan.task_id must be a non-empty string, got {self.task_id!r}")
        if self.split not in schemas.SPLITS:
            raise InvalidRecord(f"taskplan {self.task_id!r}: split must be one of {schemas.SPLITS}")
        if not isinstance(self.plan, (list, tuple)) or not all(isinstance(p, str) for p in self.plan):
            raise InvalidRecord(f"taskplan {self.task_id!r}: plan must be a list of strings")

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in fields(self)}
        row["plan"] = list(self.plan)
        row["created_at"] = self.created_at or utcnow()
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TaskPlanRecord:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in row.items() if k in names}
        kw["plan"] = list(row.get("plan") or [])
        return cls(**kw)
