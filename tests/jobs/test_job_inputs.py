"""Every job checks its inputs (store tags, checkpoints, model paths, task families, VM tokens) before
it writes its config or starts Ray: a job whose inputs are missing exits 2 with a message saying what
to run first and leaves nothing behind (no run directory, no configs/, no Ray session).

The jobs run as ``python -m jobs.<name>`` does (``runpy`` with ``__name__ == "__main__"``), all in one
fresh interpreter so the heavy imports are paid once; each case gets its own run root and its own
``RAY_TMPDIR``, so a Ray session it started would show as a folder there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

# (job module, overrides, what stderr must say); run roots start empty
EMPTY = [
    ("jobs.taskplan", ["model.name_or_path=/no/such/model"], "model folder '/no/such/model' does not exist"),
    ("jobs.taskplan", ["tokenizer.path=/no/such/tok"], "tokenizer folder '/no/such/tok' does not exist"),
    ("jobs.collect", ["collect.families=[no_such_family]"], "unknown task family 'no_such_family'"),
    (
        "jobs.collect",
        ["fleet.vms=[http://127.0.0.1:9]", "fleet.token_env=LAM_TEST_UNSET_TOKEN"],
        "no token: set LAM_TEST_UNSET_TOKEN",
    ),
    (
        "jobs.collect",
        [
            "fleet.vms=[http://127.0.0.1:9]",
            "fleet.token_env=LAM_TEST_UNSET_TOKEN",
            "fleet.token_file=/no/tok",
        ],
        "fleet.token_file /no/tok does not exist",
    ),
    (  # a token, but the VM does not answer: found by the input check, before the store exists
        "jobs.collect",
        ["fleet.vms=[http://127.0.0.1:9]", "fleet.token_env=LAM_TEST_VM_TOKEN_SET"],
        "fleet.vms: 1 of 1 VMs failed the health check: [0] http://127.0.0.1:9 unreachable",
    ),
    ("jobs.collect", ["fleet.vms=[http://h:1,http://H:1/]"], "'fleet.vms' names the same VM twice"),
    ("jobs.sft", ["phase=plan"], "checkpoint 'base' does not exist"),
    ("jobs.sft", ["phase=imitate"], "checkpoint 'lam1' does not exist"),
    ("jobs.sft", ["phase=boost"], "checkpoint 'lam2' does not exist"),
    ("jobs.explore", [], "checkpoint 'lam2' does not exist"),
    ("jobs.reward", [], "checkpoint 'lam3' does not exist"),
    ("jobs.ppo", ["ppo.mode=offline"], "checkpoint 'lam3' does not exist"),
    ("jobs.ppo", ["ppo.mode=online", "ppo.algo=grpo"], "checkpoint 'lam3' does not exist"),
    ("jobs.evaluate", [], "no trajectory store at"),
    ("jobs.evaluate", ["eval.models=[/no/such/lam]"], "no trajectory store at"),
    ("jobs.pipeline", ["stages=[sft-imitate]"], "checkpoint 'lam1' does not exist"),
    ("jobs.pipeline", ["stages=[nope]"], "unknown pipeline stage 'nope'"),
]
# run roots holding a store with no tags and a registered `base` checkpoint: the tags are what is missing
PREPARED = [
    ("jobs.sft", ["phase=plan"], "store tag 'taskplan' does not exist"),
    ("jobs.explore", ["explore.checkpoint=base"], "store tag 'collect-expert' does not exist"),
    ("jobs.reward", ["reward.init_checkpoint=base"], "store tag 'collect-expert' does not exist"),
    (
        "jobs.ppo",
        ["ppo.init_checkpoint=base", "ppo.rm_checkpoint=base"],
        "store tag 'collect-expert' does not exist",
    ),
    ("jobs.evaluate", [], "store tag 'reference-eval' does not exist"),
    (
        "jobs.pipeline",
        ["stages=[explore]", "explore.checkpoint=base"],
        "store tag 'collect-expert' does not exist",
    ),
]

DRIVER = r"""
import contextlib, io, json, os, runpy, sys
for case in json.loads(sys.argv[1]):
    os.environ["RAY_TMPDIR"] = case["ray_tmp"]
    sys.argv = [case["module"], *case["argv"]]
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err):
        try:
            runpy.run_module(case["module"], run_name="__main__", alter_sys=True)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException as e:
            code = f"{type(e).__name__}: {e}"
    print(json.dumps({"rc": code, "stderr": err.getvalue()}), flush=True)
"""


def prepare(root):
    """A run root with a trajectory store holding one untagged trajectory and a registered (tiny,
    fake) `base` checkpoint."""
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.store import TrajectoryStore
    from lam_rl.store.synthetic import make_trajectory

    run_dir = root / "tiny"
    TrajectoryStore(run_dir / "store").write([make_trajectory(0, steps=2)])
    base = run_dir / "checkpoints" / "base"
    base.mkdir(parents=True)
    (base / "config.json").write_text("{}")
    (base / "model.safetensors").write_bytes(b"")
    CheckpointRegistry(run_dir / "checkpoints").register("base", base, phase="base")


def listing(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_job_with_missing_inputs_exits_2_and_leaves_nothing_behind(tmp_path, repo_root, subprocess_env):
    ray_tmp = Path(tempfile.mkdtemp(prefix="lji-", dir="/tmp"))  # short: Ray's socket paths must fit
    cases, before = [], {}
    for i, (module, overrides, needle) in enumerate(EMPTY + PREPARED):
        root = tmp_path / f"case{i}"
        root.mkdir()
        if i >= len(EMPTY):
            prepare(root)
        before[i] = listing(root)
        argv = ["config=tiny", f"run.root={root}", "tracking.mode=disabled", *overrides]
        cases.append({"module": module, "argv": argv, "ray_tmp": str(ray_tmp / str(i)), "needle": needle})
    env = {k: v for k, v in subprocess_env.items() if k not in ("LAM_VM_TOKEN", "RAY_ADDRESS")}
    env["LAM_TEST_VM_TOKEN_SET"] = "a-token"
    try:
        out = subprocess.run(
            [sys.executable, "-c", DRIVER, json.dumps(cases)],
            cwd=repo_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        started_ray = {i for i in range(len(cases)) if (ray_tmp / str(i)).exists()}
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(cases), out.stderr[-3000:]
    problems = []
    for i, (case, res) in enumerate(zip(cases, results, strict=True)):
        what = f"{case['module']} {' '.join(case['argv'][3:])}"
        errors = [line for line in res["stderr"].splitlines() if line.startswith("error: ")]
        if res["rc"] != 2:
            problems.append(f"{what}: exit {res['rc']} (want 2): {res['stderr'][-800:]}")
        elif len(errors) != 1 or case["needle"] not in errors[0]:
            problems.append(f"{what}: want one 'error: ...{case['needle']}...' line, got {errors}")
        left = sorted(set(listing(tmp_path / f"case{i}")) - set(before[i]))
        if left:
            problems.append(f"{what}: left files behind: {left[:6]}")
        if i in started_ray:
            problems.append(f"{what}: started a Ray session (its RAY_TMPDIR was created)")
    assert not problems, "\n".join(problems)
