"""Phase 0b: task-action data. The expert plays training tasks in VMs; the noiseless expert plays
held-out tasks for the reference trajectories of offline evaluation.

    python -m jobs.collect config=tiny collect.num_tasks=300 fleet.local=4
    python -m jobs.collect fleet.vms=[http://10.0.0.4:8700,...]   # real VMs (token: $LAM_VM_TOKEN)

Every task ends with exactly one outcome in the store (success, failure, or an infrastructure
failure after retries); the results are tagged ``collect.tag`` and ``collect.eval_tag``. A rerun
plays only the tasks that have no outcome yet.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from cluster.collect import expert_spec, run_rollouts
from cluster.rollout import WorkItem
from jobs import run_job
from jobs.config import Config
from lam_rl.env.tasks import sample_tasks, stream_seed
from lam_rl.store import TrajectoryStore

if TYPE_CHECKING:
    from lam_rl.tracking import Tracker

log = logging.getLogger("jobs.collect")


def done(cfg: Config) -> bool:
    from lam_rl.store.errors import StoreNotFound

    try:  # create=False: asking must not create an empty store
        store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    except StoreNotFound:
        return False
    return store.has_tag(cfg.collect.tag) and store.has_tag(cfg.collect.eval_tag)


def check(cfg: Config) -> None:
    """Phase 0b's inputs: known task families, and real VMs that answer with their token."""
    from cluster.fleet import check_vms

    c = cfg.collect
    sample_tasks(
        1, c.seed, split="train", composite_fraction=c.composite_fraction, families=c.families or None
    )
    if cfg.fleet.vms:
        check_vms(cfg.fleet, cfg.env)


def play(
    cfg: Config, store: TrajectoryStore, tasks, *, phase: str, split: str, tag: str, spec, tracker
) -> None:
    items = [WorkItem(f"{phase}:{t.task_id}", t.model_dump(mode="json"), split=split) for t in tasks]
    have = store.committed([it.traj_id for it in items])
    todo = [it for it in items if it.traj_id not in have]
    if todo:
        s = run_rollouts(cfg, todo, spec, phase=phase, tracker=tracker, desc=f"{phase} ({split})")
        log.info(
            "%s: %d tasks, success %.1f%%, %.1f steps/s, failures %s",
            phase,
            s.done,
            100 * s.success_rate,
            s.steps_per_s,
            s.failures,
        )
    store.tag(tag, phase=phase, split=split, replace=True)


def main(cfg: Config, tr: Tracker) -> None:
    c = cfg.collect
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir)
    fams = list(c.families) or None
    train = sample_tasks(
        c.num_tasks, c.seed, split="train", composite_fraction=c.composite_fraction, families=fams
    )
    play(
        cfg,
        store,
        train,
        phase="collect",
        split="train",
        tag=c.tag,
        spec=expert_spec(cfg, cfg.run.seed),
        tracker=tr,
    )
    held_out = sample_tasks(  # held-out instances of the same families (the eval split's seeds)
        c.eval_tasks,
        stream_seed(c.seed, "held_out"),
        split="eval",
        composite_fraction=c.composite_fraction,
        families=fams,
    )
    noiseless = dataclasses.replace(cfg, expert=dataclasses.replace(cfg.expert, noise=False))
    play(
        cfg,
        store,
        held_out,
        phase="reference",
        split="eval",
        tag=c.eval_tag,
        spec=expert_spec(noiseless, cfg.run.seed),
        tracker=tr,
    )
    stats = store.stats(tag=c.tag)
    tr.summary(trajectories=stats["trajectories"], steps=stats["steps"], success_rate=stats["success_rate"])


if __name__ == "__main__":
    run_job(Config, main, name="collect", doc=__doc__, check=check)
