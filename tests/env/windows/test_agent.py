"""The Windows agent end to end on a simulated Windows desktop: the real adapter (uia.py through
PywinautoDesktop) over pywinauto/COM look-alikes backed by WordSim. Reset opens a .docx copy in
"Word", steps go through UIA elements and COM, evaluation reads the live document back."""

from __future__ import annotations

import pytest

from lam_rl.env.agent import AgentError
from lam_rl.env.protocol import Action
from lam_rl.env.tasks import make_task, near_miss_actions, reference_actions
from lam_rl.env.windows.agent import WindowsAgent
from lam_rl.env.windows.config import WindowsAgentConfig
from lam_rl.env.windows.local import PywinautoDesktop
from lam_rl.env.windows.simulated import simulated_agent, simulated_modules
from lam_rl.env.wordsim import WordSim

FAMILIES = (
    "bold_text",
    "font_size",
    "insert_table",
    "header_text",
    "insert_comment",
    "save_as",
    "word_count",
    "zoom_level",
    "shape_fill",
)


@pytest.fixture
def agent(tmp_path):
    a = simulated_agent("sim-vm", work_dir=tmp_path, canvas="none")
    yield a
    a.close()


def play(agent, actions):
    results = []
    for d in actions:
        if d.to_action():
            results.append(agent.step(d.to_action()))
    return results


@pytest.mark.parametrize("family", FAMILIES)
def test_reference_runs_are_yes_and_near_misses_no(agent, family):
    task = make_task(family, 1)
    obs = agent.reset(task)
    # the same labels, names, types and windows as WordSim shows for the same state
    sim = WordSim("ref")
    wobs = sim.reset(task)
    assert [(c.label, c.text, c.type, c.window) for c in obs.controls] == [
        (c.label, c.text, c.type, c.window) for c in wobs.controls
    ]
    assert obs.window.endswith(" - Word") and obs.task_id == task.task_id
    results = play(agent, reference_actions(task))
    assert all(r.ok for r in results), [(r.error_code, r.error) for r in results if not r.ok]
    v = agent.evaluate()
    assert v.complete == "yes", v.reason
    agent.reset(task)
    play(agent, near_miss_actions(task))
    assert agent.evaluate().complete == "no"


def test_what_cannot_be_read_back_is_unsure(tmp_path):
    agent = simulated_agent("sim-vm", work_dir=tmp_path, canvas="none")
    task = make_task("print_copies", 0)
    agent.reset(task)
    play(agent, reference_actions(task))
    v = agent.evaluate()
    assert v.complete == "unsure" and "printed" in v.reason

    class NoViewState(PywinautoDesktop):
        def app_state(self):
            return {}

    blind = WindowsAgent(
        NoViewState(modules=simulated_modules(profile_dir=tmp_path / "p2")),
        WindowsAgentConfig(settle_s=0, canvas="none", work_dir=str(tmp_path / "w2")),
    )
    task = make_task("zoom_level", 0)
    blind.reset(task)
    play(blind, reference_actions(task))
    v = blind.evaluate()
    assert v.complete == "unsure" and "view:zoom" in v.reason and v.sub_scores


def test_failed_steps_and_errors(agent):
    task = make_task("bold_text", 4)
    obs = agent.reset(task)
    r = agent.step(
        Action(control_name="Page 1 content", function="select_text", args={"text": "not in this document"})
    )
    assert not r.ok and r.error_code == "not_found" and r.observation.step == 1
    r = agent.step(Action(control_name="Bold", function="select_text", args={"text": "x"}))
    assert not r.ok and r.error_code == "bad_function"
    # open a dialog: the main window is then blocked, the dialog's controls work
    agent.step(Action(control_name="Font Settings", function="click_input"))
    r = agent.step(Action(control_name="Bold", control_type="Button", function="click_input"))
    assert not r.ok and r.error_code == "blocked_by_dialog" and r.observation.dialog == "Font"
    r = agent.step(Action(control_name="Cancel", function="click_input"))
    assert r.ok and r.control.window == "Font" and r.observation.dialog is None
    assert [c.text for c in r.observation.controls] == [c.text for c in obs.controls]
    r = agent.step(Action(control_name="Page 1 content", function="texts"))
    assert r.ok and task.params["text"] in r.result[0]
    r = agent.step(Action(control_name="Page 1 content", function="summary", args={"text": "done"}))
    assert r.ok and r.result == "done" and agent.summaries == ["done"]


def test_reset_errors_canvas_and_step_limit(tmp_path):
    agent = simulated_agent("sim-vm", work_dir=tmp_path, max_steps=2)
    with pytest.raises(AgentError) as e:
        agent.evaluate()
    assert (e.value.code, e.value.status) == ("not_reset", 409)
    with pytest.raises(AgentError) as e:
        agent.reset(make_task("bold_text", 1).model_copy(update={"template": "nope"}))
    assert (e.value.code, e.value.status) == ("bad_task", 422)
    task = make_task("bold_text", 1)
    obs = agent.reset(task)
    assert (tmp_path / "work" / f"{task.task_id}.docx").is_file()
    assert obs.canvas.startswith("p1 ") and "page: Letter Portrait" in obs.canvas  # as WordSim's canvas
    r = agent.step(reference_actions(task)[0].to_action())
    assert r.observation.canvas.startswith('sel: "' + task.params["text"][:20])
    agent.step(Action(function="texts"))
    r = agent.step(Action(function="texts"))
    assert not r.ok and r.error_code == "step_limit"
    assert agent.screenshot()[:8] == b"\x89PNG\r\n\x1a\n"
    h = agent.health()
    assert (h.agent, h.task_id) == ("windows-simulated", task.task_id)
    text = simulated_agent("sim-text", work_dir=tmp_path / "t", canvas="text")
    assert task.params["text"] in text.reset(task).canvas


def test_ufo_label_order_changes_labels_not_behaviour(tmp_path):
    agent = simulated_agent("sim-vm", work_dir=tmp_path, canvas="none", order="ufo")
    task = make_task("italic_text", 2)
    obs = agent.reset(task)
    types = [c.type for c in obs.controls]
    assert types.index("Document") > types.index("TabItem") and [c.label for c in obs.controls] == list(
        range(1, len(types) + 1)
    )
    play(agent, reference_actions(task))
    assert agent.evaluate().complete == "yes"


def test_every_desktop_call_runs_on_one_thread(tmp_path):
    """COM objects belong to the thread that created them: the agent makes all its desktop calls on
    its own thread (with thread_init first), whichever server thread calls the agent."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    seen: list[tuple[str, int]] = []

    class Recording(PywinautoDesktop):
        def thread_init(self):
            seen.append(("init", threading.get_ident()))

        def windows(self):
            seen.append(("windows", threading.get_ident()))
            return super().windows()

        def export_document(self):
            seen.append(("export", threading.get_ident()))
            return super().export_document()

    agent = WindowsAgent(
        Recording(modules=simulated_modules(profile_dir=tmp_path / "p")),
        WindowsAgentConfig(settle_s=0, work_dir=str(tmp_path / "w")),
    )
    task = make_task("bold_text", 2)
    agent.reset(task)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: agent.observe(), range(8)))
        for d in reference_actions(task):  # in order, each from some pool thread
            assert pool.submit(agent.step, d.to_action()).result().ok
    assert agent.evaluate().complete == "yes"
    agent.close()
    assert seen[0][0] == "init" and len({ident for _, ident in seen}) == 1
    assert threading.get_ident() != seen[0][1]
