"""The Tracker: W&B offline runs and their local mirror, the step axis of each run, tracking.mode=auto,
and lineage (checkpoints and store tags as reference artifacts, produced and used) read back from the
offline run files with wandb's own protos."""

import http.server
import subprocess
import sys
import threading

import pytest

from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.store import TrajectoryStore
from lam_rl.store.synthetic import make_trajectory
from lam_rl.tracking import (
    Tracker,
    TrackingConfig,
    find_offline_runs,
    read_jsonl_metrics,
    read_offline_history,
    read_offline_run,
)

OFFLINE = TrackingConfig(mode="offline")


def test_tracker_writes_wandb_offline_and_mirror(tmp_path):
    with Tracker(OFFLINE, run_dir=tmp_path, name="unit", job_type="test", config={"a": 1}) as tr:
        for i in range(3):
            tr.log({"loss": 1.0 / (i + 1)}, step=i)
        tr.table("family", ["family", "success"], [["bold", 0.5]])
    runs = find_offline_runs(tmp_path)
    assert len(runs) == 1
    hist = read_offline_history(runs[0])
    assert [round(r["loss"], 3) for r in hist if "loss" in r] == [1.0, 0.5, 0.333]
    assert [r["loss"] for r in read_jsonl_metrics(tmp_path / "metrics" / "unit.jsonl")][0] == 1.0


def test_each_run_draws_its_curves_against_its_own_step_axis(tmp_path):
    for name in ("sft-plan", "ppo-offline"):
        with Tracker(OFFLINE, run_dir=tmp_path, name=name, job_type=name) as tr:
            for i in (0, 5, 10):
                tr.log({"train/loss": 1.0 / (i + 1)}, step=i)
    runs = [read_offline_run(p) for p in find_offline_runs(tmp_path)]
    assert sorted(r.job_type for r in runs) == ["ppo-offline", "sft-plan"]
    for run in runs:
        axis = f"{run.job_type}/step"
        assert {"name": axis, "glob": False, "step_metric": "", "hidden": True} in run.metrics
        assert {"name": "*", "glob": True, "step_metric": axis, "hidden": False} in run.metrics
        assert [r[axis] for r in run.history if "train/loss" in r] == [0, 5, 10]


# ------------------------------------------------------------------------------ tracking.mode=auto

# Each case, in one fresh process (as a user's shell would be): its credentials, then resolve_mode.
_CASES = r"""
import json, os, sys
from pathlib import Path
from lam_rl.config import ConfigError
from lam_rl.tracking import resolve_mode

home, host, key = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
cases = {
    "nothing": ({}, None),
    "netrc (wandb login)": ({}, host),
    "netrc of another host": ({}, "api.example.invalid"),
    "WANDB_API_KEY": ({"WANDB_API_KEY": key}, None),
    "netrc, WANDB_MODE=offline": ({"WANDB_MODE": "offline"}, host),
    "netrc, WANDB_MODE=disabled": ({"WANDB_MODE": "disabled"}, host),
    "malformed WANDB_API_KEY": ({"WANDB_API_KEY": "short"}, None),
}
out = {}
for name, (env, machine) in cases.items():
    netrc = home / ".netrc"
    netrc.unlink(missing_ok=True)
    if machine:
        netrc.write_text(f"machine {machine}\n  login user\n  password {key}\n")
        netrc.chmod(0o600)
    for k in ("WANDB_API_KEY", "WANDB_MODE"):
        os.environ.pop(k, None)
    os.environ.update(env)
    try:
        out[name] = resolve_mode("auto")
    except ConfigError as e:
        out[name] = "error: " + str(e)
print(json.dumps(out))
"""


class _Counting(http.server.BaseHTTPRequestHandler):
    hits = 0

    def _any(self):
        type(self).hits += 1
        self.send_response(500)
        self.end_headers()

    do_GET = do_POST = _any

    def log_message(self, *a):
        pass


