"""Build the Windows agents for ``lam-rl env serve --agent windows|waa`` (kept out of the CLI so the
CLI stays a thin layer and the checks are testable)."""

from __future__ import annotations

import logging
import sys

from lam_rl.config import ConfigError
from lam_rl.env.agent import VMAgent

log = logging.getLogger(__name__)
KINDS = ("windows", "waa")


def build_agent(
    kind: str,
    *,
    name: str,
    simulated: bool = False,
    work_dir: str | None = None,
    canvas: str = "document",
    waa_url: str | None = None,
    waa_allow_insecure: bool = False,
    waa_tree: str = "execute",
    max_steps: int | None = None,
) -> VMAgent:
    """The agent ``kind`` serves; ConfigError (with the fix) when it cannot run here."""
    from lam_rl.env.windows.agent import WindowsAgent
    from lam_rl.env.windows.config import WAAConfig, WindowsAgentConfig

    extra: dict = {"canvas": canvas}
    if max_steps is not None:
        extra["max_steps"] = max_steps
    if kind == "windows":
        if simulated:
            from lam_rl.env.windows.simulated import simulated_agent

            return simulated_agent(name, work_dir=work_dir, **extra)
        if sys.platform != "win32":
            raise ConfigError(
                "--agent windows drives Word through UI Automation and needs Windows with "
                "`pip install lam-rl[windows]` and Microsoft Word; add --simulated to try it on a simulated desktop"
            )
        from lam_rl.env.windows.local import PywinautoDesktop

        cfg = WindowsAgentConfig(work_dir=work_dir or "", **extra)
        agent = WindowsAgent(PywinautoDesktop(), cfg, name=name)
        agent.desktop = PywinautoDesktop(work_dir=str(agent.work_dir))  # saved_files skips the task copies
        return agent
    if kind == "waa":
        from lam_rl.env.windows.desktop import DesktopError
        from lam_rl.env.windows.waa import WAADesktop

        if simulated:
            raise ConfigError("--simulated applies to --agent windows, not waa")
        wcfg = WAAConfig(url=waa_url or "", allow_insecure=waa_allow_insecure, tree_source=waa_tree)
        desktop = WAADesktop(wcfg)
        try:
            desktop.probe()
        except DesktopError as e:
            desktop.close()
            raise ConfigError(f"{e.message} (is the VM up and its server on that port?)") from None
        log.warning(
            "WAA/OSWorld adapter: %s runs any command it is sent, without authentication; keep it on an isolated network",
            wcfg.url,
        )
        return WindowsAgent(desktop, WindowsAgentConfig(work_dir=work_dir or "", **extra), name=name)
    raise ConfigError(f"unknown agent {kind!r}; choose one of {['wordsim', *KINDS]}")
