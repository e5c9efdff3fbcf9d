import subprocess
import sys
from dataclasses import dataclass

import pytest

from lam_rl.config import ConfigError, iter_fields, load_config, opt
from lam_rl.job_configs import Config, PipelineConfig


def test_every_field_has_help():
    missing = [k for k, f in iter_fields(PipelineConfig) if not f.metadata.get("help")]
    assert missing == []


def test_yaml_then_dotlist(repo_root):
    cfg = load_config(
        PipelineConfig,
        ["config=tiny", "model.hidden=64", "run.seed=7"],
        configs_dir=repo_root / "jobs/configs",
    )
    assert cfg.model.hidden == 64 and cfg.run.seed == 7
    assert cfg.model.layers == 4  # from tiny.yaml
    small = load_config(PipelineConfig, ["config=small"], configs_dir=repo_root / "jobs/configs")
    assert small.model.hidden > cfg.model.hidden


@pytest.mark.parametrize(
    "arg, needle",
    [
        ("model.hiden=3", "model.hiden"),
        ("modle.hidden=3", "modle"),
        ("model.hidden=abc", "model.hidden"),
        ("tracking.mode=sometimes", "tracking.mode"),
        ("config=nope", "nope"),
        ("justaword", "justaword"),
    ],
)
def test_bad_keys_name_the_key(repo_root, arg, needle):
    with pytest.raises(ConfigError) as e:
        load_config(PipelineConfig, [arg], configs_dir=repo_root / "jobs/configs")
    assert needle in str(e.value)


def test_unknown_key_lists_valid_ones(repo_root):
    with pytest.raises(ConfigError) as e:
        load_config(Config, ["model.hiden=3"], configs_dir=repo_root / "jobs/configs")
    msg = str(e.value)
    assert "Did you mean 'model.hidden'" in msg and "layers" in msg and "intermediate" in msg


def test_bad_yaml_key_is_caught(tmp_path, repo_root):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  hiddn: 3\n")
    with pytest.raises(ConfigError, match="model.hiddn"):
        load_config(PipelineConfig, [f"config={bad}"], configs_dir=repo_root / "jobs/configs")


def test_opt_requires_help():
    with pytest.raises(ValueError):

        @dataclass
        class X:
            a: int = opt(1, "")


def test_job_exits_nonzero_naming_the_key(repo_root, subprocess_env, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", f"run.root={tmp_path}", "model.hiden=64"],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "model.hiden" in out.stderr and "hidden" in out.stderr
    assert not (tmp_path / "tiny").exists(), "nothing may be written on bad input"


def test_job_help_lists_keys(repo_root, subprocess_env):
    out = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", "--help"],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0
    assert "model.hidden" in out.stdout and "W&B mode" in out.stdout


def test_a_job_makes_a_relative_run_root_absolute(tmp_path, monkeypatch, repo_root):
    """Ray workers do not share the driver's working directory: `make demo` runs with run.root=runs."""
    from cluster.runtime import job_main
    from lam_rl.job_configs import Config

    monkeypatch.chdir(tmp_path)
    seen = []
    job_main(
        Config,
        seen.append,
        name="probe",
        configs_dir=repo_root / "jobs" / "configs",
        argv=["config=tiny", "run.root=runs", "tracking.mode=disabled"],
        needs_ray=False,
    )
    assert seen[0].run.root == str(tmp_path / "runs")
    assert seen[0].run_dir == tmp_path / "runs" / "tiny" and seen[0].store_uri.startswith(str(tmp_path))
