"""Phases 1-3 on Ray Train: SFT of LAM1 (task -> plan), LAM2 (expert successes), LAM3 (+ exploration
successes). The driver checks every input before a worker starts; each worker reads its shard
from the store, builds examples, and runs a ``lam_rl.algos.learner.Learner``; rank 0 logs to W&B
and registers the checkpoints."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cluster.train import report_result, run_workers, worker_info
from jobs.config import Config, config_from_dict
from lam_rl.checkpoints import PHASE_IO, CheckpointRegistry, resolve_checkpoint
from lam_rl.config import ConfigError, to_dict

log = logging.getLogger(__name__)

SFT_PHASES = {"plan": "lam1", "imitate": "lam2", "boost": "lam3"}
WHAT_TO_RUN = {
    "plan": "jobs.taskplan (phase 0a)",
    "imitate": "jobs.collect (phase 0b) and jobs.sft phase=plan",
    "boost": "jobs.explore (phase 3) and jobs.sft phase=imitate",
}


def phase_tags(cfg: Config, phase: str) -> list[str]:
    return (
        [cfg.sft.plan_tag]
        if phase == "plan"
        else list(cfg.sft.imitate_tags if phase == "imitate" else cfg.sft.boost_tags)
    )


def open_store(cfg: Config, what_to_run: str):
    """The run's trajectory store for reading; a missing one is a ConfigError saying what writes it."""
    from lam_rl.store import StoreNotFound, TrajectoryStore

    try:
        return TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    except StoreNotFound as e:
        raise ConfigError(f"no trajectory store at {cfg.store_uri}; run {what_to_run} first") from e


def check_inputs(cfg: Config, phase: str) -> tuple[Path, dict[str, Any]]:
    """Everything that can be wrong with the inputs, found before any worker starts."""
    from lam_rl.data.selection import require_rows, select_trajectories

    if phase not in SFT_PHASES:
        raise ConfigError(f"phase={phase!r} is not an SFT phase; use one of {', '.join(SFT_PHASES)}")
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    init_name = PHASE_IO[phase][0]
    init = resolve_checkpoint(init_name, registry, WHAT_TO_RUN[phase].split(" and ")[-1])
    store = open_store(cfg, WHAT_TO_RUN[phase])
    tags = phase_tags(cfg, phase)
    for t in tags:
        if not store.has_tag(t):
            raise ConfigError(
                f"store tag '{t}' does not exist in {cfg.store_uri}; run {WHAT_TO_RUN[phase]} first"
            )
    if phase == "plan":
        n = store.count("taskplans", tag=tags[0], split="train")
    else:
        n = len(select_trajectories(store, tags))
    require_rows(
        n, f"phase {phase} (tags {tags}, successful train trajectories)", f"run {WHAT_TO_RUN[phase]} first"
    )
    return init, {"rows": n, "tags": tags, "store_snapshot": store.snapshot().to_dict()}


