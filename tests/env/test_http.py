"""The VM protocol over real HTTP (uvicorn on loopback): the expert end to end, auth, errors,
the client's retry/timeout behaviour and fault injection."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from lam_rl.env.agent import VMAgent
from lam_rl.env.client import VMAuthError, VMClient, VMConnectionError, VMError, VMProtocolError, VMTimeout
from lam_rl.env.config import EnvConfig, ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.fleet import serve_many, serve_one
from lam_rl.env.protocol import Action, Health, Observation, StepResult, TaskSpec, Verdict
from lam_rl.env.tasks import list_families, make_composite, make_task
from lam_rl.env.wordsim import WordSim

from .conftest import TOKEN

ENDPOINTS = [
    ("GET", "/v1/health"),
    ("POST", "/v1/reset"),
    ("GET", "/v1/observation"),
    ("POST", "/v1/step"),
    ("POST", "/v1/evaluate"),
    ("GET", "/v1/screenshot"),
]


def test_noiseless_expert_completes_every_family_over_http(client):
    expert = ExpertPolicy(ExpertConfig(noise=False), seed=0)
    tasks = [make_task(f.name, 7) for f in list_families()] + [make_composite(s) for s in range(6)]
    for task in tasks:
        obs = client.reset(task)
        assert obs.task_id == task.task_id
        expert.reset(task)
        for _ in range(15):
            d = expert.act(obs)
            if d.to_action() is not None:
                res = client.step(d.to_action())
                assert res.ok, (task.task_id, res.error)
                obs = res.observation
            if d.status == "FINISH":
                break
        verdict = client.evaluate()
        assert verdict.complete == "yes", (task.task_id, verdict.reason)
    assert client.health().task_id == tasks[-1].task_id


@pytest.mark.parametrize("method, path", ENDPOINTS)
def test_missing_or_wrong_token_gets_401(fleet, method, path):
    for headers in (
        {},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},
        {"Authorization": "Basic abc"},
    ):
        r = httpx.request(method, fleet.urls[0] + path, headers=headers, content=b"{not json")
        assert r.status_code == 401, (path, headers)
        assert r.json()["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"


def test_error_bodies_and_limits(fleet):
    h = {"Authorization": f"Bearer {TOKEN}"}
    url = fleet.urls[0]
    r = httpx.post(url + "/v1/step", headers=h, content=b"{not json")
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    r = httpx.post(url + "/v1/step", headers={**h, "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 400 and r.json()["code"] == "bad_request"
    r = httpx.post(url + "/v1/step", headers=h, json={"function": 5, "args": []})
    assert r.status_code == 422 and "function" in r.json()["message"]
    r = httpx.post(url + "/v1/reset", headers=h, json={"task": {"task_id": "x"}})
    assert r.status_code == 422
    r = httpx.get(url + "/v1/nothing", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    big = b'{"function": "summary", "args": {"text": "' + b"x" * 2_000_000 + b'"}}'
    r = httpx.post(url + "/v1/step", headers=h, content=big)
    assert r.status_code == 413 and r.json()["code"] == "too_large"

    def chunks():
        yield b'{"function": "summary", "args": {"text": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}}'

    r = httpx.post(url + "/v1/step", headers={**h, "Content-Type": "application/json"}, content=chunks())
    assert r.status_code == 413
    bad_task = make_task("bold_text", 0).model_copy(update={"template": "no_such_template"})
    with VMClient(url, TOKEN, name="vm-a") as c:
        with pytest.raises(VMProtocolError) as e:
            c.reset(bad_task)
        assert e.value.status == 422 and e.value.code == "bad_task"
    spec = httpx.get(url + "/openapi.json").json()  # public: it holds no secrets
    assert {
        "/v1/health",
        "/v1/reset",
        "/v1/observation",
        "/v1/step",
        "/v1/evaluate",
        "/v1/screenshot",
    } <= set(spec["paths"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_models_round_trip_and_screenshot(client):
    task = make_task("insert_table", 1)
    obs = client.reset(task)
    assert isinstance(obs, Observation) and len(obs.controls) >= 60
    res = client.step(Action(control_name="Insert", control_type="TabItem", function="click_input"))
    assert isinstance(res, StepResult) and res.ok and res.control.text == "Insert"
    assert client.observe() == res.observation
    png = client.screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert isinstance(client.evaluate(), Verdict) and isinstance(client.health(), Health)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_client_retries_a_dead_vm_then_names_it():
    url = f"http://127.0.0.1:{_free_port()}"
    c = VMClient(url, TOKEN, name="win-vm-07", timeout_s=1, connect_retries=3, backoff_s=0.05)
    t0 = time.monotonic()
    for call in (c.health, c.observe, lambda: c.step(Action(function="texts"))):
        with pytest.raises(VMConnectionError) as e:
            call()
        assert e.value.attempts == 4 and e.value.vm == "win-vm-07" and e.value.url == url
        assert "win-vm-07" in str(e.value) and url in str(e.value) and "[connection]" in str(e.value)
    assert time.monotonic() - t0 >= 3 * (0.05 + 0.1 + 0.2)  # exponential backoff between attempts
    with pytest.raises(VMAuthError), serve_many(1, token=TOKEN) as f:
        VMClient(f.urls[0], "wrong", name="x").health()


def test_crash_drops_the_step_without_retry_then_refuses_until_restart():
    with serve_many(2, token=TOKEN) as f:
        c = VMClient(f.urls[0], TOKEN, name=f.names[0], timeout_s=2, connect_retries=2, backoff_s=0.01)
        task = make_task("bold_text", 2)
        c.reset(task)
        f[0].crash_next()
        with pytest.raises(VMConnectionError) as e:
            c.step(Action(control_name="Bold", function="click_input"))
        assert e.value.attempts == 1 and "not retried" in str(e.value)
        assert not f[0].alive
        with pytest.raises(VMConnectionError) as e:
            c.health()
        assert "refused" in str(e.value).lower() and e.value.attempts == 3
        other = VMClient(f.urls[1], TOKEN, name=f.names[1])
        assert other.health().ok  # one VM's crash leaves the others alone
        url = f[0].url
        assert f[0].restart() == url and f[0].alive
        assert c.health().ok and c.health().task_id is None  # a fresh agent after the restart
        f[1].crash()
        with pytest.raises(VMConnectionError):
            other.health()


def test_hang_times_out_and_http500_is_not_applied():
    with serve_many(1, token=TOKEN) as f:
        c = VMClient(f.urls[0], TOKEN, name="hangy", timeout_s=0.3, connect_retries=0)
        task = make_task("bold_text", 3)
        c.reset(task)
        f[0].hang_next(seconds=600)  # released when the fleet stops
        t0 = time.monotonic()
        with pytest.raises(VMTimeout) as e:
            c.observe()
        # the client gave up at its own 0.3 s timeout, long before the hang would have ended
        assert 0.25 <= time.monotonic() - t0 < 300 and e.value.kind == "timeout" and "hangy" in str(e.value)
        before = c.observe()  # a hung request holds nothing: the VM answers the next one meanwhile
        f[0].fail_next()
        with pytest.raises(VMProtocolError) as e:
            c.step(Action(function="select_text", args={"text": task.params["text"]}))
        assert e.value.status == 500 and e.value.code == "injected_fault"
        assert c.observe() == before  # the failed step was not applied
        f[0].slow_reset_next(0.2)
        slow = VMClient(f.urls[0], TOKEN, name="hangy", timeout_s=2)
        t0 = time.monotonic()
        slow.reset(task)
        assert time.monotonic() - t0 >= 0.2
        f[0].hang()
        with pytest.raises(VMTimeout):
            c.health()
        f[0].unhang()
        assert c.health().ok


def test_fault_rates_and_latency_from_config():
    cfg = EnvConfig(http500_rate=1.0)
    with serve_many(1, token=TOKEN, cfg=cfg) as f:
        with pytest.raises(VMProtocolError):
            VMClient(f.urls[0], TOKEN, name="flaky").health()
        assert f[0].faults.injected["http500"] == 1
    with serve_many(1, token=TOKEN, cfg=EnvConfig(crash_rate=1.0)) as f, pytest.raises(VMConnectionError):
        VMClient(f.urls[0], TOKEN, name="crashy", connect_retries=1, backoff_s=0.01).health()
    with serve_many(1, token=TOKEN, cfg=EnvConfig(latency_ms=500)) as f:
        c = VMClient(f.urls[0], TOKEN, name="slow")
        c.reset(make_task("bold_text", 0))
        t0 = time.monotonic()
        c.step(Action(function="texts"))
        assert time.monotonic() - t0 >= 0.5
        t0 = time.monotonic()
        c.observe()  # latency applies to steps only (an observe takes ~5 ms: 100x margin under load)
        assert time.monotonic() - t0 < 0.5


def test_fleet_starts_fast_and_serves_many():
    """Cheap to start whatever the machine's load: 8 VMs are 8 servers on one event-loop thread, no
    processes (a wall-clock bound here failed on a busy machine, so the structure is asserted)."""
    import threading

    import psutil

    me = psutil.Process()
    threads, children = threading.active_count(), {c.pid for c in me.children(recursive=True)}
    with serve_many(8, token=TOKEN) as f:
        assert threading.active_count() - threads <= 1
        assert {c.pid for c in me.children(recursive=True)} <= children  # no process started
        assert len(set(f.urls)) == 8 and f.names[3] == "wordsim-3"
        assert all(VMClient(u, TOKEN).health().name == n for u, n in zip(f.urls, f.names, strict=True))


class EchoAgent(VMAgent):
    """A minimal blocking agent: the server is generic over VMAgent (a Windows agent plugs in the same way)."""

    kind = "echo"
    blocking = True

    def __init__(self) -> None:
        self.name = "echo-1"
        self.task: TaskSpec | None = None

    def health(self) -> Health:
        return Health(ok=True, agent=self.kind, name=self.name)

    def reset(self, task: TaskSpec) -> Observation:
        self.task = task
        return self.observe()

    def observe(self) -> Observation:
        return Observation(task_id=self.task.task_id if self.task else None, window="Echo")

    def step(self, action: Action) -> StepResult:
        time.sleep(0.01)
        return StepResult(
            ok=False,
            error="echo",
            error_code="unknown_control",
            result=action.function,
            observation=self.observe(),
        )

    def evaluate(self) -> Verdict:
        return Verdict(complete="unsure", reason="echo")

    def screenshot(self) -> bytes:
        return b"\x89PNG\r\n\x1a\n"


def test_server_is_generic_over_vm_agents():
    with serve_one(EchoAgent(), token=TOKEN) as f:
        c = VMClient(f.urls[0], TOKEN)
        assert c.health().agent == "echo"
        task = make_task("bold_text", 0)
        assert c.reset(task).task_id == task.task_id
        assert c.step(Action(function="texts")).result == "texts"
        assert c.evaluate().complete == "unsure"


def test_in_process_transport_has_the_same_interface():
    vm = VMClient.in_process(WordSim("local-1"))
    with pytest.raises(VMProtocolError) as e:
        vm.evaluate()
    assert e.value.code == "not_reset" and e.value.status == 409 and "local-1" in str(e.value)
    task = make_task("align_paragraph", 4)
    obs = vm.reset(task)
    assert vm.observe() == obs and vm.health().task_id == task.task_id
    assert vm.screenshot()[:4] == b"\x89PNG"
    assert issubclass(VMTimeout, VMError) and issubclass(VMAuthError, VMError)


def test_faults_stay_with_their_vm_across_a_fleet():
    """16 VMs on one event loop: 3 crash and 2 hang mid-episode; the other 11 keep answering while the
    two hang (an hour each: were the loop blocked, their 30 s timeouts would fire; no wall-clock bound)."""
    with serve_many(16, token=TOKEN) as f:
        clients = [
            VMClient(
                u, TOKEN, name=n, timeout_s=0.5 if i in (3, 12) else 30, connect_retries=1, backoff_s=0.01
            )
            for i, (u, n) in enumerate(zip(f.urls, f.names, strict=True))
        ]
        task = make_task("font_dialog", 1)
        for c in clients:
            c.reset(task)
        for i in (1, 5, 9):
            f[i].crash_next()
        for i in (3, 12):
            f[i].hang()
        action = Action(function="select_text", args={"text": task.params["text"]})
        for i, c in enumerate(clients):
            if i in (1, 5, 9):
                with pytest.raises(VMConnectionError):
                    c.step(action)
            elif i in (3, 12):
                with pytest.raises(VMTimeout):
                    c.step(action)
            else:
                assert c.step(action).ok
        assert [vm.alive for vm in f].count(False) == 3
        for i in (1, 5, 9, 3, 12):
            f.restart(i)
            assert clients[i].health().ok
