"""Hostile input at the VM agent (real HTTP on loopback) and hostile servers at the client.

Each case names what used to go wrong: a lone surrogate in any string answered 500 and left the
VM answering 500 to everything until the next reset; a 900 KB name came back whole in the error;
NaN was accepted as an argument; a client read an endless or trickled answer forever."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from lam_rl.env.client import VMClient, VMError, VMProtocolError, VMTimeout
from lam_rl.env.fleet import serve_one
from lam_rl.env.protocol import Action, Control, Observation, TaskSpec
from lam_rl.env.tasks import make_task
from lam_rl.env.wordsim import WordSim

from .conftest import TOKEN

H = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
MAX_ERROR_BYTES = 1024
"""An error answer is at most this long, whatever the request held."""


def _state(http: httpx.Client) -> tuple[dict, dict]:
    obs = http.get("/v1/observation")
    health = http.get("/v1/health")
    assert obs.status_code == health.status_code == 200, (obs.text[:300], health.text[:300])
    h = health.json()
    h.pop("uptime_s")
    return obs.json(), h


def _rejected(http: httpx.Client, path: str, body: bytes, status: int | tuple[int, ...] = (400, 422)) -> dict:
    before = _state(http)
    r = http.post(path, content=body)
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (path, body[:120], r.status_code, r.text[:300])
    assert len(r.content) <= MAX_ERROR_BYTES, r.text[:300]
    err = r.json()
    assert set(err) == {"code", "message"} and err["message"]
    assert _state(http) == before, "a rejected request changed the VM"
    return err


@pytest.fixture
def http(fleet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fleet.urls[1], headers=H, timeout=30) as c:
        task = make_task("bold_text", 3)
        assert (
            c.post("/v1/reset", content=json.dumps({"task": task.model_dump(mode="json")})).status_code == 200
        )
        yield c


def _task(**changes: object) -> bytes:
    task = make_task("insert_table", 2).model_dump(mode="json")
    task.update(changes)
    return json.dumps({"task": task}).encode()


def test_a_lone_surrogate_in_any_string_is_a_4xx_and_the_vm_stays_as_it_was(http):
    lone = "\ud800"
    steps = [
        {"function": "keyboard_input", "control_name": "Page 1 content", "args": {"keys": "a" + lone}},
        {"function": "set_edit_text", "control_name": "Font Size", "args": {"text": lone}},
        {"function": "select_text", "control_name": "Page 1 content", "args": {"text": "\udfff"}},
        {"function": "click_input", "control_name": "Bold" + lone},
        {"function": "click_input" + lone, "control_name": "Bold"},
        {"function": "click_input", "control_name": "Bold", "control_type": lone},
        {"function": "click_input", "control_name": "Bold", "args": {lone: 1}},
        {"function": "click_input", "control_name": "Bold", "args": {"x": [{"y": lone}]}},
    ]
    for body in steps:
        escaped = json.dumps(body).encode()  # \ud800 as a JSON escape
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")  # raw ED A0 80
        for data in (escaped, raw):
            assert _rejected(http, "/v1/step", data)["code"] == "bad_request"
    for field in ("task_id", "family", "template", "request", "app"):
        _rejected(http, "/v1/reset", _task(**{field: "x" + lone}))
    _rejected(http, "/v1/reset", _task(plan=["(1) " + lone]))
    _rejected(http, "/v1/reset", _task(params={"text": lone}))
    # the VM still works and serializes everything
    assert http.get("/v1/screenshot").status_code == 200
    assert http.post("/v1/evaluate").status_code == 200


def test_numbers_nesting_and_syntax_the_protocol_refuses(http):
    step = b'{"function": "wheel_mouse_input", "control_name": "Page 1 content", "args": {"wheel_dist": %s}}'
    for value in (b"NaN", b"Infinity", b"-Infinity", b"1e999", b"9" * 5000, b"9" * 400, b"-" + b"9" * 30):
        _rejected(http, "/v1/step", step % value)
    label = b'{"function": "click_input", "control_label": %s}'
    for value in (b"9" * 20, b"2147483648", b"-2147483649", b"1e400"):
        _rejected(http, "/v1/step", label % value)
    for depth in (33, 100, 1000, 100_000):
        nested = b"[" * depth + b"]" * depth
        _rejected(http, "/v1/step", b'{"function": "click_input", "args": {"a": ' + nested + b"}}")
    _rejected(http, "/v1/step", b"[" * 200_000)
    for body in (
        b"",
        b"null",
        b"[]",
        b'"x"',
        b"{}{}",
        b'{"function": "texts"} x',
        b"\xef\xbb\xbf{}",
        b"\xff",
    ):
        _rejected(http, "/v1/step", body)
    _rejected(http, "/v1/reset", _task(seed=2**64))


def test_errors_never_echo_unbounded_input(http):
    huge = "y" * 900_000
    err = _rejected(http, "/v1/reset", _task(task_id=huge))
    assert "task_id" in err["message"] and "256" in err["message"]
    _rejected(http, "/v1/reset", _task(family=huge, task_id="ok"))
    _rejected(http, "/v1/step", json.dumps({"function": "click_input", "control_name": huge}).encode())
    _rejected(http, "/v1/step", json.dumps({"function": "click_input", huge: 1}).encode())
    _rejected(http, "/v1/step", json.dumps({"function": huge}).encode())
    # a name within the limits: the agent's own error is clipped
    before = _state(http)
    r = http.post("/v1/step", content=json.dumps({"function": "click_input", "control_name": "z" * 4000}))
    assert r.status_code == 200 and not r.json()["ok"]
    assert len(r.json()["error"]) <= 600
    assert _state(http)[0]["controls"] == before[0]["controls"]
    # an unknown template: the agent's bad_task error, clipped
    r = http.post("/v1/reset", content=_task(template="t" * 256, task_id="q" * 256))
    assert r.status_code == 422 and r.json()["code"] == "bad_task" and len(r.content) <= MAX_ERROR_BYTES


def test_content_types_methods_and_query_strings(http):
    body = json.dumps({"function": "texts", "control_name": "Bold"}).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", "json"):
        before = _state(http)
        r = http.post("/v1/step", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", (ctype, r.text)
        assert _state(http) == before
    for ctype in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.lam+json"):
        assert http.post("/v1/step", content=body, headers={"Content-Type": ctype}).status_code == 200
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        r = http.request(method, "/v1/step", content=body)
        assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    for query in ("x=%ED%A0%80", "a=" + "b" * 4000, "task=1&task=2", "%", "=&=&", "\u00e9=\u00e9"):
        assert http.get("/v1/observation?" + query).status_code == 200
        assert http.get("/v1/health?" + query).status_code == 200


def test_an_agent_reading_a_lone_surrogate_from_its_desktop_does_not_poison_the_vm():
    """A real desktop can report a lone surrogate (UTF-16 from UI Automation): the VM keeps
    answering, with U+FFFD in its place."""

    class Desktopish(WordSim):
        def observe(self) -> Observation:
            obs = super().observe()
            bad = Control.model_construct(label=999, text="A\udc80B", type="Button", rect=(0, 0, 1, 1))
            return obs.model_copy(update={"canvas": "x\ud800y", "controls": [*obs.controls, bad]})

    with serve_one(Desktopish("desk"), token=TOKEN) as f, VMClient(f.urls[0], TOKEN) as c:
        obs = c.reset(make_task("bold_text", 1))
        assert obs.canvas == "x\ufffdy" and obs.controls[-1].text == "A\ufffdB"
        assert c.observe().canvas == "x\ufffdy" and c.health().ok


def test_models_refuse_what_the_wire_cannot_carry():
    from pydantic import ValidationError

    for bad in (
        {"function": "click_input", "args": {"t": "\ud800"}},
        {"function": "click_input", "args": {"t": float("nan")}},
        {"function": "click_input", "args": {"t": 2**60}},
        {"function": "click_input", "args": {"t": b"bytes"}},
        {"function": "click_input", "control_label": 2**31},
        {"function": "x" * 65},
    ):
        with pytest.raises(ValidationError):
            Action(**bad)
    deep: list = []
    for _ in range(5000):  # deeper than the recursion limit: still a clean ValidationError
        deep = [deep]
    with pytest.raises(ValidationError):
        Action(function="click_input", args={"d": deep})
    with pytest.raises(ValidationError):
        TaskSpec(task_id="a\udc00", family="f", template="t", request="r")


# ---------------------------------------------------------------------- the client against bad servers


@contextmanager
def raw_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback TCP server that reads one request head per connection and runs ``answer``."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if stop.is_set():
                conn.close()
                return
            with conn:
                try:
                    conn.settimeout(5)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    answer(conn)
                except OSError:
                    pass

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    addr = srv.getsockname()
    try:
        yield f"http://{addr[0]}:{addr[1]}"
    finally:
        stop.set()
        with socket.create_connection(addr, timeout=5):  # wakes the accept() above
            pass
        t.join(timeout=10)
        srv.close()
        assert not t.is_alive()


def _endless(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"100000\r\n" + b"{" * 0x100000 + b"\r\n"
    while True:
        conn.sendall(chunk)


def _trickle(conn: socket.socket) -> None:
    for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
        conn.sendall(bytes([b]))
        time.sleep(0.05)


def _answer(raw: bytes) -> Callable[[socket.socket], None]:
    return lambda conn: conn.sendall(raw)


def _json_answer(status: int, body: bytes) -> Callable[[socket.socket], None]:
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return _answer(head.encode() + body)


BAD_SERVERS: dict[str, tuple[Callable[[socket.socket], None], type[VMError], str]] = {
    "not http": (_answer(b"SSH-2.0-OpenSSH_9.6\r\n\r\n" * 3), VMProtocolError, "not HTTP"),
    "binary": (_answer(bytes(range(256)) * 64), VMProtocolError, "not HTTP"),
    "endless body": (_endless, VMProtocolError, "byte limit"),
    "huge length": (
        _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n{"),
        VMProtocolError,
        "byte limit",
    ),
    "header flood": (
        _answer(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 5000 + b"\r\n"),
        VMProtocolError,
        "not HTTP",
    ),
    "long header": (
        _answer(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200_000 + b"\r\n\r\n"),
        VMProtocolError,
        "not HTTP",
    ),
    "trickle": (_trickle, VMTimeout, "no answer within"),
    "garbage json": (_json_answer(200, b"{\xff\xfe not json"), VMProtocolError, "malformed Health"),
    "deep json": (_json_answer(200, b"[" * 100_000), VMProtocolError, "malformed Health"),
    "nan json": (_json_answer(200, b'{"ok": NaN}'), VMProtocolError, "malformed Health"),
    "huge error": (
        _json_answer(500, json.dumps({"code": "c" * 10_000, "message": "m" * 5_000_000}).encode()),
        VMProtocolError,
        "HTTP 500",
    ),
    "error not json": (_json_answer(503, b"\x00" * 100_000), VMProtocolError, "HTTP 503"),
}


@pytest.mark.parametrize("kind", list(BAD_SERVERS))
def test_the_client_turns_a_bad_server_into_a_clear_error(kind):
    answer, cls, what = BAD_SERVERS[kind]
    with raw_server(answer) as url:
        client = VMClient(url, TOKEN, name="bad-vm", timeout_s=3, connect_retries=1, backoff_s=0.01)
        t0 = time.monotonic()
        with pytest.raises(cls) as e:
            client.health()
        took = time.monotonic() - t0
        client.close()
    msg = str(e.value)
    assert what in msg and "bad-vm" in msg, msg[:500]
    assert len(msg) < 1000, f"{len(msg)} chars"
    assert took < 3 * 2 + 5, f"{kind}: {took:.1f}s"  # one timeout per attempt at most, plus slack


def test_the_client_refuses_a_screenshot_that_is_not_png():
    png = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    with (
        raw_server(png) as url,
        VMClient(url, TOKEN, name="v", timeout_s=3, connect_retries=0) as c,
        pytest.raises(VMProtocolError, match="not a PNG"),
    ):
        c.screenshot()
