"""The VM fleet a rollout job drives: real VMs by URL (``fleet.vms``) or local WordSim VMs.

Local VMs are served by a :class:`VMHost` actor (N WordSim agent servers on loopback HTTP in one
process, ``lam_rl.env.fleet.serve_many``); a rollout worker whose VM crashed or hung asks the host
to restart it. Real VMs are only reached over HTTP with their bearer token.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

import ray

from cluster.config import FleetConfig
from cluster.runtime import on_this_node
from lam_rl.config import ConfigError
from lam_rl.env.config import EnvConfig
from lam_rl.env.protocol import clip

log = logging.getLogger(__name__)


@ray.remote(num_cpus=0)
class VMHost:
    """Local WordSim VM agents in one process (loopback HTTP), restartable one by one.

    ``layout``: ``ports`` (a port per VM) or ``paths`` (one port, each VM at ``/vms/<name>``: hundreds
    of VMs per host). Step latency and fault rates come from ``env`` (``env.latency_ms``, ...)."""

    def __init__(
        self,
        count: int,
        token: str,
        env: dict[str, Any],
        base_port: int = 0,
        prefix: str = "wordsim",
        layout: str = "ports",
    ) -> None:
        from lam_rl.env.fleet import serve_many

        self.fleet = serve_many(
            count, token=token, base_port=base_port, cfg=EnvConfig(**env), name_prefix=prefix, layout=layout
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

    def set_latency(self, index: int, seconds: float, jitter_s: float = 0.0) -> None:
        """One VM's step latency from now on (seconds, + uniform jitter); kept across restarts."""
        self.fleet[index].set_latency(seconds, jitter_s)

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


def vm_token_required(fleet: FleetConfig) -> str:
    token = vm_token(fleet)
    if not token:
        raise ConfigError(
            f"fleet.vms lists {len(fleet.vms)} VMs but no token: set {fleet.token_env} or fleet.token_file"
        )
    return token


_CHECKED: set[tuple[tuple[str, ...], str]] = set()
"""The ``fleet.vms`` lists (with their token) that passed :func:`check_vms` in this process."""


def _probe(url: str, name: str, token: str, env: EnvConfig) -> str | None:
    """What is wrong with one VM (None: it answers /v1/health with this token and our protocol)."""
    from lam_rl.env.client import VMAuthError, VMClient, VMConnectionError, VMError, VMTimeout
    from lam_rl.env.protocol import PROTOCOL_VERSION

    try:
        with VMClient.from_config(url, token, env, name=name) as client:
            health = client.health()
    except VMAuthError:
        return "refuses the token (HTTP 401)"
    except VMConnectionError as e:
        return f"unreachable ({e.message})"
    except VMTimeout as e:
        return f"unreachable ({e.message})"
    except VMError as e:  # any other HTTP error, or an answer that is not a VM agent's health
        return f"does not speak the VM agent protocol ({e.message})"
    if health.protocol != PROTOCOL_VERSION:
        return f"speaks VM protocol {health.protocol!r}, this version needs {PROTOCOL_VERSION!r}"
    return None


def check_vms(fleet: FleetConfig, env: EnvConfig) -> list[VMEndpoint]:
    """Probe every VM of ``fleet.vms`` at once (``GET /v1/health`` with the token, the client's
    timeouts and retries from ``env``) and return their endpoints; raises ONE ConfigError listing
    every VM that is unreachable, refuses the token or speaks another protocol. Nothing is started.

    A list that passed is remembered for this process, so a job's input check and the
    :func:`start_fleet` that follows probe once."""
    from concurrent.futures import ThreadPoolExecutor, wait

    token = vm_token_required(fleet)
    urls = [u.strip().rstrip("/") for u in fleet.vms]
    endpoints = [VMEndpoint(f"vm-{i}", url) for i, url in enumerate(urls)]
    key = (tuple(urls), token)
    if key in _CHECKED:
        return endpoints
    # every probe is bounded by its client (connect attempts, each request within env.timeout_s);
    # the deadline below only guards against a client that would not stop
    attempts = env.connect_retries + 1
    budget = attempts * env.timeout_s + env.backoff_s * 2**attempts + 5
    t0 = time.monotonic()
    pool = ThreadPoolExecutor(max_workers=min(32, len(urls)), thread_name_prefix="vm-check")
    try:
        futures = [pool.submit(_probe, ep.url, ep.name, token, env) for ep in endpoints]
        wait(futures, timeout=budget)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    problems = []
    for i, (ep, fut) in enumerate(zip(endpoints, futures, strict=True)):
        if not fut.done():
            why = f"unreachable (no answer within {budget:g}s)"
        else:
            try:
                why = fut.result()
            except Exception as e:  # noqa: BLE001 - reported, never raised past the check
                why = f"could not be checked ({type(e).__name__}: {e})"
        if why:  # one line per VM, whatever the server answered
            problems.append(f"[{i}] {ep.url} {clip(' '.join(why.split()), 200)}")
    if problems:
        raise ConfigError(
            f"fleet.vms: {len(problems)} of {len(urls)} VMs failed the health check: {'; '.join(problems)}; "
            f"start their VM agents, check the token ({fleet.token_env} / fleet.token_file), "
            "or leave them out of fleet.vms"
        )
    log.info("fleet.vms: %d VMs answered /v1/health in %.1fs", len(urls), time.monotonic() - t0)
    _CHECKED.add(key)
    return endpoints


def start_fleet(fleet: FleetConfig, env: EnvConfig, *, count: int | None = None) -> Fleet:
    """Real VMs from ``fleet.vms`` (their token from the environment/file; each must pass
    :func:`check_vms` first) or local WordSim VMs."""
    if fleet.vms:
        endpoints = check_vms(fleet, env)
        return Fleet(vm_token_required(fleet), endpoints)
    n = count or fleet.local
    token = secrets.token_urlsafe(24)  # local VMs get a fresh token per job
    host = VMHost.options(scheduling_strategy=on_this_node()).remote(
        n, token, asdict(env), fleet.local_base_port, layout=fleet.local_layout
    )
    urls, names = ray.get([host.urls.remote(), host.names.remote()])
    log.info("started %d local WordSim VMs: %s ... %s", n, urls[0], urls[-1])
    return Fleet(
        token, [VMEndpoint(nm, u, host, i) for i, (nm, u) in enumerate(zip(names, urls, strict=True))], host
    )
