"""The VM protocol contract every agent must meet, over real HTTP. Add an agent to AGENTS (a Windows
UIA agent with its adapter replaced by a recorded UI tree) and the same tests run against it; WordSim
also runs them behind a shared port, at its URL path (``serve_many(..., layout="paths")``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lam_rl.env.agent import VMAgent
from lam_rl.env.client import VMClient, VMProtocolError
from lam_rl.env.fleet import serve_many, serve_one
from lam_rl.env.protocol import CONTROL_TYPES, Action
from lam_rl.env.tasks import make_task
from lam_rl.env.windows.simulated import simulated_agent
from lam_rl.env.wordsim import WordSim

from .conftest import TOKEN

AGENTS: dict[str, Callable[[], VMAgent]] = {
    "wordsim": lambda: WordSim("contract-vm"),
    # the Windows UIA agent and its real pywinauto/COM adapter, on a simulated Windows desktop
    "windows": lambda: simulated_agent("contract-windows"),
}


@pytest.fixture(params=[*sorted(AGENTS), "wordsim@paths"], scope="module")
def vm(request):
    """Each agent alone on its port; WordSim also as one of several VMs behind one port (``@paths``)."""
    name, _, layout = request.param.partition("@")
    if layout:
        fleet = serve_many(3, token=TOKEN, layout=layout)
        fleet.restart(1)  # the VM under test has been restarted once
        url = fleet.urls[1]
    else:
        fleet = serve_one(AGENTS[name](), token=TOKEN)
        url = fleet.urls[0]
    with fleet, VMClient(url, TOKEN, name=request.param, timeout_s=30) as client:
        yield client


def test_health(vm):
    h = vm.health()
    assert h.ok and h.protocol == "1" and h.name and h.agent


def test_reset_gives_a_labelled_observation(vm):
    task = make_task("bold_text", 4)
    obs = vm.reset(task)
    assert obs.task_id == task.task_id and obs.step == 0 and obs.window
    assert [c.label for c in obs.controls] == list(range(1, len(obs.controls) + 1))
    assert all(c.type in CONTROL_TYPES for c in obs.controls)
    assert any(c.type == "Document" for c in obs.controls) and any(c.type == "TabItem" for c in obs.controls)
    assert vm.observe() == obs
    assert vm.health().task_id == task.task_id


def test_impossible_step_fails_cleanly(vm):
    obs = vm.reset(make_task("bold_text", 4))
    res = vm.step(Action(control_label=len(obs.controls) + 50, function="click_input"))
    assert not res.ok and res.error_code == "unknown_control" and res.error
    assert res.observation.controls == obs.controls
    res = vm.step(Action(function="no_such_function"))
    assert not res.ok and res.error_code == "unknown_function"


def test_step_by_label_and_by_name(vm):
    obs = vm.reset(make_task("bold_text", 4))
    tab = next(c for c in obs.controls if c.type == "TabItem" and c.text == "Insert")
    res = vm.step(Action(control_label=tab.label, control_name=tab.text, function="click_input"))
    assert res.ok and res.observation.step == 1 and res.control.label == tab.label
    res = vm.step(Action(control_name="Home", control_type="TabItem", function="click_input"))
    assert res.ok and res.control.text == "Home"


def test_evaluate_and_screenshot(vm):
    vm.reset(make_task("bold_text", 4))
    v = vm.evaluate()
    assert v.complete in ("yes", "no", "unsure") and v.reason
    assert v.complete != "yes"
    assert vm.screenshot()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_task_is_a_protocol_error(vm):
    with pytest.raises(VMProtocolError) as e:
        vm.reset(make_task("bold_text", 4).model_copy(update={"template": "missing-template"}))
    assert e.value.status == 422
