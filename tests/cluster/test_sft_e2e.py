"""The SFT learner on Ray Train + DeepSpeed against a real store (phases 0a and 0b run first)."""

import json
import os
import shutil
import signal
import textwrap
import threading
import time
from pathlib import Path

import pytest

from cluster.sft import check_inputs, train_sft
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.config import ConfigError
from lam_rl.tracking import read_jsonl_metrics

pytestmark = pytest.mark.e2e

SMALL = [
    "model.hidden=64",
    "model.layers=2",
    "model.intermediate=128",
    "tokenizer.vocab_size=1024",
    "taskplan.num_tasks=120",
    "taskplan.tokenizer_samples=40",
    "collect.num_tasks=60",
    "collect.eval_tasks=8",
    "fleet.local=4",
    "learner.micro_batch=8",
    "sft.optim.batch_size=16",
    "sft.optim.lr=2e-3",
    "sft.optim.warmup_steps=3",
    "learner.log_every=2",
]


@pytest.fixture(scope="module")
def run(ray_session, tmp_path_factory, repo_root, azurite):
    """A run directory with the task-plan corpus, base model and expert trajectories. The store is on
    Azure Blob (``store.uri=az://...`` on Azurite): nothing of it is on local disk."""
    from jobs.config import Config
    from jobs.pipeline import run_stage
    from lam_rl.config import load_config

    root = tmp_path_factory.mktemp("sft")
    store = [f"store.uri=az://{azurite.container()}/store"]
    store += [f"store.storage_options.{k}={v}" for k, v in azurite.storage_options().items()]

    def cfg(*extra):
        return load_config(
            Config,
            ["config=tiny", f"run.root={root}", "tracking.mode=offline", *SMALL, *store, *extra],
            configs_dir=repo_root / "jobs" / "configs",
        )

    base = cfg()
    run_stage("taskplan", base)
    run_stage("collect", base)
    return cfg


def losses(cfg, name):
    return [
        r["train/loss"]
        for r in read_jsonl_metrics(cfg.run_dir / "metrics" / f"{name}.jsonl")
        if "train/loss" in r
    ]


