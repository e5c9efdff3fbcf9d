"""The VM agent's HTTP server: the lam-rl VM protocol v1 over any ``VMAgent``.

    GET  /v1/health        -> Health
    POST /v1/reset         ResetRequest -> Observation
    GET  /v1/observation   -> Observation
    POST /v1/step          Action -> StepResult
    POST /v1/evaluate      -> Verdict
    GET  /v1/screenshot    -> image/png
    GET  /openapi.json     the spec (no token needed; it holds no secrets)

Every ``/v1`` request needs ``Authorization: Bearer <token>`` (compared in constant time; 401
otherwise, before the body is read). Bodies over ``max_request_bytes`` get 413. Reset and step
take ``Content-Type: application/json`` (415 otherwise), parsed strictly
(``protocol.loads_strict``: 400 for invalid UTF-8, lone surrogates, NaN/Infinity, huge numbers,
deep nesting) and then validated (422): a rejected request never reaches the agent. Errors are
JSON ``ErrorBody {code, message}``; a message never quotes more than a few hundred characters of
the input. An answer holding a lone surrogate (a real desktop can report one) is sent with U+FFFD
in its place. Calls into the agent are serialized (one desktop per VM); agents marked
``blocking`` run in a worker thread so a slow VM never stalls others served by the same process.
There is no endpoint that runs code. Running servers: ``lam_rl.env.fleet``. Many VMs on one
port, each under ``/vms/<name>``: :class:`HostApp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic_core import PydanticSerializationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from lam_rl.env.agent import AgentError, VMAgent
from lam_rl.env.faults import Faults
from lam_rl.env.protocol import (
    PROTOCOL_VERSION,
    Action,
    ErrorBody,
    Health,
    Observation,
    ResetRequest,
    StepResult,
    Verdict,
    WireError,
    clip,
    loads_strict,
    scrub,
)

DEFAULT_MAX_REQUEST_BYTES = 1_048_576
MAX_ERROR_CHARS = 500
"""Longest error message the server sends (agents' messages included)."""
_bearer = HTTPBearer(auto_error=False, description="The VM's token: `Authorization: Bearer <token>`.")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(code=code, message=scrub(clip(message, MAX_ERROR_CHARS)))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrubbed(v) for v in value]
    return value


class _StrictJSONRequest(Request):
    """A request whose JSON body is parsed by ``protocol.loads_strict`` (once; FastAPI asks again)."""

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = loads_strict(await self.body())
        return self._strict_json


