"""Arrow schemas of the trajectory store, in one versioned module.

Five Lance datasets live under the store's root URI:

- ``steps``      one row per step of a trajectory (state, the policy's decision, what the VM did);
- ``outcomes``   one row per trajectory, including trajectories with zero steps (a VM that died
                 before the first step); the outcome row is the trajectory's *commit marker*;
- ``taskplans``  one row per task -> plan record (phase 0a / phase 1 data);
- ``rewards``    per-step rewards written later by a reward model (never rewrites ``steps``);
- ``tags``       the tag manifest: a tag names table versions plus a row selection.

``write_id`` (steps, outcomes) is the store's own column: every attempt to write a trajectory gets a
fresh id; a step row is visible only when an outcome row with the same ``write_id`` is the winning
outcome of its ``traj_id`` (see ``lam_rl/store/store.py`` and docs/store.md).

Bump :data:`SCHEMA_VERSION` on any change that old readers cannot handle; every dataset records the
version it was written with in its schema metadata (``lam_rl.schema_version``). Compatibility rules:

- a store of a *newer* version is refused (``SchemaMismatch``: upgrade lam-rl);
- a store of an *older* version is read as is: the columns it lacks read as nulls (:data:`ADDED`);
- the first write to an older table adds its missing columns (all null, a metadata-only Lance
  commit) and records the new version; opening or reading never changes a store.

Versions: 1 the first; 2 adds ``extra`` (JSON, nullable) to ``steps`` and ``outcomes``: fields of an
imported record that have no column of their own (screenshot paths, coordinates, the judge's verdict,
time costs, the source file).
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 2
VERSION_KEY = b"lam_rl.schema_version"
TABLE_KEY = b"lam_rl.table"

STATUSES = ("CONTINUE", "FINISH")
SPLITS = ("train", "eval")
COMPLETE = ("yes", "no", "unsure")
FAILURE_KINDS = ("vm_error", "timeout", "invalid_action", "step_limit", "gave_up", "verifier_no", "error")
"""Common ``failure_kind`` values; the column is open (any string), these are the ones lam-rl writes."""

TIMESTAMP = pa.timestamp("us", tz="UTC")

CONTROL = pa.struct(
    [
        pa.field("label", pa.int32()),
        pa.field("text", pa.string()),
        pa.field("type", pa.string()),
        pa.field("rect", pa.list_(pa.int32())),
        pa.field("window", pa.string()),
    ]
)
"""One UI control as UFO lists it: label (sequential), text, UIA type, rect (left, top, right, bottom),
and the dialog or menu it belongs to (null: the main window) so prompts keep popup controls."""


def _schema(name: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(fields, metadata={TABLE_KEY: name.encode(), VERSION_KEY: str(SCHEMA_VERSION).encode()})


STEPS = _schema(
    "steps",
    [
        pa.field("traj_id", pa.string(), nullable=False),
        pa.field("write_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string()),
        pa.field("family", pa.string()),
        pa.field("app", pa.string()),
        pa.field("phase", pa.string()),
        pa.field("policy", pa.string()),
        pa.field("policy_version", pa.int64()),
        pa.field("step", pa.int32(), nullable=False),
        pa.field("request", pa.string()),
        pa.field("controls", pa.list_(CONTROL)),
        pa.field("canvas", pa.string()),
        pa.field("thought", pa.string()),
        pa.field("control_label", pa.int32()),
        pa.field("control_text", pa.string()),
        pa.field("function", pa.string()),
        pa.field("args", pa.string()),
        pa.field("status", pa.string()),
        pa.field("plan", pa.list_(pa.string())),
        pa.field("ok", pa.bool_()),
        pa.field("error", pa.string()),
        pa.field("valid", pa.bool_()),
        pa.field("raw", pa.string()),
        pa.field("reward", pa.float32()),
        pa.field("success", pa.bool_()),
        pa.field("latency_ms", pa.float32()),
        pa.field("step_ms", pa.float32()),
        pa.field("created_at", TIMESTAMP),
        pa.field("extra", pa.string()),
    ],
)

OUTCOMES = _schema(
    "outcomes",
    [
        pa.field("traj_id", pa.string(), nullable=False),
        pa.field("write_id", pa.string(), nullable=False),
        pa.field("task_id", pa.string()),
        pa.field("family", pa.string()),
        pa.field("app", pa.string()),
        pa.field("template", pa.string()),
        pa.field("split", pa.string()),
        pa.field("phase", pa.string()),
        pa.field("policy", pa.string()),
        pa.field("policy_version", pa.int64()),
        pa.field("attempt", pa.int32()),
        pa.field("success", pa.bool_()),
        pa.field("complete", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("sub_scores", pa.string()),
        pa.field("failure_kind", pa.string()),
        pa.field("num_steps", pa.int32()),
        pa.field("num_invalid", pa.int32()),
        pa.field("duration_s", pa.float32()),
        pa.field("task", pa.string()),
        pa.field("worker", pa.string()),
        pa.field("vm", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("extra", pa.string()),
    ],
)

TASKPLANS = _schema(
    "taskplans",
    [
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("app", pa.string()),
        pa.field("family", pa.string()),
        pa.field("source", pa.string()),
        pa.field("task", pa.string()),
        pa.field("plan", pa.list_(pa.string())),
        pa.field("evolved_from", pa.string()),
        pa.field("split", pa.string()),
        pa.field("created_at", TIMESTAMP),
    ],
)

REWARDS = _schema(
    "rewards",
    [
        pa.field("traj_id", pa.string(), nullable=False),
        pa.field("step", pa.int32(), nullable=False),
        pa.field("reward", pa.float32()),
        pa.field("reward_model", pa.string(), nullable=False),
        pa.field("reward_model_version", pa.int64()),
        pa.field("created_at", TIMESTAMP),
    ],
)

TAGS = _schema(
    "tags",
    [
        pa.field("name", pa.string(), nullable=False),
        pa.field("versions", pa.string()),
        pa.field("selection", pa.string()),
        pa.field("reward_model", pa.string()),
        pa.field("reward_model_version", pa.int64()),
        pa.field("note", pa.string()),
        pa.field("counts", pa.string()),
        pa.field("deleted", pa.bool_()),
        pa.field("created_at", TIMESTAMP),
    ],
)

SCHEMAS: dict[str, pa.Schema] = {
    "steps": STEPS,
    "outcomes": OUTCOMES,
    "taskplans": TASKPLANS,
    "rewards": REWARDS,
    "tags": TAGS,
}
TABLES = tuple(SCHEMAS)
DATA_TABLES = ("steps", "outcomes", "taskplans")
"""The tables users read; ``rewards`` is joined into steps on request and ``tags`` is the manifest."""

ADDED: dict[int, dict[str, tuple[str, ...]]] = {2: {"steps": ("extra",), "outcomes": ("extra",)}}
"""Columns each schema version added, per table: older tables lack them (read as nulls)."""


def missing_columns(table: str, schema: pa.Schema) -> list[pa.Field]:
    """Fields of the current ``table`` schema that a dataset's ``schema`` lacks (an older version)."""
    have = set(schema.names)
    return [f for f in SCHEMAS[table] if f.name not in have]


INTERNAL_COLUMNS = {"write_id"}
"""Columns reads drop unless asked for by name."""


def public_columns(table: str) -> list[str]:
    return [f.name for f in SCHEMAS[table] if f.name not in INTERNAL_COLUMNS]


def empty(table: str) -> pa.Table:
    return SCHEMAS[table].empty_table()


def schema_version_of(schema: pa.Schema) -> int | None:
    meta = schema.metadata or {}
    raw = meta.get(VERSION_KEY)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
