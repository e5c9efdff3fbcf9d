"""The VM fleet a rollout job drives: real VMs by URL (``fleet.vms``) or local WordSim VMs.

Local VMs are served by a :class:`VMHost` actor (N WordSim agent servers on loopback HTTP in one
process, ``lam_rl.env.fleet.serve_many``); a rollout worker whose VM crashed or hung asks the host
to restart it. Real VMs are only reached over HTTP with their bearer token.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import ray

from cluster.config import FleetConfig
from lam_rl.config import ConfigError
from lam_rl.env.config import EnvConfig

log = logging.getLogger(__name__)


@ray.remote(num_cpus=0)
class VMHost:
    """Local WordSim VM agents in one process (loopback HTTP), restartable one by one."""

    def __init__(
        self, count: int, token: str, env: dict[str, Any], base_port: int = 0, prefix: str = "wordsim"
    ) -> None:
        from lam_rl.env.fleet import serve_many

        self.fleet = serve_many(
            count, token=token, base_port=base_port, cfg=EnvConfig(**env), name_prefix=prefix
        )

    def urls(self) -> list[str]:
        return self.fleet.urls

    def names(self) -> list[str]:
        return self.fleet.names

    def restart(self, index: int) -> str:
        return self.fleet.restart(index)

    def fault(self, index: int, kind: str, seconds: float | None = None) -> None:
        """Inject a fault into one VM (tests, chaos drills): crash, crash_next, hang, hang_next, fail_next."""
        vm = self.fleet[index]
        if kind in ("hang", "hang_next"):
            getattr(vm, kind)(seconds)
        else:
            getattr(vm, kind)()

    def stop(self) -> None:
        self.fleet.stop()


@dataclass
class VMEndpoint:
    name: str
    url: str
    host: Any = None  # VMHost actor for local VMs
    index: int | None = None


@dataclass
class Fleet:
    token: str
    endpoints: list[VMEndpoint]
    host: Any = None

    def stop(self) -> None:
        if self.host is not None:
            try:
                ray.get(self.host.stop.remote(), timeout=30)
            finally:
                ray.kill(self.host)


def vm_token(cfg: FleetConfig) -> str:
    import os
    from pathlib import Path

    token = os.environ.get(cfg.token_env)
    if not token and cfg.token_file:
        p = Path(cfg.token_file)
        if not p.exists():
            raise ConfigError(f"fleet.token_file {p} does not exist; create it or set {cfg.token_env}")
        token = p.read_text().strip()
    return token or ""


def start_fleet(fleet: FleetConfig, env: EnvConfig, *, count: int | None = None) -> Fleet:
    """Real VMs from ``fleet.vms`` (their token from the environment/file) or local WordSim VMs."""
    if fleet.vms:
        token = vm_token(fleet)
        if not token:
            raise ConfigError(
                f"fleet.vms lists {len(fleet.vms)} VMs but no token: set {fleet.token_env} or fleet.token_file"
            )
        return Fleet(token, [VMEndpoint(f"vm-{i}", url.rstrip("/")) for i, url in enumerate(fleet.vms)])
    n = count or fleet.local
    token = secrets.token_urlsafe(24)  # local VMs get a fresh token per job
    host = VMHost.remote(n, token, asdict(env), fleet.local_base_port)
    urls, names = ray.get([host.urls.remote(), host.names.remote()])
    log.info("started %d local WordSim VMs: %s ... %s", n, urls[0], urls[-1])
    return Fleet(
        token, [VMEndpoint(nm, u, host, i) for i, (nm, u) in enumerate(zip(names, urls, strict=True))], host
    )
