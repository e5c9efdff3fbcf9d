"""Shared test settings: offline hubs and W&B, CPU DeepSpeed, repo root on sys.path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")
os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.pop("WANDB_API_KEY", None)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def subprocess_env() -> dict[str, str]:
    """Environment for child processes running jobs from the repo root."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="session")
def run_python(subprocess_env):
    """``run_python(code, *argv, cwd=, env=, timeout=, stdin=)``: run ``code`` in a fresh interpreter
    (the repo on its path; cwd the repo root unless given) and return the JSON value its last stdout
    line prints. A non-zero exit fails the test with the child's stderr."""

    def run(
        code: str,
        *argv: str,
        cwd: str | Path = ROOT,
        env: dict[str, str] | None = None,
        timeout: float = 300,
        stdin: str | None = None,
    ) -> Any:
        out = subprocess.run(
            [sys.executable, "-c", code, *argv],
            cwd=cwd,
            env=subprocess_env if env is None else env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert out.returncode == 0, f"the child exited {out.returncode}:\n{out.stderr[-3000:]}"
        return json.loads(out.stdout.strip().splitlines()[-1])

    return run


@pytest.fixture(scope="session")
def ray_session():
    """One embedded Ray for every test of a session that needs it (2 CPUs, as on CI machines)."""
    import ray

    from cluster.runtime import worker_env

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="lam-rl-tests",
        log_to_driver=False,
        runtime_env={"env_vars": {**worker_env(), "RAY_DATA_DISABLE_PROGRESS_BARS": "1"}},
    )
    yield ray
    from ray import serve

    serve.shutdown()
    ray.shutdown()


@pytest.fixture(scope="session")
def tiny_lam3(tmp_path_factory):
    """A tiny untrained policy (hidden 64, 2 layers, its own 512-token tokenizer) as an HF folder,
    standing in for LAM3 where a test needs a loadable checkpoint, not a trained one."""
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.config import ModelConfig
    from lam_rl.models.corpus import project_corpus

    tok = train_tokenizer(project_corpus(), 512)
    model = build_model(
        ModelConfig(hidden=64, layers=2, heads=4, kv_heads=4, intermediate=128, max_seq_len=512), tok
    )
    return save_pretrained(model, tok, tmp_path_factory.mktemp("lam3") / "hf")


@pytest.fixture(scope="session")
def azurite():
    """One Azurite (Azure Blob emulator) on a free loopback port for the session (tests/azurite.py).
    Not installed: the test is skipped, except in CI (CI=true), where that is an error."""
    from tests.azurite import MISSING, Azurite

    try:
        server = Azurite()
    except FileNotFoundError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    yield server
    server.stop()


@pytest.fixture
def az_store(azurite) -> tuple[str, dict[str, str]]:
    """``(store.uri, store.storage_options)`` of an empty store in a fresh Azurite container."""
    return f"az://{azurite.container()}/store", azurite.storage_options()
