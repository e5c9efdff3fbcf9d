"""The WAA/OSWorld adapter against a loopback server with the in-VM server's endpoint shapes
(waa_server.py): uia.py runs "inside the VM" through /execute, the tree also comes from
/accessibility, screenshots from /screenshot, documents go up through /setup/upload."""

from __future__ import annotations

import base64
import inspect
import subprocess
import zlib

import pytest

from lam_rl.config import ConfigError
from lam_rl.env.agent import AgentError
from lam_rl.env.client import VMClient
from lam_rl.env.fleet import serve_one
from lam_rl.env.protocol import Action
from lam_rl.env.tasks import make_task, near_miss_actions, reference_actions
from lam_rl.env.windows import uia
from lam_rl.env.windows.agent import WindowsAgent
from lam_rl.env.windows.config import WAAConfig, WindowsAgentConfig
from lam_rl.env.windows.desktop import DesktopError
from lam_rl.env.windows.serve import build_agent
from lam_rl.env.windows.waa import WAADesktop, remote_command
from lam_rl.env.wordsim import WordSim

from .waa_server import FakeWAAServer

TOKEN = "waa-test-token-0123"


def make_agent(server, tmp_path, **waa):
    cfg = WAAConfig(url=server.url, allow_insecure=True, remote_dir=str(tmp_path / "vm"), timeout_s=30, **waa)
    (tmp_path / "vm").mkdir(exist_ok=True)
    return WindowsAgent(
        WAADesktop(cfg), WindowsAgentConfig(settle_s=0, work_dir=str(tmp_path / "local")), name="waa-0"
    )


def test_an_episode_through_the_in_vm_server(tmp_path):
    with FakeWAAServer(tmp_path) as server:
        agent = make_agent(server, tmp_path)
        fleet = serve_one(agent, token=TOKEN)
        with fleet, VMClient(fleet.urls[0], TOKEN, name="waa-0", timeout_s=60) as vm:
            task = make_task("font_color", 2)
            obs = vm.reset(task)
            want = WordSim("ref").reset(task)
            assert [(c.text, c.type, c.window) for c in obs.controls] == [
                (c.text, c.type, c.window) for c in want.controls
            ]
            for d in reference_actions(task):
                res = vm.step(d.to_action())
                assert res.ok, (d.control_name, res.error)
            assert vm.evaluate().complete == "yes"
            assert vm.screenshot()[:8] == b"\x89PNG\r\n\x1a\n"
            vm.reset(task)
            for d in near_miss_actions(task):
                vm.step(d.to_action())
            assert vm.evaluate().complete == "no"
            r = vm.step(
                Action(control_name="Page 1 content", function="select_text", args={"text": "no such words"})
            )
            assert not r.ok and r.error_code == "not_found" and "in the VM" in r.error
        assert (tmp_path / "vm" / f"{task.task_id}.docx").is_file()
        assert server.requests.count("POST /setup/upload") == 2 and "GET /screenshot" in server.requests
        assert all(r in ("POST /execute", "POST /setup/upload", "GET /screenshot") for r in server.requests)


def test_accessibility_tree_source(tmp_path):
    """/accessibility gives pywinauto wrapper classes, not control types: TabItem and Document come
    from Office class names, RadioButtons read as Buttons, Spinners (a generic wrapper) are lost."""
    with FakeWAAServer(tmp_path) as server:
        agent = make_agent(server, tmp_path, tree_source="accessibility")
        task = make_task("paragraph_spacing", 0)
        obs = agent.reset(task)
        types = {c.type for c in obs.controls}
        assert {"TabItem", "Document", "Button", "ComboBox"} <= types and "Spinner" not in types
        tab = next(c for c in obs.controls if c.text == "Insert" and c.type == "TabItem")
        r = agent.step(Action(control_label=tab.label, function="click_input"))
        assert r.ok and any(c.text == "Table" for c in r.observation.controls)
        assert "GET /accessibility" in server.requests
        r = agent.step(Action(control_name="Layout", control_type="TabItem", function="click_input"))
        texts = {c.text for c in r.observation.controls}
        assert r.ok and "Orientation" in texts and "Spacing After" not in texts  # a Spinner: no wrapper


def test_failures_are_reported_not_raised(tmp_path):
    with FakeWAAServer(tmp_path, upload=False) as server:  # no /setup/upload: chunks through /execute
        agent = make_agent(server, tmp_path)
        task = make_task("bold_text", 3)
        agent.reset(task)
        assert "POST /setup/upload" in server.requests  # tried, refused (404), then written in chunks
        assert (tmp_path / "vm" / f"{task.task_id}.docx").read_bytes() == (
            tmp_path / "local" / f"{task.task_id}.docx"
        ).read_bytes()
        server.fail_execute = True  # the VM's server breaks: the step fails, and the VM cannot be observed
        with pytest.raises(AgentError) as e:
            agent.step(Action(control_name="Bold", function="click_input"))
        assert e.value.status == 503 and "injected failure" in e.value.message
        with pytest.raises(DesktopError, match="injected failure"):
            agent.desktop.op("app_state")
        server.fail_execute = False
        with pytest.raises(DesktopError) as e:
            agent.desktop.op("no_such_op")
        assert e.value.code == "unknown_function"
        assert agent.desktop.probe()["status"] == "Probe successful"


def test_off_by_default_and_reachability(tmp_path):
    with pytest.raises(ConfigError, match="off by default.*without authentication"):
        WAAConfig(url="http://127.0.0.1:5000")
    with pytest.raises(ConfigError, match="waa.url"):
        WAAConfig(url="10.0.0.5:5000", allow_insecure=True)
    with pytest.raises(ConfigError, match="cannot reach"):
        build_agent("waa", name="w", waa_url="http://127.0.0.1:9", waa_allow_insecure=True)
    with FakeWAAServer(tmp_path) as server:
        agent = build_agent(
            "waa", name="w", waa_url=server.url, waa_allow_insecure=True, work_dir=str(tmp_path)
        )
        assert agent.health().agent == "windows-waa" and server.requests == ["GET /probe"]


def test_remote_command_carries_uia_py_and_fits_a_windows_command_line():
    cmd = remote_command("python", "tree", {"_title_re": " - Word"})
    assert cmd[:2] == ["python", "-c"] and cmd[3] == "tree"
    assert len(subprocess.list2cmdline(cmd)) < 32_000  # CreateProcess's limit
    code = cmd[2].split("b64decode('")[1].split("')")[0]
    assert zlib.decompress(base64.b64decode(code)).decode() == inspect.getsource(uia)
