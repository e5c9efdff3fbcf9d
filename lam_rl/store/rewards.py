"""Per-step rewards from a reward model, kept apart from the steps they score.

``write_rewards`` appends rows ``(traj_id, step, reward, reward_model, reward_model_version)`` to the
``rewards`` dataset: a new Lance version, with ``steps`` untouched, so every earlier snapshot and tag
still reads the original data. A read asks for a model's rewards by name
(``store.steps(tag=..., reward_model="rm-lam3")``, or a tag created with ``reward_model=``); the
``reward`` column is then filled from that model's latest version (or the version asked for), the
last write of a ``(traj_id, step)`` winning; steps it did not score read as null.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store import schemas
from lam_rl.store.core import Plan, Snapshot, StoreCore
from lam_rl.store.errors import EmptySelection, InvalidRecord, StoreError, guarded
from lam_rl.store.records import utcnow

_SEP = "\x1f"


def _keys(traj_id: pa.Array | pa.ChunkedArray, step: pa.Array | pa.ChunkedArray) -> pa.Array:
    return pc.binary_join_element_wise(traj_id, pc.cast(step, pa.string()), _SEP)


@dataclass
class RewardLookup:
    """Rewards of one model version, keyed by (traj_id, step)."""

    keys: pa.Array
    values: pa.Array

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        idx = pc.index_in(_keys(batch.column("traj_id"), batch.column("step")), value_set=self.keys)
        reward = pc.take(self.values, idx)
        return batch.set_column(batch.schema.get_field_index("reward"), "reward", reward)

    def __len__(self) -> int:
        return len(self.keys)


def _as_table(rewards: Any) -> pa.Table:
    if isinstance(rewards, pa.RecordBatch):
        rewards = pa.Table.from_batches([rewards])
    if hasattr(rewards, "to_dict") and hasattr(rewards, "columns") and not isinstance(rewards, pa.Table):
        rewards = pa.Table.from_pandas(rewards, preserve_index=False)  # a pandas DataFrame
    if isinstance(rewards, pa.Table):
        missing = [c for c in ("traj_id", "step", "reward") if c not in rewards.column_names]
        if missing:
            raise InvalidRecord(f"rewards need columns traj_id, step, reward; missing {', '.join(missing)}")
        return rewards.select(["traj_id", "step", "reward"])
    rows: list[dict[str, Any]] = []
    for r in rewards:
        if isinstance(r, Mapping):
            rows.append({"traj_id": r["traj_id"], "step": r["step"], "reward": r["reward"]})
        else:
            traj_id, step, reward = r
            rows.append({"traj_id": traj_id, "step": step, "reward": reward})
    return pa.Table.from_pylist(
        rows, schema=pa.schema([("traj_id", pa.string()), ("step", pa.int32()), ("reward", pa.float32())])
    )


class Rewards:
    """The reward methods of a :class:`~lam_rl.store.store.TrajectoryStore`, over its :class:`StoreCore`."""

    def __init__(self, core: StoreCore):
        self.core = core
        self.uri = core.uri

    @guarded
    def write_rewards(
        self,
        rewards: pa.Table | Iterable[Mapping[str, Any] | tuple[str, int, float]],
        *,
        reward_model: str,
        reward_model_version: int = 0,
        check: bool = True,
    ) -> int:
        """Record per-step rewards as a new version of the ``rewards`` table; returns that version.

        ``rewards``: an Arrow table / pandas DataFrame with ``traj_id, step, reward`` columns, or an
        iterable of such mappings or ``(traj_id, step, reward)`` tuples. With ``check`` every
        ``(traj_id, step)`` must be a committed step (else :class:`InvalidRecord`).
        """
        if not reward_model or not isinstance(reward_model, str):
            raise InvalidRecord("reward_model must name the reward model (e.g. 'rm-lam3')")
        try:
            t = _as_table(rewards)
            n = t.num_rows
            t = pa.table(
                {
                    "traj_id": pc.cast(t.column("traj_id"), pa.string()),
                    "step": pc.cast(t.column("step"), pa.int32()),
                    "reward": pc.cast(t.column("reward"), pa.float32()),
                    "reward_model": pa.array([reward_model] * n, pa.string()),
                    "reward_model_version": pa.array([int(reward_model_version)] * n, pa.int64()),
                    "created_at": pa.array([utcnow()] * n, schemas.TIMESTAMP),
                },
                schema=schemas.REWARDS,
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError, TypeError, ValueError) as e:
            raise InvalidRecord(f"cannot read rewards: {e}") from None
        if n == 0:
            raise EmptySelection("write_rewards was given no rewards")
        vals = t.column("reward").to_numpy(zero_copy_only=False)
        bad = [i for i, v in enumerate(vals) if v is None or not math.isfinite(v)]
        if bad:
            raise InvalidRecord(f"rewards must be finite numbers; row {bad[0]} is {vals[bad[0]]!r}")
        if check:
            self._check_reward_keys(t)
        self.core.append("rewards", t, retries=3)
        return self.core.dataset("rewards").version

    def _check_reward_keys(self, t: pa.Table) -> None:
        ids = pc.unique(t.column("traj_id"))
        winners = self.core.winners(self.core.dataset("outcomes").version)
        ds = self.core.dataset("outcomes")
        known: dict[str, int] = {}
        for i in range(0, len(ids), 512):
            chunk = tuple(ids[i : i + 512].to_pylist())
            o = ds.to_table(columns=["traj_id", "write_id", "num_steps"], filter=F.to_sql({"traj_id": chunk}))
            o = o.filter(pc.is_in(o.column("write_id"), value_set=winners.write_ids))
            known.update(zip(o.column("traj_id").to_pylist(), o.column("num_steps").to_pylist(), strict=True))
        for tid, step in zip(t.column("traj_id").to_pylist(), t.column("step").to_pylist(), strict=True):
            if tid not in known:
                raise InvalidRecord(f"reward for unknown trajectory {tid!r} (no committed outcome)")
            if not 0 <= step < known[tid]:
                raise InvalidRecord(f"reward for step {step} of {tid!r}, which has {known[tid]} steps")

    @guarded
    def reward_models(self, version: Any = None) -> dict[str, list[int]]:
        """Reward model name -> the model versions that wrote rewards (in snapshot ``version`` or now)."""
        v = Snapshot.coerce(version).versions["rewards"] if version is not None else None
        return reward_models_at(self.core, v)


def reward_models_at(core: StoreCore, rewards_version: int | None) -> dict[str, list[int]]:
    t = core.dataset("rewards", rewards_version).to_table(columns=["reward_model", "reward_model_version"])
    out: dict[str, set[int]] = {}
    for m, mv in zip(
        t.column("reward_model").to_pylist(), t.column("reward_model_version").to_pylist(), strict=True
    ):
        out.setdefault(m, set()).add(int(mv or 0))
    return {m: sorted(vs) for m, vs in sorted(out.items())}


def reward_lookup(core: StoreCore, plan: Plan) -> RewardLookup:
    """The rewards a plan's reads fill ``reward`` from: its reward model at the plan's rewards version
    (the model's latest version there unless the plan names one), the last write of a step winning."""
    rewards_version, model, model_version = (
        plan.versions["rewards"],
        plan.reward_model,
        plan.reward_model_version,
    )
    ds = core.dataset("rewards", rewards_version)
    t = ds.to_table(filter=F.to_sql({"reward_model": (model,)}))
    if t.num_rows == 0:
        have = ", ".join(reward_models_at(core, rewards_version)) or "none"
        raise StoreError(
            f"reward model '{model}' wrote no rewards in this snapshot (models: {have}); "
            "run python -m jobs.reward (phase 4) first"
        )
    if model_version is None:
        model_version = int(pc.max(t.column("reward_model_version")).as_py() or 0)
    t = t.filter(pc.equal(t.column("reward_model_version"), model_version))
    if t.num_rows == 0:
        raise StoreError(f"reward model '{model}' has no rewards from version {model_version}")
    t = t.append_column("key", _keys(t.column("traj_id"), t.column("step")))
    t = t.sort_by([("created_at", "ascending")])
    last = t.group_by("key", use_threads=False).aggregate([("reward", "last")])
    return RewardLookup(last.column("key").combine_chunks(), last.column("reward_last").combine_chunks())
