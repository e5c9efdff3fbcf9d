"""Run VM agent servers: one or many uvicorn servers in one process, on one background event loop.

    fleet = serve_many(4, token=tok)             # 4 WordSim VMs on free loopback ports
    fleet.urls                                   # ['http://127.0.0.1:41235', ...]
    fleet[2].crash_next(); fleet[3].hang()       # fault injection per VM (tests)
    fleet[2].restart()                           # a fresh agent on the same port
    fleet.stop()                                 # or use it as a context manager

``lam-rl env serve`` is ``serve_many`` plus waiting for Ctrl-C. A crashed VM drops its
connections and stops listening (clients see connection refused); a hung one answers nothing
until its hang ends or the fleet stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from lam_rl.env.agent import VMAgent
from lam_rl.env.config import EnvConfig
from lam_rl.env.faults import Faults
from lam_rl.env.server import create_app

log = logging.getLogger(__name__)
AgentFactory = Callable[[str], VMAgent]


def wordsim_factory(cfg: EnvConfig | None = None) -> AgentFactory:
    from lam_rl.env.wordsim import WordSim

    max_steps = (cfg or EnvConfig()).max_steps

    def make(name: str) -> VMAgent:
        return WordSim(name, max_steps=max_steps)

    return make


class _Loop:
    """An asyncio loop in a daemon thread (uvloop when installed)."""

    def __init__(self) -> None:
        try:
            import uvloop

            self.loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
            self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="lam-vm-fleet", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


@dataclass
class VMHandle:
    """One VM agent server: its URL, agent and fault switches."""

    name: str
    host: str
    port: int
    agent: VMAgent
    faults: Faults
    _fleet: LocalFleet = field(repr=False)
    _server: Any = field(default=None, repr=False)
    _app: Any = field(default=None, repr=False)
    _task: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def alive(self) -> bool:
        return self._server is not None and not self.faults.crashed and not self._server.should_exit

    # fault switches (safe from any thread)
    def crash_next(self) -> None:
        self.faults.crash_next()

    def hang_next(self, seconds: float | None = None) -> None:
        self.faults.hang_next(seconds)

    def fail_next(self, n: int = 1) -> None:
        self.faults.fail_next(n)

    def slow_reset_next(self, seconds: float | None = None) -> None:
        self.faults.slow_reset_next(seconds)

    def hang(self, seconds: float | None = None) -> None:
        self.faults.hang(seconds)

    def unhang(self) -> None:
        self.faults.unhang()

    def crash(self) -> None:
        """Crash now: drop connections, stop listening."""
        self.faults.crashed = True
        self._fleet._loop.run(self._fleet._crash(self))

    def restart(self) -> str:
        """A fresh agent (as after a VM reboot) on the same port; faults cleared. Returns the URL."""
        return self._fleet.restart(self)

    def stop(self) -> None:
        self._fleet._loop.run(self._fleet._stop_one(self))


class LocalFleet:
    """N VM agent servers on one background event loop (see the module docstring)."""

    def __init__(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        cfg: EnvConfig | None = None,
        factory: AgentFactory | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.cfg = cfg or EnvConfig()
        self.factory = factory or wordsim_factory(self.cfg)
        self.vms: list[VMHandle] = []
        self._loop = _Loop()
        self._closed = False

    # ------------------------------------------------------------------ container protocol

    def __len__(self) -> int:
        return len(self.vms)

    def __getitem__(self, i: int) -> VMHandle:
        return self.vms[i]

    def __iter__(self) -> Iterator[VMHandle]:
        return iter(self.vms)

    def __enter__(self) -> LocalFleet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def urls(self) -> list[str]:
        return [vm.url for vm in self.vms]

    @property
    def names(self) -> list[str]:
        return [vm.name for vm in self.vms]

    # ------------------------------------------------------------------ starting and stopping

    def add(self, name: str, port: int = 0, agent: VMAgent | None = None) -> VMHandle:
        agent = agent or self.factory(name)
        vm = VMHandle(name, self.host, port, agent, Faults(self.cfg, name), self)
        self._loop.run(self._start(vm))
        self.vms.append(vm)
        return vm

    async def _start(self, vm: VMHandle) -> None:
        family = socket.AF_INET6 if ":" in vm.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((vm.host, vm.port))
        except OSError as e:
            sock.close()
            raise OSError(f"cannot serve VM {vm.name} on {vm.host}:{vm.port}: {e}") from e
        sock.listen(128)
        vm.port = sock.getsockname()[1]
        app = create_app(
            vm.agent, self.token, name=vm.name, max_request_bytes=self.cfg.max_request_bytes, faults=vm.faults
        )
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        server = uvicorn.Server(config)
        vm.faults.crashed = False
        vm.faults.on_crash = lambda: asyncio.get_running_loop().create_task(self._crash(vm))
        vm._server, vm._app = server, app
        vm._task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        for _ in range(500):
            if server.started or vm._task.done():
                break
            await asyncio.sleep(0.002)
        if vm._task.done():
            vm._task.result()
        if not server.started:
            raise RuntimeError(f"VM {vm.name} did not start")

    async def _crash(self, vm: VMHandle) -> None:
        server = vm._server
        if server is None:
            return
        vm.faults.crashed = True
        server.should_exit = server.force_exit = True
        for s in getattr(server, "servers", []):
            s.close()
        for conn in list(server.server_state.connections):
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.abort()
        vm._app.state.release.set()

    async def _stop_one(self, vm: VMHandle) -> None:
        server, task = vm._server, vm._task
        if server is None:
            return
        vm._app.state.release.set()
        server.should_exit = True
        if vm.faults.crashed:
            server.force_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(task), timeout=3)
        if not task.done():
            server.force_exit = True
            for conn in list(server.server_state.connections):
                if getattr(conn, "transport", None) is not None:
                    conn.transport.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout=2)
        with contextlib.suppress(Exception):
            vm.agent.close()
        vm._server = None

    def restart(self, vm: VMHandle | int) -> str:
        """Replace a (crashed, hung or healthy) VM by a fresh agent on the same port."""
        if isinstance(vm, int):
            vm = self.vms[vm]
        self._loop.run(self._stop_one(vm))
        vm.agent = self.factory(vm.name)
        vm.faults.clear()
        deadline = time.monotonic() + 5
        while True:
            try:
                self._loop.run(self._start(vm))
                return vm.url
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def stop_all() -> None:
            await asyncio.gather(*(self._stop_one(vm) for vm in self.vms))

        with contextlib.suppress(Exception):
            self._loop.run(stop_all(), timeout=15)
        self._loop.close()

    def wait(self) -> None:
        """Block until interrupted (Ctrl-C / SIGTERM), then stop."""
        import signal

        done = threading.Event()
        old = {s: signal.signal(s, lambda *_: done.set()) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not done.wait(0.5):
                pass
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            self.stop()


def serve_many(
    count: int,
    *,
    token: str,
    host: str = "127.0.0.1",
    base_port: int = 0,
    cfg: EnvConfig | None = None,
    factory: AgentFactory | None = None,
    name_prefix: str = "wordsim",
) -> LocalFleet:
    """Start ``count`` VM agents (WordSim unless ``factory`` says otherwise) on ports
    ``base_port``, ``base_port + 1``, ... (0: free ports). Names are ``{prefix}-{i}``."""
    if count < 1:
        raise ValueError("count must be >= 1")
    fleet = LocalFleet(token, host=host, cfg=cfg, factory=factory)
    try:
        for i in range(count):
            fleet.add(f"{name_prefix}-{i}", base_port + i if base_port else 0)
    except BaseException:
        fleet.stop()
        raise
    return fleet


def serve_one(
    agent: VMAgent, *, token: str, host: str = "127.0.0.1", port: int = 0, cfg: EnvConfig | None = None
) -> LocalFleet:
    """Serve an existing agent (e.g. a Windows UIA agent) on one port."""
    fleet = LocalFleet(token, host=host, cfg=cfg)
    try:
        fleet.add(agent.name, port, agent=agent)
    except BaseException:
        fleet.stop()
        raise
    return fleet
