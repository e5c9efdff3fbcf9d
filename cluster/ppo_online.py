"""Online PPO: act in WordSim VMs with the current policy, learn, swap the new weights in.

Runs inside the PPO worker group (``cluster/ppo.py``). Each iteration, rank 0 exports the actor,
registers it as a new version and points the policy server at it; rollout workers play the
training tasks; the steps come back from the store, each answer scored by
``ppo.online_step_reward * RM(state, answer) + (1 - ppo.online_step_reward) * outcome`` (outcome:
the verifier's verdict on the whole episode, 1 or 0; an invalid answer gets ``ppo.invalid_score``).
All ranks then take an equal share of the experience for the PPO update.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from cluster import policy_server
from cluster.collect import checkpoint_spec, run_rollouts
from cluster.ppo import progress_figures
from cluster.rollout import WorkItem
from lam_rl.algos import engine as eng
from lam_rl.algos import ppo_math as pm
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.logs import StepProgress

if TYPE_CHECKING:
    from jobs.config import Config

log = logging.getLogger(__name__)
APP = "policy-ppo"


VALID_FLOOR = 0.1  # a parseable, executed answer is worth more than an unparseable one


def verifier_credit(success: bool, sub_scores: str | dict | None) -> float:
    """(progress + success) / 2 in [0, 1], progress being the mean of the verifier's sub-scores."""
    subs = json.loads(sub_scores) if isinstance(sub_scores, str) else (sub_scores or {})
    vals = [float(v) for v in subs.values() if isinstance(v, int | float)]
    progress = sum(vals) / len(vals) if vals else float(success)
    return (progress + float(success)) / 2


def episode_experience(
    cfg: Config, traj_ids: list[str], tok, scorer
) -> tuple[list[str], list[str], list[float]]:
    """(prompts, answers, sigmoid-scale scores) of every step the policy took in these episodes.

    A parseable answer scores ``VALID_FLOOR + (1 - VALID_FLOOR) * (w * rm + (1 - w) * credit)``, with
    ``w = ppo.online_step_reward``, ``rm`` the reward model's score of the step and ``credit`` the
    episode's verifier verdict, ``(progress + success) / 2`` (progress: the mean of its sub-scores),
    so a failed episode that got part of the way still ranks above one that did nothing useful. An
    unparseable answer scores ``ppo.invalid_score``.
    """
    from lam_rl.agent.parse import parse_decision
    from lam_rl.data.selection import STEP_COLUMNS
    from lam_rl.data.sft import agent_builder
    from lam_rl.eval.offline import group_trajectories, teacher_forced_prompts
    from lam_rl.store import TrajectoryStore

    store = TrajectoryStore.from_config(cfg.store, cfg.run_dir, create=False)
    rows = store.steps(traj_id=traj_ids, columns=STEP_COLUMNS, allow_empty=True).to_pylist()
    verdicts = {
        o["traj_id"]: verifier_credit(o["success"], o["sub_scores"])
        for o in store.outcomes(traj_id=traj_ids, columns=["traj_id", "success", "sub_scores"]).to_pylist()
    }
    builder = agent_builder(cfg.agent, tok)
    prompts, answers, outcome = [], [], []
    for traj in group_trajectories(rows):
        prompts += teacher_forced_prompts(traj, builder)
        answers += [(r.get("raw") or "").strip() for r in traj]
        outcome += [verdicts.get(r["traj_id"], 0.0) for r in traj]
    if scorer is not None and prompts and cfg.ppo.online_step_reward > 0:
        rm = scorer.score(prompts, [a or "{}" for a in answers], max_len=cfg.reward.max_seq_len)
    else:  # the verifier's outcome alone
        rm = [0.0] * len(prompts)
    w = cfg.ppo.online_step_reward
    scores = [
        VALID_FLOOR + (1 - VALID_FLOOR) * (w * r + (1 - w) * o)
        if parse_decision(a).valid
        else cfg.ppo.invalid_score
        for r, o, a in zip(rm, outcome, answers, strict=True)
    ]
    return prompts, answers, scores


def online_loop(cfg: Config, learner, tok, scorer, info, tracker) -> None:
    from lam_rl.env.tasks import sample_tasks, stream_seed

    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    tasks = sample_tasks(
        cfg.ppo.online_tasks,
        stream_seed(cfg.run.seed, "online"),
        split="train",
        families=list(cfg.collect.families) or None,
    )
    serve_cfg = dataclasses.replace(cfg.policy, temperature=cfg.ppo.temperature)  # on-policy: sample
    iterations = cfg.ppo.iterations  # >= 1 online (PPOConfig's rule)
    deployed = False
    bar = StepProgress("ppo-online", iterations, unit="iteration", enabled=info.rank == 0, logger=log)
    try:
        for it in range(iterations + 1):  # the last pass only measures the final policy
            path = learner.export_hf(cfg.run_dir / "train" / f"{cfg.ppo.output}-online" / f"iter{it}")
            payload: list[Any] = [None]
            if info.rank == 0:
                entry = registry.register(cfg.ppo.output, path, phase="ppo-online", step=it, final=False)
                if not deployed:
                    policy_server.deploy(
                        serve_cfg, path, entry.version, http=cfg.serve, app_name=APP, route_prefix=f"/{APP}"
                    )
                    deployed = True
                else:
                    policy_server.swap_checkpoint(
                        path, entry.version, app_name=APP, replicas=cfg.policy.num_replicas
                    )
                items = [WorkItem(f"ppo-online:{it}:{t.task_id}", t.model_dump(mode="json")) for t in tasks]
                spec = checkpoint_spec(cfg, cfg.ppo.output, f"{path}/tokenizer.json", app=APP)
                summary = run_rollouts(
                    cfg, items, spec, phase="ppo-online", desc=f"ppo online iteration {it}"
                )
                if tracker is not None:
                    tracker.log(
                        {
                            "online/success_rate": summary.success_rate,
                            "online/iteration": it,
                            "online/invalid_actions": summary.invalid,
                            "online/steps": summary.steps,
                        },
                        it,
                    )
                log.info(
                    "online PPO iteration %d: success %.1f%% with version %d",
                    it,
                    100 * summary.success_rate,
                    entry.version,
                )
                payload = [
                    episode_experience(cfg, [i.traj_id for i in items], tok, scorer)
                    if it < iterations
                    else None
                ]
            if dist.is_initialized() and dist.get_world_size() > 1:
                dist.broadcast_object_list(payload, src=0, device=eng.comm_device())
            if it == iterations:
                break
            prompts, answers, scores = payload[0]
            n = len(prompts) // info.world * info.world
            mine = slice(info.rank, n, info.world)
            exp = learner.experience(
                prompts[mine], answers[mine], pm.normalize_scores(torch.tensor(scores[mine]))
            )
            metrics = learner.update(exp)
            if tracker is not None:
                tracker.log(metrics, it)
            if info.rank == 0:  # the success rate of the episodes this update learned from
                bar.update(it + 1, success=summary.success_rate, **progress_figures(metrics))
    finally:
        if info.rank == 0 and deployed:
            policy_server.shutdown(APP)
