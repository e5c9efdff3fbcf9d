"""Online GRPO/RLOO through TRL: the WordSim reward ranks answers as documented, and a tiny GRPO run
through ``jobs.ppo ppo.mode=online ppo.algo=grpo`` finishes and registers a loadable LAM4."""

import json

import pytest

from lam_rl.agent.config import AgentConfig
from lam_rl.agent.prompt import PromptBuilder, format_target
from lam_rl.algos.trl_online import EXECUTED_FLOOR, WordSimReward, expert_states, replay
from lam_rl.config import ConfigError
from lam_rl.env.protocol import Decision, TaskSpec
from lam_rl.env.tasks import reference_actions, sample_tasks

AGENT = AgentConfig(top_k_controls=12, plan_steps=1, thought_words=4)


def _answer(d: Decision) -> list[dict]:
    return [{"role": "assistant", "content": format_target(d, AGENT)}]


@pytest.fixture(scope="module")
def bold_rows():
    tasks = sample_tasks(2, 3, split="train", families=["bold_text"])
    return tasks, expert_states(tasks, PromptBuilder(AGENT))


def test_states_cover_every_expert_prefix_and_replay_to_the_same_prompt(bold_rows):
    tasks, rows = bold_rows
    assert len(rows) == sum(len(reference_actions(t)) for t in tasks)
    builder = PromptBuilder(AGENT)
    from lam_rl.algos.trl_online import _new_vm

    vm = _new_vm("test")
    for row in rows:
        task = TaskSpec.model_validate_json(row["task"])
        obs, _, history, plan = replay(vm, task, row["prefix"])
        assert builder.build(obs, task.request, history, plan).text == row["prompt"][0]["content"]


def test_reward_orders_correct_wrong_and_invalid_answers(bold_rows):
    _, rows = bold_rows
    reward = WordSimReward(invalid_score=0.0)
    row = rows[1]  # Home tab is open: the next step is the Bold click
    task = TaskSpec.model_validate_json(row["task"])
    vm_obs, expert, _, _ = replay(reward.vm, task, row["prefix"])
    right = expert.act(vm_obs)
    assert right.control_name == "Bold"
    italic = next(c for c in vm_obs.controls if c.text == "Italic")
    wrong = right.model_copy(update={"control_label": italic.label, "control_name": "Italic"})
    ghost = right.model_copy(update={"control_label": 999, "control_name": "No Such Button"})
    answers = [
        _answer(right),
        _answer(wrong),
        [{"role": "assistant", "content": "bold it please"}],  # no JSON at all
        _answer(ghost),  # valid JSON, but no such control
        _answer(Decision(thought="done", status="FINISH")),  # premature FINISH
    ]
    logged = {}
    rewards = reward(
        [row["prompt"]] * len(answers),
        answers,
        task=[row["task"]] * len(answers),
        prefix=[row["prefix"]] * len(answers),
        log_metric=lambda k, v: logged.__setitem__(k, v),
    )
    r_right, r_wrong, r_invalid, r_ghost, r_finish = rewards
    assert r_right == pytest.approx(0.5)  # the expert finishes the task from there
    assert r_invalid == pytest.approx(-0.5) and r_ghost == pytest.approx(-0.5)  # invalid_score 0.0
    assert r_invalid < EXECUTED_FLOOR - 0.5 <= r_wrong < r_right
    assert EXECUTED_FLOOR - 0.5 <= r_finish < r_right
    assert logged["wordsim/valid"] == pytest.approx(4 / 5)
    assert logged["wordsim/executed"] == pytest.approx(3 / 5)
    assert logged["wordsim/success"] == pytest.approx(1 / 5)
    # invalid_score sets the floor of bad answers; without the expert finishing, one correct middle
    # step alone does not complete the task
    assert WordSimReward(invalid_score=0.2).score(task, row["prefix"], "{").score == 0.2
    first = TaskSpec.model_validate_json(rows[0]["task"])
    obs0, e0, _, _ = replay(reward.vm, first, 0)
    alone = WordSimReward(expert_finish=False).score(first, 0, format_target(e0.act(obs0), AGENT))
    assert alone.kind == "executed" and not alone.success


