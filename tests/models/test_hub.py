"""Models by Hugging Face hub id (``model.name_or_path=org/name``).

A tiny model is saved into the hub cache's own layout (``models--org--name/{blobs,refs,snapshots}``,
snapshot files linked to blobs, as huggingface_hub writes it) under a temporary ``HF_HOME``; with
hub access off it is found there by its id, a missing id is a clear error naming the id and the
cache, and the id trains (phase 0a + SFT) and is served by the policy server like a local folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lam_rl.config import ConfigError

REPO_ID = "lam-test/tiny-lam"
HIDDEN = 48  # neither the defaults (128) nor tiny.yaml (160): a model built from config would differ


def save_to_hub_cache(folder: Path, hub_cache: Path, repo_id: str) -> Path:
    """Put a save_pretrained folder into ``hub_cache`` as the hub's download of ``repo_id`` at main."""
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for f in sorted(folder.iterdir()):
        data = f.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        (snapshot / f.name).symlink_to(os.path.relpath(blob, snapshot))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory):
    """A temporary HF_HOME whose hub cache holds REPO_ID (a tiny Llama with its own tokenizer)."""
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.config import ModelConfig
    from lam_rl.models.corpus import project_corpus

    root = tmp_path_factory.mktemp("hf")
    tok = train_tokenizer(project_corpus(["Make the title bold."] * 20), 520)
    model = build_model(
        ModelConfig(hidden=HIDDEN, layers=2, heads=4, kv_heads=2, intermediate=96, max_seq_len=512),
        tok,
        seed=3,
    )
    folder = save_pretrained(model, tok, root / "src")
    save_to_hub_cache(folder, root / "home" / "hub", REPO_ID)
    return root / "home"


