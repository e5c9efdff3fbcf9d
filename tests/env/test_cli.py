"""`lam-rl env ...`: tasks, sample, try, serve (a real subprocess), openapi; and no Ray/torch on the VM side."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from jobs.cli import main
from lam_rl.env.client import VMClient
from lam_rl.env.protocol import Action, TaskSpec
from lam_rl.env.tasks import make_task, task_split


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["env", *args], env=env, catch_exceptions=False)


def test_tasks_lists_families_with_coverage():
    r = cli("tasks")
    assert r.exit_code == 0
    assert "bold_text" in r.output and "Find and Replace" in r.output
    assert "families over" in r.output.splitlines()[-1]
    r = cli("tasks", "--json")
    data = json.loads(r.output)
    assert isinstance(data, list) and len(data) >= 40
    assert {"name", "tabs", "dialogs", "description", "phrasings", "steps"} <= set(data[0])


def test_sample_prints_task_specs():
    r = cli("sample", "-n", "4", "--seed", "2", "--split", "eval", "--composite-fraction", "0.5")
    tasks = [TaskSpec.model_validate_json(line) for line in r.output.splitlines()]
    assert len(tasks) == 4 and all(task_split(t) == "eval" for t in tasks)
    r = CliRunner().invoke(main, ["env", "sample", "--family", "nope"])
    assert r.exit_code != 0 and "unknown task family" in r.output


def test_try_plays_the_expert_and_writes_screenshots(tmp_path):
    out = tmp_path / "shots"
    r = cli("try", "insert_table", "--seed", "3", "--out", str(out), "--no-noise")
    assert r.exit_code == 0, r.output
    assert "verdict: yes" in r.output
    record = json.loads((out / "trajectory.json").read_text())
    pngs = sorted(out.glob("step_*.png"))
    assert len(pngs) == len(record["steps"]) + 1 == len(record["task"]["plan"]) + 1
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
    r = CliRunner().invoke(main, ["env", "try", "fly_to_mars", "--out", str(out)])
    assert r.exit_code != 0 and "unknown task family" in r.output


def test_serve_refuses_without_a_token_and_checks_options(tmp_path):
    r = CliRunner().invoke(main, ["env", "serve", "--port", "0"], env={"LAM_VM_TOKEN": ""})
    assert r.exit_code != 0 and "LAM_VM_TOKEN" in r.output and "--token-file" in r.output
    r = CliRunner().invoke(
        main, ["env", "serve", "--token-file", str(tmp_path / "missing")], env={"LAM_VM_TOKEN": ""}
    )
    assert r.exit_code != 0 and "does not exist" in r.output
    r = CliRunner().invoke(main, ["env", "serve", "--crash-rate", "2"], env={"LAM_VM_TOKEN": "t"})
    assert r.exit_code != 0 and "env.crash_rate" in r.output


@pytest.mark.parametrize("layout", ["ports", "paths"])
def test_serve_runs_n_vms_in_one_process(tmp_path, subprocess_env, repo_root, layout):
    token_file = tmp_path / "token"
    token_file.write_text("file-token-123\n")
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in subprocess_env.items() if k != "LAM_VM_TOKEN"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "env",
            "serve",
            "--count",
            "3",
            "--base-port",
            "0",
            "--token-file",
            str(token_file),
            "--ready-file",
            str(ready),
            "--layout",
            layout,
            *(["--latency-ms", "300", "--latency-jitter-ms", "100"] if layout == "paths" else []),
        ],
        cwd=repo_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        vms = json.loads(ready.read_text())["vms"]
        assert [v["name"] for v in vms] == ["wordsim-0", "wordsim-1", "wordsim-2"]
        for v in vms:
            assert VMClient(v["url"], "file-token-123", name=v["name"]).health().name == v["name"]
        ports = {urlsplit(v["url"]).port for v in vms}
        assert len(ports) == (1 if layout == "paths" else 3)
        if layout == "paths":
            assert [urlsplit(v["url"]).path for v in vms] == [f"/vms/wordsim-{i}" for i in range(3)]
            c = VMClient(vms[2]["url"], "file-token-123", name="w2")
            c.reset(make_task("bold_text", 0))
            t0 = time.monotonic()
            c.step(Action(function="texts"))
            assert time.monotonic() - t0 >= 0.3 - 0.02  # --latency-ms reached the VMs
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "wordsim-2 http://127.0.0.1:" in out


def test_openapi_is_written(tmp_path):
    path = tmp_path / "spec.json"
    r = cli("openapi", "--out", str(path))
    assert r.exit_code == 0
    spec = json.loads(path.read_text())
    assert spec["info"]["title"] == "lam-rl VM agent" and "/v1/step" in spec["paths"]


def test_vm_side_never_imports_ray_or_torch(repo_root, run_python):
    code = (
        "import sys, jobs.cli.env, lam_rl.env.server, lam_rl.env.fleet, lam_rl.env.client, lam_rl.env.expert, lam_rl.env.tasks;"
        "from lam_rl.env.wordsim import WordSim; WordSim().screenshot();"
        "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'torch', 'deepspeed', 'transformers'})))"
    )
    assert run_python(code) == []
    assert Path(repo_root, "docs", "env-openapi.json").exists(), (
        "regenerate with: lam-rl env openapi --out docs/env-openapi.json"
    )
    committed = json.loads(Path(repo_root, "docs", "env-openapi.json").read_text())
    from lam_rl.env.server import openapi_spec

    assert committed == json.loads(json.dumps(openapi_spec())), (
        "docs/env-openapi.json is stale: lam-rl env openapi --out docs/env-openapi.json"
    )
