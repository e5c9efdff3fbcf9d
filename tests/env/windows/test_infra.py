"""infra/windows matches what the Terraform VM bootstrap expects (same parameters and defaults,
token source, firewall rule, task, runner) and starts the agent with a command line the CLI accepts.
PowerShell itself cannot run here: these are static checks of the scripts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from jobs.cli.env import serve_cmd

ROOT = Path(__file__).resolve().parents[3]
BOOT = (ROOT / "infra/windows/bootstrap.ps1").read_text()
PREP = (ROOT / "infra/windows/prepare-image.ps1").read_text()
TF_DIR = ROOT / "infra/terraform/modules/vm_bootstrap"
TF_MAIN = (TF_DIR / "main.tf").read_text()
TF_SCRIPT = (TF_DIR / "bootstrap.ps1.tftpl").read_text()
TF_TO_PS = {
    "key_vault_name": "KeyVaultName",
    "token_secret_name": "TokenSecretName",
    "agent_port": "AgentPort",
    "allowed_cidr": "AllowedCidr",
    "agent_package": "AgentPackage",
    "agent_args": "AgentArgs",
    "agent_user": "AgentUser",
    "python_installer_url": "PythonInstallerUrl",
}


def ps_params(script: str) -> dict[str, str | None]:
    """Parameter name -> default (as written) of a script's param() block."""
    block = script[script.index("param(") : script.index("\n)\n")]
    out = {}
    for m in re.finditer(r"\[(?:string|int|securestring)\]\s*\$(\w+)(?:\s*=\s*(.+))?", block):
        out[m.group(1)] = m.group(2).strip().rstrip(",").strip("'") if m.group(2) else None
    return out


def tf_variables() -> dict[str, dict[str, str]]:
    out = {}
    for m in re.finditer(r'variable "(\w+)" \{(.*?)\n\}', TF_MAIN, re.S):
        body = m.group(2)
        default = re.search(r"default\s*=\s*(.+)", body)
        regex = re.search(r'can\(regex\("(.+?)", var\.', body)
        out[m.group(1)] = {
            "default": default.group(1).strip().strip('"') if default else None,
            "regex": regex.group(1).replace("\\\\", "\\") if regex else None,
        }
    return out


def test_parameters_mirror_the_terraform_bootstrap():
    params = ps_params(BOOT)
    call = TF_MAIN[TF_MAIN.index("templatefile(") :]
    template_vars = set(re.findall(r"(\w+)\s*=\s*var\.\w+", call[: call.index("})")]))
    assert template_vars == set(TF_TO_PS), "the Terraform template gained a variable: mirror it here"
    assert set(TF_TO_PS.values()) <= set(params)
    tf = tf_variables()
    for var in ("token_secret_name", "agent_port", "agent_user", "python_installer_url"):
        assert params[TF_TO_PS[var]] == tf[var]["default"], var
    for var in ("key_vault_name", "token_secret_name", "agent_user"):
        pattern = re.search(
            rf"ValidatePattern\('([^\n]+)'\)\]\s*\n\s*\[string\] \${TF_TO_PS[var]}\b", BOOT
        ).group(1)
        assert pattern == tf[var]["regex"], var
    assert "$_ -ne '0.0.0.0/0'" in BOOT and "ValidateRange(1024, 65535)" in BOOT  # as Terraform validates


def test_same_token_firewall_task_and_runner():
    shared = [
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
        ".vault.azure.net/secrets/",
        "api-version=7.4",
        "C:\\ProgramData\\lam-rl",
        "\\vm-token",
        "/inheritance:r /grant:r 'SYSTEM:R' 'Administrators:R'",
        "New-NetFirewallRule -DisplayName 'lam-rl VM agent' -Direction Inbound -Protocol TCP",
        "-RemoteAddress",
        "-TaskName 'lam-rl-agent'",
        "New-ScheduledTaskTrigger -AtLogOn",
        "-RestartCount 999",
        "-m jobs.cli",
        "$env:LAM_VM_TOKEN = (Get-Content -Raw",
        "'/quiet', 'InstallAllUsers=1', 'PrependPath=1', 'Include_test=0'",
    ]
    for s in shared:
        assert s in BOOT and s in TF_SCRIPT, s
    assert "Write-Output $token" not in BOOT and "Remove-Variable token" in BOOT


def test_default_agent_command_is_one_the_cli_accepts():
    params = ps_params(BOOT)
    default = re.search(r'\$AgentArgs = "(env serve [^"]+)"', BOOT).group(1)
    args = default.replace("$AgentPort", params["AgentPort"]).replace(
        "$workDir", r"C:\ProgramData\lam-rl\documents"
    )
    argv = shlex.split(args.replace("\\", "/"))
    assert argv[:2] == ["env", "serve"]
    ctx = serve_cmd.make_context("serve", argv[2:])
    assert ctx.params["agent_kind"] == "windows" and ctx.params["host"] == "0.0.0.0"
    assert ctx.params["port"] == 8700 and ctx.params["work_dir"] == "C:/ProgramData/lam-rl/documents"


def test_the_package_extra_exists_and_the_image_script_checks_word():
    pyproject = (ROOT / "pyproject.toml").read_text()
    extra = re.search(r"^windows = \[(.*?)^\]", pyproject, re.S | re.M).group(1)
    assert re.search(r"\"pywinauto>=[\d.]+; sys_platform == 'win32'\"", extra)
    for script in (BOOT, PREP):
        assert ps_params(script)["AgentPackage"].startswith("lam-rl[windows]")
    assert "Word.Application" in PREP and "NoLockScreen" in PREP
    assert "import pywinauto, win32com.client, lam_rl.env.windows.agent" in PREP


def test_windows_only_libraries_are_confined_to_uia_py():
    import ast

    windows_only = ("pywinauto", "win32com", "win32api", "win32gui", "pythoncom", "pywintypes", "comtypes")
    offenders = []
    for path in (ROOT / "lam_rl").rglob("*.py"):
        if path.name == "uia.py":
            continue  # the one adapter module allowed to use them
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                names = [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
            if any(n.split(".")[0] in windows_only for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
    uia = (ROOT / "lam_rl/env/windows/uia.py").read_text()
    assert "importlib.import_module(name)" in uia and "from lam_rl" not in uia and "import lam_rl" not in uia
