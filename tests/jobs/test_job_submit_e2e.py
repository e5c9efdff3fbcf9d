"""`ray job submit` for real: a local Ray head (`ray start --head`, token authentication on), a phase
submitted with `--working-dir .`, its outputs checked in the store.

The head gets a temp dir of its own, and only its processes are stopped afterwards (`ray stop`
would also stop the embedded Ray other tests of this session use).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_head(temp_dir: str) -> None:
    """Stop every process of the head started with ``--temp-dir temp_dir``."""
    procs = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(temp_dir in arg for arg in p.info["cmdline"] or []):
                procs.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(procs, timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def submit(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    """`ray job submit`, retried while the new head has no job agent yet (the request fails before
    any job is created, so a retry cannot run the job twice)."""
    deadline = time.time() + 600  # a busy machine can take minutes to start the job agent
    while True:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
        if out.returncode == 0 or "No available agent" not in out.stdout + out.stderr:
            return out
        if time.time() > deadline:
            return out
        time.sleep(3)


@pytest.fixture(scope="module")
def ray_head(subprocess_env):
    bin_dir = Path(sys.executable).parent
    env = dict(subprocess_env, RAY_AUTH_MODE="token", PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    temp_dir = tempfile.mkdtemp(prefix="lrj-", dir="/tmp")  # short: Ray's socket paths must fit
    dash = free_port()
    # as the README says: a token in ~/.ray/auth_token first (kept if there is one), then the head
    subprocess.run(
        [str(bin_dir / "ray"), "get-auth-token", "--generate"], env=env, capture_output=True, check=True
    )
    start = subprocess.run(
        [
            str(bin_dir / "ray"),
            "start",
            "--head",
            "--num-cpus=2",
            f"--port={free_port()}",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dash}",
            "--include-dashboard=true",
            f"--temp-dir={temp_dir}",
            # ports of its own: another Ray on this machine (an embedded one) holds the defaults
            *(
                f"--{flag}={free_port()}"
                for flag in (
                    "dashboard-agent-listen-port",
                    "dashboard-agent-grpc-port",
                    "metrics-export-port",
                    "runtime-env-agent-port",
                    "ray-client-server-port",
                )
            ),
            "--disable-usage-stats",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    try:
        assert start.returncode == 0, start.stdout + start.stderr
        yield {"address": f"http://127.0.0.1:{dash}", "env": env, "bin": bin_dir}
    finally:
        stop_head(temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_phase_submitted_with_ray_job_submit_writes_its_outputs(ray_head, repo_root, tmp_path):
    from lam_rl.store import TrajectoryStore

    entry = [
        sys.executable,
        "-m",
        "jobs.collect",
        "config=tiny",
        f"run.root={tmp_path}",
        "tracking.mode=offline",
        "collect.num_tasks=12",
        "collect.eval_tasks=3",
        "fleet.local=2",
    ]
    out = submit(  # no wall-clock bound: a busy machine may take long; `submit` has its own timeouts
        [
            str(ray_head["bin"] / "ray"),
            "job",
            "submit",
            "--address",
            ray_head["address"],
            "--working-dir",
            str(repo_root),
            "--",
            *entry,
        ],
        cwd=repo_root,
        env=ray_head["env"],
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-6000:]
    assert "succeeded" in log, log[-3000:]
    assert "connecting to Ray at" in log, "the job must join the head, not embed a Ray of its own"

    store = TrajectoryStore(str(tmp_path / "tiny" / "store"), create=False)
    assert store.has_tag("collect-expert") and store.has_tag("reference-eval")
    outs = store.outcomes(tag="collect-expert", columns=["traj_id"]).to_pylist()
    assert len(outs) == 12 and len({o["traj_id"] for o in outs}) == 12
    assert (tmp_path / "tiny" / "metrics" / "collect.jsonl").exists()


def test_submitting_without_the_token_is_refused(ray_head, repo_root):
    env = dict(ray_head["env"], RAY_AUTH_TOKEN="not-the-token")  # overrides ~/.ray/auth_token
    out = subprocess.run(
        [str(ray_head["bin"] / "ray"), "job", "list", "--address", ray_head["address"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0, out.stdout
