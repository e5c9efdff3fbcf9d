"""Run VM agent servers: one or many VMs in one process, on one background event loop.

    fleet = serve_many(4, token=tok)             # 4 WordSim VMs on free loopback ports
    fleet.urls                                   # ['http://127.0.0.1:41235', ...]
    fleet = serve_many(1000, token=tok, layout="paths")   # 1,000 VMs behind ONE port
    fleet.urls                                   # ['http://127.0.0.1:41235/vms/wordsim-0', ...]
    fleet[2].crash_next(); fleet[3].hang()       # fault injection per VM (tests)
    fleet[4].set_latency(2.0, jitter_s=0.5)      # this VM's steps take 2-2.5 s from now on
    fleet[2].restart()                           # a fresh agent at the same URL
    fleet.stop()                                 # or use it as a context manager

Two layouts. ``ports`` (the default): one uvicorn server per VM, each on its own port, as one
agent per real VM address. ``paths``: one uvicorn server on one port for all the VMs of the
fleet, each under ``/vms/<name>`` (``server.HostApp``), for hundreds or thousands of simulated
VMs in one process. The protocol, token, limits and error bodies are the same in both.

``lam-rl env serve`` is ``serve_many`` plus waiting for Ctrl-C. A crashed VM drops its in-flight
connections; then, in the ports layout, it stops listening (clients see connection refused), and
in the paths layout every later request for it has its connection dropped unanswered (its
neighbours on the port are untouched). A hung one answers nothing until its hang ends, it
restarts or the fleet stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
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
from lam_rl.env.protocol import clip
from lam_rl.env.server import HOST_PREFIX, HostApp, VMState, create_app

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


LAYOUTS = ("ports", "paths")
"""``ports``: a uvicorn server (and port) per VM; ``paths``: one server and port, a URL path per VM."""
BACKLOG = 4096
"""Listen backlog of a server (the kernel caps it at net.core.somaxconn): a thousand clients
connecting at once to a ``paths`` host are queued, not refused or delayed by SYN retries."""
HTTP_IMPL = "auto"
"""uvicorn's HTTP parser for servers started from now on: ``auto`` (httptools when installed), ``h11``
or ``httptools`` (bench/vmhost.py compares them)."""
_NAME_OK = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")


def _check_name(name: str) -> None:
    if not _NAME_OK.fullmatch(name):
        raise ValueError(
            f"VM name {clip(name, 60)!r} cannot be a URL path segment: use letters, digits and . _ ~ - "
            "(at most 128, starting with a letter or digit)"
        )


def _listen(host: str, port: int, what: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(f"cannot serve {what} on {host}:{port}: {e}") from e
    sock.listen(BACKLOG)
    return sock


async def _serve(app: Any, sock: socket.socket, what: str) -> tuple[uvicorn.Server, asyncio.Task]:
    """Start uvicorn on ``sock`` (on the running loop) and wait until it accepts connections."""
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=30,
        http=HTTP_IMPL,
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.002)
    if task.done():
        task.result()
    if not server.started:
        raise RuntimeError(f"{what} did not start")
    return server, task


async def _shutdown(server: uvicorn.Server, task: asyncio.Task, force: bool = False) -> None:
    server.should_exit = True
    if force:
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


def _abort(server: uvicorn.Server, clients: Any) -> int:
    """Abort the connections of ``server`` whose client address is in ``clients``; how many."""
    wanted = {tuple(c) for c in clients if c is not None}
    if not wanted:
        return 0
    n = 0
    for conn in list(server.server_state.connections):
        client, transport = getattr(conn, "client", None), getattr(conn, "transport", None)
        if client is not None and transport is not None and tuple(client) in wanted:
            transport.abort()
            n += 1
    return n


@dataclass
class _Host:
    """The one server of a ``paths`` fleet."""

    port: int
    app: HostApp
    server: uvicorn.Server
    task: asyncio.Task


@dataclass
class VMHandle:
    """One VM agent: its URL, agent and fault switches."""

    name: str
    host: str
    port: int
    agent: VMAgent
    faults: Faults
    _fleet: LocalFleet = field(repr=False)
    path: str = ""
    _server: Any = field(default=None, repr=False)
    _app: Any = field(default=None, repr=False)
    _task: Any = field(default=None, repr=False)
    _state: VMState | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    @property
    def alive(self) -> bool:
        if self._server is None or self.faults.crashed or self._server.should_exit:
            return False
        return self._state is None or self._fleet._host is None or self.name not in self._fleet._host.app.dead

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

    def set_latency(self, seconds: float, jitter_s: float = 0.0) -> None:
        """Every later step of this VM takes ``seconds`` (+ uniform ``[0, jitter_s)``) longer; kept
        across restarts (it is the VM's speed, not a fault)."""
        self.faults.set_latency(seconds, jitter_s)

    def crash(self) -> None:
        """Crash now: drop its connections; then refused (ports) or dropped unanswered (paths)."""
        self.faults.crashed = True
        self._fleet._loop.run(self._fleet._crash(self))

    def restart(self) -> str:
        """A fresh agent (as after a VM reboot) at the same URL; faults cleared. Returns the URL."""
        return self._fleet.restart(self)

    def stop(self) -> None:
        self._fleet._loop.run(self._fleet._stop_one(self))


class LocalFleet:
    """VM agents on one background event loop (see the module docstring)."""

    def __init__(
        self,
        token: str,
        *,
        host: str = "127.0.0.1",
        cfg: EnvConfig | None = None,
        factory: AgentFactory | None = None,
        layout: str = "ports",
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        if not token:
            raise ValueError("a VM agent server needs a non-empty token")
        self.token = token
        self.host = host
        self.layout = layout
        self.cfg = cfg or EnvConfig()
        self.factory = factory or wordsim_factory(self.cfg)
        self.vms: list[VMHandle] = []
        self._host: _Host | None = None
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

    @property
    def port(self) -> int | None:
        """The one port of a ``paths`` fleet (None for ``ports``, or before the first VM)."""
        return self._host.port if self._host is not None else None

    # ------------------------------------------------------------------ starting and stopping

    def add(self, name: str, port: int = 0, agent: VMAgent | None = None) -> VMHandle:
        """Serve one more VM: on ``port`` (ports layout; 0: a free one), or under ``/vms/<name>`` on
        the fleet's one port (paths layout; ``port`` picks that port when the first VM starts it)."""
        if self.layout == "paths":
            _check_name(name)
            if any(vm.name == name for vm in self.vms):
                raise ValueError(f"VM name {name!r} is taken on this host")
        agent = agent or self.factory(name)
        vm = VMHandle(name, self.host, port, agent, Faults(self.cfg, name), self)
        start = self._start_path if self.layout == "paths" else self._start
        self._loop.run(start(vm))
        self.vms.append(vm)
        return vm

    def _arm(self, vm: VMHandle) -> None:
        vm.faults.crashed = False
        loop = self._loop.loop
        vm.faults.on_crash = lambda: loop.create_task(self._crash(vm))

    async def _start(self, vm: VMHandle) -> None:
        sock = _listen(vm.host, vm.port, f"VM {vm.name}")
        vm.port = sock.getsockname()[1]
        app = create_app(
            vm.agent, self.token, name=vm.name, max_request_bytes=self.cfg.max_request_bytes, faults=vm.faults
        )
        self._arm(vm)
        vm._app = app
        vm._server, vm._task = await _serve(app, sock, f"VM {vm.name}")

    async def _start_host(self, port: int) -> _Host:
        sock = _listen(self.host, port, "the VM host")
        app = HostApp(self.token, max_request_bytes=self.cfg.max_request_bytes, drop=self._drop)
        server, task = await _serve(app, sock, "the VM host")
        self._host = _Host(sock.getsockname()[1], app, server, task)
        return self._host

    def _drop(self, scope: dict[str, Any]) -> bool:
        host = self._host
        return host is not None and _abort(host.server, [scope.get("client")]) > 0

    async def _start_path(self, vm: VMHandle) -> None:
        host = self._host or await self._start_host(vm.port)
        vm.port, vm.path = host.port, f"{HOST_PREFIX}{vm.name}"
        state = VMState(vm.agent, vm.name, vm.faults)
        self._arm(vm)
        vm._server, vm._task, vm._state = host.server, host.task, state
        host.app.vms[vm.name] = state
        host.app.dead.discard(vm.name)

    async def _crash(self, vm: VMHandle) -> None:
        server = vm._server
        if server is None:
            return
        vm.faults.crashed = True
        if vm._state is not None:  # paths: only this VM's connections; the port stays open
            _abort(server, list(vm._state.inflight))
            vm._state.release.set()
            return
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
        if vm._state is not None:  # paths: the VM is gone from the port (as crashed); the port stays
            assert self._host is not None
            self._host.app.dead.add(vm.name)
            vm._state.release.set()
            _abort(server, list(vm._state.inflight))
        else:
            vm._app.state.release.set()
            await _shutdown(server, task, force=vm.faults.crashed)
        with contextlib.suppress(Exception):
            vm.agent.close()
        vm._server = None

    def restart(self, vm: VMHandle | int) -> str:
        """Replace a (crashed, hung or healthy) VM by a fresh agent at the same URL."""
        if isinstance(vm, int):
            vm = self.vms[vm]
        self._loop.run(self._stop_one(vm))
        vm.agent = self.factory(vm.name)
        vm.faults.clear()
        if vm._state is not None:
            self._loop.run(self._start_path(vm))
            return vm.url
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
            if self._host is not None:
                await _shutdown(self._host.server, self._host.task)

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
    layout: str = "ports",
) -> LocalFleet:
    """Start ``count`` VM agents (WordSim unless ``factory`` says otherwise), named
    ``{prefix}-{i}``. ``layout="ports"``: on ports ``base_port``, ``base_port + 1``, ... (0: free
    ports); ``layout="paths"``: all on one port (``base_port``; 0: a free one), each at
    ``/vms/{prefix}-{i}``. Step latency and faults come from ``cfg`` (``EnvConfig.latency_ms``, ...)."""
    if count < 1:
        raise ValueError("count must be >= 1")
    fleet = LocalFleet(token, host=host, cfg=cfg, factory=factory, layout=layout)
    try:
        for i in range(count):
            port = base_port if layout == "paths" else (base_port + i if base_port else 0)
            fleet.add(f"{name_prefix}-{i}", port)
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
