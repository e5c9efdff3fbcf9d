"""Fault injection and latency for one VM agent server (tests and benchmarks).

Rates come from ``EnvConfig`` (each request draws from a seeded RNG); tests can also arm a fault
for a VM's *next* request (``crash_next``, ``hang_next``, ``fail_next``, ``slow_reset_next``) or
put it in a state (``hang``/``unhang``). What each fault does:

- crash: the server drops every connection (the request gets no answer) and stops listening, so
  later requests are refused, until the fleet restarts it (a fresh agent on the same port);
- hang: the request is not answered until ``hang_s`` passes (or the server stops); then it gets
  503 ``hung`` and was not applied;
- http500: the request fails with HTTP 500 ``injected_fault`` and is not applied;
- slow_reset: a reset takes ``slow_reset_s`` longer.

Latency is not a fault but the VM's speed: every step waits ``latency_ms`` plus a uniform draw
in ``[0, latency_jitter_ms)`` (the server sleeps with ``asyncio.sleep``, so a slow VM never stalls
the others of its process); ``set_latency`` changes it while the VM runs.
"""

from __future__ import annotations

import math
import random
import threading
from collections import deque
from collections.abc import Callable

from lam_rl.env.config import EnvConfig

FAULTS = ("crash", "hang", "http500", "slow_reset")


class Faults:
    def __init__(self, cfg: EnvConfig | None = None, name: str = "vm") -> None:
        cfg = cfg or EnvConfig()
        self.crash_rate = cfg.crash_rate
        self.hang_rate = cfg.hang_rate
        self.http500_rate = cfg.http500_rate
        self.slow_reset_rate = cfg.slow_reset_rate
        self.slow_reset_s = cfg.slow_reset_s
        self.hang_s = cfg.hang_s
        self.latency_ms = cfg.latency_ms
        self.latency_jitter_ms = cfg.latency_jitter_ms
        self._rng = random.Random(f"{cfg.fault_seed}:{name}")
        self._armed: deque[tuple[str, float | None]] = deque()
        self._hang_all: float | None = None  # seconds, while the VM is hung
        self._lock = threading.Lock()
        self.crashed = False
        self.injected: dict[str, int] = dict.fromkeys(FAULTS, 0)
        self.on_crash: Callable[[], None] | None = None  # set by the server runner

    # ------------------------------------------------------------------ arming (thread-safe)

    def crash_next(self) -> None:
        """The next request crashes the VM."""
        with self._lock:
            self._armed.append(("crash", None))

    def hang_next(self, seconds: float | None = None) -> None:
        """The next request hangs for ``seconds`` (default ``hang_s``)."""
        with self._lock:
            self._armed.append(("hang", seconds))

    def fail_next(self, n: int = 1) -> None:
        """The next ``n`` requests fail with HTTP 500."""
        with self._lock:
            self._armed.extend(("http500", None) for _ in range(n))

    def slow_reset_next(self, seconds: float | None = None) -> None:
        with self._lock:
            self._armed.append(("slow_reset", seconds))

    def hang(self, seconds: float | None = None) -> None:
        """Every request from now on hangs (for ``seconds`` each, default ``hang_s``) until unhang()."""
        with self._lock:
            self._hang_all = self.hang_s if seconds is None else seconds

    def unhang(self) -> None:
        with self._lock:
            self._hang_all = None

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self._hang_all = None
            self.crashed = False

    # ------------------------------------------------------------------ drawing

    def draw(self, op: str) -> tuple[str | None, float]:
        """The fault for a request of ``op`` (health, reset, observe, step, evaluate, screenshot):
        (kind or None, seconds) where seconds is the hang or slow-reset duration."""
        with self._lock:
            if self._hang_all is not None:
                return "hang", self._hang_all
            for i, (kind, secs) in enumerate(self._armed):
                if kind == "slow_reset" and op != "reset":
                    continue
                del self._armed[i]
                self.injected[kind] += 1
                return kind, (
                    secs if secs is not None else (self.slow_reset_s if kind == "slow_reset" else self.hang_s)
                )
            r = self._rng.random
            for kind, rate in (
                ("crash", self.crash_rate),
                ("hang", self.hang_rate),
                ("http500", self.http500_rate),
            ):
                if rate and r() < rate:
                    self.injected[kind] += 1
                    return kind, self.hang_s
            if op == "reset" and self.slow_reset_rate and r() < self.slow_reset_rate:
                self.injected["slow_reset"] += 1
                return "slow_reset", self.slow_reset_s
        return None, 0.0

    def set_latency(self, seconds: float, jitter_s: float = 0.0) -> None:
        """Steps from now on take ``seconds`` + uniform ``[0, jitter_s)`` longer."""
        for what, v in (("seconds", seconds), ("jitter_s", jitter_s)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"latency {what} must be a finite number >= 0, got {v!r}")
        with self._lock:
            self.latency_ms, self.latency_jitter_ms = seconds * 1000.0, jitter_s * 1000.0

    def latency_s(self) -> float:
        if not self.latency_ms and not self.latency_jitter_ms:
            return 0.0
        with self._lock:
            jitter = self._rng.random() * self.latency_jitter_ms
        return (self.latency_ms + jitter) / 1000.0
