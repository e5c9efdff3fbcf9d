"""Terraform checks: formatting, the provider-free modules (init, validate, ``terraform test``), and the
wiring of the root module, which needs cloud providers and so cannot be ``terraform validate``d
offline: every module call passes only declared variables and all required ones, every
``module.X.Y`` names an output of X, every ``var.X`` is declared."""

from __future__ import annotations

import re
from pathlib import Path

from lam_rl.deploy.hcl import HclFile, Item, read_module
from lam_rl.deploy.tools import Tools

__all__ = ["wiring_problems", "provider_free_modules", "module_problems", "fmt_problems"]

_META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def _blocks(files: list[HclFile], kind: str) -> dict[str, Item]:
    """Top-level ``kind "name" { ... }`` blocks of a module: name -> block."""
    return {b.labels[0]: b for f in files for b in f.blocks(kind) if b.labels}


def wiring_problems(root_module: Path) -> list[str]:
    files = read_module(root_module)
    clean = "\n".join(f.text for f in files)
    problems: list[str] = []
    declared = set(_blocks(files, "variable"))
    for ref in sorted(set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", clean))):
        if ref not in declared:
            problems.append(f"{root_module.name}: var.{ref} is used but no variable {ref!r} is declared")
    calls = _blocks(files, "module")
    for name, call in sorted(calls.items()):
        src = call.get("source")
        source = src.value if src is not None and src.kind == "attr" else None
        if not source or not source.startswith("."):
            continue
        child = (root_module / source).resolve()
        if not child.is_dir():
            problems.append(f"module {name!r}: source {source} does not exist")
            continue
        child_files = read_module(child)
        variables = _blocks(child_files, "variable")
        outputs = set(_blocks(child_files, "output"))
        passed = {it.name for it in call.items if it.kind != "block"} - _META_ARGS
        for arg in sorted(passed - set(variables)):
            problems.append(f"module {name!r}: argument {arg!r} is not a variable of {source}")
        for var, vblock in sorted(variables.items()):
            if var not in passed and vblock.get("default") is None:
                problems.append(f"module {name!r}: required variable {var!r} of {source} is not set")
        for out in sorted(set(re.findall(rf"\bmodule\.{re.escape(name)}\.([A-Za-z_][\w-]*)", clean))):
            if out not in outputs:
                problems.append(f"module.{name}.{out} is used but {source} has no output {out!r}")
    for ref in sorted(set(re.findall(r"\bmodule\.([A-Za-z_][\w-]*)", clean)) - set(calls)):
        problems.append(f"module.{ref} is used but no module {ref!r} is declared")
    return problems


def provider_free_modules(terraform_dir: Path) -> list[Path]:
    """Modules under modules/ that declare no provider requirements and use no provider resources."""
    out = []
    for mod in sorted(p for p in (terraform_dir / "modules").glob("*") if p.is_dir()):
        files = read_module(mod)
        if any(t.blocks("required_providers") for f in files for t in f.blocks("terraform")):
            continue
        if any(
            b.labels and b.labels[0] != "terraform_data"
            for f in files
            for k in ("resource", "data")
            for b in f.blocks(k)
        ):
            continue
        out.append(mod)
    return out


def fmt_problems(tools: Tools, terraform_dir: Path) -> list[str]:
    res = tools.run("terraform", ["fmt", "-check", "-recursive", "-no-color"], cwd=terraform_dir)
    if res.ok:
        return []
    files = [
        line.strip() for line in res.out.splitlines() if line.strip().endswith((".tf", ".tfvars", ".hcl"))
    ]
    names = ", ".join(sorted(set(files))) or res.out.strip()[-500:]
    return [f"terraform fmt: not formatted: {names} (run `terraform fmt -recursive infra/terraform`)"]


def module_problems(tools: Tools, module: Path) -> list[str]:
    """init -backend=false, validate and test of one provider-free module."""
    steps = [
        ["init", "-backend=false", "-input=false", "-no-color"],
        ["validate", "-no-color"],
    ]
    if any(module.glob("tests/*.tftest.hcl")) or any(module.glob("*.tftest.hcl")):
        steps.append(["test", "-no-color"])
    for args in steps:
        res = tools.run("terraform", args, cwd=module, timeout=300)
        if not res.ok:
            tail = "\n".join(line for line in res.out.splitlines() if line.strip())[-3000:]
            return [f"terraform {args[0]} failed in {module.name}:\n{tail}"]
    return []
