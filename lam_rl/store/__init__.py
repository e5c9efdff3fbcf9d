"""The shared Arrow trajectory store (Lance datasets): the only way data moves between phases.

    from lam_rl.store import TrajectoryStore, Trajectory, Outcome, StepRecord

    store = TrajectoryStore("runs/tiny/store")
    with store.writer(batch_size=256, flush_interval_s=5) as w:
        w.add(Trajectory(Outcome(traj_id, task_id, phase="collect", policy="expert", success=True), steps))
    store.tag("collect-expert", phase="collect", policy="expert")
    table = store.steps(tag="collect-expert", success=True, columns=["traj_id", "step", "function"])

``lam_rl.store.torch_data`` (a torch ``IterableDataset``) is imported only when used: this package
needs neither torch nor Ray. The names that need Lance or pyarrow are imported on first use, so
``lam_rl.store.config`` (read by every job's config loader) stays light. See docs/store.md.
"""

from typing import TYPE_CHECKING

from lam_rl.lazy import lazy_exports
from lam_rl.store.config import StoreConfig
from lam_rl.store.errors import (
    EmptySelection,
    InvalidRecord,
    SchemaMismatch,
    StoreCorrupt,
    StoreError,
    StoreNotFound,
    TagExists,
    TagNotFound,
    TagScopeError,
)

if TYPE_CHECKING:
    from lam_rl.store.encode import EncodedTrajectories
    from lam_rl.store.records import Outcome, StepRecord, TaskPlanRecord, Trajectory, new_traj_id
    from lam_rl.store.schemas import SCHEMA_VERSION
    from lam_rl.store.store import Snapshot, TrajectoryStore, WriteResult
    from lam_rl.store.tags import TagInfo
    from lam_rl.store.writer import StoreWriter

__all__ = [
    "SCHEMA_VERSION",
    "EmptySelection",
    "EncodedTrajectories",
    "InvalidRecord",
    "Outcome",
    "SchemaMismatch",
    "Snapshot",
    "StepRecord",
    "StoreConfig",
    "StoreCorrupt",
    "StoreError",
    "StoreNotFound",
    "StoreWriter",
    "TagExists",
    "TagInfo",
    "TagNotFound",
    "TagScopeError",
    "TaskPlanRecord",
    "Trajectory",
    "TrajectoryStore",
    "WriteResult",
    "new_traj_id",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "EncodedTrajectories": "encode",
        **dict.fromkeys(["Outcome", "StepRecord", "TaskPlanRecord", "Trajectory", "new_traj_id"], "records"),
        "SCHEMA_VERSION": "schemas",
        **dict.fromkeys(["Snapshot", "TrajectoryStore", "WriteResult"], "store"),
        "TagInfo": "tags",
        "StoreWriter": "writer",
    },
)
