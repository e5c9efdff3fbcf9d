import subprocess
import sys

from lam_rl.config import TrackingConfig
from lam_rl.tracking import Tracker, find_offline_runs, read_jsonl_metrics, read_offline_history


def test_tracker_writes_wandb_offline_and_mirror(tmp_path):
    with Tracker(
        TrackingConfig(mode="offline"), run_dir=tmp_path, name="unit", job_type="test", config={"a": 1}
    ) as tr:
        for i in range(3):
            tr.log({"loss": 1.0 / (i + 1)}, step=i)
        tr.table("family", ["family", "success"], [["bold", 0.5]])
    runs = find_offline_runs(tmp_path)
    assert len(runs) == 1
    hist = read_offline_history(runs[0])
    assert [round(r["loss"], 3) for r in hist if "loss" in r] == [1.0, 0.5, 0.333]
    assert [r["loss"] for r in read_jsonl_metrics(tmp_path / "metrics" / "unit.jsonl")][0] == 1.0


def test_job_logs_metrics_to_offline_wandb(tmp_path, repo_root, subprocess_env):
    """A real job (phase 0a: corpus, tokenizer, base model) run in a subprocess with W&B offline."""
    env = dict(subprocess_env, WANDB_MODE="offline")
    subprocess.run(
        [sys.executable, "-m", "jobs.taskplan", f"run.root={tmp_path}", "run.name=t", "taskplan.num_tasks=30",
         "taskplan.tokenizer_samples=5", "tokenizer.vocab_size=600", "model.hidden=64", "model.layers=2",
         "model.intermediate=128"],
        cwd=repo_root, env=env, check=True, capture_output=True, timeout=600,
    )
    runs = find_offline_runs(tmp_path / "t")
    assert runs, "no offline W&B run was written"
    history = read_offline_history(runs[-1])
    params = [r["model/parameters"] for r in history if "model/parameters" in r]
    records = [r["taskplan/records"] for r in history if "taskplan/records" in r]
    assert params and params[0] > 10_000
    assert records and records[0] >= 30