def test_one_and_two_workers_follow_the_same_loss_curve(run):
    one = run(
        "run.name=w1",
        "learner.zero_stage=2",
        "sft.optim.max_steps=16",
        "learner.num_workers=1",
        "sft.optim.lr=3e-3",
    )
    two = run(
        "run.name=w2",
        "learner.zero_stage=2",
        "sft.optim.max_steps=16",
        "learner.num_workers=2",
        "sft.optim.lr=3e-3",
    )
    for c in (one, two):  # share phase 0a/0b outputs: same store and base model
        c.store.uri = run().store_uri
        (c.run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        reg = CheckpointRegistry(c.run_dir / "checkpoints")
        reg.register(
            "base", CheckpointRegistry(run().run_dir / "checkpoints").latest("base").path, phase="base"
        )
    r1, r2 = train_sft(one, "plan"), train_sft(two, "plan")
    assert r1["steps"] == r2["steps"] == 16
    l1, l2 = losses(one, "sft-plan"), losses(two, "sft-plan")
    assert len(l1) == len(l2) == 8
    assert l1[-1] < 0.85 * l1[0] and l2[-1] < 0.85 * l2[0], (l1, l2)  # both learn
    for a, b in zip(l1, l2, strict=True):  # same curve: data shards differ, optimisation does not
        assert abs(a - b) <= 0.12 * max(a, b), (l1, l2)


def test_sft_learns_and_the_checkpoint_reloads_in_a_clean_process(run, run_python):
    """Overfit a handful of expert trajectories; the HF folder then answers with a parseable action."""
    cfg = run(
        "run.name=fit",
        "sft.max_examples=24",
        "sft.optim.max_steps=110",
        "sft.optim.lr=3e-3",
        "sft.eval_fraction=0",
    )
    cfg.store.uri = run().store_uri
    reg = CheckpointRegistry(cfg.run_dir / "checkpoints")
    reg.register("base", CheckpointRegistry(run().run_dir / "checkpoints").latest("base").path, phase="base")
    reg.register("lam1", CheckpointRegistry(run().run_dir / "checkpoints").latest("base").path, phase="plan")
    summary = train_sft(cfg, "imitate")
    curve = losses(cfg, "sft-imitate")
    assert curve[-1] < 0.25 * curve[0], curve  # the stated margin: training loss falls by 4x or more
    lam2 = reg.latest("lam2")
    assert lam2 is not None and summary["steps"] == 110
    from lam_rl.data.selection import read_steps, select_trajectories
    from lam_rl.data.sft import action_examples, agent_builder
    from lam_rl.models.factory import load_tokenizer
    from lam_rl.store import TrajectoryStore

    store = TrajectoryStore.from_config(cfg.store)
    rows = read_steps(store, sorted(select_trajectories(store, ["collect-expert"]))[:3], ["collect-expert"])
    prompts = [e.prompt for e in action_examples(rows, agent_builder(cfg.agent, load_tokenizer(lam2.path)))][
        :4
    ]
    code = textwrap.dedent(f"""
        import json, sys
        from transformers import AutoModelForCausalLM, AutoTokenizer
        tok = AutoTokenizer.from_pretrained({lam2.path!r}); tok.padding_side = "left"
        model = AutoModelForCausalLM.from_pretrained({lam2.path!r})
        prompts = json.loads(sys.stdin.read())
        texts = [tok.apply_chat_template([{{"role": "user", "content": p}}], tokenize=False, add_generation_prompt=True)
                 for p in prompts]
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        out = model.generate(**enc, max_new_tokens=80, do_sample=False, pad_token_id=tok.pad_token_id,
                             eos_token_id=tok.eos_token_id)
        answers = [tok.decode(o[enc["input_ids"].shape[1]:], skip_special_tokens=True) for o in out]
        print(json.dumps(dict(answers=answers, imported=any(m.startswith("lam_rl") for m in sys.modules))))
    """)
    res = run_python(code, cwd=cfg.run_dir, stdin=json.dumps(prompts))
    answers, imported = res["answers"], res["imported"]
    assert imported is False
    from lam_rl.agent.parse import parse_decision

    parsed = [parse_decision(a) for a in answers]
    assert sum(p.valid for p in parsed) >= 3, answers

    # served: LAM2 on the policy server plays held-out tasks; their outcomes land in the az:// store
    from cluster import policy_server
    from cluster.collect import checkpoint_spec, run_rollouts
    from cluster.rollout import WorkItem
    from lam_rl.env.tasks import sample_tasks

    served = run("fleet.local=2", "policy.max_new_tokens=80", "rollout.max_invalid=2")
    policy_server.deploy(served.policy, lam2.path, 1, http=served.serve, app_name="policy")
    try:
        tasks = sample_tasks(4, 21, split="eval")
        items = [WorkItem(f"served:{t.task_id}", t.model_dump(mode="json"), split="eval") for t in tasks]
        s = run_rollouts(
            served,
            items,
            checkpoint_spec(served, "lam2", str(Path(lam2.path) / "tokenizer.json")),
            phase="eval",
        )
    finally:
        policy_server.shutdown()
    outs = store.outcomes(columns=["traj_id", "policy"], phase="eval").to_pylist()
    assert s.done == 4 and sorted(o["traj_id"] for o in outs) == sorted(it.traj_id for it in items)
    assert {o["policy"] for o in outs} == {"lam2"}
    root = cfg.run_dir.parent
    assert not [p for p in root.rglob("*") if p.name == "store" or p.suffix == ".lance"], (
        "store files on disk"
    )


def test_killed_worker_resumes_from_its_last_checkpoint(run, azurite):
    """R3 without a shared volume: Ray Train's storage on Azure Blob (``learner.storage=az://...``); a
    worker SIGKILLed mid-epoch and its node-local checkpoints deleted; the restarted group downloads the
    last uploaded checkpoint and ends with as many optimizer steps as an uninterrupted run."""
    container = azurite.container()
    storage = [f"learner.storage=az://{container}/train"]
    storage += [f"learner.storage_options.{k}={v}" for k, v in azurite.storage_options().items()]
    cfg = run(
        "run.name=resume",
        "sft.optim.max_steps=24",
        "learner.checkpoint_every=6",
        "learner.max_failures=1",
        *storage,
    )
    cfg.store.uri = run().store_uri
    CheckpointRegistry(cfg.run_dir / "checkpoints").register(
        "base", CheckpointRegistry(run().run_dir / "checkpoints").latest("base").path, phase="base"
    )
    ds = cfg.run_dir / "train" / "lam1" / "ds"
    marker = ds / "step12" / "COMPLETE"
    killed = []

    def kill_worker():
        import psutil
        import pyarrow.fs as pafs

        def registered() -> bool:  # Ray Train's controller has taken a checkpoint (it writes its snapshot)
            sel = pafs.FileSelector(container, recursive=True, allow_not_found=True)
            infos = azurite.filesystem().get_file_info(sel)
            return any(i.path.endswith("checkpoint_manager_snapshot.json") for i in infos)

        while not (marker.exists() and registered()):
            time.sleep(0.2)
        for p in psutil.process_iter(["pid", "cmdline"]):
            if "RayTrainWorker" in " ".join(p.info["cmdline"] or []):
                os.kill(p.info["pid"], signal.SIGKILL)
                killed.append(p.info["pid"])
        shutil.rmtree(ds, ignore_errors=True)  # nothing left on this node to resume from

    t = threading.Thread(target=kill_worker, daemon=True)
    t.start()
    summary = train_sft(cfg, "plan")
    t.join(timeout=5)
    assert killed, "the worker was not killed"
    assert summary["steps"] == 24 and summary["resumed_from"] >= 6, summary
    assert CheckpointRegistry(cfg.run_dir / "checkpoints").latest("lam1") is not None
    import pyarrow.fs as pafs

    blobs = azurite.filesystem().get_file_info(pafs.FileSelector(container, recursive=True))
    assert any(b.path.endswith("/COMPLETE") for b in blobs), "no checkpoint was uploaded to learner.storage"
    assert not (cfg.run_dir / "ray_train").exists()


def test_bad_inputs_fail_before_any_worker_starts(run, tmp_path):
    cfg = run()
    with pytest.raises(ConfigError, match="store tag 'no-such-tag' does not exist.*run jobs.taskplan"):
        check_inputs(run("sft.plan_tag=no-such-tag"), "plan")
    with pytest.raises(ConfigError, match="checkpoint 'lam2' does not exist"):
        check_inputs(cfg, "boost")
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        from cluster.train import plan_resources

        plan_resources(run("learner.precision=fp16").learner)
    empty = run(f"store.uri={tmp_path / 'empty'}", "run.name=empty")
    from lam_rl.store import TrajectoryStore

    s = TrajectoryStore(empty.store_uri)
    s.add_taskplans([])  # an existing but empty store
    CheckpointRegistry(empty.run_dir / "checkpoints").register(
        "base", CheckpointRegistry(cfg.run_dir / "checkpoints").latest("base").path, phase="base"
    )
    with pytest.raises(ConfigError, match="taskplan"):
        check_inputs(empty, "plan")
