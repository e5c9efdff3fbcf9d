"""What each training phase reads from the store, sharded by rank.

Selections are by store tag (``sft.imitate_tags`` ...) and always ``split == "train"``: the held-out
evaluation tasks (``split == "eval"``, disjoint by content) never reach a learner. Trajectories
(or task-plan records) are sorted by id and dealt round-robin to ranks; a deterministic hash of
the id holds out ``eval_fraction`` of them for held-out loss/metrics. Each rank then reads only its
own trajectories' steps from the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lam_rl.store import TrajectoryStore
from lam_rl.store.errors import EmptySelection

STEP_COLUMNS = [
    "traj_id",
    "step",
    "family",
    "request",
    "controls",
    "canvas",
    "thought",
    "control_label",
    "control_text",
    "function",
    "args",
    "status",
    "plan",
    "success",
    "valid",
    "raw",
]


def held_out(key: str, fraction: float, salt: str = "heldout") -> bool:
    """Deterministic Bernoulli(fraction) by a hash of ``key``."""
    if fraction <= 0:
        return False
    h = int(hashlib.sha1(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < fraction


@dataclass
class Shard:
    train_ids: list[str] = field(default_factory=list)
    eval_ids: list[str] = field(default_factory=list)
    total: int = 0


def shard_ids(ids: Sequence[str], rank: int, world: int, eval_fraction: float) -> Shard:
    ordered = sorted(set(ids))
    mine = ordered[rank::world]
    return Shard(
        train_ids=[i for i in mine if not held_out(i, eval_fraction)],
        eval_ids=[i for i in mine if held_out(i, eval_fraction)],
        total=len(ordered),
    )


def select_trajectories(
    store: TrajectoryStore, tags: Sequence[str], *, success: bool | None = True, **filters: Any
) -> list[str]:
    """traj_ids of the selected trajectories (train split only)."""
    sel = dict(filters)
    if success is not None:
        sel["success"] = success
    table = store.outcomes(tag=list(tags), split="train", columns=["traj_id"], **sel)
    return table.column("traj_id").to_pylist()


def read_steps(
    store: TrajectoryStore, traj_ids: Sequence[str], tags: Sequence[str], **filters: Any
) -> list[dict]:
    if not traj_ids:
        return []
    return store.steps(
        tag=list(tags), traj_id=list(traj_ids), split="train", columns=STEP_COLUMNS, **filters
    ).to_pylist()


def read_taskplans(store: TrajectoryStore, tag: str) -> list[dict[str, Any]]:
    return store.taskplans(tag=tag, split="train", columns=["task_id", "task", "plan"]).to_pylist()


def require_rows(n: int, what: str, hint: str) -> None:
    if n == 0:
        raise EmptySelection(f"{what} selects no rows; {hint}")
