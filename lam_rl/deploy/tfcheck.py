"""Terraform checks: formatting, the provider-free modules (init, validate, ``terraform test``), and the
wiring of the root module, which needs cloud providers and so cannot be ``terraform validate``d
offline: every module call passes only declared variables and all required ones, every
``module.X.Y`` names an output of X, every ``var.X`` is declared."""

from __future__ import annotations

import re
from pathlib import Path

from lam_rl.deploy.tools import Tools

__all__ = ["blocks", "wiring_problems", "provider_free_modules", "module_problems", "fmt_problems"]

_META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def _strip_comments(text: str) -> str:
    """Blank out comments (#, //, /* */) outside strings, keeping offsets."""
    out, i, n = list(text), 0, len(text)
    in_str = False
    while i < n:
        c = text[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "#" or text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
            continue
        elif text.startswith("/*", i):
            j = text.find("*/", i)
            j = n if j < 0 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in text[i:j]]
            i = j
            continue
        i += 1
    return "".join(out)


def _block_end(text: str, start: int) -> int:
    """Index just past the brace that closes the block opened at ``start`` (a '{')."""
    depth, i, in_str = 0, start, False
    while i < len(text):
        c = text[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def blocks(text: str, kind: str) -> dict[str, str]:
    """Top-level ``kind "name" { ... }`` blocks of an HCL file: name -> body."""
    text = _strip_comments(text)
    out = {}
    for m in re.finditer(rf'^{kind}\s+"([^"]+)"\s*\{{', text, re.M):
        end = _block_end(text, m.end() - 1)
        out[m.group(1)] = text[m.end() : end - 1]
    return out


def _top_level_attrs(body: str) -> set[str]:
    names, depth, in_str = set(), 0, False
    line_start = True
    i = 0
    while i < len(body):
        c = body[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
        elif depth == 0 and line_start:
            m = re.match(r"\s*([A-Za-z_][\w-]*)\s*=[^=]", body[i:])
            if m:
                names.add(m.group(1))
        line_start = c == "\n"
        i += 1
    return names


def _read_dir(path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(path.glob("*.tf")))


def wiring_problems(root_module: Path) -> list[str]:
    text = _read_dir(root_module)
    clean = _strip_comments(text)
    problems: list[str] = []
    declared = set(blocks(text, "variable"))
    for ref in sorted(set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", clean))):
        if ref not in declared:
            problems.append(f"{root_module.name}: var.{ref} is used but no variable {ref!r} is declared")
    calls = blocks(text, "module")
    for name, body in sorted(calls.items()):
        src = re.search(r'^\s*source\s*=\s*"([^"]+)"', body, re.M)
        if not src or not src.group(1).startswith("."):
            continue
        child = (root_module / src.group(1)).resolve()
        if not child.is_dir():
            problems.append(f"module {name!r}: source {src.group(1)} does not exist")
            continue
        child_text = _read_dir(child)
        variables = blocks(child_text, "variable")
        outputs = set(blocks(child_text, "output"))
        passed = _top_level_attrs(body) - _META_ARGS
        for arg in sorted(passed - set(variables)):
            problems.append(f"module {name!r}: argument {arg!r} is not a variable of {src.group(1)}")
        for var, vbody in sorted(variables.items()):
            if var not in passed and not re.search(r"^\s*default\s*=", vbody, re.M):
                problems.append(f"module {name!r}: required variable {var!r} of {src.group(1)} is not set")
        for out in sorted(set(re.findall(rf"\bmodule\.{re.escape(name)}\.([A-Za-z_][\w-]*)", clean))):
            if out not in outputs:
                problems.append(f"module.{name}.{out} is used but {src.group(1)} has no output {out!r}")
    for ref in sorted(set(re.findall(r"\bmodule\.([A-Za-z_][\w-]*)", clean)) - set(calls)):
        problems.append(f"module.{ref} is used but no module {ref!r} is declared")
    return problems


def provider_free_modules(terraform_dir: Path) -> list[Path]:
    """Modules under modules/ that declare no provider requirements and use no provider resources."""
    out = []
    for mod in sorted(p for p in (terraform_dir / "modules").glob("*") if p.is_dir()):
        text = _strip_comments(_read_dir(mod))
        if "required_providers" in text or re.search(r'^(resource|data)\s+"(?!terraform_data)', text, re.M):
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