def _worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: shard -> examples -> Learner.fit; rank 0 tracks and registers."""
    from lam_rl.agent.config import AgentConfig
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.sft import SFTObjective
    from lam_rl.data import selection as sel
    from lam_rl.data.sft import EncodeStats, action_examples, agent_builder, encode, plan_examples
    from lam_rl.models.factory import load_model, load_tokenizer
    from lam_rl.store import TrajectoryStore
    from lam_rl.tracking import Tracker

    info = worker_info()
    cfg: Config = config_from_dict(config["cfg"])
    phase, init = config["phase"], Path(config["init"])
    tok = load_tokenizer(init)
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    tags = phase_tags(cfg, phase)
    agent: AgentConfig = cfg.agent
    if phase == "plan":
        recs = sel.read_taskplans(store, tags[0])
        shard = sel.shard_ids([r["task_id"] for r in recs], info.rank, info.world, cfg.sft.eval_fraction)
        by_id = {r["task_id"]: r for r in recs}
        train_ex = plan_examples(by_id[i] for i in shard.train_ids)
        eval_ex = plan_examples(by_id[i] for i in shard.eval_ids)
    else:
        shard = sel.shard_ids(
            sel.select_trajectories(store, tags), info.rank, info.world, cfg.sft.eval_fraction
        )
        builder = agent_builder(agent, tok)
        train_ex = action_examples(sel.read_steps(store, shard.train_ids, tags), builder)
        eval_ex = action_examples(sel.read_steps(store, shard.eval_ids, tags), builder)
    if cfg.sft.max_examples:
        train_ex = train_ex[: max(1, cfg.sft.max_examples // info.world)]
    stats = EncodeStats()
    train = encode(tok, train_ex, cfg.sft.max_seq_len, stats)
    evaluation = encode(tok, eval_ex, cfg.sft.max_seq_len)
    optim = cfg.sft.optim
    if phase == "plan" and cfg.sft.plan_epochs:
        optim.epochs = cfg.sft.plan_epochs
    out_name = SFT_PHASES[phase]
    out_dir = cfg.run_dir / "train" / out_name
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    tracker = None
    if info.rank == 0:
        tracker = Tracker(
            cfg.tracking,
            run_dir=cfg.run_dir,
            name=f"sft-{phase}",
            job_type=f"sft-{phase}",
            config={**config["cfg"], "phase": phase, "inputs": config["inputs"]},
        )
        tracker.use_inputs(checkpoints=[init], registry=registry, store=store, tags=tags)  # W&B lineage
        tracker.log(
            {
                "data/train_examples": len(train) * info.world,
                "data/eval_examples": len(evaluation),
                "data/prompt_truncated": stats.prompt_truncated,
                "data/dropped": stats.dropped_target_too_long,
            },
            0,
        )

    def on_checkpoint(hf: Path, step: int, final: bool) -> None:
        if final:
            dest = cfg.run_dir / "checkpoints" / out_name
            _publish(hf, dest)
            registry.register(out_name, dest, phase=phase, step=step, final=True, **config["inputs"])
        else:
            registry.register(out_name, hf, phase=phase, step=step, final=False)

    learner = Learner(
        load_model(init),
        tok,
        SFTObjective(tok.pad_token_id),
        cfg.learner,
        optim,
        out_dir,
        lora=cfg.sft.lora,
        use_gpu=config["_use_gpu"],
        seed=cfg.run.seed,
        report=(tracker.log if tracker else None),
        on_checkpoint=on_checkpoint,
        name=f"sft-{phase}",
    )
    result = learner.fit(train, evaluation)
    summary = {
        "steps": result.steps,
        "final_loss": result.final_loss,
        "resumed_from": result.resumed_from,
        "tokens_per_s": result.tokens / max(result.seconds, 1e-9) * info.world,
        "seconds": result.seconds,
        **{f"eval_{k}": v for k, v in result.eval_metrics.items()},
    }
    if tracker is not None:
        tracker.summary(**summary)
        tracker.finish()
    report_result(summary)


def _publish(src: Path, dest: Path) -> None:
    """Copy a finished HF folder to its registry place atomically."""
    import os
    import shutil
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    shutil.copytree(src, tmp, dirs_exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def train_sft(cfg: Config, phase: str) -> dict[str, Any]:
    """Run one SFT phase; returns rank 0's summary (steps, losses, throughput)."""
    init, inputs = check_inputs(cfg, phase)
    log.info(
        "sft %s: %s from %s on %d rows of %s", phase, SFT_PHASES[phase], init, inputs["rows"], inputs["tags"]
    )
    return run_workers(
        _worker,
        {"cfg": to_dict(cfg), "phase": phase, "init": str(init), "inputs": inputs},
        cfg.learner,
        name=f"sft-{phase}",
        storage_path=cfg.run_dir / "ray_train",
    )


def sft_done(cfg: Config, phase: str) -> bool:
    return CheckpointRegistry(cfg.run_dir / "checkpoints").latest(SFT_PHASES[phase]) is not None