class _StrictRoute(APIRoute):
    """Routes with a JSON body answer 415 for another content type and 400 for a body
    ``loads_strict`` refuses, before FastAPI validates it against the model (422)."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            request = _StrictJSONRequest(request.scope, request.receive)
            ctype = request.headers.get("content-type", "")
            mime = ctype.split(";", 1)[0].strip().lower()
            if mime != "application/json" and not (
                mime.startswith("application/") and mime.endswith("+json")
            ):
                got = f"Content-Type {clip(ctype, 60)!r}" if ctype else "no Content-Type"
                return _error(415, "unsupported_media_type", f"{got}: send 'Content-Type: application/json'")
            try:
                await request.json()
            except ClientDisconnect:  # gone mid-body (or cut off at the size limit): nobody to answer
                return _error(400, "bad_request", "the client disconnected before sending the whole body")
            except WireError as e:
                return _error(
                    400,
                    "bad_request",
                    f"{e}; send one UTF-8 JSON object (no lone surrogates, NaN or Infinity)",
                )
            return await handler(request)

        return strict


async def _send_json(
    send: Callable[..., Any], status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] = ()
) -> None:  # type: ignore[assignment]
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


class Guard:
    """ASGI middleware: bearer-token check and request size limit for /v1, before any parsing."""

    def __init__(self, app: Any, token: str, max_bytes: int) -> None:
        self.app = app
        self.token = token.encode()
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1"):
            return await self.app(scope, receive, send)
        auth = b""
        length = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
            elif k == b"content-length":
                length = v
        given = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if not hmac.compare_digest(given, self.token):
            why = "missing bearer token" if not auth else "wrong bearer token"
            return await _send_json(
                send,
                401,
                {"code": "unauthorized", "message": f"{why}: send 'Authorization: Bearer <token>'"},
                [(b"www-authenticate", b"Bearer")],
            )
        if length is not None and not length.strip().isdigit():
            return await _send_json(
                send, 400, {"code": "bad_request", "message": "Content-Length is not a number"}
            )
        if length is not None and int(length) > self.max_bytes:
            return await _send_json(
                send, 413, {"code": "too_large", "message": f"request body over {self.max_bytes} bytes"}
            )
        seen = 0
        started = responded = False

        async def limited() -> dict[str, Any]:
            nonlocal seen, responded
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    if not started and not responded:
                        responded = True
                        await _send_json(
                            send,
                            413,
                            {"code": "too_large", "message": f"request body over {self.max_bytes} bytes"},
                        )
                    return {"type": "http.disconnect"}  # the app stops reading; its answer is dropped
            return msg

        async def guarded_send(msg: dict[str, Any]) -> None:
            nonlocal started
            if responded:
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        await self.app(scope, limited, guarded_send)


_HOT: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/v1/step"): ("step", Action),
    ("GET", "/v1/observation"): ("observe", None),
    ("POST", "/v1/reset"): ("reset", ResetRequest),
    ("POST", "/v1/evaluate"): ("evaluate", None),
    ("GET", "/v1/health"): ("health", None),
}
"""The requests :class:`FastPath` answers itself: (method, path) -> (agent operation, body model)."""


def _replay(msgs: list[dict[str, Any]], receive: Any) -> Any:
    """A ``receive`` that gives ``msgs`` again, then what ``receive`` gives."""
    pending = iter(msgs)

    async def again() -> dict[str, Any]:
        for msg in pending:
            return msg
        return await receive()

    return again


class FastPath:
    """ASGI middleware in front of :class:`Guard`: answers a rollout's hot requests (step,
    observation, reset, evaluate, health) without FastAPI's routing and dependency machinery, with
    the same checks in the same order (bearer token in constant time, the size limit, the JSON
    content type, ``loads_strict``, the same pydantic models) and the very same response objects
    (``_json``, ``_error``). It only ever answers a request that passes every check: any other
    (a wrong token, a bad body, a client gone mid-body, another route) goes, with the body it
    already read replayed, to the FastAPI app, which answers it as it always did. An agent's
    unexpected exception propagates to the app's error middleware, as from a route."""

    def __init__(self, app: Any, token: str, max_bytes: int) -> None:
        self.app = app
        self.token = token.encode()
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        hot = _HOT.get((scope.get("method", ""), scope["path"])) if scope["type"] == "http" else None
        if hot is None:
            return await self.app(scope, receive, send)
        auth = b""
        length = ctype = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v  # the last one, as Guard
            elif k == b"content-length":
                length = v
            elif k == b"content-type" and ctype is None:
                ctype = v  # the first one, as Starlette's headers.get
        given = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if not hmac.compare_digest(given, self.token):
            return await self.app(scope, receive, send)
        if length is not None and not (length.strip().isdigit() and int(length) <= self.max_bytes):
            return await self.app(scope, receive, send)
        op, model = hot
        arg = None
        if model is not None:
            if ctype is None or ctype.split(b";", 1)[0].strip().lower() != b"application/json":
                return await self.app(scope, receive, send)
            msgs: list[dict[str, Any]] = []
            seen = 0
            while True:
                msg = await receive()
                msgs.append(msg)
                if msg["type"] != "http.request":
                    return await self.app(scope, _replay(msgs, receive), send)
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    return await self.app(scope, _replay(msgs, receive), send)
                if not msg.get("more_body", False):
                    break
            try:
                arg = model.model_validate(loads_strict(b"".join(m.get("body", b"") for m in msgs)))
            except Exception:  # not strict JSON, or not the model: FastAPI's 400 / 422
                return await self.app(scope, _replay(msgs, receive), send)
        vm = scope.get(VM_SCOPE_KEY)
        if vm is None:
            vm = scope["app"].state.vm
        if op == "step":
            fn: Callable[[VMAgent], Any] = lambda a: a.step(arg)  # noqa: E731
        elif op == "reset":
            fn = lambda a: a.reset(arg.task)  # noqa: E731
        else:
            fn = _OPS[op]
        try:
            out = await _call(vm, op, fn)
        except AgentError as e:
            out = _error(e.status, e.code, e.message)
        await _json(_clip_step(out) if op == "step" else out)(scope, receive, send)


_OPS: dict[str, Callable[[VMAgent], Any]] = {
    "observe": lambda a: a.observe(),
    "evaluate": lambda a: a.evaluate(),
    "health": lambda a: a.health(),
}


class VMState:
    """What the server holds for one VM: its agent, name, fault switches, the lock that serializes
    calls into the agent, the event that ends hangs when the VM stops, and the connections with a
    request in flight (their client addresses: a crash drops exactly those)."""

    def __init__(self, agent: VMAgent, name: str | None = None, faults: Faults | None = None) -> None:
        self.agent = agent
        self.name = name or agent.name
        self.faults = faults or Faults(name=self.name)
        self.lock = asyncio.Lock()
        self.release = asyncio.Event()  # set when the VM stops, crashes or restarts: ends hangs
        self.inflight: dict[Any, int] = {}


