"""Phase 4b on Ray Train: PPO from LAM3 to LAM4.

offline (the paper): the states of failed trajectories are re-answered by the policy, the reward
model scores the answers, and PPO (``lam_rl.algos.ppo.PPOLearner``: actor, critic and frozen
reference as DeepSpeed engines) updates the policy; no VM is touched.

online (beyond the paper): each iteration rank 0 serves the current policy (policy server),
rollout workers play training tasks in WordSim VMs, and every step's answer is scored by the RM
plus the verifier's outcome; after the update the new weights are registered and swapped in.
"""

from __future__ import annotations

import logging
import math
import random
from typing import TYPE_CHECKING, Any

from cluster.sft import open_store
from cluster.train import WorkerRun, run_learner
from lam_rl.checkpoints import CheckpointRegistry, resolve_checkpoint
from lam_rl.config import ConfigError
from lam_rl.phases import PHASES

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)


def check_inputs(cfg: Config) -> dict[str, Any]:
    from lam_rl.data.selection import require_rows, select_trajectories

    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    init = resolve_checkpoint(cfg.ppo.init_checkpoint, registry, "jobs.sft phase=boost")
    needs_rm = cfg.ppo.mode == "offline" or cfg.ppo.online_step_reward > 0
    rm = resolve_checkpoint(cfg.ppo.rm_checkpoint, registry, "jobs.reward") if needs_rm else None
    tags = list(cfg.reward.tags)
    snapshot = None  # online PPO reads nothing recorded before it: its episodes are its own
    if cfg.ppo.mode == "offline":
        store = open_store(cfg, "jobs.collect and jobs.explore (offline PPO learns on their failures)")
        for t in tags:
            if not store.has_tag(t):
                raise ConfigError(
                    f"store tag '{t}' does not exist in {cfg.store_uri}; run jobs.collect/jobs.explore"
                )
        failed = select_trajectories(store, tags, success=False)
        require_rows(
            len(failed), f"failed trajectories of {tags}", "offline PPO learns on the expert's failures"
        )
        snapshot = store.snapshot().to_dict()
    return {"init": str(init), "rm": str(rm) if rm else None, "tags": tags, "store_snapshot": snapshot}


def offline_states(cfg: Config, tok, rank: int, world: int) -> list[str]:
    """This rank's prompts: every recorded state of the failed trajectories (reference history)."""
    from lam_rl.data import selection as sel
    from lam_rl.data.sft import agent_builder
    from lam_rl.eval.offline import group_trajectories, teacher_forced_prompts
    from lam_rl.store import TrajectoryStore

    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    tags = list(cfg.reward.tags)
    shard = sel.shard_ids(sel.select_trajectories(store, tags, success=False), rank, world, 0.0)
    builder = agent_builder(cfg.agent, tok)
    prompts = [
        p
        for traj in group_trajectories(sel.read_steps(store, shard.train_ids, tags))
        for p in teacher_forced_prompts(traj, builder)
    ]
    random.Random(cfg.run.seed).shuffle(prompts)
    return prompts[: max(1, cfg.ppo.max_states // world)] if cfg.ppo.max_states else prompts


def progress_figures(metrics: dict[str, float]) -> dict[str, float]:
    """What a PPO iteration's progress line shows: the losses, reward, KL and tokens processed."""
    return {
        "loss": metrics["ppo/policy_loss"],
        "value_loss": metrics["ppo/value_loss"],
        "reward": metrics["ppo/reward_mean"],
        "kl": metrics["ppo/kl"],
        "tokens": int(metrics["ppo/tokens"]),
    }


def _worker(run: WorkerRun) -> dict[str, Any]:
    from lam_rl.agent.parse import parse_decision
    from lam_rl.algos import engine as eng
    from lam_rl.algos.ppo import PPOLearner
    from lam_rl.algos.reward import RewardScorer
    from lam_rl.models.factory import load_tokenizer
    from lam_rl.store import TrajectoryStore

    info, cfg, inputs = run.info, run.cfg, run.inputs
    tok = load_tokenizer(inputs["init"])
    scorer = RewardScorer(inputs["rm"]) if inputs["rm"] else None

    def score(prompts, answers):
        assert scorer is not None, "offline PPO needs a reward model"
        return scorer.score(prompts, answers, max_len=cfg.reward.max_seq_len)

    learner = PPOLearner(
        inputs["init"],
        tok,
        cfg.ppo,
        cfg.learner,
        score,
        use_gpu=run.use_gpu,
        seed=cfg.run.seed,
        is_valid=lambda text: parse_decision(text).valid,
    )
    tracker = run.tracker
    if tracker is not None:
        offline = cfg.ppo.mode == "offline"
        store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False) if offline else None
        tracker.use_inputs(  # W&B lineage: LAM3, the RM, and (offline) the tags of the states it re-answers
            checkpoints=[inputs["init"], inputs["rm"]],
            registry=run.registry,
            store=store,
            tags=inputs["tags"] if offline else [],
        )
    per_rank = max(1, cfg.ppo.batch_size // info.world)
    if cfg.ppo.mode == "offline":
        from lam_rl.logs import StepProgress

        states = offline_states(cfg, tok, info.rank, info.world)
        iterations = cfg.ppo.iterations or math.ceil(len(states) / per_rank)
        iterations = eng.all_reduce_min(iterations)
        bar = StepProgress("ppo-offline", iterations, unit="iteration", enabled=info.rank == 0, logger=log)
        for it in range(iterations):
            batch = [states[(it * per_rank + j) % len(states)] for j in range(per_rank)]
            metrics = learner.step(batch)
            if tracker is not None:
                tracker.log(metrics, it)
            bar.update(it + 1, **progress_figures(metrics))
    else:
        from cluster.ppo_online import online_loop

        online_loop(cfg, learner, tok, scorer, info, tracker)
    out = PHASES["ppo"].learner_dir(cfg) / "final"
    learner.export_hf(out)
    if info.rank == 0:
        run.publish(out, cfg.ppo.output, phase="ppo", step=learner.iteration, mode=cfg.ppo.mode, **inputs)
    return {"iterations": learner.iteration, "kl_coef": learner.kl_ctl.value}


def train_ppo(cfg: Config) -> dict[str, Any]:
    if cfg.ppo.algo in ("grpo", "rloo"):  # TRL's online trainers (offline: a ConfigError there)
        from cluster.trl_online import train_trl_online

        return train_trl_online(cfg)
    inputs = check_inputs(cfg)
    online = cfg.ppo.mode == "online"
    log.info("ppo %s: %s -> %s with RM %s", cfg.ppo.mode, inputs["init"], cfg.ppo.output, inputs["rm"])
    return run_learner(
        _worker,
        cfg,
        inputs,
        name=f"ppo-{cfg.ppo.mode}",
        job_type="ppo",
        # online: the policy server the workers start needs its CPUs (and GPUs)
        reserve_cpus=cfg.policy.cpus_per_replica * cfg.policy.num_replicas if online else 0.0,
        reserve_gpus=cfg.policy.gpus_per_replica * cfg.policy.num_replicas if online else 0.0,
    )
