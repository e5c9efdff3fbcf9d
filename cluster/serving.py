"""Pieces shared by the Serve deployments (policy server, reward server): API tokens and the
version board that replicas follow for hot swaps."""

from __future__ import annotations

import hmac
import os
from pathlib import Path

import ray
from fastapi import HTTPException, Request

from lam_rl.config import ConfigError


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


def swap(
    app_name: str, checkpoint: str, version: int, *, replicas: int = 1, timeout_s: float = 120.0
) -> None:
    """Post a new checkpoint on an app's version board and wait until ``replicas`` serve it."""
    import time

    board = version_board(app_name)
    ray.get(board.set.remote(str(checkpoint), int(version)))
    deadline = time.time() + timeout_s
    while ray.get(board.serving.remote(int(version))) < replicas:
        if time.time() > deadline:
            raise TimeoutError(f"{app_name} did not switch to version {version} within {timeout_s:.0f}s")
        time.sleep(0.1)


def http_base(route_prefix: str = "/") -> str:
    """The URL of the running Serve HTTP proxy plus an app's route prefix. Serve's HTTP options
    are fixed when Serve first starts in a cluster, so this asks the controller rather than trusting
    the port a later deploy asked for."""
    from ray.serve.context import _get_global_client

    http = _get_global_client().http_config
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host
    return f"http://{host}:{http.port}{route_prefix.rstrip('/')}"
