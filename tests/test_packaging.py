"""lam-rl as an installed wheel: built from the sources, installed into a fresh venv with no checkout
on its path, and run from an empty folder (every job's --help, `lam-rl config` for every job, and a
short job end to end).

The fresh venv takes its dependencies from the test's own environment through a ``.pth`` line (the
folder goes on ``sys.path``; ``.pth`` files inside it, such as the editable install's finder that
maps ``lam_rl`` back to the checkout, are not run), so nothing is downloaded and torch is not
installed twice; the wheel itself is installed with ``--no-deps``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import jobs

pytestmark = pytest.mark.e2e

EXPECTED_JOBS = {"taskplan", "collect", "sft", "explore", "reward", "ppo", "evaluate", "pipeline"}


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert out.returncode == 0, f"{cmd} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory, repo_root):
    """(venv, its site-packages, an empty working folder, the environment to run in)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # only what the wheel is built from: no tests, no .venv, no build leftovers
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo_root / name, src / name)
    for pkg in ("lam_rl", "cluster", "jobs"):
        shutil.copytree(repo_root / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp / "dist"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(src),
        ]
    )
    (wheel,) = dist.glob("lam_rl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "jobs/configs/tiny.yaml" in names and "jobs/configs/small.yaml" in names, names[:20]
    assert {f"jobs/{j}.py" for j in EXPECTED_JOBS} <= set(names)

    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    site = Path(
        run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    )
    (site / "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ]
    )

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    empty = tmp / "empty"
    empty.mkdir()
    return venv, site, empty, env


def test_the_wheel_is_what_runs_and_not_the_checkout(installed, repo_root):
    venv, site, empty, env = installed
    code = (
        "import json, cluster, jobs, lam_rl; "
        "print(json.dumps({m.__name__: m.__file__ for m in (cluster, jobs, lam_rl)} | {'jobs.JOBS': jobs.JOBS}))"
    )
    out = json.loads(run([str(venv / "bin" / "python"), "-c", code], cwd=empty, env=env).stdout)
    for name in ("cluster", "jobs", "lam_rl"):
        path = Path(out[name]).resolve()
        assert path.is_relative_to(site.resolve()), f"{name} imported from {path}, not the venv's {site}"
        assert not path.is_relative_to(repo_root.resolve())
    assert set(out["jobs.JOBS"]) == EXPECTED_JOBS == set(jobs.JOBS)


def test_every_job_answers_help_from_the_wheel(installed):
    venv, _, empty, env = installed
    # one interpreter runs every job module as __main__ (python -m jobs.<name> --help), so the heavy
    # imports (torch, Ray, transformers) are paid once
    code = (
        "import io, contextlib, json, runpy, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import jobs\n"
        "res = {}\n"
        "for name in sorted(jobs.JOBS):\n"
        "    sys.argv = [f'jobs.{name}', '--help']\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf):\n"
        "        runpy.run_module(f'jobs.{name}', run_name='__main__', alter_sys=True)\n"
        "    res[name] = buf.getvalue()\n"
        "print(json.dumps(res))\n"
    )
    out = json.loads(
        run([str(venv / "bin" / "python"), "-c", code], cwd=empty, env=env).stdout.splitlines()[-1]
    )
    assert set(out) == EXPECTED_JOBS
    for name, text in out.items():
        assert "usage: python -m jobs.<name>" in text and "model.name_or_path" in text, (name, text[:500])
    assert (
        "phase = 'imitate'" in out["sft"]
        and "stages = []" in out["pipeline"]
        and "ppo.mode = 'offline'" in out["ppo"]
    )


def test_lam_rl_config_knows_every_job_from_the_wheel(installed):
    venv, _, empty, env = installed
    lam = str(venv / "bin" / "lam-rl")
    assert Path(lam).read_text().startswith(f"#!{venv / 'bin' / 'python'}")
    for job in sorted(EXPECTED_JOBS):
        out = run([lam, "config", job, "config=small"], cwd=empty, env=env).stdout
        assert "name: small" in out, (job, out[:300])
    assert "phase: plan" in run([lam, "config", "sft", "phase=plan"], cwd=empty, env=env).stdout
    bad = subprocess.run(
        [lam, "config", "sft", "config=nope"], cwd=empty, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 2 and "packaged configs: small, tiny" in bad.stderr, bad.stderr
    # a file of the user's own, by path, next to the packaged names
    (empty / "mine.yaml").write_text("run:\n  name: mine\n")
    assert "name: mine" in run([lam, "config", "ppo", "config=mine.yaml"], cwd=empty, env=env).stdout


def test_a_job_runs_end_to_end_from_an_empty_folder(installed):
    venv, _, empty, env = installed
    work = empty / "job"
    work.mkdir()
    run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "jobs.taskplan",
            "config=tiny",
            "run.root=runs",
            "taskplan.num_tasks=40",
            "taskplan.tokenizer_samples=8",
            "tokenizer.vocab_size=400",
            "model.hidden=32",
            "model.layers=1",
            "model.heads=2",
            "model.kv_heads=2",
            "model.intermediate=64",
        ],
        cwd=work,
        env={**env, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"},
    )
    run_dir = work / "runs" / "tiny"
    assert (run_dir / "checkpoints" / "base" / "config.json").is_file()
    assert (run_dir / "tokenizer" / "tokenizer.json").is_file()
    assert "taskplan:" in (run_dir / "configs" / "taskplan.yaml").read_text()
    assert sorted(p.name for p in work.iterdir()) == ["runs"]
