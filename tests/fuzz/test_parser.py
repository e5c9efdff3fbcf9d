"""Standing fuzz suite, answer parser and episodes: any string a model could produce (prose, code
fences, several JSON objects, escapes, lone surrogates, huge numbers, deep nesting, NaN/Infinity
literals, truncation, over-long answers) goes through ``parse_decision`` and a whole episode.

Whatever comes in: the parser returns (never raises) within a bounded time, a refusal says why in
one short line, and an accepted answer is an action the VM accepts (it crosses the wire and comes
back the same); a clean target embedded in noise is recovered exactly. An episode over a real VM
(loopback HTTP) never raises on an answer, counts each invalid one (``num_invalid``, what rollout
metrics sum), ends on ``max_invalid`` consecutive ones, and produces steps the store can encode.

Bounded for CI (a few seconds); ``LAM_FUZZ_EXAMPLES=N`` runs N examples per test instead.
"""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lam_rl.agent import AgentConfig, PromptBuilder, format_target, parse_decision
from lam_rl.agent.episode import MAX_RAW_CHARS, EpisodeLimits, run_episode
from lam_rl.agent.parse import MAX_ANSWER_CHARS
from lam_rl.agent.policy import LMPolicy
from lam_rl.env.client import VMClient
from lam_rl.env.fleet import serve_many
from lam_rl.env.protocol import FUNCTIONS, LABEL_RANGE, Action, Decision, loads_strict
from lam_rl.env.tasks import list_families, make_task
from lam_rl.store.encode import encode_trajectories
from tests.fuzz.common import Raw, examples, json_text

MAX_PARSE_S = 2.0  # per answer, on a loaded machine (linear time: ~0.1 s at the length limit)
MAX_ERROR_CHARS = 400


LONE = ["\ud800", "\udbff", "\udc00", "\udfff"]
chars = st.one_of(st.characters(), st.sampled_from([*LONE, "{", "}", '"', "\\", "`", "\n", "\x00"]))
noise = st.one_of(
    st.text(chars, max_size=40),
    st.sampled_from(
        [
            "",
            "Sure!\n",
            "```json\n",
            "\n```",
            "Press {ENTER} then {TAB}. ",
            "} {",
            '"',
            "\\",
            "{",
            "{{}}",
            "null",
        ]
    ),
)


