"""Phases 1-3 on Ray Train: SFT of LAM1 (task -> plan), LAM2 (expert successes), LAM3 (+ exploration
successes). The driver checks every input before a worker starts; each worker reads its shard
from the store, builds examples, and runs a ``lam_rl.algos.learner.Learner``; rank 0 logs to W&B
and registers the checkpoints."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cluster.train import WorkerRun, run_learner
from lam_rl import phases
from lam_rl.checkpoints import PHASE_IO, CheckpointRegistry, resolve_checkpoint
from lam_rl.config import ConfigError
from lam_rl.phases import sft_phases

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)

# jobs.sft phase=<key> -> its row of the phase table (plan: LAM1, imitate: LAM2, boost: LAM3)
SFT_PHASES = sft_phases()


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
    what_to_run = phases.what_to_run(SFT_PHASES[phase].name)
    writer = phases.command(phases.writers([f"checkpoint:{init_name}"])[0])
    init = resolve_checkpoint(init_name, registry, writer)
    store = open_store(cfg, what_to_run)
    tags = phase_tags(cfg, phase)
    for t in tags:
        if not store.has_tag(t):
            raise ConfigError(f"store tag '{t}' does not exist in {cfg.store_uri}; run {what_to_run} first")
    if phase == "plan":
        n = store.count("taskplans", tag=tags[0], split="train")
    else:
        n = len(select_trajectories(store, tags))
    require_rows(n, f"phase {phase} (tags {tags}, successful train trajectories)", f"run {what_to_run} first")
    return init, {"rows": n, "tags": tags, "store_snapshot": store.snapshot().to_dict()}


def _worker(run: WorkerRun) -> dict[str, Any]:
    """One Ray Train worker: shard -> examples -> Learner.fit (rank 0 tracks, see rank0_scaffold)."""
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.sft import SFTObjective
    from lam_rl.data import selection as sel
    from lam_rl.data.sft import EncodeStats, action_examples, agent_builder, encode, plan_examples
    from lam_rl.models.factory import load_model, load_tokenizer
    from lam_rl.store import TrajectoryStore

    info, cfg = run.info, run.cfg
    phase, init = run.args["phase"], Path(run.args["init"])
    tok = load_tokenizer(init)
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    tags = phase_tags(cfg, phase)
    if run.tracker is not None:  # W&B lineage
        run.tracker.use_inputs(checkpoints=[init], registry=run.registry, store=store, tags=tags)
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
        builder = agent_builder(cfg.agent, tok)
        train_ex = action_examples(sel.read_steps(store, shard.train_ids, tags), builder)
        eval_ex = action_examples(sel.read_steps(store, shard.eval_ids, tags), builder)
    if cfg.sft.max_examples:
        train_ex = train_ex[: max(1, cfg.sft.max_examples // info.world)]
    stats = EncodeStats()
    train = encode(tok, train_ex, cfg.sft.max_seq_len, stats)
    evaluation = encode(tok, eval_ex, cfg.sft.max_seq_len)
    if phase == "plan" and cfg.sft.plan_epochs:
        cfg.sft.optim.epochs = cfg.sft.plan_epochs
    out_name = PHASE_IO[phase][1]
    if run.tracker is not None:
        run.tracker.log(
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
            run.publish(hf, out_name, phase=phase, step=step, **run.inputs)
        else:
            run.registry.register(out_name, hf, phase=phase, step=step, final=False)

    learner = Learner(
        load_model(init),
        tok,
        SFTObjective(tok.pad_token_id),
        cfg.learner,
        cfg.sft.optim,  # sft.optim.lr as loaded: the Learner hands it to DeepSpeed's optimizer
        SFT_PHASES[phase].learner_dir(cfg),
        lora=cfg.sft.lora,
        use_gpu=run.use_gpu,
        seed=cfg.run.seed,
        report=run.report,
        on_checkpoint=on_checkpoint,
        on_saved=run.persist,
        name=f"sft-{phase}",
    )
    result = learner.fit(train, evaluation)
    return {
        "steps": result.steps,
        "final_loss": result.final_loss,
        "resumed_from": result.resumed_from,
        "tokens_per_s": result.tokens / max(result.seconds, 1e-9) * info.world,
        "seconds": result.seconds,
        **{f"eval_{k}": v for k, v in result.eval_metrics.items()},
    }


def train_sft(cfg: Config, phase: str) -> dict[str, Any]:
    """Run one SFT phase; returns rank 0's summary (steps, losses, throughput)."""
    init, inputs = check_inputs(cfg, phase)
    log.info(
        "sft %s: %s from %s on %d rows of %s", phase, PHASE_IO[phase][1], init, inputs["rows"], inputs["tags"]
    )
    return run_learner(
        _worker,
        cfg,
        inputs,
        args={"phase": phase, "init": str(init)},
        name=f"sft-{phase}",
        job_type=f"sft-{phase}",
        wandb_extra={"phase": phase},
    )


def sft_done(cfg: Config, phase: str) -> bool:
    return CheckpointRegistry(cfg.run_dir / "checkpoints").latest(PHASE_IO[phase][1]) is not None
