import json

import pytest

from lam_rl.agent import AgentConfig, PromptBuilder
from lam_rl.eval.offline import aggregate, evaluate_lm, judge_step


def row(traj, step, name, function="click_input", status="CONTINUE", family="bold"):
    controls = [
        {"label": 1, "text": "Home", "type": "TabItem", "rect": [0, 0, 1, 1]},
        {"label": 2, "text": "Bold", "type": "Button", "rect": [0, 0, 1, 1]},
        {"label": 3, "text": "Italic", "type": "Button", "rect": [0, 0, 1, 1]},
    ]
    return {
        "traj_id": traj,
        "family": family,
        "step": step,
        "request": "Make it bold",
        "controls": controls,
        "canvas": "",
        "thought": "",
        "control_label": {"Home": 1, "Bold": 2, "Italic": 3}.get(name),
        "control_text": name,
        "function": function,
        "args": "{}",
        "status": status,
        "plan": [],
    }


def answer(name, function="click_input", status="CONTINUE", label=None):
    return json.dumps(
        {
            "thought": "",
            "control_label": label,
            "control_name": name,
            "function": function,
            "args": {},
            "status": status,
            "plan": [],
        }
    )


def test_judge_and_aggregate():
    steps = [
        row("t1", 0, "Home"),
        row("t1", 1, "Bold", status="FINISH"),
        row("t2", 0, "Home", family="x"),
        row("t2", 1, "Bold", status="FINISH", family="x"),
    ]
    # t1 entirely right; t2: wrong object at step 1 (Italic) -> SSR 3/4, TSR 1/2
    answers = iter(
        [answer("Home"), answer("Bold", status="FINISH"), answer("Home"), answer("Italic", status="FINISH")]
    )

    def generate(prompts):
        return [next(answers) for _ in prompts]

    rep = evaluate_lm(steps, PromptBuilder(AgentConfig()), generate, batch_size=4)
    assert rep.steps == 4 and rep.tasks == 2
    assert rep.object_acc == pytest.approx(0.75) and rep.operation_acc == 1.0 and rep.status_acc == 1.0
    assert rep.ssr == pytest.approx(0.75) and rep.tsr == pytest.approx(0.5)
    assert rep.by_family["bold"]["tsr"] == 1.0 and rep.by_family["x"]["tsr"] == 0.0


def test_invalid_answer_is_wrong_everywhere():
    j = judge_step(row("t", 0, "Bold"), None)
    assert not (j.object_ok or j.operation_ok or j.status_ok or j.valid)
    rep = aggregate([j])
    assert rep.invalid_rate == 1.0 and rep.ssr == 0.0


def test_grounding_by_name_counts_as_right_object():
    from lam_rl.agent.parse import parse_decision

    d = parse_decision(answer("Bold", label=3)).decision  # wrong label, right name
    assert judge_step(row("t", 0, "Bold"), d).object_ok
    d2 = parse_decision(answer("", function="", status="FINISH")).decision
    assert judge_step(row("t", 0, "", function="", status="FINISH"), d2).success
