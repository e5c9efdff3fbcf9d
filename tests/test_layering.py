"""The layering rules: nothing under lam_rl imports Ray, nor the jobs package that sits on top of it."""

import ast
import json
import subprocess
import sys


def test_lam_rl_never_imports_ray(repo_root, subprocess_env):
    code = r"""
import importlib, json, pkgutil, sys
import lam_rl
names = []
for m in pkgutil.walk_packages(lam_rl.__path__, "lam_rl."):
    importlib.import_module(m.name)
    names.append(m.name)
print(json.dumps({"modules": names, "ray": sorted(k for k in sys.modules if k == "ray" or k.startswith("ray."))}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["modules"]) >= 5, result["modules"]
    assert result["ray"] == [], f"lam_rl imported Ray modules: {result['ray'][:5]}"


def test_lam_rl_never_imports_jobs(repo_root, subprocess_env):
    """`jobs` sits on top of lam_rl (the CLI and the job entry points): importing any lam_rl module
    loads none of it, and no lam_rl source imports it, not even inside a function body."""
    code = r"""
import importlib, json, pkgutil, sys
import lam_rl
names = []
for m in pkgutil.walk_packages(lam_rl.__path__, "lam_rl."):
    importlib.import_module(m.name)
    names.append(m.name)
print(json.dumps({"modules": names, "jobs": sorted(k for k in sys.modules if k == "jobs" or k.startswith("jobs."))}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "lam_rl.deploy.render" in result["modules"], result["modules"]
    assert result["jobs"] == [], f"importing lam_rl loaded: {result['jobs'][:5]}"
    lazy = []
    for path in sorted((repo_root / "lam_rl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "jobs" or n.startswith("jobs.") for n in names):
                lazy.append(f"{path.relative_to(repo_root)}:{node.lineno}")
    assert lazy == [], f"lam_rl modules import jobs: {lazy}"
