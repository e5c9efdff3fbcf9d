"""Standing fuzz suite, VM protocol: random, mutated-valid and malformed requests against a real
``lam-rl env serve`` process (WordSim, and the Windows agent on its simulated desktop) over
loopback HTTP, through raw sockets so that methods, paths, query strings, headers, tokens, content
types, framing and bodies can be anything: huge and odd strings, lone surrogates (escaped and as
raw bytes), NaN/Infinity, huge numbers, deep nesting, broken UTF-8, lying lengths.

Whatever comes in: no 5xx and no uncaught exception in the server (its stderr is read at the
end); a wrong or missing token is a 401 before anything else; an error body is short JSON; a
rejected request (4xx) leaves the VM exactly as it was (observation and health before == after),
and so does a read-only call or a step the VM refused (``ok=false``; only the step counter moves);
the VM answers a valid request afterwards. A second property plays random action sequences (with
hostile argument values) against an in-process fleet to check WordSim's own invariants.

Bounded for CI (under a minute in all); ``LAM_FUZZ_EXAMPLES=N`` runs N examples per test instead
(docs/reliability.md lists what longer runs tried).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lam_rl.env.fleet import serve_many
from lam_rl.env.protocol import FUNCTIONS, StepResult
from lam_rl.env.server import DEFAULT_MAX_REQUEST_BYTES
from lam_rl.env.tasks import list_families, make_task, reference_actions
from lam_rl.env.wordsim.dialogs import DIALOGS
from lam_rl.env.wordsim.menus import MENUS
from lam_rl.env.wordsim.ribbon import MAIN_TABS, RIBBON
from tests.fuzz.common import Raw, examples, json_text

TOKEN = "fuzz-vm-token-0123456789"
MAX_ERROR_BYTES = 1024
ENDPOINTS = [
    ("GET", "/v1/health"),
    ("POST", "/v1/reset"),
    ("GET", "/v1/observation"),
    ("POST", "/v1/step"),
    ("POST", "/v1/evaluate"),
    ("GET", "/v1/screenshot"),
    ("GET", "/openapi.json"),
]
FAMILIES = [f.name for f in list_families()]
TALLY: Counter[str] = Counter()
"""Answers seen, by status (printed at the end: ``pytest -s`` shows what a long run tried)."""


# ---------------------------------------------------------------------- a real `lam-rl env serve`


@dataclass
class Server:
    url: str
    addr: tuple[str, int]
    proc: subprocess.Popen
    stderr: Path


def _serve(tmp: Path, env: dict[str, str], *extra: str) -> Server:
    ready, err = tmp / "ready.json", tmp / "stderr.txt"
    cmd = [
        sys.executable,
        "-m",
        "jobs.cli",
        "env",
        "serve",
        "--port",
        "0",
        "--ready-file",
        str(ready),
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, env=dict(env, LAM_VM_TOKEN=TOKEN), stdout=subprocess.DEVNULL, stderr=err.open("w")
    )
    deadline = time.monotonic() + 90
    while not ready.exists():
        assert proc.poll() is None, err.read_text()
        assert time.monotonic() < deadline, "the VM agent did not become ready"
        time.sleep(0.05)
    url = json.loads(ready.read_text())["vms"][0]["url"]
    u = urllib.parse.urlsplit(url)
    return Server(url, (u.hostname, u.port), proc, err)


def _stop(server: Server) -> None:
    alive = server.proc.poll() is None
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    log = server.stderr.read_text()
    assert alive, f"the server died during the fuzz run:\n{log[-3000:]}"
    assert "Traceback" not in log and "Exception in ASGI" not in log, log[-3000:]


@pytest.fixture(scope="module")
def wordsim(tmp_path_factory, subprocess_env, repo_root):
    server = _serve(tmp_path_factory.mktemp("vm"), dict(subprocess_env, PYTHONPATH=str(repo_root)))
    yield server
    _stop(server)


@pytest.fixture(scope="module")
def windows(tmp_path_factory, subprocess_env, repo_root):
    tmp = tmp_path_factory.mktemp("win")
    env = dict(subprocess_env, PYTHONPATH=str(repo_root))
    server = _serve(tmp, env, "--agent", "windows", "--simulated", "--work-dir", str(tmp / "vm"))
    yield server
    _stop(server)


# ---------------------------------------------------------------------- raw HTTP


@dataclass
class Answer:
    status: int
    ctype: str
    body: bytes


def raw_request(
    addr: tuple[str, int], method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> Answer | None:
    """One request on a fresh connection; None when the server closed it without an answer."""
    head = b"%s %s HTTP/1.1\r\n" % (method, target) + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    with socket.create_connection(addr, timeout=60) as s:
        with contextlib.suppress(OSError):  # the server answered (413) and closed before reading it all
            s.sendall(head + b"\r\n" + body)
        resp = http.client.HTTPResponse(s, method=method.decode("latin-1"))
        try:
            resp.begin()
            data = resp.read()
        except (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead):
            return None
        return Answer(resp.status, resp.getheader("content-type") or "", data)


class Plain:
    """Keep-alive HTTP with the token for the state checks (stdlib, about a millisecond a call)."""

    def __init__(self, addr: tuple[str, int]) -> None:
        self.addr = addr
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(*self.addr, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
            except (ConnectionError, http.client.HTTPException):  # a kept-alive connection closed
                self.close()
                if attempt:
                    raise
                continue
            if resp.will_close:
                self.close()
            return resp.status, data
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, data = self.call(method, path, None if body is None else json.dumps(body).encode())
        return status, json.loads(data) if data[:1] in (b"{", b"[") else data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def vm_state(vm: Plain) -> tuple[dict, dict]:
    (s1, obs), (s2, health) = vm.json("GET", "/v1/observation"), vm.json("GET", "/v1/health")
    assert s1 == 200 and s2 == 200, (s1, str(obs)[:300], s2, str(health)[:300])
    health.pop("uptime_s")
    return obs, health


def _without_step(state: tuple[dict, dict]) -> tuple[dict, dict]:
    obs = dict(state[0])
    obs.pop("step")
    return obs, state[1]


def check_answer(
    ans: Answer | None, method: bytes, path: str, *, authorized: bool, framed: bool, size: int
) -> None:
    if ans is None:  # closing without an answer is fair only for bodies over the limit or bad framing
        assert size > DEFAULT_MAX_REQUEST_BYTES or not framed, (method, path, size)
        TALLY["closed without an answer"] += 1
        return
    TALLY[f"HTTP {ans.status}"] += 1
    assert ans.status < 500, (method, path, ans.status, ans.body[:300])
    if path.startswith("/v1") and not authorized and framed:
        assert ans.status in (400, 401), (method, path, ans.status)  # 400: uvicorn refused the framing
    if ans.status >= 400:
        assert len(ans.body) <= MAX_ERROR_BYTES, ans.body[:300]
        if ans.ctype.startswith("application/json") and method != b"HEAD":
            err = json.loads(ans.body)
            assert set(err) == {"code", "message"} and isinstance(err["message"], str), err


def check_vm(
    vm: Plain,
    before: tuple[dict, dict],
    ans: Answer | None,
    method: bytes,
    path: str,
) -> tuple[dict, dict]:
    """The VM after a request: unchanged unless it was an accepted reset or an applied step."""
    after = vm_state(vm)
    route = (method.upper(), path)
    if ans is not None and ans.status == 200 and route == (b"POST", "/v1/reset"):
        return after
    if ans is not None and ans.status == 200 and route == (b"POST", "/v1/step"):
        res = StepResult.model_validate_json(ans.body)
        if res.ok:
            return after
        assert res.error_code and res.error and len(res.error) <= 600
        assert _without_step(after) == _without_step(before), "a refused step changed the VM"
        return after
    assert after == before, f"{method!r} {path} answered {ans and ans.status} and changed the VM"
    return after


# ---------------------------------------------------------------------- strategies

LONE = ["\ud800", "\udbff", "\udc00", "\udfff"]
ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\x00\x01\x1f\x7f",
    "\u202eevil",
    "\ufeff",
    "\ufffe\uffff",
    "{ENTER}",
    "{VK_CONTROL}",
    "^a{DELETE}",
    "{BACKSPACE 99999999}",
    "{TAB 4294967296}",
    "%s%n%x",
    "'; DROP TABLE x; --",
    "../../etc/passwd",
    "C:\\Windows\\System32",
    "\\\\?\\C:\\x",
    "<script>alert(1)</script>",
    "\U0001f600" * 3,
    "e\u0301" * 5,
    "Bold",
    "Font Size",
    "Page 1 content",
    "\r\n\r\nHTTP/1.1 200 OK",
    *LONE,
    "a\ud800b",
    "\udc00\ud800",
]
HUGE_SIZES = [1_000, 5_000, 70_000, 400_000, 1_100_000]


strings = st.one_of(
    st.sampled_from(ODD_STRINGS),
    st.text(max_size=30),
    st.text(st.characters(categories=["Cs", "Cc", "Cf", "Co", "Zs", "So"]), max_size=12),
    st.builds(
        lambda n, c: c * n, st.sampled_from(HUGE_SIZES), st.sampled_from(["x", "\u00e9", "{", "\ud800"])
    ),
)
numbers = st.one_of(
    st.integers(-5, 400),
    st.sampled_from([2**31, -(2**31) - 1, 2**53, 2**63, 2**64, -(2**63), 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [Raw(x) for x in ("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "9" * 5000, "1E400")]
    ),
    st.sampled_from([Raw(x) for x in ("-0", "0.0e0", "5e-324", "01", "+1", ".5", "0x10", "1_000", "--1")]),
)
deep = st.builds(
    lambda n, open_, leaf: Raw(open_ * n + leaf + {"[": "]", '{"a":': "}"}[open_] * n),
    st.sampled_from([2, 31, 33, 200, 1000, 100_000]),
    st.sampled_from(["[", '{"a":']),
    st.sampled_from(["1", '"x"', "null", ""]),
)
scalars = st.one_of(strings, numbers, st.booleans(), st.none(), deep)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(strings, inner, max_size=4)),
    max_leaves=8,
)


def to_json(value: Any, ensure_ascii: bool) -> bytes:
    """JSON text for a value holding Raw literals, lone surrogates (escaped, or as raw UTF-8 bytes
    when not ``ensure_ascii``), NaN and huge integers."""
    return json_text(value, ensure_ascii).encode("utf-8", "surrogatepass")


def valid_reset(family: str, seed: int) -> dict:
    return {"task": make_task(family, seed).model_dump(mode="json")}


def valid_steps(family: str, seed: int) -> list[dict]:
    return [
        d.to_action().model_dump(mode="json", exclude_none=True)
        for d in reference_actions(make_task(family, seed))
        if d.to_action()
    ]


def _paths(obj: Any, at: tuple = ()) -> list[tuple]:
    out = [at]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*at, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*at, i))
    return out


def _get(obj: Any, path: tuple) -> Any:
    for p in path:
        obj = obj[p]
    return obj


@st.composite
def mutated(draw: st.DrawFn, base: dict) -> bytes:
    """``base`` with one to three mutations, as JSON text, maybe cut or corrupted at byte level.

    Most mutations put a hostile string where a string was (one, or every one at once): that is
    where a value reaches the agent's state and comes back in every later answer."""
    obj = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(["string"] * 3 + ["strings", "replace", "replace", "add", "delete", "wrap"])
        )
        paths = _paths(obj)
        texts = [p for p in paths if p and isinstance(_get(obj, p), str)]
        if op in ("string", "strings") and texts:
            for path in texts if op == "strings" else [draw(st.sampled_from(texts))]:
                _get(obj, path[:-1])[path[-1]] = draw(strings)
            continue
        path = draw(st.sampled_from(paths))
        if not path:
            if op in ("replace", "wrap"):
                obj = draw(values) if op == "replace" else [obj]
            continue
        parent, key = _get(obj, path[:-1]), path[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "add" and isinstance(parent, dict):
            parent[draw(strings)] = draw(values)
        elif op == "delete":
            del parent[key]
        else:
            parent[key] = [parent[key]] if draw(st.booleans()) else {"v": parent[key]}
    data = to_json(obj, ensure_ascii=draw(st.booleans()))
    cut = draw(st.sampled_from(["none"] * 6 + ["truncate", "flip", "insert"]))
    if cut != "none" and data:
        i = draw(st.integers(0, len(data) - 1))
        if cut == "truncate":
            data = data[:i]
        elif cut == "flip":
            data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1 :]
        else:
            data = data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    return data


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["reset", "step", "step", "step", "any", "binary", "empty"]))
    family, seed = draw(st.sampled_from(FAMILIES)), draw(st.integers(0, 30))
    if kind == "reset":
        return draw(mutated(valid_reset(family, seed)))
    if kind == "step":
        steps = valid_steps(family, seed) or [{"function": "click_input", "control_name": "Bold"}]
        return draw(mutated(draw(st.sampled_from(steps))))
    if kind == "any":
        return to_json(draw(values), ensure_ascii=draw(st.booleans()))
    if kind == "binary":
        return draw(st.binary(max_size=200))
    return b""


