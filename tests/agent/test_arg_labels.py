"""Argument labels (``agent.arg_labels``): candidate extraction on real WordSim states, the label and
literal answer forms through parse -> ground -> action for every argument-taking function, labels in
real episodes (the VM runs the resolved text, the step keeps both, the store reads them back), label
answers that name no candidate counted as invalid, and SFT targets with the switch on and off."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from lam_rl.agent import AgentConfig, PromptBuilder, parse_decision
from lam_rl.agent.args import (
    LABELLED_ARGS,
    MAX_ARG_CHARS,
    MAX_ARGS,
    ArgCandidates,
    arg_candidates,
    resolve_args,
)
from lam_rl.agent.episode import EpisodeLimits, run_episode
from lam_rl.agent.grounding import ground
from lam_rl.agent.policy import ExpertAdapter, LMPolicy, Policy, PolicyOutput
from lam_rl.data.sft import action_examples
from lam_rl.env.client import VMClient
from lam_rl.env.config import ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.protocol import Control, Observation, TaskSpec
from lam_rl.env.tasks import list_families, make_task
from lam_rl.env.wordsim import WordSim
from lam_rl.store import TrajectoryStore

ON = AgentConfig(arg_labels=True)
FAMILIES = [f.name for f in list_families()]


@pytest.fixture(scope="module")
def vm():
    return VMClient.in_process(WordSim("arg-labels"))


def expert_steps(vm, task: TaskSpec) -> list:
    traj = run_episode(
        vm, ExpertAdapter(ExpertPolicy(ExpertConfig(noise=False))), task, traj_id="r", phase="b"
    )
    assert traj.outcome.complete == "yes", task.task_id
    return traj.steps


def obs_of(step) -> Observation:
    return Observation(controls=[Control(**c) for c in step.controls], canvas=step.canvas)


def check_bounded(c: ArgCandidates) -> None:
    assert len(c.texts) <= MAX_ARGS and len(set(c.texts)) == len(c.texts)
    for t in c.texts:
        assert 0 < len(t) <= MAX_ARG_CHARS and "\n" not in t and t == t.strip()


def test_candidates_on_every_family_are_deterministic_bounded_and_hold_the_arguments(vm):
    """Every family (2 seeds), every step of the noiseless expert: the same state gives the same
    labels, the list is bounded, and the argument the expert types is a candidate (measured: all but
    the multi-paragraph selections of the list families, which hold line breaks)."""
    typed = found = 0
    for fam in FAMILIES:
        for seed in (0, 1):
            task = make_task(fam, seed)
            for step in expert_steps(vm, task):
                obs = obs_of(step)
                c = arg_candidates(task.request, obs)
                assert arg_candidates(task.request, obs) == c  # deterministic
                check_bounded(c)
                text = step.args.get("text")
                if step.function in ("select_text", "set_edit_text") and "\n" not in text:
                    typed += 1
                    found += text in c.texts
    assert typed >= 100 and found / typed >= 0.95, (found, typed)


HOSTILE_REQUESTS = {
    "quotes inside quotes": 'Make "He said "stop" twice" bold and "x"',
    "unbalanced quote": 'Make "Quarterly results bold',
    "empty quotes": 'Bold "" and \'\' and "   "',
    "single quotes and apostrophes": "Make 'John's report' bold, don't touch 'Risks'",
    "curly quotes": "Make \u201cQuarterly results\u201d bold",
    "unicode": 'Mets "Résumé café 😀" en gras, taille 12 pt, 150 %',
    "rtl and combining": 'Bold "\u05e9\u05dc\u05d5\u05dd" and "e\u0301"',
    "control characters": 'Bold "a\x00b" and "c\nd" and "\u2028"',
    "long quote": 'Bold "' + "word " * 400 + '"',
    "many quotes": " ".join(f'"q{i}"' for i in range(200)),
    "many numbers": " ".join(str(i) for i in range(500)),
    "label-looking text": 'Type "@1" then "@999"',
    "empty": "",
    "url with punctuation": "Link it to https://example.org/a?b=1&c=2).",
}


@pytest.mark.parametrize("name", list(HOSTILE_REQUESTS))
def test_hostile_requests_and_documents_give_a_bounded_list(name):
    request = HOSTILE_REQUESTS[name]
    controls = [Control(label=1, text="Bold", type="Button", rect=(0, 0, 1, 1))]
    docs = ["", "p1: " + "long " * 2000, "\n".join(f"p{i}: para {i}" for i in range(2000)), "garbage\x00\n::"]
    for canvas in docs:
        obs = Observation(controls=controls, canvas=canvas)
        c = arg_candidates(request, obs)
        check_bounded(c)
        prompt = PromptBuilder(ON, lambda s: len(s) // 4).build(obs, request)
        assert prompt.args == c and "<Arguments:>" in prompt.text
    assert arg_candidates(request, Observation(controls=controls, canvas="p1: " + "x" * 10_000)).texts[
        -1:
    ] != ("x" * 10_000,)


def test_candidate_order_quotes_then_values_then_openings():
    obs = Observation(
        controls=[], canvas="caret: p1:0\np1 Heading 1: Project Plan: checklist\np2: Next steps ahead today"
    )
    c = arg_candidates('Set "Next steps..." to Candara, 18 pt and 150 percent', obs)
    assert c.texts == ("Next steps", "Candara", "18", "18 pt", "150", "150%", "Project Plan: checklist",
                       "Next steps ahead today")  # fmt: skip
    assert c.lines()[0] == "@1 Next steps" and c.text_of("@2") == "Candara" and c.text_of("@9") is None


# one argument-taking function each: (task family, the step's function) -> the step is played twice
ROUND_TRIP = {
    "select_text": ("bold_text", "select_text"),
    "set_edit_text": ("font_size", "set_edit_text"),
    "keyboard_input": ("append_paragraph", "keyboard_input"),
    "insert_table rows/columns": (None, "insert_table"),
    "select_table": (None, "select_table"),
    "summary": (None, "summary"),
}


@pytest.mark.parametrize("case", list(ROUND_TRIP))
def test_label_and_literal_answers_ground_to_the_same_action(case):
    fam, fn = ROUND_TRIP[case]
    values = {
        "select_text": {"text": "Quarterly results"},
        "set_edit_text": {"text": "18"},
        "keyboard_input": {"keys": "Thank you all", "control_focus": True},
        "insert_table": {"rows": 4, "columns": 3},
        "select_table": {"number": 2},
        "summary": {"text": "Draft v2"},
    }[fn]
    request = 'Use "Quarterly results" and "Thank you all" and "Draft v2": 18 pt, table 2, 4 rows 3 columns'
    obs = Observation(controls=[Control(label=5, text="Page 1 content", type="Document", rect=(0, 0, 9, 9))])
    cands = PromptBuilder(ON).build(obs, request).args
    labelled = {k: cands.label_of(v) or v for k, v in values.items()}
    assert any(str(v).startswith("@") for v in labelled.values()), labelled
    answers = {}
    for form, args in (("label", labelled), ("literal", values)):
        text = json.dumps(
            {"control_label": 5, "control_name": "Page 1 content", "function": fn, "args": args}
        )
        d = parse_decision(text).decision
        assert d is not None, text
        g = ground(d, obs, cands)
        assert g.action is not None and not g.invalid, g.error
        answers[form] = (g.action, g.arg_labels)
    assert answers["label"][0] == answers["literal"][0]
    assert answers["label"][0].args == values
    assert answers["label"][1] == {k: v for k, v in labelled.items() if v != values[k]}
    assert answers["literal"][1] == {}
    assert ground(d, obs, None).action.args == values  # the switch off: literal


def test_resolution_refuses_labels_that_name_nothing():
    c = ArgCandidates(("Bold text", "4"))
    assert resolve_args({"text": "@1"}, c, "select_text") == ({"text": "Bold text"}, {"text": "@1"}, None)
    assert resolve_args({"rows": "@2"}, c, "insert_table")[0] == {"rows": 4}
    for args, fn in (
        ({"text": "@3"}, "select_text"),
        ({"rows": "@1"}, "insert_table"),
        ({"text": "@999"}, "summary"),
    ):
        _, _, why = resolve_args(args, c, fn)
        assert why is not None and len(why) < 200
    for literal in ("@0", "@01", "@-1", "@1.5", "@ 1", "@\uff11", "a@1", "@1 ", "@1000"):
        assert resolve_args({"text": literal}, c, "select_text") == ({"text": literal}, {}, None)
    assert resolve_args({"text": "@1"}, None, "select_text") == ({"text": "@1"}, {}, None)


class LabelExpert(Policy):
    """The noiseless expert answering as a labelled model would: every argument that is one of the
    prompt's candidates given as its label, the answer as JSON text through the parser."""

    name = "label-expert"

    def __init__(self) -> None:
        self.expert = ExpertPolicy(ExpertConfig(noise=False))
        self.builder = PromptBuilder(ON)

    def reset(self, task: TaskSpec) -> None:
        self.task = task
        self.expert.reset(task)

    def act(self, obs: Observation) -> PolicyOutput:
        d = self.expert.act(obs)
        cands = self.builder.build(obs, self.task.request).args
        args = (
            {k: (cands.label_of(v) or v) for k, v in d.args.items()}
            if d.function in LABELLED_ARGS
            else d.args
        )
        raw = json.dumps(d.model_dump(exclude={"control_type"}) | {"args": args})
        return PolicyOutput(parse_decision(raw).decision, raw, args=cands)


