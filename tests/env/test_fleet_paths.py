"""Many VMs behind one port (``serve_many(..., layout="paths")``), over real HTTP: each VM at its own
URL path is independent, speaks the whole protocol through the prefix (the same 401/404/413/415/422
answers as a VM alone), fails alone (crash, hang, stop, restart) and has its own step latency."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from lam_rl.env.client import VMClient, VMConnectionError, VMTimeout
from lam_rl.env.config import EnvConfig
from lam_rl.env.fleet import serve_many
from lam_rl.env.protocol import Action, StepResult
from lam_rl.env.tasks import make_task

from . import test_http
from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def paths():
    with serve_many(6, token=TOKEN, layout="paths") as f:
        yield f


def client(url: str, name: str, **kw) -> VMClient:
    return VMClient(url, TOKEN, name=name, **{"timeout_s": 30, "connect_retries": 1, "backoff_s": 0.01, **kw})


def test_one_port_a_path_per_vm(paths):
    port = paths.port
    assert paths.urls == [f"http://127.0.0.1:{port}/vms/wordsim-{i}" for i in range(6)]
    assert all(vm.port == port and vm.alive for vm in paths)
    assert [client(u, n).health().name for u, n in zip(paths.urls, paths.names, strict=True)] == paths.names


def test_vms_on_one_port_are_independent(paths):
    a, b = client(paths.urls[0], "a"), client(paths.urls[1], "b")
    ta, tb = make_task("bold_text", 1), make_task("insert_table", 2)
    a.reset(ta)
    before = b.reset(tb)
    res = a.step(Action(control_name="Insert", control_type="TabItem", function="click_input"))
    assert res.ok and res.observation.step == 1
    assert b.observe() == before and b.health().task_id == tb.task_id  # a's step left b alone
    assert a.health().task_id == ta.task_id


def test_wrong_token_is_401_through_the_prefix(paths):
    """test_http's token cases on every route, on one keep-alive connection (the host answers 401
    and keeps serving it)."""
    with httpx.Client() as http:
        for method, path in test_http.ENDPOINTS:
            for headers in (
                {},
                {"Authorization": f"Bearer {TOKEN}x"},
                {"Authorization": TOKEN},
                {"Authorization": "Basic abc"},
            ):
                r = http.request(method, paths.urls[3] + path, headers=headers, content=b"{not json")
                assert r.status_code == 401, (path, headers)
                assert r.json()["code"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
        assert http.get(paths.urls[3] + "/v1/health", headers=AUTH).json()["name"] == paths.names[3]


def test_errors_and_limits_through_the_prefix(paths):
    """test_http's error cases (415, 400, 422, 404 of an unknown route, 413 declared and streamed,
    bad_task, the public OpenAPI document) against a VM behind the shared port."""
    test_http.test_error_bodies_and_limits(paths)
    test_http.test_models_round_trip_and_screenshot(client(paths.urls[2], paths.names[2]))


def test_unknown_vm_is_a_404_in_the_protocols_shape(paths):
    base = f"http://127.0.0.1:{paths.port}"
    for url in (
        f"{base}/vms/wordsim-99/v1/health",
        f"{base}/vms//v1/health",
        f"{base}/v1/health",
        base + "/",
    ):
        r = httpx.get(url, headers=AUTH)
        assert r.status_code == 404 and r.json()["code"] == "not_found", url
        assert "/vms/<name>" in r.json()["message"]
    r = httpx.get(f"{base}/vms/wordsim-99/v1/health")  # no token: 401 first, as for a known VM
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = httpx.post(f"{base}/vms/wordsim-99/v1/step", headers=AUTH, content=b"x" * 2_000_000)
    assert r.status_code == 413
    with pytest.raises(Exception) as e:
        client(f"{base}/vms/wordsim-99", "ghost").health()
    assert getattr(e.value, "status", None) == 404 and e.value.code == "not_found"


def test_crash_hang_and_restart_of_one_vm_leave_its_neighbours_alone():
    """12 VMs on one port: 3 crash (armed, and at once), 2 hang mid-episode and 1 is stopped; the
    others answer on their same keep-alive connections; a crashed VM's requests are dropped (the
    client's connection error), never answered; restart brings each back at the same URL, fresh."""
    with serve_many(12, token=TOKEN, layout="paths") as f:
        clients = [
            client(u, n, timeout_s=0.5 if i in (3, 10) else 30)
            for i, (u, n) in enumerate(zip(f.urls, f.names, strict=True))
        ]
        task = make_task("font_dialog", 1)
        for c in clients:
            c.reset(task)
        socks = [c._http.conn.sock for c in clients]
        for i in (1, 5):
            f[i].crash_next()
        for i in (3, 10):
            f[i].hang()
        f[7].crash()
        f[8].stop()
        action = Action(function="select_text", args={"text": task.params["text"]})
        for i, c in enumerate(clients):
            if i in (1, 5, 7, 8):
                with pytest.raises(VMConnectionError) as e:
                    c.step(action)
                assert "not retried" in str(e.value)  # dropped mid-request, as a dead VM
                with pytest.raises(VMConnectionError):
                    c.health()
            elif i in (3, 10):
                with pytest.raises(VMTimeout):
                    c.step(action)
            else:
                assert c.step(action).ok and c._http.conn.sock is socks[i]  # same connection
        assert [vm.alive for vm in f].count(False) == 4
        urls = f.urls
        for i in (1, 5, 7, 8, 3, 10):
            assert f.restart(i) == urls[i]
            h = clients[i].health()
            assert h.ok and h.task_id is None and h.name == f.names[i]  # a fresh agent, same URL
        assert all(vm.alive for vm in f) and f.urls == urls
        for i in (0, 2, 11):
            assert clients[i].health().task_id == task.task_id


