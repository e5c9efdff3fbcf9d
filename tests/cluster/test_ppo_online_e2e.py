"""Online PPO (``jobs.ppo ppo.mode=online``, lam-rl's own PPO) end to end on embedded Ray: each iteration
serves the current weights through the policy server, plays WordSim tasks with rollout workers,
learns from the verifier's verdicts and swaps the next version in."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_online_ppo_swaps_each_iterations_weights_into_the_rollouts(ray_session, cfg_factory, tiny_lam3):
    from transformers import AutoModelForCausalLM

    from cluster.ppo import train_ppo
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.store import TrajectoryStore
    from lam_rl.tracking import read_jsonl_metrics

    cfg = cfg_factory(
        "ppo.mode=online",
        "ppo.iterations=2",
        "ppo.online_tasks=2",
        "ppo.online_step_reward=0",  # the verifier alone: no reward model needed
        "ppo.minibatch_size=2",
        "ppo.ppo_epochs=1",
        "policy.max_new_tokens=16",
        "fleet.local=2",
        "collect.families=[view_mode]",
    )
    TrajectoryStore(cfg.store_uri)  # an empty store: online PPO writes its own experience
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    registry.register("lam3", tiny_lam3, phase="boost")

    summary = train_ppo(cfg)

    assert summary["iterations"] == 2, summary
    online = sorted((e for e in registry.entries() if e.phase == "ppo-online"), key=lambda e: e.version)
    assert [e.step for e in online] == [0, 1, 2]  # two updates, then the final policy measured
    versions = [e.version for e in online]
    assert len(set(versions)) == 3
    # every iteration's episodes were played by that iteration's weights: the swap took effect
    store = TrajectoryStore(cfg.store_uri, create=False)
    steps = store.steps(columns=["traj_id", "policy_version", "family"]).to_pylist()
    for it, version in enumerate(versions):
        mine = [s for s in steps if s["traj_id"].startswith(f"ppo-online:{it}:")]
        assert mine and {s["policy_version"] for s in mine} == {version}, (it, version)
        assert {s["family"] for s in mine} == {"view_mode"}
    assert len(store.outcomes().to_pylist()) == 2 * 3

    rows = read_jsonl_metrics(cfg.run_dir / "metrics" / "ppo-online.jsonl")
    keys = set().union(*rows)
    need = {
        "online/success_rate",
        "ppo/reward_mean",
        "ppo/kl",
        "ppo/clipfrac",
        "ppo/value_loss",
        "ppo/entropy",
    }
    assert need <= keys, need - keys
    assert len([r for r in rows if "online/success_rate" in r]) == 3

    lam4 = registry.latest("lam4")
    assert lam4 is not None and lam4.phase == "ppo" and lam4.info["mode"] == "online"
    assert AutoModelForCausalLM.from_pretrained(lam4.path, local_files_only=True).config.hidden_size == 64
