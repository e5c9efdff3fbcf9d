"""Row selections: ``phase="collect", success=True, policy_version=[2, 3]`` -> Lance SQL.

A selection maps a column to the tuple of values it may take (a scalar means one value; ``None``
means "no filter", so callers can pass optional arguments straight through). Keys are checked
against the table they select from: trajectory-level keys (the outcome's columns) apply to
``outcomes`` and ``steps``, step-level keys only to ``steps``, task-plan keys to ``taskplans``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lam_rl.store.errors import EmptySelection, StoreError

Selection = dict[str, tuple[Any, ...]]

_BOOL = {"success", "valid", "ok"}
_INT = {"policy_version", "attempt", "step", "num_steps", "control_label"}

TRAJ_KEYS = (
    "traj_id",
    "task_id",
    "family",
    "app",
    "template",
    "split",
    "phase",
    "policy",
    "policy_version",
    "attempt",
    "success",
    "complete",
    "failure_kind",
    "worker",
    "vm",
)
"""Trajectory-level filters (columns of ``outcomes``)."""

STEP_KEYS = ("step", "function", "status", "valid", "ok", "control_text", "control_label")
"""Step-level filters (``steps`` only)."""

TRAJ_KEYS_IN_STEPS = ("traj_id", "task_id", "family", "app", "phase", "policy", "policy_version", "success")
"""Trajectory-level columns that ``steps`` repeats, so a steps scan can push them down."""

TASKPLAN_KEYS = ("task_id", "app", "family", "source", "split", "evolved_from")

KEYS: dict[str, tuple[str, ...]] = {
    "outcomes": TRAJ_KEYS,
    "steps": TRAJ_KEYS + STEP_KEYS,
    "trajectories": TRAJ_KEYS,
    "taskplans": TASKPLAN_KEYS,
}


def _check_value(key: str, v: Any) -> Any:
    if key in _BOOL:
        if not isinstance(v, bool):
            raise StoreError(f"filter '{key}' takes true/false, got {v!r}")
    elif key in _INT:
        if isinstance(v, bool) or not isinstance(v, int):
            raise StoreError(f"filter '{key}' takes integers, got {v!r}")
    elif not isinstance(v, str):
        raise StoreError(f"filter '{key}' takes strings, got {v!r}")
    return v


def normalize(filters: Mapping[str, Any], table: str, *, allowed: Iterable[str] | None = None) -> Selection:
    """Check keys and value types; scalars become 1-tuples; ``None`` values are dropped."""
    valid = tuple(allowed) if allowed is not None else KEYS[table]
    out: Selection = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key not in valid:
            raise StoreError(f"unknown filter '{key}' for {table}; valid filters: {', '.join(sorted(valid))}")
        values = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)
        if not values:
            raise EmptySelection(f"filter '{key}' was given an empty list of values: it selects nothing")
        if isinstance(value, (set, frozenset)):
            values = tuple(sorted(values, key=repr))
        out[key] = tuple(_check_value(key, v) for v in values)
    return out


def merge(a: Selection, b: Selection) -> Selection:
    """Both selections at once (a key in both keeps the values both allow)."""
    out = dict(a)
    for key, values in b.items():
        if key in out:
            both = tuple(v for v in out[key] if v in values)
            if not both:
                raise EmptySelection(
                    f"filter {key}={list(values)} excludes everything the tag selects ({key}={list(out[key])})"
                )
            out[key] = both
        else:
            out[key] = values
    return out


def restrict(sel: Selection, keys: Iterable[str]) -> Selection:
    keep = set(keys)
    return {k: v for k, v in sel.items() if k in keep}


def _literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def to_sql(sel: Selection, where: str | None = None) -> str | None:
    """A Lance SQL predicate for ``sel`` (and the raw ``where``), or None when it selects everything."""
    parts = []
    for key, values in sel.items():
        col = f"`{key}`"
        if len(values) == 1:
            parts.append(f"{col} = {_literal(values[0])}")
        else:
            parts.append(f"{col} IN ({', '.join(_literal(v) for v in values)})")
    if where:
        parts.append(f"({where})")
    return " AND ".join(parts) if parts else None


def describe(sel: Mapping[str, Any], where: str | None = None) -> str:
    parts = [f"{k}={v[0]!r}" if len(v) == 1 else f"{k} in {list(v)}" for k, v in sel.items()]
    if where:
        parts.append(f"where {where!r}")
    return ", ".join(parts) if parts else "everything"
