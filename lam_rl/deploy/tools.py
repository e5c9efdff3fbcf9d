"""The external infra tools (infra/tools/install.sh puts them under infra/.tools): where they are
and how to run them with a time limit and a clear error when one is missing."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lam_rl.config import ConfigError

__all__ = ["REPO_ROOT", "ToolMissing", "Tools", "RunResult"]

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "run `make infra-tools` (infra/tools/install.sh) to install them"


class ToolMissing(ConfigError):
    """An infra tool is not installed."""


@dataclass
class RunResult:
    cmd: list[str]
    rc: int
    out: str

    @property
    def ok(self) -> bool:
        return self.rc == 0


@dataclass
class Tools:
    home: Path

    @classmethod
    def find(cls, home: str | Path | None = None) -> Tools:
        """``home``, else $LAM_INFRA_TOOLS, else <repo>/infra/.tools."""
        path = Path(home or os.environ.get("LAM_INFRA_TOOLS") or REPO_ROOT / "infra" / ".tools")
        return cls(path.resolve())

    def path(self, name: str) -> Path:
        where = {
            "terraform": self.home / "bin" / "terraform",
            "helm": self.home / "bin" / "helm",
            "kubectl": self.home / "bin" / "kubectl",
            "checkov": self.home / "venv" / "bin" / "checkov",
            "kubernetes-validate": self.home / "venv" / "bin" / "kubernetes-validate",
            "hadolint": self.home / "venv" / "bin" / "hadolint",
        }[name]
        if not os.access(where, os.X_OK):
            raise ToolMissing(f"{name} is not installed at {where}: {INSTALL_HINT}")
        return where

    @property
    def provider_schemas(self) -> Path:
        """Folder of the Terraform providers' schema packages (cdktf npm tarballs)."""
        return self.home / "providers"

    def missing(self) -> list[str]:
        out = []
        for name in ("terraform", "helm", "kubectl", "checkov", "kubernetes-validate", "hadolint"):
            try:
                self.path(name)
            except ToolMissing:
                out.append(name)
        if not any(self.provider_schemas.glob("*.tgz")):
            out.append("provider schemas")
        return out

    def run(self, name: str, args: list[str], *, cwd: Path | None = None, timeout: float = 300) -> RunResult:
        cmd = [str(self.path(name)), *args]
        env = dict(os.environ)
        env.update(
            {
                "CHECKPOINT_DISABLE": "1",
                "TF_IN_AUTOMATION": "1",
                "NO_COLOR": "1",
                "HELM_CACHE_HOME": str(self.home / "helm-cache"),
                "HELM_CONFIG_HOME": str(self.home / "helm-config"),
                "HELM_DATA_HOME": str(self.home / "helm-data"),
                "PATH": f"{self.home / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            }
        )
        try:
            proc = subprocess.run(
                cmd,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or "") if isinstance(e.stdout, str) else ""
            return RunResult(cmd, 124, out + f"\n{name} timed out after {timeout:.0f}s")
        return RunResult(cmd, proc.returncode, (proc.stdout or "") + (proc.stderr or ""))
