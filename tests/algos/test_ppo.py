"""PPO on a problem with a known answer: a reward that prefers one of two actions."""

import math
import random

import pytest

from lam_rl.algos.config import LearnerConfig, OptimConfig
from lam_rl.algos.learner import Learner
from lam_rl.algos.ppo import PPOConfig, PPOLearner
from lam_rl.algos.sft import SFTObjective
from lam_rl.data.sft import Example, encode
from lam_rl.models import build_model, train_tokenizer
from lam_rl.models.config import ModelConfig
from lam_rl.models.corpus import project_corpus

PROMPT = "Which button?"


@pytest.mark.slow
def test_ppo_raises_preferred_action_and_keeps_kl_near_target(tmp_path):
    rng = random.Random(0)
    tok = train_tokenizer(project_corpus([f"{PROMPT} Bold Italic"] * 20), 400)
    model = build_model(
        ModelConfig(hidden=64, layers=2, heads=4, kv_heads=4, intermediate=128, max_seq_len=64), tok
    )
    data = encode(tok, [Example(PROMPT, rng.choice(["Bold", "Italic"])) for _ in range(256)], 64)
    Learner(
        model,
        tok,
        SFTObjective(tok.pad_token_id),
        LearnerConfig(micro_batch=16),
        OptimConfig(lr=3e-3, batch_size=16, epochs=6, warmup_steps=2),
        tmp_path / "sft",
    ).fit(data)

    cfg = PPOConfig(
        lr=3e-4,
        critic_lr=1e-3,
        batch_size=16,
        minibatch_size=4,
        ppo_epochs=2,
        gen_length=4,
        target_kl=0.1,
        init_kl_coef=0.2,
        kl_horizon=100,
    )
    prefers_bold = lambda prompts, answers: [1.0 if a.strip().startswith("Bold") else 0.0 for a in answers]  # noqa: E731
    ppo = PPOLearner(tmp_path / "sft" / "hf" / "final", tok, cfg, LearnerConfig(), prefers_bold)
    before = math.exp(ppo.answer_logprob(PROMPT, "Bold"))
    history = [ppo.step([PROMPT] * 16) for _ in range(15)]
    after = math.exp(ppo.answer_logprob(PROMPT, "Bold"))

    assert after > before + 0.15, (before, after)
    assert history[-1]["ppo/reward_mean"] > history[0]["ppo/reward_mean"]
    late_kl = sum(h["ppo/kl"] for h in history[-5:]) / 5
    assert 0.0 < late_kl < 5 * cfg.target_kl, late_kl  # held near the target, not drifting away
    assert history[-1]["ppo/kl_coef"] > cfg.init_kl_coef  # KL above target -> the penalty grew
    out = ppo.export_hf(tmp_path / "lam4")
    assert (out / "config.json").exists()