huge_strings = st.builds(
    lambda n, c: c * n, st.sampled_from([100, 5_000, 40_000]), st.sampled_from(["x", "{", "\\"])
)
leaves = st.one_of(
    st.text(chars, max_size=20),
    huge_strings,
    st.integers(-5, 200),
    st.sampled_from([2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**53, 2**63, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.sampled_from(
        [
            Raw(x)
            for x in ("NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, "1E400", "-0", "01", ".5", "0x1F")
        ]
    ),
    st.builds(lambda n: Raw("9" * n), st.sampled_from([20, 400, 5000])),
    st.builds(
        lambda n, o: Raw(o * n + "1" + {"[": "]", '{"a":': "}"}[o] * n),
        st.sampled_from([3, 31, 33, 250, 1000, 5000]),
        st.sampled_from(["[", '{"a":']),
    ),
)
json_values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(chars, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
answer_dicts = st.fixed_dictionaries(
    {},
    optional={
        "thought": st.one_of(st.text(chars, max_size=30), json_values),
        "control_label": st.one_of(st.integers(-3, 80), st.text(max_size=5), json_values),
        "control_name": st.one_of(
            st.sampled_from(["Bold", "Italic", "Font Size", "Home", "Insert"]), json_values
        ),
        "function": st.one_of(st.sampled_from([*FUNCTIONS, "", "CLICK", "rm -rf"]), json_values),
        "args": st.one_of(
            st.dictionaries(st.sampled_from(["text", "keys", "button", "rows"]), json_values, max_size=2),
            json_values,
        ),
        "status": st.one_of(st.sampled_from(["CONTINUE", "FINISH", "finish", "done", ""]), json_values),
        "plan": st.one_of(st.lists(st.text(chars, max_size=20), max_size=3), json_values),
        "extra": json_values,
    },
)


@st.composite
def answers(draw: st.DrawFn) -> str:
    """What a model might say: prose, fences, one or more JSON-ish objects, cut anywhere."""
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        parts.append(draw(noise))
        parts.append(json_text(draw(answer_dicts), ensure_ascii=draw(st.booleans())))
    parts.append(draw(noise))
    text = "".join(parts)
    if draw(st.integers(0, 5)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    if draw(st.integers(0, 20)) == 0:
        text = text + " " * MAX_ANSWER_CHARS
    return text


def check_parsed(text: str) -> bool:
    t0 = time.perf_counter()
    p = parse_decision(text)
    took = time.perf_counter() - t0
    assert took < MAX_PARSE_S, f"{took:.2f}s for {len(text)} chars"
    if not p.valid:
        assert isinstance(p.error, str) and 0 < len(p.error) <= MAX_ERROR_CHARS, p.error
        return False
    d = p.decision
    assert isinstance(d, Decision)
    assert d.control_label is None or LABEL_RANGE[0] <= d.control_label <= LABEL_RANGE[1]
    assert d.status in ("CONTINUE", "FINISH") and (not d.function or d.function in FUNCTIONS)
    assert Decision.model_validate(loads_strict(d.model_dump_json())) == d  # storable, round-trips
    action = d.to_action()
    if action is not None:
        assert Action.model_validate(loads_strict(action.model_dump_json())) == action  # crosses the wire
    return True


@examples(300)
@given(text=st.text(chars, max_size=200))
def test_any_text(text):
    check_parsed(text)
    check_parsed("{" + text)
    check_parsed('{"function": "click_input", "control_name": ' + json.dumps(text) + "}")


@examples(150)
@given(text=answers())
def test_model_like_answers(text):
    check_parsed(text)


decisions = st.builds(
    Decision,
    thought=st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    control_label=st.one_of(st.none(), st.integers(0, 500)),
    control_name=st.sampled_from(["Bold", "Font Size", "Page 1 content", "Größe 😀", 'a "quoted" {name}']),
    function=st.sampled_from(FUNCTIONS),
    args=st.dictionaries(
        st.sampled_from(["text", "keys", "rows"]),
        st.one_of(st.text(st.characters(exclude_categories=["Cs"]), max_size=20), st.integers(0, 50)),
        max_size=2,
    ),
    status=st.sampled_from(["CONTINUE", "FINISH"]),
    plan=st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=15), max_size=3),
)
prose = st.text(st.characters(exclude_characters="{}"), max_size=40)


@examples(100)
@given(d=decisions, before=prose, after=prose, fence=st.booleans())
def test_a_clean_target_in_noise_is_recovered(d, before, after, fence):
    target = json.dumps(d.model_dump(exclude={"control_type"}), ensure_ascii=False)
    text = (
        before
        + ("```json\n" + target + "\n```" if fence else target)
        + after
        + format_target(d, AgentConfig())
    )
    p = parse_decision(text)
    assert p.valid, p.error
    assert p.decision == d


# ---------------------------------------------------------------------- whole episodes over HTTP

FAMILIES = [f.name for f in list_families()]


@pytest.fixture(scope="module")
def vm():
    with (
        serve_many(1, token="fuzz-parser") as fleet,
        VMClient(fleet.urls[0], "fuzz-parser", timeout_s=30) as c,
    ):
        yield c


@examples(25)
@given(
    family=st.sampled_from(FAMILIES),
    script=st.lists(
        st.one_of(answers(), decisions.map(lambda d: format_target(d, AgentConfig()))), min_size=1, max_size=8
    ),
    max_invalid=st.integers(1, 4),
)
def test_episodes_count_every_invalid_answer(vm, family, script, max_invalid):
    replies = iter(script)
    given_ = []

    def generate(prompt: str, pinned: int | None) -> tuple[str, int]:
        text = next(replies, '{"function": "", "status": "FINISH"}')
        given_.append(text)
        return text, 1

    policy = LMPolicy(generate, PromptBuilder(AgentConfig()), name="fuzz")
    limits = EpisodeLimits(max_steps=len(script) + 1, max_invalid=max_invalid)
    traj = run_episode(vm, policy, make_task(family, 0), traj_id="fuzz:1", phase="explore", limits=limits)
    valid = [parse_decision(t).valid for t in given_]
    out = traj.outcome
    assert len(traj.steps) == len(given_) == out.num_steps
    assert out.num_invalid == valid.count(False) == sum(not s.valid for s in traj.steps)
    assert [s.valid for s in traj.steps] == valid
    run = 0
    for v in valid:
        run = 0 if v else run + 1
    if not out.success:
        assert (out.failure_kind == "invalid_action") == (run >= max_invalid)
    for step in traj.steps:
        assert step.raw is not None and len(step.raw) <= MAX_RAW_CHARS + 40
        step.raw.encode("utf-8")
        assert step.error is None or len(step.error) <= 600
    encode_trajectories([traj], ["w1"])  # the store can hold every step


# ---------------------------------------------------------------------- argument labels (agent.arg_labels)

LABEL_ARGS = {"select_text": "text", "set_edit_text": "text", "keyboard_input": "keys", "summary": "text"}
LABEL_ARGS |= {"insert_table": "rows", "select_table": "number"}
label_values = st.one_of(
    st.builds(lambda n: f"@{n}", st.integers(0, 40)),
    st.sampled_from(["@", "@01", "@1.5", "@ 1", "@\uff11", "@-1", "@" + "9" * 5000, "@1\n", "@@1"]),
    st.text(chars, max_size=8),
    st.integers(0, 9),
)
label_answers = st.builds(
    lambda fn, v, status, name: json.dumps(
        {"control_name": name, "function": fn, "args": {LABEL_ARGS[fn]: v}, "status": status}
    ),
    st.sampled_from(sorted(LABEL_ARGS)),
    label_values,
    st.sampled_from(["CONTINUE", "FINISH"]),
    st.sampled_from(["Page 1 content", "Font Size", "Bold"]),
)


@examples(25)
@given(
    family=st.sampled_from(FAMILIES),
    script=st.lists(st.one_of(label_answers, answers()), min_size=1, max_size=8),
    max_invalid=st.integers(1, 4),
)
def test_label_answers_are_resolved_or_counted_invalid(vm, family, script, max_invalid):
    """With agent.arg_labels on, an answer is invalid exactly when it does not parse or one of its
    argument labels names no candidate of that step's prompt; nothing raises, the store holds it."""
    from lam_rl.agent.args import arg_candidates, resolve_args
    from lam_rl.env.protocol import Control, Observation

    replies = iter(script)
    given_: list[str] = []

    def generate(prompt: str, pinned: int | None) -> tuple[str, int]:
        text = next(replies, '{"function": "", "status": "FINISH"}')
        given_.append(text)
        return text, 1

    policy = LMPolicy(generate, PromptBuilder(AgentConfig(arg_labels=True)), name="fuzz-labels")
    limits = EpisodeLimits(max_steps=len(script) + 1, max_invalid=max_invalid)
    task = make_task(family, 0)
    traj = run_episode(vm, policy, task, traj_id="fuzz:labels", phase="explore", limits=limits)
    assert len(traj.steps) == len(given_) == traj.outcome.num_steps
    expected = []
    for text, step in zip(given_, traj.steps, strict=True):
        d = parse_decision(text).decision
        obs = Observation(controls=[Control(**c) for c in step.controls], canvas=step.canvas)
        ok = d is not None and resolve_args(d.args, arg_candidates(task.request, obs), d.function)[2] is None
        expected.append(ok)
        for k, label in (step.extra.get("arg_labels") or {}).items():  # the step keeps the text that ran
            assert ok and d.args[k] == label and step.args[k] != label
    assert [s.valid for s in traj.steps] == expected
    assert traj.outcome.num_invalid == expected.count(False)
    encode_trajectories([traj], ["w1"])