@pytest.fixture
def wandb_home(tmp_path, subprocess_env):
    """A fresh HOME / wandb config dir, W&B pointed at a loopback server that counts requests."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_port}"
    home = tmp_path / "home"
    (home / ".config" / "wandb").mkdir(parents=True)
    env = {k: v for k, v in subprocess_env.items() if not k.startswith("WANDB_") and k != "NETRC"}
    env |= {
        "HOME": str(home),
        "WANDB_CONFIG_DIR": str(home / ".config" / "wandb"),
        "WANDB_BASE_URL": f"http://{host}",
        "WANDB_SILENT": "true",
    }
    _Counting.hits = 0
    yield home, host, env
    server.shutdown()
    assert _Counting.hits == 0, "resolving tracking.mode=auto contacted the W&B server"


KEY = "a" * 40  # well-formed, fake


def _resolve_cases(wandb_home, run_python) -> dict[str, str]:
    home, host, env = wandb_home
    return run_python(_CASES, str(home), host, KEY, env=env, timeout=120)


def test_auto_mode_follows_wandbs_own_credentials_without_asking_the_server(wandb_home, run_python):
    got = _resolve_cases(wandb_home, run_python)
    malformed = got.pop("malformed WANDB_API_KEY")
    assert got == {
        "nothing": "offline",
        "netrc (wandb login)": "online",
        "netrc of another host": "offline",
        "WANDB_API_KEY": "online",
        "netrc, WANDB_MODE=offline": "offline",
        "netrc, WANDB_MODE=disabled": "disabled",
    }
    assert (
        malformed.startswith("error: W&B credentials are malformed") and "tracking.mode=offline" in malformed
    )


def test_auto_mode_is_online_with_an_api_key_in_wandbs_settings(wandb_home, run_python):
    home, _host, _env = wandb_home
    (home / ".config" / "wandb" / "settings").write_text(f"[default]\napi_key = {KEY}\n")
    assert _resolve_cases(wandb_home, run_python)["nothing"] == "online"


# ------------------------------------------------------------------------------ lineage


def _staged() -> set[str]:
    """Files wandb has staged for upload (a file artifact is copied there; a reference is not)."""
    from pathlib import Path

    from wandb.sdk.artifacts.staging import get_staging_dir

    return {str(p) for p in Path(get_staging_dir()).rglob("*") if p.is_file()}


def _fake_hf(path, payload: bytes):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(payload)
    return path


def test_checkpoints_and_tags_become_reference_artifacts_their_users_point_at(tmp_path):
    run_dir = tmp_path / "run"
    registry = CheckpointRegistry(run_dir / "checkpoints")
    store = TrajectoryStore(run_dir / "store")
    store.write([make_trajectory(i, seed=1) for i in range(20)])
    big = b"\0" * 3_000_000
    staged_before = _staged()
    with Tracker(OFFLINE, run_dir=run_dir, name="producer", job_type="producer") as tr:
        store.tag("collect-expert", phase="collect")
        lam1 = registry.register(
            "lam1", _fake_hf(run_dir / "checkpoints" / "lam1", big), phase="plan", step=7, rows=20
        )
        registry.register(
            "lam1", _fake_hf(run_dir / "train" / "step3", b"x"), phase="plan", step=3, final=False
        )
        tr.log({"x": 1})
    # a second producer moves the tag and re-trains lam1 into the same folder: new versions
    with Tracker(OFFLINE, run_dir=run_dir, name="again", job_type="again"):
        store.write([make_trajectory(i, seed=2) for i in range(5)])
        store.tag("collect-expert", phase="collect", replace=True)
        lam1b = registry.register(
            "lam1", _fake_hf(run_dir / "checkpoints" / "lam1", big), phase="plan", step=9
        )
    external = _fake_hf(tmp_path / "elsewhere" / "my-model", b"w")  # a folder the registry never saw
    with Tracker(OFFLINE, run_dir=run_dir, name="consumer", job_type="consumer") as tr:
        tr.use_inputs(
            checkpoints=[lam1, str(run_dir / "checkpoints" / "lam1"), None, external],
            registry=registry,
            store=store,
            tags=["collect-expert"],
        )
        with pytest.raises(TypeError, match="registry"):
            tr.use_inputs(checkpoints=[lam1])
    with Tracker(OFFLINE, run_dir=run_dir, name="outside", job_type="outside"):
        pass
    registry.register(
        "lam9", _fake_hf(run_dir / "checkpoints" / "lam9", b"y")
    )  # no Tracker open: no artifact

    assert _staged() == staged_before, "a reference artifact staged files for upload"
    runs = {r.job_type: r for r in map(read_offline_run, find_offline_runs(run_dir))}
    prod, again, cons = runs["producer"], runs["again"], runs["consumer"]
    assert not runs["outside"].artifacts
    assert [(a.name, a.type) for a in prod.produced] == [
        ("store-collect-expert", "dataset"),
        ("lam1", "model"),
    ]
    assert [(a.name, a.type) for a in again.produced] == [
        ("store-collect-expert", "dataset"),
        ("lam1", "model"),
    ]
    assert not prod.used and not again.used
    for a in prod.artifacts + again.artifacts + cons.artifacts:
        assert len(a.entries) == 1
        (e,) = a.entries
        assert e["ref"] == a.metadata["uri"] and not e["local_path"], a  # a reference, nothing copied
    lam1_art = prod.produced[1]
    assert lam1_art.entries[0]["ref"] == (run_dir / "checkpoints" / "lam1").resolve().as_uri()
    assert lam1_art.entries[0]["size"] == len(big) + 2
    assert {
        "registry_version": lam1.version,
        "step": 7,
        "rows": 20,
        "run": "run",
    }.items() <= lam1_art.metadata.items()
    tag_art = prod.produced[0]
    assert tag_art.entries[0]["ref"] == (run_dir / "store").resolve().as_uri()
    assert tag_art.metadata["counts"]["trajectories"] == 20 and tag_art.metadata["store_version"] >= 1
    # new versions have new digests; users point at the version they read, by digest
    assert prod.produced[0].digest != again.produced[0].digest
    assert prod.produced[1].digest != again.produced[1].digest
    ext = next(a for a in cons.used if a.name == "my-model")
    assert ext.metadata["external"] and ext.entries[0]["ref"] == external.resolve().as_uri()
    used = {(a.name, a.digest) for a in cons.used if a.name != "my-model"}
    assert used == {
        ("lam1", prod.produced[1].digest),
        ("lam1", again.produced[1].digest),
        ("store-collect-expert", again.produced[0].digest),
    }
    assert lam1b.version > lam1.version


def test_a_failing_hook_never_fails_a_registration_or_a_tag(tmp_path, monkeypatch):
    from lam_rl import checkpoints
    from lam_rl.store import tags

    def boom(*_):
        raise RuntimeError("W&B is down")

    monkeypatch.setattr(checkpoints, "REGISTER_HOOKS", [boom])
    monkeypatch.setattr(tags, "TAG_HOOKS", [boom])
    registry = CheckpointRegistry(tmp_path / "checkpoints")
    e = registry.register("lam2", _fake_hf(tmp_path / "checkpoints" / "lam2", b"z"))
    assert registry.latest("lam2") == e
    store = TrajectoryStore(tmp_path / "store")
    store.write([make_trajectory(i, seed=1) for i in range(5)])
    assert store.tag("t", phase="collect").name == "t" and store.has_tag("t")


def test_job_logs_metrics_to_offline_wandb(tmp_path, repo_root, subprocess_env):
    """A real job (phase 0a: corpus, tokenizer, base model) run in a subprocess with W&B offline."""
    env = dict(subprocess_env, WANDB_MODE="offline")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.taskplan",
            f"run.root={tmp_path}",
            "run.name=t",
            "taskplan.num_tasks=30",
            "taskplan.tokenizer_samples=5",
            "tokenizer.vocab_size=600",
            "model.hidden=64",
            "model.layers=2",
            "model.intermediate=128",
        ],
        cwd=repo_root,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    runs = find_offline_runs(tmp_path / "t")
    assert runs, "no offline W&B run was written"
    history = read_offline_history(runs[-1])
    params = [r["model/parameters"] for r in history if "model/parameters" in r]
    records = [r["taskplan/records"] for r in history if "taskplan/records" in r]
    assert params and params[0] > 10_000
    assert records and records[0] >= 30
    # phase 0a's outputs are reference artifacts: the task-plan corpus (a store tag) and the base model
    run = read_offline_run(runs[-1])
    assert [(a.name, a.type) for a in run.produced] == [("store-taskplan", "dataset"), ("base", "model")]
    corpus, base = run.produced
    assert corpus.metadata["counts"]["taskplans"] == records[0]
    assert corpus.entries[0]["ref"] == (tmp_path / "t" / "store").resolve().as_uri()
    assert base.metadata["parameters"] == params[0] and base.metadata["registry_version"] == 1
    assert base.entries[0]["ref"] == (tmp_path / "t" / "checkpoints" / "base").resolve().as_uri()
    assert not any(e["local_path"] for a in run.artifacts for e in a.entries)