@pytest.mark.parametrize("family", ["bold_text", "font_dialog", "insert_comment", "find_replace"])
def test_an_episode_of_label_answers_succeeds_and_keeps_label_and_text(vm, tmp_path, family):
    """Label answers: the VM gets the text, the task succeeds, each step stores the text in args
    and the label in extra, and the store reads both back."""
    task = make_task(family, 2)
    traj = run_episode(vm, LabelExpert(), task, traj_id=f"lab:{family}", phase="explore")
    assert traj.outcome.complete == "yes", traj.outcome.reason
    labelled = [s for s in traj.steps if s.extra.get("arg_labels")]
    assert labelled and all('"@' in s.raw for s in labelled)
    for s in labelled:
        for k, label in s.extra["arg_labels"].items():
            assert label.startswith("@") and not str(s.args[k]).startswith("@")
    store = TrajectoryStore(tmp_path / "store")
    store.write([traj])
    rows = store.steps(phase="explore").to_pylist()
    back = [json.loads(r["extra"]) for r in rows if r["extra"]]
    assert [b["arg_labels"] for b in back] == [s.extra["arg_labels"] for s in labelled]


def test_a_label_naming_no_candidate_is_a_counted_invalid_answer(vm):
    bad = json.dumps({"control_name": "Page 1 content", "function": "select_text", "args": {"text": "@12"}})
    bad_int = json.dumps(
        {"control_name": "Page 1 content", "function": "insert_table", "args": {"rows": "@1"}}
    )
    finish = json.dumps({"function": "", "status": "FINISH"})
    script = iter([bad, bad_int, finish])
    policy = LMPolicy(lambda p, v: (next(script), 1), PromptBuilder(ON))
    limits = EpisodeLimits(max_steps=5, max_invalid=3)
    traj = run_episode(vm, policy, make_task("bold_text", 1), traj_id="bad", phase="explore", limits=limits)
    assert [s.valid for s in traj.steps] == [False, False, True]
    assert traj.outcome.num_invalid == 2
    assert "names no candidate" in traj.steps[0].error and "not a whole number" in traj.steps[1].error


