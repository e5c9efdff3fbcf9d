"""Hostile model answers: the parser never raises and runs in linear time, a valid answer is an
action the VM accepts, and an episode records every bad answer as a counted invalid step (over
real HTTP, written to a real store) instead of ending the rollout worker's run.

What used to go wrong: ``parse_decision`` raised RecursionError on JSON nested ~1000 deep and
ValueError on a 5000-digit integer, took quadratic time on a run of ``{``, and accepted NaN, lone
surrogates and labels that overflow the store's int32 column; ``run_episode`` raised with it."""

from __future__ import annotations

import json
import time

import pytest

from lam_rl.agent import AgentConfig, PromptBuilder, parse_decision
from lam_rl.agent.episode import MAX_RAW_CHARS, EpisodeLimits, run_episode
from lam_rl.agent.parse import MAX_ANSWER_CHARS
from lam_rl.agent.policy import LMPolicy
from lam_rl.env.client import VMClient
from lam_rl.env.fleet import serve_many
from lam_rl.env.protocol import Action, loads_strict
from lam_rl.env.tasks import make_task
from lam_rl.store import TrajectoryStore

GOOD = '{"thought": "bold it", "control_label": 3, "control_name": "Bold", "function": "click_input", "args": {}}'
DEEP_ARGS = '{"function": "click_input", "control_name": "Bold", "args": {"a": %s}}'

