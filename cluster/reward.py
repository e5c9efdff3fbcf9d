"""Phase 4a on Ray Train: the reward model (LAM3 backbone + scalar head, LoRA, MSE on +1/-1 step
labels), then scoring: the RewardServer scores every selected step and the rewards are written
back to the store as a new version (the source rows are never rewritten)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cluster.sft import open_store
from cluster.train import WorkerRun, run_learner
from lam_rl.checkpoints import CheckpointRegistry, resolve_checkpoint
from lam_rl.config import ConfigError
from lam_rl.phases import PHASES

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)


def check_inputs(cfg: Config) -> tuple[Path, dict[str, Any]]:
    from lam_rl.data.selection import require_rows, select_trajectories

    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    init = resolve_checkpoint(cfg.reward.init_checkpoint, registry, "jobs.sft phase=boost")
    store = open_store(cfg, "jobs.collect and jobs.explore")
    for t in cfg.reward.tags:
        if not store.has_tag(t):
            raise ConfigError(
                f"store tag '{t}' does not exist in {cfg.store_uri}; run the phase that writes it first"
            )
    ok = len(select_trajectories(store, cfg.reward.tags, success=True))
    bad = len(select_trajectories(store, cfg.reward.tags, success=False))
    require_rows(ok + bad, f"reward tags {cfg.reward.tags}", "run jobs.collect and jobs.explore first")
    if not ok or not bad:
        raise ConfigError(
            f"the reward model needs successes and failures; tags {cfg.reward.tags} have {ok} and {bad}"
        )
    return init, {
        "successes": ok,
        "failures": bad,
        "tags": list(cfg.reward.tags),
        "store_snapshot": store.snapshot().to_dict(),
    }


def _worker(run: WorkerRun) -> dict[str, Any]:
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.reward import RewardObjective, build_reward_model, encode_scored
    from lam_rl.data import selection as sel
    from lam_rl.data.sft import agent_builder, scored_examples
    from lam_rl.models.factory import load_tokenizer
    from lam_rl.store import TrajectoryStore

    info, cfg = run.info, run.cfg
    init = Path(run.args["init"])
    tok = load_tokenizer(init)
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    tags = cfg.reward.tags
    if run.tracker is not None:  # W&B lineage
        run.tracker.use_inputs(checkpoints=[init], registry=run.registry, store=store, tags=tags)
    shard = sel.shard_ids(
        sel.select_trajectories(store, tags, success=None), info.rank, info.world, cfg.reward.eval_fraction
    )
    builder = agent_builder(cfg.agent, tok)

    def encoded(ids: list[str]) -> list[dict[str, Any]]:
        pairs = scored_examples(sel.read_steps(store, ids, tags), builder)
        return encode_scored(tok, [e for e, _ in pairs], [y for _, y in pairs], cfg.reward.max_seq_len)

    train, evaluation = encoded(shard.train_ids), encoded(shard.eval_ids)
    if run.tracker is not None:
        pos = sum(1 for x in train if x["label"] > 0)
        run.tracker.log(
            {
                "data/train_steps": len(train),
                "data/positive_fraction": pos / max(len(train), 1),
                "data/eval_steps": len(evaluation),
            },
            0,
        )

    def on_checkpoint(hf: Path, step: int, final: bool) -> None:
        if final:
            run.publish(hf, cfg.reward.output, phase="reward", step=step, **run.inputs)

    learner = Learner(
        build_reward_model(init, tok),
        tok,
        RewardObjective(tok.pad_token_id),
        cfg.learner,
        cfg.reward.optim,
        PHASES["reward"].learner_dir(cfg),
        lora=cfg.reward.lora,
        lora_task="SEQ_CLS",
        use_gpu=run.use_gpu,
        seed=cfg.run.seed,
        report=run.report,
        on_checkpoint=on_checkpoint,
        on_saved=run.persist,
        name="reward",
    )
    result = learner.fit(train, evaluation)
    return {
        "steps": result.steps,
        "final_loss": result.final_loss,
        **{f"eval_{k}": v for k, v in result.eval_metrics.items()},
    }


def train_reward(cfg: Config) -> dict[str, Any]:
    init, inputs = check_inputs(cfg)
    log.info(
        "reward model from %s on %d successes / %d failures", init, inputs["successes"], inputs["failures"]
    )
    return run_learner(_worker, cfg, inputs, args={"init": str(init)}, name="reward", job_type="reward")


def score_store(cfg: Config, tracker=None) -> dict[str, Any]:
    """Score every step of the reward tags with the RewardServer; write rewards as a new version."""
    from cluster import reward_server
    from lam_rl.data import selection as sel
    from lam_rl.data.sft import agent_builder, scored_examples
    from lam_rl.logs import progress
    from lam_rl.models.factory import load_tokenizer
    from lam_rl.store import TrajectoryStore

    entry = CheckpointRegistry(cfg.run_dir / "checkpoints").require(cfg.reward.output, "jobs.reward")
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir)
    tags = cfg.reward.tags
    if tracker is not None:  # W&B lineage
        registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
        tracker.use_inputs(checkpoints=[entry], registry=registry, store=store, tags=tags)
    ids = sel.select_trajectories(store, tags, success=None)
    rows = sel.read_steps(store, ids, tags)
    pairs = scored_examples(rows, agent_builder(cfg.agent, load_tokenizer(entry.path)))
    keys = [(r["traj_id"], int(r["step"])) for r in sorted(rows, key=lambda r: (r["traj_id"], r["step"]))]
    handle = reward_server.deploy(
        cfg.reward_serve,
        entry.path,
        entry.version,
        http=cfg.serve,
        app_name="reward-scoring",
        route_prefix="/reward-scoring",
    )
    try:
        scores: list[float] = []
        bar = progress(total=len(pairs), desc="scoring steps", unit="step")
        for s in range(0, len(pairs), 256):
            chunk = pairs[s : s + 256]
            responses = [handle.score.remote(e.prompt, e.target) for e, _ in chunk]
            scores += [r.result() for r in responses]
            bar.update(len(chunk))
        bar.close()
    finally:
        from ray import serve

        serve.delete("reward-scoring")
    version = store.write_rewards(
        [(t, st, r) for (t, st), r in zip(keys, scores, strict=True)],
        reward_model=cfg.reward.output,
        reward_model_version=entry.version,
    )
    store.tag(
        cfg.reward.score_tag,
        phase=["collect", "explore"],
        reward_model=cfg.reward.output,
        reward_model_version=entry.version,
        replace=True,
    )
    pos = [r for (_, y), r in zip(pairs, scores, strict=True) if y > 0]
    neg = [r for (_, y), r in zip(pairs, scores, strict=True) if y < 0]
    out = {
        "scored": len(scores),
        "rewards_version": version,
        "mean_reward_success": sum(pos) / max(len(pos), 1),
        "mean_reward_failure": sum(neg) / max(len(neg), 1),
    }
    if tracker is not None:
        tracker.log({f"reward/{k}": v for k, v in out.items()})
    return out