@pytest.fixture
def offline_cache(hf_home, monkeypatch):
    """huggingface_hub pointed at ``hf_home`` with hub access off, in this process."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hf_home


def test_a_hub_id_loads_from_the_cache_when_offline(offline_cache):
    from lam_rl.models import load_model, load_tokenizer
    from lam_rl.models.hub import resolve_pretrained

    snapshot = Path(resolve_pretrained(REPO_ID))
    assert snapshot.is_relative_to(offline_cache / "hub") and (snapshot / "config.json").is_file()
    model = load_model(REPO_ID)
    assert model.config.hidden_size == HIDDEN
    assert len(load_tokenizer(REPO_ID)) == model.config.vocab_size


def test_a_missing_hub_id_offline_names_the_id_and_the_cache(offline_cache):
    from lam_rl.models import load_model, load_tokenizer

    for load in (load_model, load_tokenizer):
        with pytest.raises(ConfigError) as e:
            load("lam-test/absent")
        msg = str(e.value)
        assert "'lam-test/absent'" in msg and str(offline_cache / "hub") in msg and "HF_HUB_OFFLINE" in msg


def test_paths_ids_and_junk(offline_cache, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from lam_rl.models.hub import is_hub_id, resolve_pretrained

    assert is_hub_id("Qwen/Qwen2.5-0.5B-Instruct") and is_hub_id("gpt2")
    for junk in ("./lam-test/tiny-lam", "/nope/x", "~/x", "a/b/c", "bad id", "x" * 200, ""):
        assert not is_hub_id(junk), junk
        with pytest.raises(ConfigError, match="does not exist|not in the Hugging Face cache|is empty"):
            resolve_pretrained(junk)
    # a local folder wins over an id of the same spelling, and must be a save_pretrained folder
    (tmp_path / "lam-test" / "tiny-lam").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="has no config.json"):
        resolve_pretrained(REPO_ID)
    monkeypatch.chdir(offline_cache)
    # with hub access on, an id that is not cached goes to transformers as is (it downloads it)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert resolve_pretrained("lam-test/absent") == "lam-test/absent"


def test_workers_get_the_users_hub_settings_and_hub_access_is_not_forced_off(monkeypatch, repo_root):
    from cluster.runtime import worker_env

    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("HF_HOME", "/data/hf")
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    env = worker_env()
    assert "HF_HUB_OFFLINE" not in env and "TRANSFORMERS_OFFLINE" not in env
    assert env["HF_HOME"] == "/data/hf" and env["HF_TOKEN"] == "hf_x"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert worker_env()["HF_HUB_OFFLINE"] == "1"
    # nor by the image, nor by the Makefile outside the demo and the test targets
    dockerfile = (repo_root / "infra/docker/Dockerfile").read_text()
    assert "HF_HUB_OFFLINE" not in dockerfile
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "MAKEFLAGS")
    }
    probe = 'probe: ; @echo "[$$HF_HUB_OFFLINE]"'
    out = subprocess.run(
        ["make", "-s", "--eval", probe, "probe"], cwd=repo_root, env=env, capture_output=True, text=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.mark.e2e
def test_a_hub_id_is_trained_by_sft_and_served(hf_home, tmp_path, repo_root, subprocess_env):
    env = {**subprocess_env, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline"}
    env.pop("HF_HUB_CACHE", None)
    common = [
        "config=tiny",
        f"run.root={tmp_path / 'runs'}",
        f"model.name_or_path={REPO_ID}",
        "taskplan.num_tasks=60",
        "taskplan.tokenizer_samples=8",
        "sft.plan_epochs=1",
        "sft.optim.batch_size=16",
        "learner.micro_batch=16",
        "sft.max_seq_len=256",
    ]

    def job(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
        )

    # a missing id: exit 2 on the driver, naming the id and the cache, before anything is written
    bad = job("jobs.taskplan", *common, "model.name_or_path=lam-test/absent", "run.name=bad")
    assert bad.returncode == 2, bad.stderr[-2000:]
    assert "'lam-test/absent'" in bad.stderr and str(hf_home / "hub") in bad.stderr
    assert not (tmp_path / "runs" / "bad" / "store").exists()

    for argv in (["jobs.taskplan", *common], ["jobs.sft", "phase=plan", *common]):
        out = job(*argv)
        assert out.returncode == 0, f"{argv[0]}:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    ckpts = tmp_path / "runs" / "tiny" / "checkpoints"
    registry = [json.loads(line) for line in (ckpts / "registry.jsonl").read_text().splitlines()]
    assert {"base", "lam1"} <= {e["name"] for e in registry}
    snapshot = next((hf_home / "hub").glob("models--lam-test--tiny-lam/snapshots/*"))
    hub_cfg = json.loads((snapshot / "config.json").read_text())
    for name in ("base", "lam1"):
        cfg = json.loads((ckpts / name / "config.json").read_text())
        assert cfg["hidden_size"] == HIDDEN and cfg["vocab_size"] == hub_cfg["vocab_size"], (name, cfg)
    assert (ckpts / "base" / "tokenizer.json").read_bytes() == (snapshot / "tokenizer.json").read_bytes()
    assert not (tmp_path / "runs" / "tiny" / "tokenizer").exists()  # the hub model's tokenizer, not a new one

    serve = textwrap.dedent(
        f"""
        import json
        from cluster import policy_server
        from cluster.runtime import ray_session
        from cluster.config import PolicyServeConfig, RayConfig, ServeConfig

        with ray_session(RayConfig(num_cpus=2)):
            handle = policy_server.deploy(PolicyServeConfig(max_new_tokens=6), {REPO_ID!r}, 1, http=ServeConfig())
            r = handle.generate.remote("Make the title bold.").result(timeout_s=300)
            info = handle.info.remote().result(timeout_s=60)
            print("RESULT " + json.dumps({{"info": info, "answer": r}}), flush=True)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", serve], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (line,) = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]  # Ray logs go to stdout too
    res = json.loads(line[len("RESULT ") :])
    assert res["info"]["path"] == REPO_ID and res["info"]["version"] == 1
    assert res["answer"]["version"] == 1 and 1 <= res["answer"]["completion_tokens"] <= 6
