"""Phase 3 (self-boosting): a checkpoint served by the policy server retries the tasks the expert
failed, several sampled attempts each, in VMs; its successes become new training data."""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING

from cluster import policy_server
from cluster.collect import RolloutSummary, checkpoint_spec, run_rollouts
from cluster.rollout import WorkItem
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.config import ConfigError
from lam_rl.store import TrajectoryStore

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)


def failed_tasks(store: TrajectoryStore, tag: str, limit: int = 0) -> list[dict]:
    if not store.has_tag(tag):
        raise ConfigError(f"store tag '{tag}' does not exist; run jobs.collect (phase 0b) first")
    rows = store.outcomes(
        tag=tag, success=False, split="train", columns=["task_id", "task"], allow_empty=True
    ).to_pylist()
    tasks = [json.loads(r["task"]) for r in sorted(rows, key=lambda r: r["task_id"])]
    return tasks[:limit] if limit else tasks


def explore(cfg: Config, tracker=None) -> RolloutSummary:
    e = cfg.explore
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir)
    tasks = failed_tasks(store, e.source_tag, e.max_tasks)
    if not tasks:
        raise ConfigError(f"tag '{e.source_tag}' has no failed training trajectories to retry")
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    entry = registry.require(e.checkpoint, "jobs.sft phase=imitate") if "/" not in e.checkpoint else None
    path = entry.path if entry else e.checkpoint
    version = entry.version if entry else 0
    if tracker is not None:  # W&B lineage
        tracker.use_inputs(checkpoints=[entry or path], registry=registry, store=store, tags=[e.source_tag])
    attempts = e.attempts if e.temperature > 0 else 1
    items = [
        WorkItem(f"explore:{t['task_id']}:{a}", t, split="train", attempt=a)
        for t in tasks
        for a in range(attempts)
    ]
    have = store.committed([it.traj_id for it in items])
    todo = [it for it in items if it.traj_id not in have]
    summary = RolloutSummary(tasks=len(items), done=len(have))
    if todo:
        serve_cfg = dataclasses.replace(cfg.policy, temperature=e.temperature)
        policy_server.deploy(serve_cfg, path, version, http=cfg.serve, model_name=e.checkpoint)
        try:
            summary = run_rollouts(
                cfg,
                todo,
                checkpoint_spec(cfg, e.checkpoint, f"{path}/tokenizer.json"),
                phase="explore",
                tracker=tracker,
                desc="explore",
            )
        finally:
            policy_server.shutdown()
    store.tag(e.tag, phase="explore", replace=True)
    return summary