def test_sft_targets_use_labels_only_with_the_switch_on(vm):
    task = make_task("font_dialog", 3)
    rows = [s.__dict__ | {"traj_id": "t"} for s in expert_steps(vm, task)]
    off = action_examples(rows, PromptBuilder(replace(ON, arg_labels=False)))
    on = action_examples(rows, PromptBuilder(ON))
    arg_steps = [i for i, r in enumerate(rows) if r["function"] in ("select_text", "set_edit_text")]
    assert len(arg_steps) >= 3
    for i in arg_steps:
        t_off, t_on = json.loads(off[i].target), json.loads(on[i].target)
        assert t_off["args"] == rows[i]["args"] and "<Arguments:>" not in off[i].prompt
        assert t_on["args"]["text"].startswith("@")
        assert on[i].args.text_of(t_on["args"]["text"]) == rows[i]["args"]["text"]
    # not a candidate (a partial selection the noisy expert typed): the target stays literal
    rows[arg_steps[0]] = rows[arg_steps[0]] | {"args": {"text": "not in the request at all"}}
    t = json.loads(action_examples(rows, PromptBuilder(ON))[arg_steps[0]].target)
    assert t["args"] == {"text": "not in the request at all"}


def test_endpoint_clients_resolve_answers_from_the_prompt_text():
    """An OpenAI-endpoint client holds only the prompt text and the answer: the labels the prompt
    shows resolve, also when the budget trimmed the list; a prompt without the section is literal."""
    from lam_rl.agent.args import candidates_in_prompt, resolve_answer

    obs = Observation(controls=[], canvas="p1: Quarterly results are in\np2: Risks ahead")
    request = 'Bold "Quarterly results" at 18 pt'
    full = PromptBuilder(ON).build(obs, request)
    assert candidates_in_prompt(full.text) == full.args
    tight = PromptBuilder(replace(ON, max_prompt_tokens=64), lambda s: len(s) // 4).build(obs, request)
    shown = candidates_in_prompt(tight.text)
    assert shown.texts == full.args.texts[: len(shown.texts)] and len(shown.texts) >= 1
    answer = '{"control_name": "Page 1 content", "function": "select_text", "args": {"text": "@1"}}'
    d, why = resolve_answer(full.text, answer)
    assert why is None and d.args == {"text": "Quarterly results"}
    d, why = resolve_answer(full.text, answer.replace("@1", "@9"))
    assert d is None and "names no candidate" in why
    plain = PromptBuilder(AgentConfig()).build(obs, request).text
    assert resolve_answer(plain, answer)[0].args == {"text": "@1"}
    assert resolve_answer(full.text, "not json")[0] is None


def test_online_grpo_reward_resolves_labels_from_the_prompt():
    """The TRL reward (lam_rl.algos.trl_online) scores a label answer as the text it names: the same
    reward as the literal answer; a label that names no candidate scores as invalid."""
    from lam_rl.algos.trl_online import WordSimReward, expert_states

    task = make_task("bold_text", 6)
    row = expert_states([task], PromptBuilder(ON))[0]  # the first state: select the phrase
    prompt = row["prompt"]
    literal = json.dumps(
        {"control_name": "Page 1 content", "function": "select_text", "args": {"text": task.params["text"]}}
    )
    label = literal.replace(json.dumps(task.params["text"]), '"@1"')
    reward = WordSimReward()
    try:
        r_literal, r_label, r_missing = reward(
            [prompt] * 3, [literal, label, label.replace("@1", "@12")], task=[row["task"]] * 3, prefix=[0] * 3
        )
    finally:
        reward.close()
    assert r_label == r_literal == pytest.approx(0.5) and r_missing == pytest.approx(-0.5)
