"""PPO for a LAM (phase 4), lam-rl's own: TRL 1.x ships none. Usable with or without Ray.

One :class:`PPOLearner` per data-parallel rank holds three DeepSpeed engines: the actor (the
policy, from LAM3), the critic (the LAM3 backbone with a per-token value head) and the frozen
reference (LAM3). An iteration reads top to bottom:

1. ``rollout``: the actor answers each state's prompt (sampling); the reward function scores the
   answers (the reward model's sigmoid in [0, 1], minus 0.5 -> [-0.5, 0.5]; an unparseable answer
   gets -0.5). Online mode passes answers and scores from the rollout workers instead.
2. ``experience``: log-probabilities under actor and reference, the critic's values; per-token
   rewards (KL penalty + score at the end), GAE advantages (whitened) and returns.
3. ``update``: ``ppo_epochs`` passes over minibatches: clipped policy loss on the actor, clipped
   value loss on the critic; then the adaptive KL coefficient moves toward ``target_kl``.

The maths is in ``lam_rl.algos.ppo_math`` (unit-tested).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lam_rl.algos import engine as eng
from lam_rl.algos import ppo_math as pm
from lam_rl.algos.config import LearnerConfig, PPOConfig

log = logging.getLogger(__name__)

# scores (sigmoid, in [0, 1]) for (prompts, answers)
ScoreFn = Callable[[Sequence[str], Sequence[str]], list[float]]


@dataclass
class Experience:
    input_ids: torch.Tensor  # (B, L) prompt + answer, right-padded
    attention_mask: torch.Tensor  # (B, L)
    mask: torch.Tensor  # (B, L-1) 1 where the token predicted at t+1 belongs to the answer
    old_logprobs: torch.Tensor  # (B, L-1)
    ref_logprobs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    scores: torch.Tensor  # (B,) in [-0.5, 0.5]
    kl: torch.Tensor  # (B,) sequence KL to the reference
    answers: list[str]


def _config(lr: float, cfg: PPOConfig, learner: LearnerConfig, world: int, trainable: bool) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "train_batch_size": cfg.minibatch_size * world,
        "train_micro_batch_size_per_gpu": cfg.minibatch_size,
        "gradient_accumulation_steps": 1,
        "bf16": {"enabled": learner.precision == "bf16"},
        "fp16": {"enabled": learner.precision == "fp16"},
        "zero_optimization": {"stage": learner.zero_stage if trainable or learner.zero_stage == 3 else 0},
        "steps_per_print": 10**9,
    }
    if trainable:
        conf["gradient_clipping"] = learner.gradient_clipping
        conf["optimizer"] = {
            "type": "AdamW",
            "params": {"lr": lr, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.0, "torch_adam": True},
        }
    return conf


class PPOLearner:
    def __init__(
        self,
        init_path: str | os.PathLike,
        tokenizer,
        cfg: PPOConfig,
        learner: LearnerConfig,
        score_fn: ScoreFn,
        *,
        use_gpu: bool = False,
        seed: int = 0,
        is_valid: Callable[[str], bool] | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

        self.cfg, self.learner = cfg, learner
        self.tokenizer = tokenizer
        self.score_fn = score_fn
        self.is_valid = is_valid or (lambda text: True)
        self.rank, self.world = eng.init_distributed(eng.backend_for(use_gpu))
        self.device = eng.rank_device(use_gpu)  # the engines' device; collectives use it too (NCCL)
        torch.manual_seed(seed + self.rank)
        self.rng = random.Random(seed + self.rank)
        # fp32 master weights whatever the checkpoint's dtype (transformers 5 would keep a bf16 one in
        # bf16); DeepSpeed casts them when learner.precision is bf16/fp16
        load = {"local_files_only": True, "dtype": torch.float32}
        actor = AutoModelForCausalLM.from_pretrained(str(init_path), **load)
        ref = AutoModelForCausalLM.from_pretrained(str(init_path), **load).eval().requires_grad_(False)
        with eng.new_head_load():  # the value head is new
            critic = AutoModelForTokenClassification.from_pretrained(str(init_path), num_labels=1, **load)
        critic.config.pad_token_id = tokenizer.pad_token_id
        self.actor = eng.build_engine(actor, _config(cfg.lr, cfg, learner, self.world, True))
        self.critic = eng.build_engine(critic, _config(cfg.critic_lr, cfg, learner, self.world, True))
        self.ref = eng.build_engine(ref, _config(0.0, cfg, learner, self.world, False), trainable=False)
        self.kl_ctl = pm.AdaptiveKLController(cfg.init_kl_coef, cfg.target_kl or None, cfg.kl_horizon)
        self.iteration = 0

    # ------------------------------------------------------------------ 1. rollout
    @torch.no_grad()
    def generate(self, prompts: Sequence[str]) -> list[str]:
        from lam_rl.data.sft import chat_prompt

        tok = self.tokenizer
        tok.padding_side = "left"
        texts = [chat_prompt(tok, p) for p in prompts]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        self.actor.eval()
        out = self.actor.module.generate(
            **enc,
            do_sample=self.cfg.temperature > 0,
            temperature=max(self.cfg.temperature, 1e-5),
            top_p=1.0,
            max_new_tokens=self.cfg.gen_length,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        )
        self.actor.train()
        answers = []
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            row = row[: row.index(tok.eos_token_id)] if tok.eos_token_id in row else row
            answers.append(tok.decode([t for t in row if t != tok.pad_token_id], skip_special_tokens=True))
        return answers

    def score(self, prompts: Sequence[str], answers: Sequence[str]) -> torch.Tensor:
        raw = list(self.score_fn(prompts, answers))
        raw = [r if self.is_valid(a) else self.cfg.invalid_score for r, a in zip(raw, answers, strict=True)]
        return pm.normalize_scores(torch.tensor(raw, dtype=torch.float32))

    # ------------------------------------------------------------------ 2. experience
    def _sequences(self, prompts: Sequence[str], answers: Sequence[str]):
        from lam_rl.data.sft import chat_prompt

        tok = self.tokenizer
        p_ids = tok([chat_prompt(tok, p) for p in prompts], add_special_tokens=False)["input_ids"]
        a_ids = tok(list(answers), add_special_tokens=False)["input_ids"]
        seqs, starts = [], []
        for p, a in zip(p_ids, a_ids, strict=True):
            a = [*a[: self.cfg.gen_length], tok.eos_token_id]
            seqs.append(p + a)
            starts.append((len(p), len(p) + len(a)))
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), tok.pad_token_id, dtype=torch.long)
        attn = torch.zeros_like(ids)
        resp = torch.zeros_like(ids)
        for i, (s, (a0, a1)) in enumerate(zip(seqs, starts, strict=True)):
            ids[i, : len(s)] = torch.tensor(s)
            attn[i, : len(s)] = 1
            resp[i, a0:a1] = 1
        return ids.to(self.device), attn.to(self.device), resp[:, 1:].to(self.device)

    def _logprobs(self, engine, ids, attn) -> tuple[torch.Tensor, torch.Tensor]:
        # in fp32: under bf16 the probability ratios and KL of nearly equal policies would be rounding noise
        logits = engine(input_ids=ids, attention_mask=attn).logits[:, :-1].float()
        return pm.logprobs_from_logits(logits, ids[:, 1:]), logits

    def _values(self, ids, attn) -> torch.Tensor:
        return self.critic(input_ids=ids, attention_mask=attn).logits[:, :-1, 0].float()

    @torch.no_grad()
    def experience(self, prompts: Sequence[str], answers: Sequence[str], scores: torch.Tensor) -> Experience:
        ids, attn, mask = self._sequences(prompts, answers)
        old_lp, _ = self._logprobs(self.actor, ids, attn)
        ref_lp, _ = self._logprobs(self.ref, ids, attn)
        values = self._values(ids, attn)
        mask_f = mask.float()
        rewards, kl = pm.kl_rewards(scores.to(self.device), old_lp, ref_lp, mask_f, self.kl_ctl.value)
        adv, ret = pm.gae(rewards, values, mask_f, self.cfg.gamma, self.cfg.lam)
        adv = pm.masked_whiten(adv, mask_f)
        return Experience(
            ids, attn, mask_f, old_lp, ref_lp, values * mask_f, adv, ret, scores, kl, list(answers)
        )

    # ------------------------------------------------------------------ 3. update
    def update(self, exp: Experience) -> dict[str, float]:
        cfg = self.cfg
        n = exp.input_ids.shape[0]
        stats: dict[str, list[float]] = {
            k: [] for k in ("policy_loss", "value_loss", "clipfrac", "approx_kl", "entropy", "vf_clipfrac")
        }
        for _ in range(cfg.ppo_epochs):
            order = list(range(n))
            self.rng.shuffle(order)
            for s in range(0, n - cfg.minibatch_size + 1, cfg.minibatch_size):
                idx = torch.tensor(order[s : s + cfg.minibatch_size], device=self.device)
                ids, attn, m = exp.input_ids[idx], exp.attention_mask[idx], exp.mask[idx]
                lp, logits = self._logprobs(self.actor, ids, attn)
                pl = pm.policy_loss(lp, exp.old_logprobs[idx], exp.advantages[idx], m, cfg.clip)
                self.actor.backward(pl.loss)
                self.actor.step()
                v = self._values(ids, attn)
                vl, vclip = pm.value_loss(v, exp.values[idx], exp.returns[idx], m, cfg.value_clip)
                self.critic.backward(vl)
                self.critic.step()
                with torch.no_grad():
                    stats["entropy"].append(float(pm.masked_mean(pm.entropy_from_logits(logits), m)))
                stats["policy_loss"].append(float(pl.loss.detach()))
                stats["value_loss"].append(float(vl.detach()))
                stats["clipfrac"].append(float(pl.clipfrac.detach()))
                stats["approx_kl"].append(float(pl.approx_kl.detach()))
                stats["vf_clipfrac"].append(float(vclip))
        mean_kl = float(exp.kl.mean())
        metrics = {f"ppo/{k}": sum(v) / max(len(v), 1) for k, v in stats.items()}
        metrics.update(
            {
                "ppo/reward_mean": float(exp.scores.mean()),
                "ppo/kl": mean_kl,
                "ppo/kl_coef": self.kl_ctl.value,
                "ppo/valid_rate": sum(self.is_valid(a) for a in exp.answers) / max(len(exp.answers), 1),
                "ppo/tokens": float(exp.attention_mask.sum()),  # prompt + answer tokens, summed over ranks
            }
        )
        keys = sorted(metrics)
        metrics = dict(zip(keys, eng.all_reduce_mean([metrics[k] for k in keys]), strict=True))
        metrics["ppo/tokens"] *= self.world
        self.kl_ctl.update(metrics["ppo/kl"], n * self.world)
        self.iteration += 1
        return metrics

    def step(self, prompts: Sequence[str]) -> dict[str, float]:
        """One offline iteration on this rank's prompts: rollout, experience, update."""
        answers = self.generate(prompts)
        return self.update(self.experience(prompts, answers, self.score(prompts, answers)))

    # ------------------------------------------------------------------ output
    def export_hf(self, path: Path) -> Path:
        """Rank 0 saves the actor as a plain HF folder."""
        from lam_rl.models.factory import save_pretrained

        with eng.full_state_module(self.actor):
            if self.rank == 0:
                save_pretrained(self.actor.module, self.tokenizer, path)
        eng.barrier()
        return path

    @torch.no_grad()
    def answer_logprob(self, prompt: str, answer: str) -> float:
        """log pi(answer | prompt) under the current actor (tests and diagnostics)."""
        ids, attn, mask = self._sequences([prompt], [answer])
        lp, _ = self._logprobs(self.actor, ids, attn)
        return float((lp * mask).sum())
