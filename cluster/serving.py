"""Pieces shared by the Serve deployments (policy server, reward server): API tokens, the
version board that replicas follow for hot swaps, and HTTP request hygiene (OpenAI-shaped 4xx
answers with short messages, valid-Unicode strings, a body size limit)."""

from __future__ import annotations

import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import ray
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from starlette.exceptions import HTTPException as StarletteHTTPException

from cluster.config import ServeConfig
from lam_rl.config import ConfigError

log = logging.getLogger(__name__)


def read_token(token_env: str, token_file: str | None) -> str | None:
    """The API token from ``token_env`` or ``token_file`` (None: HTTP without a token)."""
    token = os.environ.get(token_env)
    if not token and token_file:
        p = Path(token_file)
        if not p.exists():
            raise ConfigError(f"token file {p} does not exist; create it or set {token_env}")
        token = p.read_text().strip()
    return token or None


def require_token(request: Request) -> None:
    """FastAPI dependency: a constant-time bearer-token check against ``app.state.token``."""
    expected = getattr(request.app.state, "token", None)
    if expected is None:
        return
    header = request.headers.get("authorization", "")
    given = header[7:] if header.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="missing or wrong bearer token")


@ray.remote(num_cpus=0)
class VersionBoard:
    """The checkpoint every replica of an app should serve, and which replicas serve it."""

    def __init__(self) -> None:
        self.target: tuple[str, int] | None = None
        self.acks: dict[str, int] = {}

    def set(self, path: str, version: int) -> None:
        self.target = (path, version)

    def get(self) -> tuple[str, int] | None:
        return self.target

    def ack(self, replica: str, version: int) -> None:
        self.acks[replica] = version

    def serving(self, version: int) -> int:
        return sum(1 for v in self.acks.values() if v == version)


def version_board(app_name: str):
    return VersionBoard.options(name=f"{app_name}-versions", lifetime="detached", get_if_exists=True).remote()


def follow_version_board(
    board: Any,
    current: Callable[[], int | None],
    load: Callable[[str, int], None],
    *,
    every_s: float,
    role: str,
) -> threading.Thread:
    """Start a replica's follower: a daemon thread that every ``every_s`` seconds reads ``board``'s
    target and calls ``load(path, version)`` when its version differs from ``current()``. A failure
    is logged and retried on the next tick; the replica keeps serving what it has."""

    def follow() -> None:
        while True:
            time.sleep(every_s)
            try:
                target = ray.get(board.get.remote())
                if target is not None and target[1] != current():
                    load(*target)
            except Exception:  # noqa: BLE001 - keep serving the current version; retry next tick
                log.exception("%s server could not follow the version board", role)

    thread = threading.Thread(target=follow, name=f"{role}-version-follower", daemon=True)
    thread.start()
    return thread


def swap(
    app_name: str, checkpoint: str, version: int, *, replicas: int = 1, timeout_s: float = 120.0
) -> None:
    """Post a new checkpoint on an app's version board and wait until ``replicas`` serve it."""
    board = version_board(app_name)
    ray.get(board.set.remote(str(checkpoint), int(version)))
    deadline = time.time() + timeout_s
    while ray.get(board.serving.remote(int(version))) < replicas:
        if time.time() > deadline:
            raise TimeoutError(f"{app_name} did not switch to version {version} within {timeout_s:.0f}s")
        time.sleep(0.1)


def start_serve(cfg: ServeConfig) -> None:
    """Start Ray Serve with its one HTTP proxy on ``serve.http_host:serve.http_port``; both servers
    deploy through this. The proxy's options are fixed when Serve first starts in a cluster: a later
    start asking for another host or port is told so in the log (the running proxy keeps its own)."""
    from ray import serve
    from ray.serve.context import _get_global_client

    serve.start(http_options={"host": cfg.http_host, "port": cfg.http_port})
    http = _get_global_client().http_config
    if (http.host, http.port) != (cfg.http_host, cfg.http_port):
        log.warning(
            "Serve's HTTP proxy already runs on %s:%s in this Ray cluster, so serve.http_host and "
            "serve.http_port (%s:%s) take effect only when Serve next starts (serve.shutdown() or a new cluster)",
            http.host,
            http.port,
            cfg.http_host,
            cfg.http_port,
        )


def http_base(route_prefix: str = "/") -> str:
    """The URL of the running Serve HTTP proxy plus an app's route prefix. Serve's HTTP options
    are fixed when Serve first starts in a cluster, so this asks the controller rather than trusting
    the port a later deploy asked for."""
    from ray.serve.context import _get_global_client

    http = _get_global_client().http_config
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host
    return f"http://{host}:{http.port}{route_prefix.rstrip('/')}"


