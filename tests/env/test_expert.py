"""The scripted expert: acts from the observation, perfect without noise, 60-70% with default noise."""

from __future__ import annotations

import collections

from lam_rl.env.client import VMClient
from lam_rl.env.config import ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.tasks import make_task, sample_tasks
from lam_rl.env.wordsim import WordSim


def play(expert: ExpertPolicy, vm: VMClient, task, limit: int = 20):
    obs = vm.reset(task)
    expert.reset(task)
    decisions = []
    for _ in range(limit):
        d = expert.act(obs)
        decisions.append((obs, d))
        a = d.to_action()
        if a is not None:
            obs = vm.step(a).observation
        if d.status == "FINISH":
            break
    return vm.evaluate(), decisions


def test_noiseless_expert_solves_everything_from_observations():
    vm = VMClient.in_process(WordSim())
    expert = ExpertPolicy(ExpertConfig(noise=False), seed=0)
    for task in sample_tasks(250, 5, split="all", composite_fraction=0.25):
        verdict, decisions = play(expert, vm, task)
        assert verdict.complete == "yes", (task.task_id, verdict.reason)
        assert decisions[-1][1].status == "FINISH" and all(d.status == "CONTINUE" for _, d in decisions[:-1])
        for obs, d in decisions:
            if d.control_name and d.function != "summary":
                by_label = {c.label: c for c in obs.controls}
                assert d.control_label in by_label and by_label[d.control_label].text == d.control_name
            assert 1 <= len(d.thought.split()) <= 10
        assert decisions[0][1].plan == task.plan[1:]


def test_default_noise_gives_sixty_to_seventy_percent_with_every_error_kind():
    vm = VMClient.in_process(WordSim())
    expert = ExpertPolicy(ExpertConfig(), seed=0)
    tasks = sample_tasks(500, 11, split="all", composite_fraction=0.2)
    ok = 0
    kinds: collections.Counter[str] = collections.Counter()
    for task in tasks:
        verdict, _ = play(expert, vm, task)
        ok += verdict.complete == "yes"
        kinds.update(e.split(":")[0] for e in expert.errors)
        if verdict.complete != "yes":
            assert expert.errors, f"{task.task_id} failed without an injected error"
    rate = ok / len(tasks)
    assert 0.58 <= rate <= 0.74, rate
    assert set(kinds) == {"near_miss", "skip", "wrong_arg", "premature_finish", "give_up"}


def test_expert_is_deterministic_and_seeded():
    task = make_task("font_dialog", 3)
    noisy = ExpertConfig(near_miss_rate=0.5, skip_rate=0.2, wrong_arg_rate=0.5)

    def trace(seed: int):
        vm = VMClient.in_process(WordSim())
        _, decisions = play(ExpertPolicy(noisy, seed=seed), vm, task)
        return [d.model_dump() for _, d in decisions]

    assert trace(1) == trace(1)
    assert any(trace(1) != trace(s) for s in range(2, 6))


def test_give_up_and_premature_finish():
    vm = VMClient.in_process(WordSim())
    task = make_task("insert_table", 0)
    quitter = ExpertPolicy(
        ExpertConfig(
            give_up_rate=1.0, near_miss_rate=0, skip_rate=0, wrong_arg_rate=0, premature_finish_rate=0
        )
    )
    verdict, decisions = play(quitter, vm, task)
    assert (
        decisions[-1][1].function == "" and decisions[-1][1].status == "FINISH" and verdict.complete == "no"
    )
    hasty = ExpertPolicy(
        ExpertConfig(
            premature_finish_rate=1.0, give_up_rate=0, near_miss_rate=0, skip_rate=0, wrong_arg_rate=0
        )
    )
    verdict, decisions = play(hasty, vm, task)
    assert len(decisions) < len(task.plan) and decisions[-1][1].status == "FINISH"
    assert hasty.errors == ["premature_finish"]
