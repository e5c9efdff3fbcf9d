"""Online GRPO / RLOO through TRL on WordSim: one decision per prompt, rewarded by executing it.

TRL's ``GRPOTrainer`` and ``RLOOTrainer`` are single-turn: a dataset of prompts, a group of sampled
completions per prompt, a reward per completion. WordSim fits that shape as follows.

**States (the dataset).** For each training task the noise-free scripted expert plays the task's
reference actions in an in-process WordSim; every state it passes through (the first one and each one
reached by an expert prefix of ``k`` steps) becomes a row: the Appendix C prompt for that state (built
exactly as the rollout worker builds it: same control filter, history of the previous actions and the
previous plan) as a chat message, the task (JSON) and ``prefix = k``.

**Reward (one completion).** The completion is the model's JSON decision for that state. It is scored
on the sigmoid scale of the rest of lam-rl (``[0, 1]``) and handed to TRL as ``score - 0.5`` (the
``[-0.5, 0.5]`` range of ``ppo_math.normalize_scores``):

- unparseable (``parse_decision`` fails), ungrounded (no control of the live observation matches its
  label/name), or rejected by WordSim (impossible action, ``ok=False``): ``ppo.invalid_score``
  (default 0.0, reward -0.5);
- otherwise a fresh WordSim is reset to the task and the expert prefix replayed (deterministic: the
  same observation and labels as the prompt), the decision is executed, and then, unless it said
  FINISH, the noise-free expert plays the *remaining* reference steps (``k+1 ...``) when
  ``ppo.expert_finish`` is on (off: the verifier judges the state right after the action). The
  verifier's verdict gives ``progress`` (the mean of its sub-scores) and ``success`` (complete ==
  "yes"), and the score is ``EXECUTED_FLOOR + (1 - EXECUTED_FLOOR) * (progress + success) / 2``.

So a correct step scores 1.0 (reward +0.5): the expert can finish the task from where it left off; a
wrong but executable step (Italic instead of Bold, a premature FINISH) scores between 0.1 and 1.0
by how many checks still pass; an invalid or ungrounded answer scores ``invalid_score``. The fraction
of valid, grounded and successful completions is logged per step (``wordsim/*``).

This module has no Ray in it: ``build_trainer`` gives a ready TRL trainer a notebook can ``train()``;
``cluster/trl_online.py`` runs it inside a Ray Train worker and registers the result.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lam_rl.agent.args import candidates_in_prompt, resolve_args
from lam_rl.agent.grounding import ground
from lam_rl.agent.parse import parse_decision
from lam_rl.agent.prompt import HistoryItem, PromptBuilder
from lam_rl.env.protocol import Decision, Observation, TaskSpec

log = logging.getLogger(__name__)

EXECUTED_FLOOR = 0.1
"""Score of any valid, grounded, executed decision before the verifier's credit (above invalid_score)."""
ALGOS = ("grpo", "rloo")


# ----------------------------------------------------------------------------- WordSim replay


def _new_vm(name: str):
    from lam_rl.env.client import VMClient
    from lam_rl.env.wordsim import WordSim

    return VMClient.in_process(WordSim(name))


def _expert(task: TaskSpec):
    from lam_rl.env.config import ExpertConfig
    from lam_rl.env.expert import ExpertPolicy

    expert = ExpertPolicy(ExpertConfig(noise=False))
    expert.reset(task)
    return expert


@dataclass
class Executed:
    ok: bool
    obs: Observation
    history: HistoryItem | None = None  # what the next prompt shows for this step
    error: str | None = None


def execute(vm, decision: Decision, obs: Observation) -> Executed:
    """Ground ``decision`` on ``obs`` and step the VM (a bare FINISH changes nothing)."""
    if not decision.function:
        return Executed(True, obs)
    g = ground(decision, obs)
    if g.action is None or g.control is None:
        return Executed(False, obs, error=f"ungrounded: {g.error}")
    res = vm.step(g.action)
    if not res.ok:
        return Executed(False, obs, error=f"rejected: {res.error}")
    item = HistoryItem(g.control.text, g.control.type, decision.function, dict(decision.args))
    return Executed(True, res.observation, item)


