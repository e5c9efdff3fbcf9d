"""What a user sees on the console of a real training job (`python -m jobs.sft`, 2 Ray Train workers):
rank 0's progress lines (loss, tokens/s, ETA) and none of the Ray / DeepSpeed / transformers noise
that `cluster.noise` silences (measured before it: 47 lines for this job, 34 of them noise)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

SIZES = [
    "config=tiny",
    "tracking.mode=offline",
    "model.hidden=64",
    "model.layers=2",
    "model.intermediate=128",
    "tokenizer.vocab_size=1024",
    "taskplan.num_tasks=120",
    "taskplan.tokenizer_samples=40",
]
# each was on this job's console before cluster/noise.py (docs/learners.md, "The console")
NOISE = [
    r"PlacementGroupCleaner",
    r"Failed to query Ray Train Controller actor state",
    r"PreemptionWatcher",
    r"core_worker\.cc",
    r"Attempting to get learning rate from scheduler",
    r"deepspeed_shm_comm_op built successfully",
    r"all_gather_into_tensor",
    r"Loading weights",
    r"Writing model shards",
    r"Requesting resources",
    r"Attempting to start training worker group",
    r"Setting up process group",
    r"Checkpoint successfully created",
    r"Reporting training result",
    r"Token authentication is enabled",
]
PROGRESS = re.compile(
    r"\(RayTrainWorker pid=(?P<pid>\d+)\)\S* sft-plan: step (?P<step>\d+)/12 \(\d+%\) \| loss [\d.e+-]+ \| "
    r"[\d.]+[kMG]? tokens/s \| \d+:\d\d elapsed \| ETA \d+:\d\d"
)


def test_sft_job_console_shows_rank_0_progress_and_no_library_noise(tmp_path, repo_root, subprocess_env):
    from jobs.config import Config
    from jobs.pipeline import run_stage
    from lam_rl.config import load_config

    run_stage(
        "taskplan",
        load_config(Config, [*SIZES, f"run.root={tmp_path}"], configs_dir=repo_root / "jobs" / "configs"),
    )
    env = dict(subprocess_env, PYTHONUNBUFFERED="1")
    env.pop("WANDB_MODE", None)  # as a user runs it (tracking.mode=offline): transformers prints a line per
    env.pop("LAM_PROGRESS", None)  # worker when WANDB_MODE=offline is in the environment
    job = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.sft",
            "phase=plan",
            *SIZES,
            f"run.root={tmp_path}",
            "learner.num_workers=2",
            "learner.micro_batch=4",
            "sft.optim.batch_size=8",
            "sft.optim.max_steps=12",
            "learner.log_every=3",
        ],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = re.sub(r"\x1b\[[0-9;]*m", "", job.stdout + job.stderr)  # Ray colours its prefixes
    assert job.returncode == 0, out[-3000:]
    lines = [line for line in out.splitlines() if line.strip()]

    progress = [m for m in map(PROGRESS.search, lines) if m]
    assert [int(m["step"]) for m in progress] == [3, 6, 9, 12], out
    assert len({m["pid"] for m in progress}) == 1, progress  # rank 0 only, of two workers

    found = {p: [line for line in lines if re.search(p, line)] for p in NOISE}
    assert not any(found.values()), {p: hits[:2] for p, hits in found.items() if hits}
    # the story: what runs, its progress, the result (9 lines measured; 47 before cluster/noise.py)
    assert len(lines) <= 15, "\n".join(lines)
    assert any("sft plan finished" in line for line in lines)
