"""`lam-rl infra`: render to stdout or files, validate files, clear errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from jobs.cli import main
from lam_rl.deploy.phases import PHASES

from .conftest import FIXTURES


def _run(*args: str):
    return CliRunner().invoke(main, ["infra", *args], catch_exceptions=False)


def test_render_to_stdout_and_validate_the_file(tools, tmp_path):
    res = _run("render", "sft-plan", "--config", "small", "model.hidden=256")
    assert res.exit_code == 0, res.output
    docs = list(yaml.safe_load_all(res.output))
    assert docs[-1]["kind"] == "RayJob" and "model.hidden=256" in docs[-1]["spec"]["entrypoint"]
    f = tmp_path / "job.yaml"
    f.write_text(res.output)
    ok = _run("validate", str(f))
    assert ok.exit_code == 0, ok.output


def test_render_with_terraform_overrides_file(tmp_path):
    overrides = tmp_path / "deploy.json"
    overrides.write_text(
        json.dumps(["deploy.image=crlamrldweu.azurecr.io/lam-rl:0.1.0", "deploy.store_uri=az://lam-rl/runs"])
    )
    res = _run("render", "collect", "--config", "tiny", "--overrides-file", str(overrides))
    assert res.exit_code == 0, res.output
    job = list(yaml.safe_load_all(res.output))[-1]
    assert job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"] == (
        "crlamrldweu.azurecr.io/lam-rl:0.1.0"
    )
    assert "store.uri=az://lam-rl/runs/tiny/store" in job["spec"]["entrypoint"]


def test_render_all_writes_one_file_per_phase(tmp_path):
    out = tmp_path / "k8s"
    res = _run("render", "all", "--config", "tiny", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert sorted(p.stem for p in out.glob("*.yaml")) == sorted([*PHASES, "cluster"])


def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "job.yaml"
    res = _run("render", "sft-plan", "--config", "tiny", "--out", str(out), "deploy.learner.gpu=-1")
    assert res.exit_code == 2
    assert "error: config key 'deploy.learner.gpu' must be >= 0" in res.output
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert _run("render", "nope").exit_code == 2
    assert "needs --out" in _run("render", "all").output


def test_validate_files_reports_paths_and_fails(tools, tmp_path):
    doc = yaml.safe_load((FIXTURES / "kuberay/ray-service.sample.yaml").read_text())
    doc["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]["maxReplicas"] = "five"
    f = tmp_path / "svc.yaml"
    f.write_text(yaml.safe_dump(doc))
    res = _run("validate", "--no-policy", str(f))
    assert res.exit_code == 1
    assert (
        f"{f}: RayService/rayservice-sample: spec.rayClusterConfig.workerGroupSpecs[0].maxReplicas: wrong type"
        in res.output
    )


def test_validate_reports_missing_tools(tmp_path):
    res = _run("validate", "--tools", str(tmp_path / "none"), "--only", "helm")
    assert res.exit_code == 2
    assert "infra tools missing" in res.output and "make infra-tools" in res.output


def test_phases_lists_every_phase():
    res = _run("phases")
    assert res.exit_code == 0
    assert [line.split()[0] for line in res.output.splitlines()] == list(PHASES)
    assert Path(FIXTURES).is_dir()


def test_entrypoint_only_for_ray_job_submit():
    res = _run("render", "sft-boost", "--config", "small", "--entrypoint", "run.name=exp 2")
    assert res.exit_code == 0, res.output
    assert res.output == "python -m jobs.sft phase=boost config=small 'run.name=exp 2' run.root=/mnt/runs\n"
    assert _run("render", "cluster", "--entrypoint").exit_code == 2


def test_validate_refuses_a_tree_without_infra(tools, tmp_path):
    res = _run("validate", "--root", str(tmp_path))
    assert res.exit_code == 2
    assert "has no infra/terraform" in res.output