VM_SCOPE_KEY = "lam_rl.vm"
"""The ASGI scope key through which a host (:func:`create_host_app`) hands a request its VM."""


async def _call(vm: VMState, op: str, fn: Callable[[VMAgent], Any]) -> Any:
    """Run ``fn`` on ``vm``'s agent under its faults and its lock: the agent's answer, or the error
    response a fault (crash, hang, injected 500) gives instead."""
    faults, release = vm.faults, vm.release
    kind, secs = faults.draw(op)
    if faults.crashed or kind == "crash":
        faults.crashed = True
        if faults.on_crash is not None:
            faults.on_crash()
            await release.wait()  # the connection is gone; nothing is sent
        return _error(503, "crashed", f"VM {vm.name} crashed")
    if kind == "hang":
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(release.wait(), timeout=secs)
        return _error(503, "hung", f"VM {vm.name} was hung for {secs:g}s; the request was not applied")
    if kind == "http500":
        return _error(500, "injected_fault", f"VM {vm.name}: injected HTTP 500; the request was not applied")
    if kind == "slow_reset":
        await asyncio.sleep(secs)
    if op == "step":
        delay = faults.latency_s()
        if delay:
            await asyncio.sleep(delay)
    agent = vm.agent
    async with vm.lock:
        if agent.blocking:
            return await asyncio.to_thread(fn, agent)
        return fn(agent)


def _json(model: Any) -> Response:
    if isinstance(model, Response):
        return model
    try:
        return Response(model.model_dump_json(), media_type="application/json")
    except PydanticSerializationError:  # a lone surrogate the agent read from the desktop
        data = _scrubbed(model.model_dump(mode="python"))
        return Response(json.dumps(data, ensure_ascii=False), media_type="application/json")


def _clip_step(out: Any) -> Any:
    if isinstance(out, StepResult) and out.error and len(out.error) > MAX_ERROR_CHARS:
        return out.model_copy(update={"error": clip(out.error, MAX_ERROR_CHARS)})
    return out


def _state(request: Request) -> VMState:
    vm = request.scope.get(VM_SCOPE_KEY)
    return vm if vm is not None else request.app.state.vm