TOKENS = st.sampled_from(
    [
        *[("right", f"Bearer {TOKEN}".encode())] * 8,
        ("right", f"bearer   {TOKEN}".encode()),
        ("right", f"BEARER {TOKEN} ".encode()),
        ("wrong", f"Bearer {TOKEN}x".encode()),
        ("wrong", f"Bearer {TOKEN[:-1]}".encode()),
        ("wrong", TOKEN.encode()),
        ("wrong", b"Bearer"),
        ("wrong", b"Bearer "),
        ("wrong", b"Basic dXNlcjpwYXNz"),
        ("wrong", b"Bearer \xff\xfe\x00"),
        ("wrong", b"Bearer " + b"t" * 10_000),
        ("none", b""),
    ]
)
CTYPES = st.sampled_from(
    [b"application/json"] * 6
    + [
        b"application/json; charset=utf-8",
        b"application/x+json",
        b"text/plain",
        b"",
        b"multipart/form-data; boundary=x",
    ]
    + [b"application/x-www-form-urlencoded", b"application/json\xff", b"application/json; charset=latin-1"]
)
METHODS = st.sampled_from(
    [b"GET"] * 3 + [b"POST"] * 5 + [b"PUT", b"DELETE", b"PATCH", b"HEAD", b"OPTIONS", b"get", b"X-Y"]
)
header_names = st.one_of(  # mostly valid names (the request reaches the app), sometimes not
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True),
    st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), min_size=1, max_size=20
    ),
)
header_values = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.encode),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40).map(str.encode),
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
)


