"""Online GRPO / RLOO (TRL) from LAM3 on WordSim: ``jobs.ppo ppo.mode=online ppo.algo=grpo|rloo``.

The trainer is TRL's own (``GRPOTrainer`` / ``RLOOTrainer``); what lam-rl adds is the environment
side (``lam_rl.algos.trl_online``: prompts of the expert's states on the training tasks, a reward
that executes each sampled decision in WordSim and asks the verifier) and the run plumbing here.

It runs inside one Ray Train worker (``cluster.train.run_learner`` with ``num_workers=1``): the worker
gets its CPUs/GPU from Ray, TRL's accelerate finds a single-process group and trains without DDP.
Rank 0 logs TRL's metrics (reward mean/std, KL, entropy, clip ratios, completion lengths, and the
WordSim validity/success rates) through ``lam_rl.tracking.Tracker`` and registers the final HF folder
as ``ppo.output`` (LAM4), so evaluation finds it like the PPO result.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from cluster.train import WorkerRun, run_learner
from lam_rl.checkpoints import CheckpointRegistry, resolve_checkpoint
from lam_rl.config import ConfigError
from lam_rl.phases import PHASES

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)


def check_inputs(cfg: Config) -> dict[str, Any]:
    algo = cfg.ppo.algo
    if algo not in ("grpo", "rloo"):
        raise ConfigError(f"cluster.trl_online runs ppo.algo=grpo|rloo, not {algo!r} (use cluster.ppo)")
    # ppo.mode=online with these algos is PPOConfig's rule: a config that breaks it never loads
    if cfg.learner.num_workers != 1:
        log.warning(
            "ppo.algo=%s trains in one Ray Train worker; learner.num_workers=%d ignored",
            algo,
            cfg.learner.num_workers,
        )
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    init = resolve_checkpoint(cfg.ppo.init_checkpoint, registry, "jobs.sft phase=boost")
    return {"init": str(init), "algo": algo, "families": list(cfg.collect.families)}


def _worker(run: WorkerRun) -> dict[str, Any]:
    from lam_rl.algos import trl_online as T
    from lam_rl.data.sft import agent_builder
    from lam_rl.env.tasks import sample_tasks, stream_seed
    from lam_rl.models import load_tokenizer, save_pretrained

    info, cfg, inputs = run.info, run.cfg, run.inputs
    algo = inputs["algo"]
    tok = load_tokenizer(inputs["init"])
    tasks = sample_tasks(
        cfg.ppo.online_tasks,
        stream_seed(cfg.run.seed, "online"),
        split="train",
        families=inputs["families"] or None,
    )
    rows = T.expert_states(tasks, agent_builder(cfg.agent, tok), cfg.ppo.max_states)
    if run.tracker is not None:  # W&B lineage
        run.tracker.use_inputs(checkpoints=[inputs["init"]], registry=run.registry)
    reward = T.WordSimReward(cfg.ppo.invalid_score, cfg.ppo.expert_finish, cfg.rollout.max_steps)
    logs = T.tracker_callback(run.tracker, algo)
    trainer = T.build_trainer(
        algo,
        inputs["init"],
        tok,
        rows,
        reward,
        cfg.ppo,
        cfg.run_dir / "train" / f"{cfg.ppo.output}-{algo}",
        seed=cfg.run.seed,
        use_cpu=not run.use_gpu,
        precision=cfg.learner.precision,
        callbacks=[logs],
    )
    log.info("%s on %s: %s, %d steps", algo, inputs["init"], T.task_summary(rows), trainer.args.max_steps)
    trainer.train()
    reward.close()
    steps = int(trainer.state.global_step)
    summary = {"algo": algo, "iterations": steps, **T.task_summary(rows)}
    summary.update({k: v for k, v in logs.last.items() if k in ("reward", "kl", "entropy")})
    if info.rank == 0:
        out = save_pretrained(trainer.model, tok, PHASES["ppo-online"].learner_dir(cfg) / "final")
        run.publish(out, cfg.ppo.output, phase="ppo", step=steps, mode="online", **inputs)
    return summary


def train_trl_online(cfg: Config) -> dict[str, Any]:
    """Run TRL's GRPO or RLOO (``ppo.algo``) online on WordSim; returns rank 0's summary."""
    inputs = check_inputs(cfg)
    log.info("ppo online %s (TRL): %s -> %s", inputs["algo"], inputs["init"], cfg.ppo.output)
    return run_learner(
        _worker,
        cfg,
        inputs,
        name=f"ppo-online-{inputs['algo']}",
        job_type="ppo",
        learner=dataclasses.replace(cfg.learner, num_workers=1),
    )
