"""The client a rollout worker uses to drive one VM agent, over HTTP or in-process.

    vm = VMClient("http://10.0.0.7:8700", token, name="win-07", timeout_s=10)
    obs = vm.reset(task); res = vm.step(action); verdict = vm.evaluate()
    vm = VMClient.in_process(WordSim())           # same interface, no network (unit tests)

Failures raise ``VMError`` subclasses naming the VM, its URL, the operation and the kind:
``VMConnectionError`` (refused/dropped), ``VMTimeout``, ``VMAuthError`` (401),
``VMProtocolError`` (any other HTTP error or a malformed answer; ``code`` carries the server's
error code). A server that answers something other than HTTP, a body over
``max_response_bytes`` or a body that is not the expected model is a ``VMProtocolError``; one
that answers too slowly (even a byte at a time) is a ``VMTimeout`` once ``timeout_s`` has passed
in all. Connection errors are retried with exponential backoff, but a ``step`` is retried
only when the connection was refused before anything was sent: a step that may have been
applied is never repeated. Reset, observe, evaluate, health and screenshot are also retried
when the connection drops mid-request.
"""

from __future__ import annotations

import http.client
import io
import re
import select
import socket
import threading
import time
import urllib.parse
from typing import Any

from pydantic import BaseModel, ValidationError

from lam_rl.env.agent import AgentError, VMAgent
from lam_rl.env.config import EnvConfig
from lam_rl.env.protocol import (
    Action,
    ErrorBody,
    Health,
    Observation,
    ResetRequest,
    StepResult,
    TaskSpec,
    Verdict,
    clip,
)

IDEMPOTENT = ("health", "reset", "observe", "evaluate", "screenshot")
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""Largest answer a client reads (a screenshot of a big screen is a few MB)."""
MAX_MESSAGE_CHARS = 300
"""Characters of a server's error message kept in a VMError."""
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_BAD_URL_CHAR = re.compile("[\x00-\x20\x7f]").search
"""What ``http.client`` refuses in a request's URL."""
_BAD_HEADER_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search
"""What ``http.client`` refuses in a header value (a line break that would start another header)."""