HOSTILE = {
    "nested 1000 deep": DEEP_ARGS % ("[" * 1000 + "]" * 1000),
    "objects 1000 deep": '{"a": ' * 1000 + "1" + "}" * 1000,
    "nested 40 deep": DEEP_ARGS % ("[" * 40 + "]" * 40),
    "5000-digit label": '{"function": "click_input", "control_label": ' + "9" * 5000 + "}",
    "5000-digit arg": DEEP_ARGS % ("9" * 5000),
    "label over int32": '{"function": "click_input", "control_label": 2147483648}',
    "label 1e300": '{"function": "click_input", "control_label": 1e300}',
    "arg over 2**53": DEEP_ARGS % str(2**60),
    "1e999": DEEP_ARGS % "1e999",
    "NaN": DEEP_ARGS % "NaN",
    "Infinity": DEEP_ARGS % "Infinity",
    "-Infinity": '{"function": "click_input", "control_name": "Bold", "control_label": -Infinity}',
    "escaped lone surrogate": '{"function": "set_edit_text", "control_name": "Font", "args": {"text": "\\ud800"}}',
    "escaped lone low surrogate": '{"thought": "\\udc00", "status": "FINISH"}',
    "raw lone surrogate": '{"function": "set_edit_text", "control_name": "Font\ud800", "args": {}}',
    "surrogate key": '{"function": "click_input", "control_name": "Bold", "args": {"\\ud800": 1}}',
    "args string of NaN": '{"function": "click_input", "control_name": "Bold", "args": "{\\"x\\": NaN}"}',
    "args string deep": '{"function": "click_input", "control_name": "Bold", "args": "' + "[" * 500 + '"}',
    "name too long": '{"function": "click_input", "control_name": "' + "n" * 5000 + '"}',
    "over-long answer": GOOD + " " * MAX_ANSWER_CHARS,
    "a megabyte of {": "{" * 1_000_000,
    "truncated": GOOD[:-10],
    "python dict": "{'function': 'click_input', 'control_name': 'Bold'}",
    "status object": '{"function": "", "status": {"a": 1}}',
    "function list": '{"function": ["click_input"], "control_name": "Bold"}',
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_parse_never_raises_and_refuses(name):
    p = parse_decision(HOSTILE[name])
    assert not p.valid, (name, p.decision)
    assert p.error and len(p.error) <= 400, p.error


def test_parse_runs_in_linear_time():
    for pattern in ("{", '{"a":', '{"', "{{}", '{"a":"\\', "}{", "[{", '{"a":[{"b":'):
        for n in (MAX_ANSWER_CHARS - 1, 200_000):  # under the limit: parsed; over: refused at once
            text = pattern * (n // len(pattern))
            t0 = time.perf_counter()
            parse_decision(text)
            took = time.perf_counter() - t0
            assert took < 1.0, f"{pattern!r} x {len(text)}: {took:.2f}s"


def test_parse_recovers_what_models_really_write():
    cases = {
        "```json\n" + GOOD + "\n```": "Bold",
        "Sure! Here is the action:\n" + GOOD + "\nHope this helps {": "Bold",
        "Press {ENTER} {first} then " + GOOD: "Bold",
        GOOD + GOOD.replace("Bold", "Italic"): "Bold",  # several objects: the first
        '{"thought": "a } and a { and \\"quotes\\"", "control_name": "Bold", "function": "click_input"}': "Bold",
        '{"control_name": "Gr\\u00f6\\u00dfe \\ud83d\\ude00", "function": "click_input"}': "Größe 😀",
        '{"control_name": "Bold", "function": "click_input", "args": "{\\"double\\": true}"}': "Bold",
        '{"control_label": "7", "function": "click_input"}': None,
    }
    for text, name in cases.items():
        p = parse_decision(text)
        assert p.valid, (text, p.error)
        assert p.decision.control_name == name
    assert parse_decision('{"status": "finish"}').decision.status == "FINISH"
    assert parse_decision('x {"control_label": 7.0, "function": "click_input"}').decision.control_label == 7


def test_a_valid_answer_is_an_action_the_vm_accepts():
    big = '{"function": "set_edit_text", "control_name": "Font", "args": {"text": "%s"}}' % ("t" * 30_000)
    for text in (
        GOOD,
        big,
        '{"function": "keyboard_input", "control_name": "Doc", "args": {"keys": "{ENTER}"}}',
    ):
        d = parse_decision(text).decision
        assert d is not None
        action = d.to_action()
        assert isinstance(action, Action)
        assert loads_strict(action.model_dump_json())["function"] == d.function


def test_an_episode_records_hostile_answers_as_counted_invalid_steps(tmp_path):
    answers = list(HOSTILE.values())
    kinds = [parse_decision(a).valid for a in answers]
    script = iter(answers)

    def generate(prompt: str, pinned: int | None) -> tuple[str, int]:
        return next(script), 1

    policy = LMPolicy(generate, PromptBuilder(AgentConfig()), name="lam-hostile")
    task = make_task("bold_text", 4)
    with serve_many(1, token="t0k") as fleet, VMClient(fleet.urls[0], "t0k", timeout_s=30) as vm:
        limits = EpisodeLimits(max_steps=len(answers), max_invalid=len(answers))
        traj = run_episode(vm, policy, task, traj_id="hostile:1", phase="explore", limits=limits)
        assert vm.health().ok
    assert not any(kinds)
    out = traj.outcome
    assert out.num_steps == len(answers) and out.num_invalid == len(answers)
    assert out.failure_kind == "invalid_action"
    for step in traj.steps:
        assert not step.valid and not step.ok and step.error.startswith("invalid output: ")
        assert len(step.error) < 400
        assert step.raw is not None and len(step.raw) <= MAX_RAW_CHARS + 40
        step.raw.encode("utf-8")  # valid Unicode: a lone surrogate is replaced
    store = TrajectoryStore(tmp_path / "store")
    store.write([traj])
    rows = store.steps(phase="explore").to_pylist()
    assert len(rows) == len(answers) and not any(r["valid"] for r in rows)


def test_an_episode_counts_invalid_answers_between_valid_ones():
    """Invalid answers interleaved with valid ones: each is counted, the run of them resets."""
    bold = GOOD.replace('"control_label": 3, ', "")
    answers = [HOSTILE["NaN"], bold, HOSTILE["nested 1000 deep"], HOSTILE["5000-digit label"], bold]
    answers.append(json.dumps({"function": "", "status": "FINISH"}))
    script = iter(answers)
    policy = LMPolicy(lambda p, v: (next(script), 1), PromptBuilder(AgentConfig()), name="lam")
    with serve_many(1, token="t0k") as fleet, VMClient(fleet.urls[0], "t0k") as vm:
        traj = run_episode(vm, policy, make_task("bold_text", 4), traj_id="mix:1", phase="explore")
    assert [s.valid for s in traj.steps] == [False, True, False, False, True, True]
    assert traj.outcome.num_invalid == 3 and traj.outcome.failure_kind != "invalid_action"
    assert all(s.ok for s in traj.steps if s.valid and s.function)


LABEL_HOSTILE = {
    "label past the list": {"function": "select_text", "args": {"text": "@13"}},
    "label 999": {"function": "set_edit_text", "args": {"text": "@999"}},
    "label of text for a number": {"function": "insert_table", "args": {"rows": "@1", "columns": 2}},
    "label for select_table": {"function": "select_table", "args": {"number": "@12"}},
    "label in keys": {"function": "keyboard_input", "args": {"keys": "@11"}},
}


def test_label_answers_that_name_no_candidate_are_counted_invalid_over_http():
    """agent.arg_labels on: a label that names no candidate (or a text candidate for a number) is an
    invalid answer, counted like an unparseable one; a label-looking literal ('@0', '@1000', a
    5000-digit one) is text the VM refuses as an action, never a crash."""
    answers = [
        json.dumps({"control_name": "Page 1 content", "status": "CONTINUE"} | a)
        for a in LABEL_HOSTILE.values()
    ]
    literal = [
        json.dumps({"control_name": "Page 1 content", "function": "select_text", "args": {"text": t}})
        for t in ("@0", "@1000", "@" + "9" * 5000)
    ]
    script = iter(answers + literal + ['{"function": "", "status": "FINISH"}'])
    policy = LMPolicy(lambda p, v: (next(script), 1), PromptBuilder(AgentConfig(arg_labels=True)), name="lam")
    limits = EpisodeLimits(max_steps=20, max_invalid=20)
    with serve_many(1, token="t0k") as fleet, VMClient(fleet.urls[0], "t0k") as vm:
        traj = run_episode(
            vm, policy, make_task("bold_text", 4), traj_id="labels:1", phase="explore", limits=limits
        )
        assert vm.health().ok
    n = len(answers)
    assert [s.valid for s in traj.steps] == [False] * n + [True] * (len(literal) + 1)
    assert traj.outcome.num_invalid == n
    assert all(s.error.startswith("invalid output: argument") for s in traj.steps[:n])
    assert all(not s.ok and s.args["text"].startswith("@") for s in traj.steps[n:-1])