def replay(vm, task: TaskSpec, prefix: int):
    """Reset ``vm`` to ``task`` and let the noise-free expert play ``prefix`` steps.

    Returns (observation, expert, history, plan): the state a prompt with this prefix was built on,
    the expert positioned at step ``prefix``, and the prompt's history and previous plan."""
    obs = vm.reset(task)
    expert = _expert(task)
    history: list[HistoryItem] = []
    plan: list[str] = []
    for k in range(prefix):
        d = expert.act(obs)
        done = execute(vm, d, obs)
        if not done.ok:  # the noise-free expert solves every task (lam_rl.env.expert)
            raise RuntimeError(f"expert replay of {task.task_id} failed at step {k}: {done.error}")
        obs = done.obs
        if done.history is not None:
            history.append(done.history)
        plan = list(d.plan)
    return obs, expert, history, plan


def expert_states(
    tasks: Sequence[TaskSpec], builder: PromptBuilder, max_states: int = 0
) -> list[dict[str, Any]]:
    """Dataset rows: every state the noise-free expert passes through on each task, as a prompt."""
    vm = _new_vm("trl-states")
    rows: list[dict[str, Any]] = []
    for task in tasks:
        obs, expert, history, plan = replay(vm, task, 0)
        for k in range(64):
            prompt = builder.build(obs, task.request, history, plan)
            rows.append(
                {
                    "prompt": [{"role": "user", "content": prompt.text}],
                    "task": task.model_dump_json(),
                    "prefix": k,
                }
            )
            d = expert.act(obs)
            done = execute(vm, d, obs)
            if d.status == "FINISH" or not done.ok:
                break
            obs = done.obs
            if done.history is not None:
                history.append(done.history)
            plan = list(d.plan)
    vm.close()
    return rows[:max_states] if max_states else rows


# ----------------------------------------------------------------------------- reward


@dataclass
class Scored:
    score: float  # sigmoid scale [0, 1]
    kind: str  # invalid | ungrounded | rejected | executed
    success: bool = False
    progress: float = 0.0


def completion_text(completion: Any) -> str:
    """TRL hands conversational completions as a message list, plain ones as a string."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion:
        return str(completion[-1].get("content") or "")
    return ""


class WordSimReward:
    """The reward function TRL calls: ``(prompts, completions, task=[...], prefix=[...]) -> rewards``."""

    __name__ = "wordsim"

    def __init__(self, invalid_score: float = 0.0, expert_finish: bool = True, max_extra_steps: int = 16):
        self.invalid_score = invalid_score
        self.expert_finish = expert_finish
        self.max_extra_steps = max_extra_steps
        self.vm = _new_vm("trl-reward")

    def score(self, task: TaskSpec, prefix: int, text: str, prompt: str = "") -> Scored:
        parsed = parse_decision(text)
        if not parsed.valid:
            return Scored(self.invalid_score, "invalid")
        d = parsed.decision
        assert d is not None
        # argument labels (agent.arg_labels) resolve against the list the prompt showed
        args, _, why = resolve_args(dict(d.args), candidates_in_prompt(prompt), d.function)
        if why is not None:
            return Scored(self.invalid_score, "invalid")
        d = d.model_copy(update={"args": args})
        obs, expert, _, _ = replay(self.vm, task, prefix)
        done = execute(self.vm, d, obs)
        if not done.ok:
            kind = "ungrounded" if (done.error or "").startswith("ungrounded") else "rejected"
            return Scored(self.invalid_score, kind)
        obs = done.obs
        if d.status != "FINISH" and self.expert_finish:
            expert.act(obs)  # the step the model just took: the expert moves past it
            for _ in range(self.max_extra_steps):
                e = expert.act(obs)
                step = execute(self.vm, e, obs)
                obs = step.obs
                if e.status == "FINISH" or not step.ok:
                    break
        verdict = self.vm.evaluate()
        success = verdict.complete == "yes"
        subs = list(verdict.sub_scores.values())
        progress = sum(subs) / len(subs) if subs else float(success)
        credit = (progress + float(success)) / 2
        return Scored(EXECUTED_FLOOR + (1 - EXECUTED_FLOOR) * credit, "executed", success, progress)

    def __call__(self, prompts, completions, task, prefix, log_metric: Callable | None = None, **_: Any):
        out = [
            self.score(TaskSpec.model_validate_json(t), int(k), completion_text(c), completion_text(p))
            for p, c, t, k in zip(prompts, completions, task, prefix, strict=True)
        ]
        if log_metric is not None and out:
            n = len(out)
            log_metric("wordsim/valid", sum(s.kind != "invalid" for s in out) / n)
            log_metric("wordsim/executed", sum(s.kind == "executed" for s in out) / n)
            log_metric("wordsim/success", sum(s.success for s in out) / n)
            log_metric("wordsim/score", sum(s.score for s in out) / n)
        return [min(max(s.score, 0.0), 1.0) - 0.5 for s in out]

    def close(self) -> None:
        self.vm.close()


# ----------------------------------------------------------------------------- the TRL trainer


def tracker_callback(tracker, prefix: str):
    """A transformers callback that mirrors TRL's logs (reward, KL, entropy, ...) into a Tracker and
    shows the run's progress on the console (``lam_rl.logs.StepProgress``)."""
    from transformers import TrainerCallback

    from lam_rl.logs import StepProgress

    class _ToTracker(TrainerCallback):
        def __init__(self) -> None:
            self.last: dict[str, float] = {}  # the latest value of every key logged so far
            self.bar: StepProgress | None = None
            self._tokens = 0.0

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            scalars = {
                k: float(v) for k, v in logs.items() if isinstance(v, int | float) and math.isfinite(v)
            }
            self.last.update(scalars)
            if tracker is not None:
                tracker.log({f"{prefix}/{k}": v for k, v in scalars.items()}, state.global_step)
            if "reward" in scalars:  # a training step's log (not the final summary)
                if self.bar is None:
                    self.bar = StepProgress(f"ppo-online-{prefix}", state.max_steps, logger=log)
                tokens = scalars.get("num_tokens", self._tokens)  # TRL counts them cumulatively
                figures = {k: scalars[k] for k in ("reward", "kl") if k in scalars}
                self.bar.update(
                    state.global_step, loss=scalars.get("loss"), tokens=int(tokens - self._tokens), **figures
                )
                self._tokens = tokens

    return _ToTracker()


