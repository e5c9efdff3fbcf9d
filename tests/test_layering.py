"""The layering rules: nothing under lam_rl imports Ray, nor the jobs package that sits on top of it."""

import ast

import pytest

_IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
package = sys.argv[1]
names = []
for m in pkgutil.walk_packages(importlib.import_module(package).__path__, package + "."):
    importlib.import_module(m.name)
    names.append(m.name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def imported(run_python) -> dict[str, list[str]]:
    """Every lam_rl module imported in a fresh interpreter: their names and what got loaded."""
    return run_python(_IMPORT_ALL, "lam_rl")


def _package(loaded: list[str], name: str) -> list[str]:
    return [k for k in loaded if k == name or k.startswith(name + ".")]


def test_lam_rl_never_imports_ray(imported):
    assert len(imported["modules"]) >= 5, imported["modules"]
    ray = _package(imported["loaded"], "ray")
    assert ray == [], f"lam_rl imported Ray modules: {ray[:5]}"


def test_lam_rl_never_imports_jobs(repo_root, imported):
    """`jobs` sits on top of lam_rl (the CLI and the job entry points): importing any lam_rl module
    loads none of it, and no lam_rl source imports it, not even inside a function body."""
    assert "lam_rl.deploy.render" in imported["modules"], imported["modules"]
    jobs = _package(imported["loaded"], "jobs")
    assert jobs == [], f"importing lam_rl loaded: {jobs[:5]}"
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


def test_cluster_never_imports_jobs_at_run_time(repo_root, run_python):
    """`jobs` (the entry points and the job-level Config) sits on top of cluster: importing any cluster
    module loads none of it, and a cluster source names `jobs` only for type hints (`if TYPE_CHECKING:`)."""
    result = run_python(_IMPORT_ALL, "cluster")
    jobs = _package(result["loaded"], "jobs")
    assert {"cluster.config", "cluster.sft", "cluster.runtime"} <= set(result["modules"]), result["modules"]
    assert jobs == [], f"importing cluster loaded: {jobs[:5]}"
    runtime = []
    for path in sorted((repo_root / "cluster").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        hints = {  # the nodes under `if TYPE_CHECKING:`
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for stmt in block.body
            for n in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "jobs" or n.startswith("jobs.") for n in names) and id(node) not in hints:
                runtime.append(f"{path.relative_to(repo_root)}:{node.lineno}")
    assert runtime == [], f"cluster modules import jobs at run time: {runtime}"