def test_grpo_offline_is_a_config_error(tmp_path, repo_root):
    from jobs.config import Config
    from lam_rl.config import load_config

    # PPOConfig's rule: the config does not load, so nothing runs (it was a run-time check)
    with pytest.raises(ConfigError, match=r"'ppo.algo' \(grpo\) is an online algorithm.*ppo.mode=online"):
        load_config(
            Config,
            ["config=tiny", f"run.root={tmp_path}", "ppo.mode=offline", "ppo.algo=grpo"],
            configs_dir=repo_root / "jobs" / "configs",
        )
    with pytest.raises(ConfigError, match="num_generations"):
        load_config(
            Config,
            ["config=tiny", "ppo.mode=online", "ppo.algo=rloo", "ppo.num_generations=1"],
            configs_dir=repo_root / "jobs" / "configs",
        )


@pytest.fixture(scope="module")
def ray_local():
    import ray

    from cluster.runtime import worker_env

    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            namespace="lam-rl-tests",
            log_to_driver=False,
            runtime_env={"env_vars": worker_env()},
        )
    yield ray
    if started:
        ray.shutdown()


@pytest.mark.slow
def test_rloo_trainer_steps_in_process(bold_rows, tiny_lam3, tmp_path):
    """No Ray: the library half alone, as a notebook would use it (RLOO, beta from init_kl_coef)."""
    from lam_rl.algos.config import PPOConfig
    from lam_rl.algos.trl_online import build_trainer, tracker_callback
    from lam_rl.models import load_tokenizer

    _, rows = bold_rows
    ppo = PPOConfig(mode="online", algo="rloo", batch_size=2, num_generations=2, gen_length=8, ppo_epochs=1)
    logs = tracker_callback(None, "rloo")
    trainer = build_trainer(
        "rloo", tiny_lam3, load_tokenizer(tiny_lam3), rows, WordSimReward(), ppo, tmp_path, callbacks=[logs]
    )
    assert trainer.args.max_steps == len(rows) // 2 and trainer.args.beta == ppo.init_kl_coef
    trainer.args.max_steps = 1
    trainer.train()
    assert trainer.state.global_step == 1
    assert logs.last["reward"] == pytest.approx(-0.5)  # an untrained model answers no valid JSON
    assert "wordsim/valid" in logs.last and "kl" in logs.last


@pytest.mark.e2e
def test_grpo_online_tiny_run_registers_a_loadable_checkpoint(ray_local, tiny_lam3, tmp_path, repo_root):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cluster.ppo import train_ppo
    from jobs.config import Config
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.config import load_config
    from lam_rl.models import load_tokenizer
    from lam_rl.tracking import read_jsonl_metrics

    cfg = load_config(
        Config,
        [
            "config=tiny",
            f"run.root={tmp_path}",
            "tracking.mode=offline",
            "ppo.mode=online",
            "ppo.algo=grpo",
            "ppo.iterations=2",
            "ppo.online_tasks=2",
            "ppo.batch_size=2",
            "ppo.num_generations=2",
            "ppo.gen_length=12",
            "ppo.ppo_epochs=1",
            "ppo.init_kl_coef=0.05",  # beta > 0: TRL builds the reference from the checkpoint path
            "collect.families=[bold_text]",
        ],
        configs_dir=repo_root / "jobs" / "configs",
    )
    tok = load_tokenizer(tiny_lam3)
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    registry.register("lam3", tiny_lam3, phase="boost")

    summary = train_ppo(cfg)

    assert summary["algo"] == "grpo" and summary["iterations"] == 2, summary
    entry = registry.latest("lam4")
    assert entry is not None and entry.phase == "ppo" and entry.info["algo"] == "grpo"
    loaded = AutoModelForCausalLM.from_pretrained(entry.path, local_files_only=True)
    assert loaded.config.hidden_size == 64
    assert len(AutoTokenizer.from_pretrained(entry.path, local_files_only=True)) == len(tok)
    rows = read_jsonl_metrics(cfg.run_dir / "metrics" / "ppo-online-grpo.jsonl")
    keys = set().union(*rows)
    assert {"grpo/reward", "grpo/kl", "grpo/wordsim/valid", "grpo/wordsim/success"} <= keys, keys
    assert all(-0.5 <= r["grpo/reward"] <= 0.5 for r in rows if "grpo/reward" in r)
    assert (
        json.loads((cfg.run_dir / "metrics" / "ppo-online-grpo.summary.json").read_text())["iterations"] == 2
    )