def trainer_args(algo: str, ppo, out_dir: Path, *, steps: int, seed: int, use_cpu: bool, precision: str):
    """GRPOConfig / RLOOConfig from lam-rl's PPOConfig (the mapping is listed in docs/trl_online.md)."""
    from trl import GRPOConfig, RLOOConfig

    common = dict(
        output_dir=str(out_dir),
        learning_rate=ppo.lr,
        per_device_train_batch_size=ppo.batch_size * ppo.num_generations,
        gradient_accumulation_steps=1,
        num_generations=ppo.num_generations,
        max_completion_length=ppo.gen_length,
        temperature=ppo.temperature,
        beta=ppo.init_kl_coef,
        epsilon=ppo.clip,
        num_iterations=ppo.ppo_epochs,
        max_steps=steps,
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=seed,
        use_cpu=use_cpu,
        bf16=precision == "bf16" and not use_cpu,
        fp16=precision == "fp16" and not use_cpu,
        dataloader_num_workers=0,
    )
    return (GRPOConfig if algo == "grpo" else RLOOConfig)(**common)


def build_trainer(
    algo: str,
    model_path: str | Path,
    tokenizer,
    rows: list[dict[str, Any]],
    reward: WordSimReward,
    ppo,
    out_dir: Path,
    *,
    seed: int = 0,
    use_cpu: bool = True,
    precision: str = "fp32",
    callbacks: Sequence[Any] = (),
):
    """A TRL GRPOTrainer/RLOOTrainer over ``rows`` (from ``expert_states``), one step = batch_size states.

    The model is passed as a local path: TRL rebuilds the frozen reference from it when beta > 0."""
    from datasets import Dataset
    from trl import GRPOTrainer, RLOOTrainer

    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    steps = ppo.iterations or max(1, math.ceil(len(rows) / ppo.batch_size))
    args = trainer_args(algo, ppo, out_dir, steps=steps, seed=seed, use_cpu=use_cpu, precision=precision)
    cls = GRPOTrainer if algo == "grpo" else RLOOTrainer
    return cls(
        model=str(model_path),
        reward_funcs=[reward],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=list(callbacks),
    )


def task_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    tasks = {json.loads(r["task"])["task_id"] for r in rows}
    return {"states": len(rows), "tasks": len(tasks)}