class VMError(Exception):
    """A VM failed: ``vm`` (name), ``url``, ``op`` (health/reset/observe/step/evaluate/screenshot)
    and ``kind`` say which and how; ``status``/``code`` carry the HTTP status and error code."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        vm: str,
        url: str,
        op: str,
        status: int | None = None,
        code: str | None = None,
        attempts: int = 1,
    ) -> None:
        self.message, self.vm, self.url, self.op = message, vm, url, op
        self.status, self.code, self.attempts = status, code, attempts
        super().__init__(f"VM {vm} ({url}): {op} failed [{self.kind}]: {message}")


class VMConnectionError(VMError):
    kind = "connection"


class VMTimeout(VMError):
    kind = "timeout"


class VMAuthError(VMError):
    kind = "auth"


class VMProtocolError(VMError):
    kind = "protocol"


VMTimeoutError = VMTimeout


class _ConnectFailed(Exception):
    """The TCP connection could not be opened: nothing was sent."""


class _Dropped(Exception):
    """The connection failed after the request may have been sent."""


class _Timeout(Exception):
    pass


class _Garbage(Exception):
    """The server answered, but not HTTP/1.1 or not within the size limit: retrying will not help."""


class _DeadlineReader(io.RawIOBase):
    """The response side of a socket that gives up at ``deadline`` (monotonic) in all, however
    slowly the server trickles bytes: each read waits at most for the time left."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer did not arrive in time")
        self.sock.settimeout(left)
        return self.sock.recv_into(buf)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` reads from: only ``makefile`` is used."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock, self.deadline = sock, deadline

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))


class _Transport:
    """One keep-alive HTTP/1.1 connection (stdlib http.client: about half httpx's per-request cost).

    A kept-alive connection the server has closed (EOF pending) is replaced before it is reused, so
    a failure after sending really means the request may have reached the VM."""

    def __init__(
        self, base_url: str, connect_timeout: float, max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ) -> None:
        u = urllib.parse.urlsplit(base_url)
        self.max_bytes = max_bytes
        self.https = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.https else 80)
        self.prefix = u.path.rstrip("/")
        self.connect_timeout = connect_timeout
        self.conn: http.client.HTTPConnection | None = None
        self._heads: dict[tuple[Any, ...], bytes] = {}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _connect(self) -> http.client.HTTPConnection:
        conn = self.conn
        if conn is not None and conn.sock is not None:
            try:
                readable, _, _ = select.select([conn.sock], [], [], 0)
            except (OSError, ValueError):
                readable = [conn.sock]
            if readable:  # the server closed it (or sent something unasked): start afresh
                self.close()
                conn = None
        if conn is None or conn.sock is None:
            self.close()
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = cls(self.host, self.port, timeout=self.connect_timeout)
            try:
                conn.connect()
            except OSError as e:  # refused, unreachable, connect timeout
                conn.close()
                raise _ConnectFailed(str(e) or type(e).__name__) from e
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn = conn
        return conn

    def _head(self, method: str, path: str, headers: dict[str, str]) -> bytes:
        """The request line and headers as ``http.client`` would send them (and refusing what it
        refuses: a URL with spaces or control characters, a header value that would split the
        header), built once per request shape."""
        key = (method, path, tuple(headers.items()))
        head = self._heads.get(key)
        if head is None:
            url = self.prefix + path
            if _BAD_URL_CHAR(url):
                raise http.client.InvalidURL(f"URL can't contain control characters: {url!r}")
            port = "" if self.port == (443 if self.https else 80) else f":{self.port}"
            host = f"[{self.host}]" if ":" in self.host else self.host
            try:
                host_enc = host.encode("ascii")
            except UnicodeEncodeError:  # an internationalised name, as http.client sends it
                host_enc = host.encode("idna")
            parts = [
                f"{method} {url} HTTP/1.1\r\n".encode("ascii"),
                b"Host: " + host_enc + port.encode("ascii") + b"\r\n",
                b"Accept-Encoding: identity\r\n",
            ]
            for k, v in headers.items():
                value = v.encode("latin-1")
                if _BAD_HEADER_VALUE(value):
                    raise ValueError(f"Invalid header value {value!r}")
                parts.append(k.encode("ascii") + b": " + value + b"\r\n")
            head = b"".join(parts)
            self._heads[key] = head
        return head

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes]:
        conn = self._connect()
        deadline = time.monotonic() + timeout
        # one write per request (http.client sends the headers and the body separately: with
        # TCP_NODELAY two packets, and a second read on the VM's side); the answer is parsed by
        # http.client as before, from a reader that gives up at the deadline
        try:
            head = self._head(method, path, headers)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                head += b"Content-Length: %d\r\n" % len(body or b"")
            conn.sock.settimeout(timeout)
            conn.sock.sendall(head + b"\r\n" + (body or b""))
            resp = http.client.HTTPResponse(_DeadlineSocket(conn.sock, deadline), method=method)  # type: ignore[arg-type]
            resp.begin()
            data = self._read(resp)
        except TimeoutError as e:
            self.close()
            raise _Timeout(str(e)) from e
        except _Garbage:
            self.close()
            raise
        except (http.client.RemoteDisconnected, http.client.IncompleteRead) as e:
            self.close()
            raise _Dropped(type(e).__name__) from e
        except http.client.HTTPException as e:  # a status line or headers that are not HTTP/1.1
            self.close()
            raise _Garbage(f"the answer is not HTTP/1.1 ({type(e).__name__}: {clip(str(e), 80)})") from e
        except OSError as e:
            self.close()
            raise _Dropped(type(e).__name__) from e
        if resp.will_close:
            self.close()
        return resp.status, data

    def _read(self, resp: http.client.HTTPResponse) -> bytes:
        length = resp.getheader("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
            raise _Garbage(f"the answer is {int(length)} bytes, over the {self.max_bytes}-byte limit")
        chunks, size = [], 0
        while True:
            chunk = resp.read(min(1 << 20, self.max_bytes + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                raise _Garbage(f"the answer is over the {self.max_bytes}-byte limit")


class _InProcess:
    """Calls an agent directly; the agent's own errors become VMProtocolError."""

    def __init__(self, agent: VMAgent) -> None:
        self.agent = agent
        self.lock = threading.Lock()


class VMClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        name: str | None = None,
        timeout_s: float = 30.0,
        connect_retries: int = 3,
        backoff_s: float = 0.2,
        reset_timeout_s: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.name = name or self.base_url
        self.timeout_s = timeout_s
        self.reset_timeout_s = reset_timeout_s or timeout_s
        self.connect_retries = connect_retries
        self.backoff_s = backoff_s
        self._local: _InProcess | None = None
        self._http: _Transport | None = None
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._lock = threading.Lock()
        if base_url.startswith(("http://", "https://")):
            self._http = _Transport(self.base_url, min(timeout_s, 10.0), max_response_bytes)
        elif not base_url.startswith("inproc://"):
            raise ValueError(f"VM URL must start with http:// or https://, got {base_url!r}")

    @classmethod
    def in_process(cls, agent: VMAgent, *, name: str | None = None) -> VMClient:
        """A client calling ``agent`` directly (no HTTP, no faults); same interface and errors."""
        client = cls(f"inproc://{name or agent.name}", "", name=name or agent.name)
        client._local = _InProcess(agent)
        return client

    @classmethod
    def from_config(cls, base_url: str, token: str, cfg: EnvConfig, *, name: str | None = None) -> VMClient:
        return cls(
            base_url,
            token,
            name=name,
            timeout_s=cfg.timeout_s,
            connect_retries=cfg.connect_retries,
            backoff_s=cfg.backoff_s,
            reset_timeout_s=cfg.reset_timeout_s,
        )

    # ------------------------------------------------------------------ the protocol

    def health(self) -> Health:
        return self._call("health", "GET", "/v1/health", Health)

    def reset(self, task: TaskSpec) -> Observation:
        body = ResetRequest(task=task).model_dump_json()
        return self._call(
            "reset", "POST", "/v1/reset", Observation, body=body, timeout=self.reset_timeout_s, arg=task
        )

    def observe(self) -> Observation:
        return self._call("observe", "GET", "/v1/observation", Observation)

    def step(self, action: Action) -> StepResult:
        return self._call("step", "POST", "/v1/step", StepResult, body=action.model_dump_json(), arg=action)

    def evaluate(self) -> Verdict:
        return self._call("evaluate", "POST", "/v1/evaluate", Verdict, body="{}")

    def screenshot(self) -> bytes:
        return self._call("screenshot", "GET", "/v1/screenshot", None)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> VMClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VMClient({self.name!r}, {self.base_url!r})"

    # ------------------------------------------------------------------ transport

    def _err(self, cls: type[VMError], op: str, message: str, **kw: Any) -> VMError:
        return cls(message, vm=self.name, url=self.base_url, op=op, **kw)

    def _call(
        self,
        op: str,
        method: str,
        path: str,
        model: type[BaseModel] | None,
        *,
        body: str | None = None,
        timeout: float | None = None,
        arg: Any = None,
    ) -> Any:
        if self._local is not None:
            return self._call_local(op, arg)
        assert self._http is not None
        attempt = 0
        delay = self.backoff_s
        data = body.encode() if body is not None else None
        wait = timeout or self.timeout_s
        while True:
            attempt += 1
            try:
                with self._lock:
                    status, content = self._http.request(method, path, data, self._headers, wait)
            except _ConnectFailed as e:
                retry_reason = f"cannot connect: {e}"
            except _Timeout as e:
                raise self._err(VMTimeout, op, f"no answer within {wait:g}s") from e
            except _Garbage as e:
                raise self._err(VMProtocolError, op, str(e), code="malformed") from e
            except _Dropped as e:
                if op not in IDEMPOTENT:
                    raise self._err(
                        VMConnectionError,
                        op,
                        f"connection dropped mid-request ({e}); the step may have been applied, so it is not retried",
                    ) from e
                retry_reason = f"connection dropped ({e})"
            else:
                return self._parse(op, status, content, model)
            if attempt > self.connect_retries:
                raise self._err(
                    VMConnectionError,
                    op,
                    f"{retry_reason} (gave up after {attempt} attempts)",
                    attempts=attempt,
                )
            time.sleep(delay)
            delay *= 2

    def _parse(self, op: str, status: int, content: bytes, model: type[BaseModel] | None) -> Any:
        if status == 200:
            if model is None:
                if not content.startswith(PNG_MAGIC):
                    raise self._err(
                        VMProtocolError, op, "the answer is not a PNG image", status=200, code="malformed"
                    )
                return content
            try:
                return model.model_validate_json(content)
            except ValidationError as e:
                raise self._err(
                    VMProtocolError,
                    op,
                    f"malformed {model.__name__} in the answer: {clip(str(e), MAX_MESSAGE_CHARS)}",
                    status=200,
                    code="malformed",
                ) from e
        code, message = "http_error", content[:MAX_MESSAGE_CHARS].decode(errors="replace")
        try:
            eb = ErrorBody.model_validate_json(content)
            code, message = clip(eb.code, 40), clip(eb.message, MAX_MESSAGE_CHARS)
        except ValidationError:
            pass
        cls = VMAuthError if status == 401 else VMProtocolError
        raise self._err(cls, op, f"HTTP {status} {code}: {message}", status=status, code=code)

    def _call_local(self, op: str, arg: Any) -> Any:
        local = self._local
        assert local is not None
        agent = local.agent
        with local.lock:
            try:
                if op == "health":
                    return agent.health()
                if op == "reset":
                    return agent.reset(arg)
                if op == "observe":
                    return agent.observe()
                if op == "step":
                    return agent.step(arg)
                if op == "evaluate":
                    return agent.evaluate()
                return agent.screenshot()
            except AgentError as e:
                raise self._err(
                    VMProtocolError, op, f"{e.code}: {e.message}", status=e.status, code=e.code
                ) from e