@st.composite
def targets(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(
        st.one_of(
            *[st.sampled_from([p for _, p in ENDPOINTS])] * 4,  # mostly the real endpoints
            st.sampled_from(
                ["/", "/v1", "/v1/", "/v1/step/", "//v1/step", "/V1/STEP", "/v1/%2e%2e/health", "/docs"]
            ),
            st.text(max_size=20).map(
                lambda t: "/v1/" + urllib.parse.quote(t, safe="", errors="surrogatepass")
            ),
            st.just("/v1/" + "a" * 3000),
        )
    )
    query = draw(
        st.one_of(
            st.just(""),
            st.text(max_size=30).map(
                lambda t: "?" + urllib.parse.quote(t, safe="=&%", errors="surrogatepass")
            ),
            st.sampled_from(["?x=%ED%A0%80", "?%", "?a=" + "b" * 5000, "?task_id=x&task_id=y", "?=&=&"]),
        )
    )
    return path, (path + query).encode()


# ---------------------------------------------------------------------- properties


def one_request(server: Server, vm: Plain, data: st.DataObject) -> None:
    """Anything at all: method, target, token, content type, framing, extra headers, body."""
    method = data.draw(METHODS, label="method")
    path, target = data.draw(targets(), label="target")
    auth_kind, auth = data.draw(TOKENS, label="auth")
    body = data.draw(bodies(), label="body") if method in (b"POST", b"PUT", b"PATCH") else b""
    headers = [(b"Host", b"127.0.0.1")]
    if auth_kind != "none":
        headers.append((b"Authorization", auth))
    if body or data.draw(st.booleans()):
        headers.append((b"Content-Type", data.draw(CTYPES, label="content-type")))
    framing = data.draw(st.sampled_from(["length"] * 8 + ["chunked", "none"]), label="framing")
    if framing == "length":
        headers.append((b"Content-Length", str(len(body)).encode()))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    else:
        body = b""
    extra = data.draw(
        st.lists(st.tuples(header_names.map(str.encode), header_values), max_size=2), label="extra"
    )
    framed = not any(k.lower() in (b"content-length", b"transfer-encoding", b"host") for k, _ in extra)
    before = vm_state(vm)
    ans = raw_request(server.addr, method, target, headers + extra, body)
    check_answer(ans, method, path, authorized=auth_kind == "right", framed=framed, size=len(body))
    check_vm(vm, before, ans, method, path)


def one_mutated_body(server: Server, vm: Plain, data: st.DataObject) -> None:
    """A mutated valid reset or step body with the right token and content type."""
    route = data.draw(st.sampled_from(["/v1/step", "/v1/step", "/v1/reset"]), label="route")
    family, seed = data.draw(st.sampled_from(FAMILIES)), data.draw(st.integers(0, 30))
    if data.draw(st.booleans()):
        assert vm.json("POST", "/v1/reset", valid_reset(family, seed))[0] == 200
    if route == "/v1/reset":
        body = data.draw(mutated(valid_reset(family, seed)), label="body")
    else:
        steps = valid_steps(family, seed) or [{"function": "click_input", "control_name": "Bold"}]
        body = data.draw(mutated(data.draw(st.sampled_from(steps))), label="body")
    before = vm_state(vm)
    headers = [
        (b"Host", b"127.0.0.1"),
        (b"Authorization", f"Bearer {TOKEN}".encode()),
        (b"Content-Type", b"application/json"),
        (b"Content-Length", str(len(body)).encode()),
    ]
    ans = raw_request(server.addr, b"POST", route.encode(), headers, body)
    check_answer(ans, b"POST", route, authorized=True, framed=True, size=len(body))
    after = check_vm(vm, before, ans, b"POST", route)
    if ans is not None and ans.status == 200 and route == "/v1/reset":
        assert after[1]["task_id"] == json.loads(body)["task"]["task_id"]
    assert vm.call("POST", "/v1/evaluate")[0] in (200, 409)


def fuzz(prop: Any, server: Server, n: int) -> None:
    """``n`` examples of ``prop``; then the VM still serves every endpoint."""
    vm = Plain(server.addr)
    assert vm.json("POST", "/v1/reset", valid_reset("insert_table", 1))[0] == 200

    @examples(n)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        prop(server, vm, data)

    run()
    print(f"\n{prop.__name__} x {sum(TALLY.values())} against {server.url}: {dict(sorted(TALLY.items()))}")
    TALLY.clear()
    vm_state(vm)
    status, png = vm.call("GET", "/v1/screenshot")
    assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert vm.call("POST", "/v1/evaluate")[0] in (200, 409)
    vm.close()


@pytest.mark.e2e  # a `lam-rl env serve` subprocess
def test_any_request_wordsim(wordsim):
    fuzz(one_request, wordsim, 150)


@pytest.mark.e2e  # a `lam-rl env serve` subprocess
def test_mutated_valid_bodies_wordsim(wordsim):
    fuzz(one_mutated_body, wordsim, 120)


@pytest.mark.e2e  # a `lam-rl env serve` subprocess
def test_any_request_windows_agent(windows):
    fuzz(one_request, windows, 20)


@pytest.mark.e2e  # a `lam-rl env serve` subprocess
def test_mutated_valid_bodies_windows_agent(windows):
    fuzz(one_mutated_body, windows, 12)


@pytest.mark.e2e  # a `lam-rl env serve` subprocess
def test_oversized_and_lying_bodies(wordsim):
    """Bodies over the limit (declared or streamed), lengths that lie, a client that stops halfway."""
    over = DEFAULT_MAX_REQUEST_BYTES + 1
    auth = [
        (b"Host", b"x"),
        (b"Authorization", f"Bearer {TOKEN}".encode()),
        (b"Content-Type", b"application/json"),
    ]
    vm = Plain(wordsim.addr)
    assert vm.json("POST", "/v1/reset", valid_reset("bold_text", 1))[0] == 200
    before = vm_state(vm)
    cases = [
        (auth + [(b"Content-Length", str(over).encode())], b"{" * over, {413}),
        (auth + [(b"Content-Length", b"99999999999999999999")], b"{}", {400, 413}),
        (auth + [(b"Content-Length", b"-1")], b"{}", {400}),
        (auth + [(b"Content-Length", b"1e3")], b"{}", {400}),
        (auth + [(b"Content-Length", b"2"), (b"Content-Length", b"3")], b"{}", {400}),
        (
            auth + [(b"Transfer-Encoding", b"chunked")],
            b"%x\r\n%s\r\n0\r\n\r\n" % (over, b"[" * over),
            {413},
        ),
        (auth + [(b"Transfer-Encoding", b"chunked")], b"zz\r\n{}\r\n0\r\n\r\n", {400}),
        (auth + [(b"Content-Length", b"2")], b'{}{"function": "texts"}', {400, 422}),
    ]
    for headers, body, statuses in cases:
        ans = raw_request(wordsim.addr, b"POST", b"/v1/step", headers, body)
        assert ans is None or ans.status in statuses, (headers[-1], ans and (ans.status, ans.body[:200]))
        assert vm_state(vm) == before
    for declared, sent in ((100, 10), (DEFAULT_MAX_REQUEST_BYTES, 1000)):  # stops halfway, then closes
        with socket.create_connection(wordsim.addr, timeout=30) as s:
            s.sendall(
                b"POST /v1/step HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (TOKEN.encode(), declared, b"{" * sent)
            )
            s.shutdown(socket.SHUT_WR)
            assert s.recv(65536)[:12] in (b"", b"HTTP/1.1 400")
        assert vm_state(vm) == before


# ---------------------------------------------------------------------- WordSim's invariants under random actions

NAMES = sorted(
    {c.text for groups in RIBBON.values() for _, cs in groups for c in cs}
    | {c.text for m in MENUS.values() for c in m.items}
    | {f.name for d in DIALOGS.values() for f in d.fields if "{" not in f.name}
    | set(MAIN_TABS)
    | {"Table Design", "Table Layout", "Shape Format", "Header & Footer", "Page 1 content", "Rectangle 1"}
    | {"Text Box 1", "Header -Section 1-", "Footer -Section 1-", "Comment", "Post comment", "Back", "Save"}
    | {"Undo", "Redo"}
)
KEYS = ["^b", "^i", "{ENTER}", "^z", "^y", "{ESC}", "^a{DELETE}", "^h", "^d", "^k", "{TAB}", "+{END}"]
KEYS += ["^{END}x", "{BACKSPACE 3}", "^c", "^v", "^s", "{F12}", "%{F4}", "{VK_CONTROL}e", "^{ENTER}", "{(}"]
arg_values = st.one_of(
    st.text(max_size=25),
    st.sampled_from(NAMES + KEYS + ["12", '1.5"', "150%", "Arial", "left", "Landscape"]),
    st.integers(-5, 400),
    st.booleans(),
    st.none(),
    st.lists(st.integers(-5, 10**6), max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([ODD for ODD in ODD_STRINGS if not any(c in ODD for c in LONE)]),
    st.sampled_from([-(2**53) + 1, 2**53 - 1, 10**9, -(10**9)]),
    st.builds(lambda n: "x" * n, st.sampled_from([5_000, 20_001, 100_000])),
)
arg_dicts = st.dictionaries(
    st.sampled_from(
        [
            "text",
            "keys",
            "button",
            "double",
            "number",
            "rows",
            "columns",
            "wheel_dist",
            "control_focus",
            "bogus",
        ]
    ),
    arg_values,
    max_size=3,
)
actions = st.fixed_dictionaries(
    {"function": st.sampled_from([*FUNCTIONS, *["click_input"] * 6, "", "bogus", "CLICK"])},
    optional={
        "control_label": st.one_of(st.none(), st.integers(-3, 170)),
        "control_name": st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=12)),
        "control_type": st.sampled_from([None, "Button", "ComboBox", "Edit", "TabItem", "ListItem", "Weird"]),
        "args": arg_dicts,
    },
)
payloads = st.one_of(
    actions.map(lambda a: json.dumps(a).encode()),
    st.builds(
        lambda k: json.dumps({"function": "keyboard_input", "args": {"keys": k}}).encode(),
        st.sampled_from(KEYS),
    ),
    st.builds(
        lambda n: json.dumps({"control_name": n, "function": "click_input"}).encode(), st.sampled_from(NAMES)
    ),
    st.binary(max_size=30),
    st.sampled_from(
        [
            b"{}",
            b'{"function": 3}',
            b"[]",
            b"null",
            b'{"function": "click_input", "args": 7}',
            b'{"control_label": "x", "function": "texts"}',
            b'{"function": "keyboard_input", "control_name": "Page 1 content", "args": {"keys": "\\ud800"}}',
            b'{"function": "set_edit_text", "control_name": "Font Size", "args": {"text": NaN}}',
        ]
    ),
)


@pytest.fixture(scope="module")
def fleet():
    f = serve_many(1, token=TOKEN)
    yield f
    f.stop()


@examples(150)
@given(
    family=st.sampled_from(FAMILIES),
    seed=st.integers(0, 50),
    steps=st.lists(payloads, min_size=1, max_size=25),
    shot=st.integers(0, 9),
)
def test_random_actions_never_break_wordsim(fleet, family, seed, steps, shot):
    """Random (and malformed) action sequences: no 5xx, a refused step changes nothing, and
    WordSim's invariants hold after every step (in-process access to the agent)."""
    handle = fleet[0]
    agent = handle.agent
    vm = Plain((handle.host, handle.port))
    task = make_task(family, seed)
    assert vm.json("POST", "/v1/reset", {"task": task.model_dump(mode="json")})[0] == 200
    for body in steps:
        before = agent.fingerprint()
        status, data = vm.call("POST", "/v1/step", body)
        assert status in (200, 400, 422), (status, data[:300])
        if status != 200:  # malformed JSON (400) or a body that is not an Action (422)
            assert json.loads(data)["code"] == "bad_request"
            assert agent.fingerprint() == before
            continue
        res = StepResult.model_validate_json(data)
        if not res.ok:
            assert res.error_code and res.error
            assert agent.fingerprint() == before, (body[:200], res.error_code)
        agent.check_invariants()
        obs = res.observation
        assert [c.label for c in obs.controls] == list(range(1, len(obs.controls) + 1))
    assert vm.call("GET", "/v1/observation")[0] == 200
    assert vm.json("POST", "/v1/evaluate")[1]["complete"] in ("yes", "no", "unsure")
    if shot == 0:  # rendering the document is slow: one sequence in ten
        status, png = vm.call("GET", "/v1/screenshot")
        assert status == 200 and png[:8] == b"\x89PNG\r\n\x1a\n"
    vm.close()
