"""Every third-party import of the code that ships (and of the benchmarks) is declared in pyproject.toml,
and every declared package is imported (deptry, configured in ``[tool.deptry]``). The floors themselves
are proved by ``make floors`` (.ci/floors): those exact releases installed, the unit tests run on them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOTS = ["lam_rl", "cluster", "jobs", "bench"]


def deptry(cwd, *roots: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deptry", "--no-ansi", *roots],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_import_is_declared_and_every_declaration_imported(repo_root):
    out = deptry(repo_root, *ROOTS)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No dependency issues found" in out.stdout + out.stderr


def test_an_undeclared_import_fails_the_check(repo_root, tmp_path):
    """The check can fail: a module importing a package that is installed (a dependency of a
    dependency) but not declared."""
    shutil.copy(repo_root / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "lam_rl").mkdir()
    (tmp_path / "lam_rl" / "fetch.py").write_text("import requests\n")
    out = deptry(tmp_path, "lam_rl")
    text = out.stdout + out.stderr
    assert out.returncode == 1 and re.search(r"DEP00[13] 'requests' imported", text), text


def test_every_requirement_has_a_floor(repo_root):
    """`make floors` pins each `>=` floor exactly; a requirement without one would go unproved."""
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    assert len(reqs) > 30
    for r in reqs:
        assert re.match(r"[A-Za-z0-9_.-]+(\[[^\]]*\])?>=\d", r), f"{r!r} has no >= floor"
