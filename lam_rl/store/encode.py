"""Records -> Arrow, column by column (the writer's hot path).

Encoding a step is dominated by its control list (~24 ``{label, text, type, rect}`` structs);
building each column from a list (instead of ``pa.Table.from_pylist`` over row dicts) is about 2x
faster. A rollout worker can encode its own trajectories
(:meth:`EncodedTrajectories.of`) and send Arrow to a shared writer, so encoding runs where the
trajectories are made and Ray ships the buffers without pickling Python objects.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import schemas
from lam_rl.store.errors import InvalidRecord
from lam_rl.store.records import TaskPlanRecord, Trajectory, _control, _extra, _json, utcnow


def new_write_id() -> str:
    """Time-ordered unique id (hex nanoseconds + random): the smallest id of a traj_id is its first write."""
    return f"{time.time_ns():016x}{uuid.uuid4().hex[:12]}"


@dataclass
class EncodedTrajectories:
    """Whole trajectories as Arrow: one ``outcomes`` row each and their ``steps`` rows, tied by ``write_id``."""

    outcomes: pa.Table
    steps: pa.Table

    @classmethod
    def of(cls, trajectories: Sequence[Trajectory], *, check: bool = True) -> EncodedTrajectories:
        if check:
            for t in trajectories:
                if not isinstance(t, Trajectory):
                    raise InvalidRecord(f"expected a Trajectory, got {type(t).__name__}")
                t.check()
        o, s = encode_trajectories(trajectories, [new_write_id() for _ in trajectories])
        return cls(o, s)

    def __len__(self) -> int:
        return self.outcomes.num_rows

    @property
    def num_steps(self) -> int:
        return self.steps.num_rows

    def check_schema(self) -> EncodedTrajectories:
        for name, t in (("outcomes", self.outcomes), ("steps", self.steps)):
            if not t.schema.equals(schemas.SCHEMAS[name], check_metadata=False):
                raise InvalidRecord(
                    f"encoded {name} do not have the store's {name} schema (use EncodedTrajectories.of)"
                )
        return self

    def validate(self) -> EncodedTrajectories:
        """Schemas match, write ids are unique per outcome and every step belongs to an outcome."""
        self.check_schema()
        wids = self.outcomes.column("write_id")
        if len(pc.unique(wids)) != len(wids):
            raise InvalidRecord("encoded outcomes repeat a write_id")
        if (
            self.steps.num_rows
            and not pc.all(pc.is_in(self.steps.column("write_id"), value_set=wids)).as_py()
        ):
            raise InvalidRecord("encoded steps include a write_id with no outcome in the same batch")
        return self

    def with_new_write_ids(self) -> EncodedTrajectories:
        """The same trajectories under fresh write ids (a retried append must not reuse ids)."""
        old = self.outcomes.column("write_id").combine_chunks()
        new = pa.array([new_write_id() for _ in range(len(old))], pa.string())
        o = _set(self.outcomes, "write_id", new)
        idx = pc.index_in(self.steps.column("write_id"), value_set=old)
        return EncodedTrajectories(o, _set(self.steps, "write_id", pc.take(new, idx)))


def _set(t: pa.Table, name: str, values: Any) -> pa.Table:
    return t.set_column(t.schema.get_field_index(name), t.schema.field(name), values)


def concat(parts: Sequence[EncodedTrajectories]) -> EncodedTrajectories:
    if len(parts) == 1:
        return parts[0]
    return EncodedTrajectories(
        pa.concat_tables([p.outcomes for p in parts]), pa.concat_tables([p.steps for p in parts])
    )


def encode_controls(lists: Sequence[Sequence[Any]]) -> pa.Array:
    """``list<struct<label, text, type, rect>>`` from control lists (mappings or Control objects)."""
    try:
        return pa.array(lists, CONTROLS)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass  # Control objects (or bad values): normalise, then report precisely
    lists = [[_control(c) for c in cs] for cs in lists]
    try:
        return pa.array(lists, CONTROLS)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        raise InvalidRecord(f"bad control value: {e}") from None


CONTROLS = pa.list_(schemas.CONTROL)
_STEP_ATTRS = (
    "step", "request", "canvas", "thought", "control_label", "control_text", "function", "status",
    "ok", "error", "valid", "raw", "reward", "latency_ms", "step_ms",
)  # fmt: skip
_SHARED = ("traj_id", "task_id", "family", "app", "phase", "policy", "policy_version", "success")


def encode_trajectories(
    trajectories: Sequence[Trajectory], write_ids: Sequence[str], now: datetime | None = None
) -> tuple[pa.Table, pa.Table]:
    """Arrow tables (outcomes, steps) for ``trajectories``, each written under its ``write_id``."""
    now = now or utcnow()
    orows = []
    for traj, wid in zip(trajectories, write_ids, strict=True):
        row = traj.outcome.to_row()
        row["write_id"] = wid
        row["num_steps"] = len(traj.steps)
        row["num_invalid"] = sum(1 for s in traj.steps if not s.valid)
        row["created_at"] = traj.outcome.created_at or now
        orows.append(row)
    try:
        outcomes = pa.Table.from_pylist(orows, schema=schemas.OUTCOMES)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        for row in orows:
            _check_row(row, schemas.OUTCOMES, f"trajectory {row['traj_id']!r} outcome")
        raise InvalidRecord(f"cannot encode an outcome: {e}") from None
    steps = [s for t in trajectories for s in t.steps]
    counts = [len(t.steps) for t in trajectories]
    cols: dict[str, Any] = {}
    for name in _SHARED:
        vals = outcomes.column(name).to_pylist()
        cols[name] = [v for v, c in zip(vals, counts, strict=True) for _ in range(c)]
    cols["write_id"] = [w for w, c in zip(write_ids, counts, strict=True) for _ in range(c)]
    for name in _STEP_ATTRS:
        cols[name] = [getattr(s, name) for s in steps]
    try:
        cols["controls"] = encode_controls([s.controls for s in steps])
        cols["args"] = [_json(s.args, "args") for s in steps]
        cols["extra"] = [_extra(s.extra, "extra") for s in steps]
        cols["plan"] = [s.plan for s in steps]
        cols["created_at"] = [s.created_at or now for s in steps]
        arrays = [
            cols[f.name] if isinstance(cols[f.name], pa.Array) else pa.array(cols[f.name], f.type)
            for f in schemas.STEPS
        ]
        return outcomes, pa.Table.from_arrays(arrays, schema=schemas.STEPS)
    except (InvalidRecord, pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        _diagnose(trajectories, now)
        raise InvalidRecord(f"cannot encode the steps of this batch: {e}") from None


def _diagnose(trajectories: Sequence[Trajectory], now: datetime) -> None:
    """Re-encode row by row to name the trajectory, step and field that cannot be encoded."""
    for t in trajectories:
        _, rows = t.rows("", now)
        for row in rows:
            _check_row(row, schemas.STEPS, f"trajectory {t.traj_id!r} step {row['step']}")


def _check_row(row: dict[str, Any], schema: pa.Schema, where: str) -> None:
    for f in schema:
        try:
            pa.array([row.get(f.name)], f.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
            value = repr(row.get(f.name))
            value = value if len(value) < 120 else value[:117] + "..."
            raise InvalidRecord(f"{where}: field '{f.name}' = {value}: {e}") from None


def encode_taskplans(records: Sequence[TaskPlanRecord]) -> pa.Table:
    rows = [r.to_row() for r in records]
    try:
        return pa.Table.from_pylist(rows, schema=schemas.TASKPLANS)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as e:
        for row in rows:
            _check_row(row, schemas.TASKPLANS, f"taskplan {row.get('task_id')!r:.80}")
        raise InvalidRecord(f"cannot encode task plans: {e}") from None
