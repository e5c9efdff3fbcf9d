"""Phase 4a on Ray Train: the reward model (LAM3 backbone + scalar head, LoRA, MSE on +1/-1 step
labels), then scoring: the RewardServer scores every selected step and the rewards are written
back to the store as a new version (the source rows are never rewritten)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cluster.sft import _publish, open_store
from cluster.train import report_result, run_workers, worker_info
from jobs.config import Config, config_from_dict
from lam_rl.checkpoints import CheckpointRegistry, resolve_checkpoint
from lam_rl.config import ConfigError, to_dict

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


def _worker(config: dict[str, Any]) -> None:
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.reward import RewardObjective, build_reward_model, encode_scored
    from lam_rl.data import selection as sel
    from lam_rl.data.sft import agent_builder, scored_examples
    from lam_rl.models.factory import load_tokenizer
    from lam_rl.store import TrajectoryStore
    from lam_rl.tracking import Tracker

    info = worker_info()
    cfg: Config = config_from_dict(config["cfg"])
    init = Path(config["init"])
    tok = load_tokenizer(init)
    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    tags = cfg.reward.tags
    shard = sel.shard_ids(
        sel.select_trajectories(store, tags, success=None), info.rank, info.world, cfg.reward.eval_fraction
    )
    builder = agent_builder(cfg.agent, tok)

    def encoded(ids: list[str]) -> list[dict[str, Any]]:
        pairs = scored_examples(sel.read_steps(store, ids, tags), builder)
        return encode_scored(tok, [e for e, _ in pairs], [y for _, y in pairs], cfg.reward.max_seq_len)

    train, evaluation = encoded(shard.train_ids), encoded(shard.eval_ids)
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    tracker = None
    if info.rank == 0:
        tracker = Tracker(
            cfg.tracking,
            run_dir=cfg.run_dir,
            name="reward",
            job_type="reward",
            config={**config["cfg"], "inputs": config["inputs"]},
        )
        tracker.use_inputs(checkpoints=[init], registry=registry, store=store, tags=tags)  # W&B lineage
        pos = sum(1 for x in train if x["label"] > 0)
        tracker.log(
            {
                "data/train_steps": len(train),
                "data/positive_fraction": pos / max(len(train), 1),
                "data/eval_steps": len(evaluation),
            },
            0,
        )

    def on_checkpoint(hf: Path, step: int, final: bool) -> None:
        if final:
            dest = cfg.run_dir / "checkpoints" / cfg.reward.output
            _publish(hf, dest)
            registry.register(cfg.reward.output, dest, phase="reward", step=step, **config["inputs"])

    learner = Learner(
        build_reward_model(init, tok),
        tok,
        RewardObjective(tok.pad_token_id),
        cfg.learner,
        cfg.reward.optim,
        cfg.run_dir / "train" / cfg.reward.output,
        lora=cfg.reward.lora,
        lora_task="SEQ_CLS",
        use_gpu=config["_use_gpu"],
        seed=cfg.run.seed,
        report=tracker.log if tracker else None,
        on_checkpoint=on_checkpoint,
        name="reward",
    )
    result = learner.fit(train, evaluation)
    summary = {
        "steps": result.steps,
        "final_loss": result.final_loss,
        **{f"eval_{k}": v for k, v in result.eval_metrics.items()},
    }
    if tracker is not None:
        tracker.summary(**summary)
        tracker.finish()
    report_result(summary)


def train_reward(cfg: Config) -> dict[str, Any]:
    init, inputs = check_inputs(cfg)
    log.info(
        "reward model from %s on %d successes / %d failures", init, inputs["successes"], inputs["failures"]
    )
    return run_workers(
        _worker,
        {"cfg": to_dict(cfg), "init": str(init), "inputs": inputs},
        cfg.learner,
        name="reward",
        storage_path=cfg.run_dir / "ray_train",
    )


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
        cfg.reward_serve, entry.path, entry.version, app_name="reward-scoring", route_prefix="/reward-scoring"
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