# ---------------------------------------------------------------------------- HTTP request hygiene
# Both servers answer every bad request with a 4xx and one short line in OpenAI's error shape
# ({"error": {"message", "type", "param", "code"}}), never a 500, and never quote more than a few
# dozen characters of what the caller sent.

QUOTE_CHARS = 40
MAX_MESSAGE_CHARS = 400
MAX_BODY_BYTES = 16 << 20


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """A short, printable, escaped rendering of (part of) a caller's value for an error message."""
    text = value if isinstance(value, str) else _short_repr(value, limit)
    if not isinstance(value, str):
        return text
    shown = repr(text[:limit])  # repr escapes control characters and lone surrogates
    return shown if len(text) <= limit else f"{shown}... ({len(text)} characters)"


def _short_repr(value: Any, limit: int) -> str:
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def valid_unicode(value: str) -> str:
    """Pydantic validator: refuse strings that cannot be UTF-8 encoded (JSON's lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"contains a lone surrogate (\\u{ord(value[e.start]):04x}) at character {e.start}; "
            "send valid Unicode (surrogates only in escaped pairs)"
        ) from None
    return value


Text = Annotated[str, AfterValidator(valid_unicode)]


class ApiError(Exception):
    """Raised by an endpoint: answered as ``status`` with OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    message = " ".join(message.split())  # one line
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 3] + "..."
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _where(loc: Sequence[Any]) -> str:
    """FastAPI's error location ("body", "messages", 0, "role") as ``messages[0].role``."""
    out = ""
    for part in loc:
        if part == "body" and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if isinstance(part, str) and part.isidentifier() else quote(part)
            out += f".{name}" if out else name
    return out


def describe_validation(errors: Sequence[dict[str, Any]]) -> tuple[str, str | None]:
    """One line for pydantic/FastAPI validation errors (the first two, unknown fields first, plus
    how many more) and the param of the first."""
    if not errors:
        return "malformed request", None
    ordered = sorted(errors, key=lambda e: e.get("type") != "extra_forbidden")  # a typo'd key first
    parts = [_describe(e) for e in ordered[:2]]
    text = "; ".join(p for p, _ in parts)
    if len(errors) > 2:
        text += f" (and {len(errors) - 2} more problem{'s' if len(errors) > 3 else ''})"
    return text, parts[0][1]


def _describe(e: dict[str, Any]) -> tuple[str, str | None]:
    kind, loc, msg = e.get("type", ""), list(e.get("loc", ())), str(e.get("msg", "invalid"))
    where = _where(loc)
    if kind == "json_invalid":
        detail = (e.get("ctx") or {}).get("error", "")
        text = f"the body is not valid JSON ({detail})" if detail else "the body is not valid JSON"
        where = ""
    elif kind == "extra_forbidden":
        text = f"unrecognized request argument supplied: {where or quote(loc[-1])}"
    elif kind == "string_unicode":  # a lone surrogate where pydantic parses a name or key
        text = (
            f"{where or 'a field name'} is not valid Unicode (a lone surrogate?): got {quote(e.get('input'))}"
        )
    elif kind == "missing":
        text = f"{where} is required"
    elif not where and kind in ("model_attributes_type", "dict_type", "model_type"):
        value = e.get("input")
        if isinstance(value, bytes | str):  # FastAPI parses JSON only when the content type says so
            text = "the body must be a JSON object sent with Content-Type: application/json"
        else:
            text = f"the body must be a JSON object, got {_short_repr(value, QUOTE_CHARS)}"
    else:
        msg = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        text = f"{where}: {msg}" if where else msg
        value = e.get("input")
        if (
            kind not in ("value_error", "assertion_error")
            and value is not None
            and not isinstance(value, dict | list)
        ):
            text += f" (got {quote(value)})"
    return text, where or None


def install_http_guards(api: FastAPI, max_body_bytes: int = MAX_BODY_BYTES) -> None:
    """OpenAI-shaped 4xx answers for validation errors, HTTP errors and ``ApiError``; bodies over
    ``max_body_bytes`` are refused (413) before they are read."""

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        text, param = describe_validation(exc.errors())
        return error_response(400, text, param=param)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "authentication_error" if exc.status_code == 401 else "invalid_request_error"
        detail = str(exc.detail)
        if detail == "There was an error parsing the body":  # FastAPI's words for undecodable bytes
            detail = "the body could not be read as JSON (send UTF-8 JSON)"
        return error_response(exc.status_code, detail, kind=kind, headers=exc.headers)

    @api.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, param=exc.param, code=exc.code, kind=exc.kind)

    @api.middleware("http")
    async def _body_limit(request: Request, call_next):
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body_bytes:
            return error_response(
                413, f"the body is {int(length)} bytes; at most {max_body_bytes} are accepted"
            )
        return await call_next(request)