def test_a_crash_spares_a_neighbours_request_on_a_shared_connection():
    """One keep-alive connection (httpx pools by host:port) carries requests for two VMs: crashing one
    VM while the other's request is in flight does not cut that request."""
    with serve_many(2, token=TOKEN, layout="paths", cfg=EnvConfig(latency_ms=600)) as f:
        task = make_task("bold_text", 0)
        with httpx.Client(headers=AUTH, timeout=30, limits=httpx.Limits(max_connections=1)) as http:
            for u in f.urls:
                assert (
                    http.post(u + "/v1/reset", json={"task": task.model_dump(mode="json")}).status_code == 200
                )
            out: list[httpx.Response] = []
            t = threading.Thread(
                target=lambda: out.append(http.post(f.urls[1] + "/v1/step", json={"function": "texts"}))
            )
            t.start()
            deadline = time.monotonic() + 60
            while not f[1]._state.inflight:  # the neighbour's step is in flight (sleeping its latency)
                assert time.monotonic() < deadline
                time.sleep(0.01)
            f[0].crash()
            t.join(30)
            assert out and out[0].status_code == 200 and StepResult.model_validate_json(out[0].content).ok
            assert http.get(f.urls[1] + "/v1/health").status_code == 200


def test_latency_per_vm_is_an_async_sleep():
    """Steps of VM 0 take its latency (1.2 s) within 0.02 s below / 1.5 s above (a loaded machine),
    while VM 1 (no latency) answers 3 steps meanwhile; set at serve time (cfg) or per handle at run
    time; jitter varies the latency within its range; observe is not delayed."""
    lat = 1.2
    with serve_many(3, token=TOKEN, layout="paths", cfg=EnvConfig(latency_ms=lat * 1000)) as f:
        f[1].set_latency(0)
        c0, c1, c2 = (client(u, n) for u, n in zip(f.urls, f.names, strict=True))
        task = make_task("bold_text", 0)
        for c in (c0, c1, c2):
            c.reset(task)
        fast_done: list[float] = []

        def fast() -> None:
            for _ in range(3):
                c1.step(Action(function="texts"))
            fast_done.append(time.monotonic())

        t0 = time.monotonic()
        t = threading.Thread(target=fast)
        t.start()
        c0.step(Action(function="texts"))
        took = time.monotonic() - t0
        t.join(30)
        assert lat - 0.02 <= took <= lat + 1.5, took
        assert fast_done and fast_done[0] - t0 < took  # VM 1 was not held up by VM 0's sleep
        t0 = time.monotonic()
        c0.observe()
        assert time.monotonic() - t0 < lat / 2  # only steps are delayed
        f[2].set_latency(0.1, jitter_s=0.4)
        times = []
        for _ in range(5):
            t0 = time.monotonic()
            c2.step(Action(function="texts"))
            times.append(time.monotonic() - t0)
        assert all(0.1 - 0.02 <= x <= 0.5 + 1.5 for x in times), times
        assert max(times) - min(times) > 0.01  # the jitter varies (5 uniform draws over 0.4 s)
        f.restart(2)
        assert f[2].faults.latency_ms == 100  # the VM's speed survives a restart
        with pytest.raises(ValueError, match="latency"):
            f[2].set_latency(-1)


def test_names_must_be_url_segments():
    for bad in ("a/b", "", "-x", "vm 1", "é"):
        with pytest.raises(ValueError, match="URL path segment"):
            serve_many(1, token=TOKEN, layout="paths", name_prefix=bad)
    with pytest.raises(ValueError, match="layout"):
        serve_many(1, token=TOKEN, layout="nope")


def test_200_vms_in_one_process_answer_concurrently():
    """200 VMs with 1 s steps on one port, each driven from its own thread and keep-alive connection
    (as a multiplexed rollout worker does): every VM answers for itself, in far less than the
    the steps would take one after another (200 s)."""
    n = 200
    with serve_many(n, token=TOKEN, layout="paths", cfg=EnvConfig(latency_ms=1000)) as f:
        tasks = [make_task("bold_text", i) for i in range(n)]
        start = threading.Barrier(n)

        def one(i: int) -> tuple[str, bool, str]:
            with client(f.urls[i], f.names[i], timeout_s=120) as c:
                start.wait(120)
                c.reset(tasks[i])
                res = c.step(Action(function="texts"))
                return c.health().name, res.ok, res.observation.task_id or ""

        t0 = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            out = list(pool.map(one, range(n)))
        took = time.monotonic() - t0
        assert [name for name, _, _ in out] == f.names
        assert [tid for _, _, tid in out] == [t.task_id for t in tasks] and all(ok for _, ok, _ in out)
        # >= one latency; VMs answered one at a time would take >= 200 s (half that: any load here)
        assert 1.0 <= took < 100, took
