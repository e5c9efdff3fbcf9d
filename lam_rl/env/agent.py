"""The VM agent interface: what runs inside a VM and what the HTTP server (``lam_rl.env.server``)
exposes. WordSim implements it; a Windows UI Automation agent implements it on real VMs."""

from __future__ import annotations

import abc

from lam_rl.env.protocol import Action, Health, Observation, StepResult, TaskSpec, Verdict


class AgentError(Exception):
    """A request the agent cannot serve in its current state (e.g. evaluate before any reset).

    The server answers it with HTTP ``status`` and an ``ErrorBody`` carrying ``code``."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class VMAgent(abc.ABC):
    """One application session inside one VM. Calls are serialized by the server.

    ``step`` never raises for an impossible action: it returns ``ok=False`` with an error code and
    leaves the state unchanged. ``blocking`` agents (real UI automation) are called from a worker
    thread so one slow VM never stalls the others served by the same process."""

    kind: str = "vm"
    name: str = "vm"
    blocking: bool = False

    @abc.abstractmethod
    def health(self) -> Health: ...

    @abc.abstractmethod
    def reset(self, task: TaskSpec) -> Observation: ...

    @abc.abstractmethod
    def observe(self) -> Observation: ...

    @abc.abstractmethod
    def step(self, action: Action) -> StepResult: ...

    @abc.abstractmethod
    def evaluate(self) -> Verdict: ...

    @abc.abstractmethod
    def screenshot(self) -> bytes:
        """The window as a PNG image."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (the server calls it on shutdown)."""
