"""The layering rule (DESIGN.md): nothing under lam_rl imports Ray."""

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
