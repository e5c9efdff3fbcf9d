"""PPO maths against hand-computed values and known identities."""

import math

import pytest
import torch

from lam_rl.algos.ppo_math import (
    AdaptiveKLController,
    entropy_from_logits,
    gae,
    kl_rewards,
    logprobs_from_logits,
    masked_mean,
    masked_whiten,
    normalize_scores,
    policy_loss,
    value_loss,
)


def test_masked_mean_ignores_padding():
    x = torch.tensor([[1.0, 2.0, 100.0], [3.0, 100.0, 100.0]])
    m = torch.tensor([[1, 1, 0], [1, 0, 0]])
    assert masked_mean(x, m).item() == pytest.approx(2.0)
    w = masked_whiten(x, m)
    assert masked_mean(w, m).item() == pytest.approx(0.0, abs=1e-6)
    assert (w * (1 - m)).abs().sum() == 0


def test_logprobs_and_entropy():
    logits = torch.log(torch.tensor([[[0.25, 0.25, 0.5]]]))
    assert logprobs_from_logits(logits, torch.tensor([[2]])).item() == pytest.approx(math.log(0.5))
    assert entropy_from_logits(logits).item() == pytest.approx(-(0.5 * math.log(0.25) + 0.5 * math.log(0.5)))


def test_kl_rewards_put_score_on_last_real_token():
    lp = torch.tensor([[-1.0, -1.0, -1.0], [-1.0, -2.0, 0.0]])
    ref = torch.tensor([[-1.5, -1.0, -1.0], [-1.0, -1.0, 0.0]])
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    r, kl = kl_rewards(torch.tensor([1.0, -0.5]), lp, ref, mask, beta=0.1)
    assert r[0].tolist() == pytest.approx([-0.05, 0.0, 1.0])
    assert r[1].tolist() == pytest.approx([0.0, 0.1 - 0.5, 0.0])
    assert kl.tolist() == pytest.approx([0.5, -1.0])


def test_gae_matches_hand_computation():
    rewards = torch.tensor([[0.0, 0.0, 1.0]])
    values = torch.tensor([[0.5, 0.6, 0.7]])
    mask = torch.ones(1, 3)
    adv, ret = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    # lambda=1, gamma=1: advantage = return-to-go - value
    assert adv[0].tolist() == pytest.approx([0.5, 0.4, 0.3])
    assert ret[0].tolist() == pytest.approx([1.0, 1.0, 1.0])
    adv0, _ = gae(rewards, values, mask, gamma=1.0, lam=0.0)  # one-step TD errors
    assert adv0[0].tolist() == pytest.approx([0.6 - 0.5, 0.7 - 0.6, 1.0 - 0.7])


def test_gae_respects_padding():
    rewards = torch.tensor([[0.0, 1.0, 0.0]])
    values = torch.tensor([[0.2, 0.3, 9.0]])
    mask = torch.tensor([[1, 1, 0]])
    adv, _ = gae(rewards, values, mask, 1.0, 1.0)
    assert adv[0].tolist() == pytest.approx([0.8, 0.7, 0.0])


def test_policy_loss_clips_and_reports():
    old = torch.zeros(1, 2)
    new = torch.log(torch.tensor([[1.5, 0.9]]))  # ratios 1.5, 0.9
    adv = torch.tensor([[1.0, 1.0]])
    s = policy_loss(new, old, adv, torch.ones(1, 2), clip=0.2)
    # token 1: min(1.5, 1.2) * 1 -> clipped at 1.2; token 2: 0.9
    assert s.loss.item() == pytest.approx(-(1.2 + 0.9) / 2)
    assert s.clipfrac.item() == pytest.approx(0.5)
    assert s.approx_kl.item() > 0


def test_policy_gradient_direction():
    logits = torch.zeros(1, 1, 2, requires_grad=True)
    lp = logprobs_from_logits(logits, torch.tensor([[0]]))
    s = policy_loss(lp, lp.detach(), torch.tensor([[1.0]]), torch.ones(1, 1))
    s.loss.backward()
    assert logits.grad[0, 0, 0] < 0 < logits.grad[0, 0, 1]  # descent raises the advantaged action


def test_value_loss_clipping():
    loss, frac = value_loss(
        torch.tensor([[2.0]]), torch.tensor([[0.0]]), torch.tensor([[2.0]]), torch.ones(1, 1), 0.2
    )
    assert loss.item() == pytest.approx(0.5 * (0.2 - 2.0) ** 2) and frac.item() == 1.0


def test_adaptive_kl_moves_toward_target():
    c = AdaptiveKLController(0.2, target=0.1, horizon=100)
    assert c.update(0.5, 10) > 0.2  # too much KL -> stronger penalty
    c2 = AdaptiveKLController(0.2, target=0.1, horizon=100)
    assert c2.update(0.0, 10) < 0.2
    assert AdaptiveKLController(0.2, None).update(5.0, 10) == 0.2


def test_normalize_scores_range():
    s = normalize_scores(torch.tensor([0.0, 0.5, 1.0, 1.2]))
    assert s.tolist() == pytest.approx([-0.5, 0.0, 0.5, 0.5])