def _protocol_app(token: str, max_request_bytes: int, default: VMState | None) -> FastAPI:
    """The v1 protocol as one FastAPI app; each request's VM is ``scope[VM_SCOPE_KEY]`` (set by a
    host serving many VMs) or ``default`` (one VM per app)."""
    app = FastAPI(
        title="lam-rl VM agent",
        version=PROTOCOL_VERSION,
        description=__doc__,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(_bearer)],
    )
    app.router.route_class = _StrictRoute
    app.state.vm = default

    @app.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        parts = [
            f"{'.'.join(clip(str(x), 40) for x in e.get('loc', ()))}: {clip(str(e.get('msg')), 160)}"
            for e in errs[:5]
        ]
        more = f" (and {len(errs) - 5} more)" if len(errs) > 5 else ""
        return _error(422, "bad_request", "; ".join(parts) + more if parts else "malformed request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        return _error(exc.status_code, code, str(exc.detail))

    @app.exception_handler(AgentError)
    async def _agent_error(request: Request, exc: AgentError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - an agent bug
        return _error(500, "internal", f"{_state(request).name}: {type(exc).__name__}: {exc}")

    async def call(request: Request, op: str, fn: Callable[[VMAgent], Any]) -> Any:
        return await _call(_state(request), op, fn)

    @app.get("/v1/health", response_model=Health, summary="Liveness and the task the VM holds")
    async def health(request: Request) -> Response:
        return _json(await call(request, "health", lambda a: a.health()))

    @app.post(
        "/v1/reset",
        response_model=Observation,
        summary="Reset the VM to a task (template document + request)",
    )
    async def reset(request: Request, req: ResetRequest) -> Response:
        return _json(await call(request, "reset", lambda a: a.reset(req.task)))

    @app.get("/v1/observation", response_model=Observation, summary="The current observation")
    async def observation(request: Request) -> Response:
        return _json(await call(request, "observe", lambda a: a.observe()))

    @app.post(
        "/v1/step",
        response_model=StepResult,
        summary="Apply one action; ok=false (nothing changed) if impossible",
    )
    async def step(request: Request, action: Action) -> Response:
        return _json(_clip_step(await call(request, "step", lambda a: a.step(action))))

    @app.post("/v1/evaluate", response_model=Verdict, summary="The verifier's verdict on the current state")
    async def evaluate(request: Request) -> Response:
        return _json(await call(request, "evaluate", lambda a: a.evaluate()))

    @app.get(
        "/v1/screenshot",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
        summary="The window as PNG",
    )
    async def screenshot(request: Request) -> Response:
        out = await call(request, "screenshot", lambda a: a.screenshot())
        return out if isinstance(out, Response) else Response(out, media_type="image/png")

    app.state.started = time.monotonic()
    app.add_middleware(Guard, token=token, max_bytes=max_request_bytes)
    app.add_middleware(FastPath, token=token, max_bytes=max_request_bytes)  # outermost
    return app


def create_app(
    agent: VMAgent,
    token: str,
    *,
    name: str | None = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    faults: Faults | None = None,
) -> FastAPI:
    """A FastAPI app serving ``agent`` under the v1 protocol, guarded by ``token``."""
    if not token:
        raise ValueError("a VM agent server needs a non-empty token")
    vm = VMState(agent, name, faults)
    app = _protocol_app(token, max_request_bytes, vm)
    app.state.agent, app.state.faults, app.state.release, app.state.name = (
        agent,
        vm.faults,
        vm.release,
        vm.name,
    )
    return app


HOST_PREFIX = "/vms/"
"""Where a host serving many VMs on one port puts each: ``/vms/<name>`` + the protocol's paths."""


class HostApp:
    """One ASGI app serving many VMs on one port, each under ``/vms/<name>``: the same protocol,
    token, limits and error bodies as a VM served alone (one shared :func:`_protocol_app`; the VM is
    handed to it in the scope). An unknown VM is 404 ``not_found`` (401 first for a ``/v1`` path
    without the token, as any VM). A VM that is ``dead`` (crashed or stopped) answers nothing: the
    request's connection is handed to ``drop(scope) -> bool`` (which aborts it; False: it could not,
    and the request gets 503 ``crashed``), like a VM that is gone.

    ``vms`` maps names to :class:`VMState`; the caller adds, replaces and removes entries (on the
    server's event loop)."""

    def __init__(
        self,
        token: str,
        *,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        drop: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        if not token:
            raise ValueError("a VM agent server needs a non-empty token")
        self.vms: dict[str, VMState] = {}
        self.dead: set[str] = set()
        self.drop = drop
        self.app = _protocol_app(token, max_request_bytes, None)
        self.missing = Guard(self._not_found, token, max_request_bytes)

    async def _not_found(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        name = scope.get("lam_rl.missing")
        if name is None:
            msg = f"no VM at {clip(scope['path'], 100)!r}: this host serves {len(self.vms)} VMs, each at {HOST_PREFIX}<name>/v1/..."
        else:
            msg = f"no VM named {clip(name, 100)!r} on this host ({len(self.vms)} VMs, at {HOST_PREFIX}<name>/v1/...)"
        await _send_json(send, 404, {"code": "not_found", "message": scrub(msg)})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":  # pragma: no cover - servers here run with lifespan off
                return await self.app(scope, receive, send)
            return None
        path: str = scope["path"]
        if not path.startswith(HOST_PREFIX):
            return await self.missing(dict(scope, **{"lam_rl.missing": None}), receive, send)
        name, slash, rest = path[len(HOST_PREFIX) :].partition("/")
        prefix = HOST_PREFIX + name
        child = dict(
            scope,
            path=slash + rest,
            raw_path=(slash + rest).encode(),
            root_path=scope.get("root_path", "") + prefix,
        )
        vm = self.vms.get(name)
        if vm is None:
            return await self.missing(dict(child, **{"lam_rl.missing": name}), receive, send)
        if name in self.dead or vm.faults.crashed:
            return await self._drop(scope, receive, send, name)
        client = scope.get("client")
        key = tuple(client) if client else None
        vm.inflight[key] = vm.inflight.get(key, 0) + 1
        try:
            child[VM_SCOPE_KEY] = vm
            await self.app(child, receive, send)
        finally:
            n = vm.inflight.get(key, 0) - 1
            if n > 0:
                vm.inflight[key] = n
            else:
                vm.inflight.pop(key, None)

    async def _drop(self, scope: dict[str, Any], receive: Any, send: Any, name: str) -> None:
        """A request for a dead VM: its connection is aborted and nothing is sent (503 ``crashed``
        where no connection can be aborted)."""
        if self.drop is not None and self.drop(scope):
            while (await receive())["type"] != "http.disconnect":
                pass
            return
        await _send_json(send, 503, {"code": "crashed", "message": f"VM {scrub(name)} crashed"})


def openapi_spec() -> dict[str, Any]:
    """The protocol's OpenAPI document, from a WordSim app (``lam-rl env openapi`` writes it)."""
    from lam_rl.env.wordsim import WordSim

    return create_app(WordSim(), "unused").openapi()
