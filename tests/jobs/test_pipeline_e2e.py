"""The whole recipe as a user runs it (`python -m jobs.pipeline`), on a reduced tiny config.

The first run is interrupted (Ctrl-C) once phase 2 is done; the second run must skip phases 0-2
(nothing re-trained, no new store versions for them) and finish every later stage, ending with a
report whose tables have every metric filled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.e2e

REDUCED = [
    "config=tiny",
    "tracking.mode=offline",
    "model.hidden=64",
    "model.layers=2",
    "model.intermediate=128",
    "tokenizer.vocab_size=1024",
    "taskplan.num_tasks=60",
    "taskplan.tokenizer_samples=40",
    "collect.num_tasks=60",
    "collect.eval_tasks=4",
    "sft.optim.epochs=1",
    "sft.plan_epochs=1",
    "explore.max_tasks=8",
    "explore.attempts=1",
    "reward.optim.epochs=1",
    "ppo.max_states=8",
    "ppo.batch_size=8",
    "ppo.gen_length=32",
    "policy.max_new_tokens=32",
    "eval.max_tasks=4",
    "eval.max_new_tokens=32",
    "fleet.local=2",
]
EARLY = ["taskplan", "collect", "sft-plan", "sft-imitate"]


def pipeline_cmd(root) -> list[str]:
    return [sys.executable, "-m", "jobs.pipeline", f"run.root={root}", *REDUCED]


def registry_entries(run_dir) -> list[dict]:
    path = run_dir / "checkpoints" / "registry.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, repo_root, subprocess_env):
    from lam_rl.store import TrajectoryStore

    root = tmp_path_factory.mktemp("pipeline")
    run_dir = root / "tiny"
    env = dict(subprocess_env, LAM_PROGRESS="0", PYTHONUNBUFFERED="1")  # see each line as it is logged
    first = subprocess.Popen(
        pipeline_cmd(root),
        cwd=repo_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    first_log: list[str] = []
    interrupted = False
    assert first.stdout is not None
    for line in first.stdout:
        first_log.append(line)
        if "stage explore: running" in line:  # phase 2 is done: interrupt the driver (kill -INT)
            os.kill(first.pid, signal.SIGINT)
            interrupted = True
            break
    try:
        first.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    first_log += first.stdout.read().splitlines(keepends=True)
    assert interrupted, "".join(first_log[-60:])
    assert first.returncode != 0, "".join(first_log[-60:])  # it stopped, it did not finish
    time.sleep(2)  # let the interrupted run's embedded Ray finish shutting down
    before = {
        "registry": registry_entries(run_dir),
        "tags": {
            t.name: t.versions
            for t in TrajectoryStore(f"{run_dir}/store").tags()
            if t.name in ("taskplan", "collect-expert", "reference-eval")
        },
    }
    second = subprocess.run(
        pipeline_cmd(root), cwd=repo_root, env=env, capture_output=True, text=True, timeout=1500
    )
    second_log = second.stdout + second.stderr
    assert second.returncode == 0, second_log[-6000:]
    return {"run_dir": run_dir, "before": before, "second_log": second_log, "first_log": "".join(first_log)}


def test_rerun_after_an_interruption_skips_phases_0_to_2(runs):
    log = runs["second_log"]
    for stage in EARLY:
        assert f"stage {stage}: output exists, skipped" in log, stage
        assert f"stage {stage}: running" not in log, stage
    for stage in ["explore", "sft-boost", "reward", "ppo", "evaluate", "report"]:
        assert f"stage {stage}: running" in log, stage
    # nothing of phases 0-2 was trained or written again
    after = registry_entries(runs["run_dir"])
    early_names = {"base", "lam1", "lam2"}
    assert [e for e in after if e["name"] in early_names] == [
        e for e in runs["before"]["registry"] if e["name"] in early_names
    ]
    from lam_rl.store import TrajectoryStore

    tags = {t.name: t.versions for t in TrajectoryStore(f"{runs['run_dir']}/store").tags()}
    assert len(runs["before"]["tags"]) == 3
    for t, v in runs["before"]["tags"].items():
        assert tags[t] == v, t


def test_every_stage_produced_its_output_and_the_report_is_filled(runs):
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.store import TrajectoryStore

    run_dir = runs["run_dir"]
    registry = CheckpointRegistry(run_dir / "checkpoints")
    for name in ["base", "lam1", "lam2", "lam3", "rm", "lam4"]:
        assert registry.latest(name) is not None, name
    tags = {t.name for t in TrajectoryStore(f"{run_dir}/store").tags()}
    for t in ["taskplan", "collect-expert", "reference-eval", "explore-lam2", "rewards"]:
        assert t in tags, (t, sorted(tags))
    for m in ["lam1", "lam2", "lam3", "lam4", "expert"]:
        assert f"eval-{m}" in tags, (m, sorted(tags))

    results = json.loads((run_dir / "eval" / "results.json").read_text())
    for kind in ("offline", "online"):
        assert set(results[kind]) == {"lam1", "lam2", "lam3", "lam4", "expert"}, kind
        for model, row in results[kind].items():
            for key, value in row.items():
                if key not in ("by_family", "tag", "failures"):
                    assert value is not None, (kind, model, key)

    report = run_dir / "report" / "report.md"
    text = report.read_text()
    for m in ["LAM1", "LAM2", "LAM3", "LAM4", "Expert"]:
        assert m in text or m.lower() in text, m
    # every cell of every table is filled: no model or phase "not run", no None/nan
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert len(rows) > 20
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        for bad in ("not run", "None", "nan", "n/a", ""):
            assert bad not in cells, row
    pngs = list((run_dir / "report").glob("*.png"))
    assert pngs and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    for name in ["sft-plan", "sft-imitate", "sft-boost", "reward", "ppo-offline", "evaluate"]:
        assert (run_dir / "metrics" / f"{name}.jsonl").exists(), name


def test_wandb_lineage_chains_the_recipe_from_the_corpus_to_lam4(runs):
    """Every phase's offline W&B run, read back with wandb's protos: what it produced and used, by
    reference, with each use pointing (by digest) at the version its producer logged."""
    from lam_rl.tracking import find_offline_runs, read_offline_run

    run_dir = runs["run_dir"]
    by_name = {}
    for f in find_offline_runs(run_dir):  # oldest first: a later finished run of a phase wins
        r = read_offline_run(f)
        if r.finished:
            by_name[r.name.split("/", 1)[1]] = r
    produced = {
        "taskplan": {"store-taskplan", "base"},
        "collect": {"store-collect-expert", "store-reference-eval"},
        "sft-plan": {"lam1"},
        "sft-imitate": {"lam2"},
        "explore": {"store-explore-lam2"},
        "sft-boost": {"lam3"},
        "reward": {"rm"},
        "reward-scoring": {"store-rewards"},
        "ppo-offline": {"lam4"},
        "evaluate": {f"store-eval-{m}" for m in ("lam1", "lam2", "lam3", "lam4", "expert")},
    }
    used = {
        "taskplan": set(),
        "collect": set(),
        "sft-plan": {"base", "store-taskplan"},
        "sft-imitate": {"lam1", "store-collect-expert"},
        "explore": {"lam2", "store-collect-expert"},
        "sft-boost": {"lam2", "store-collect-expert", "store-explore-lam2"},
        "reward": {"lam3", "store-collect-expert", "store-explore-lam2"},
        "reward-scoring": {"rm", "store-collect-expert", "store-explore-lam2"},
        "ppo-offline": {"lam3", "rm", "store-collect-expert", "store-explore-lam2"},
        "evaluate": {"lam1", "lam2", "lam3", "lam4", "store-reference-eval"},
    }
    assert set(produced) <= set(by_name), sorted(by_name)
    lineage = {"model", "dataset"}  # (W&B logs each table as a run_table artifact of its own too)
    producer_of = {}  # digest -> (phase, artifact name)
    for phase, names in produced.items():
        run = by_name[phase]
        assert {a.name for a in run.produced if a.type in lineage} == names, phase
        for a in run.produced:
            if a.type in lineage:
                assert a.type == ("dataset" if a.name.startswith("store-") else "model"), a.name
                producer_of[a.digest] = (phase, a.name)
        assert {a.name for a in run.used} == used[phase], phase
        for a in run.artifacts:  # references only: a URI each, nothing copied or uploaded
            if a.type in lineage:
                assert [e["local_path"] for e in a.entries] == [""], a
                assert a.entries[0]["ref"].startswith("file://"), a
        axis = f"{phase}/step"
        assert {"name": "*", "glob": True, "step_metric": axis, "hidden": False} in run.metrics, phase
    for phase in used:
        for a in by_name[phase].used:
            assert producer_of.get(a.digest, (None, None))[1] == a.name, (phase, a.name, a.metadata)
    # walk the graph back from what evaluate used as LAM4 to the task-plan corpus
    uses = {phase: {a.digest for a in by_name[phase].used} for phase in used}
    lam4 = next(a.digest for a in by_name["evaluate"].used if a.name == "lam4")
    seen, todo = set(), [lam4]
    while todo:
        d = todo.pop()
        if d not in seen:
            seen.add(d)
            todo += uses[producer_of[d][0]]
    reached = {producer_of[d][1] for d in seen}
    assert {"lam4", "lam3", "rm", "lam2", "lam1", "base", "store-taskplan"} <= reached, reached
    assert {"store-collect-expert", "store-explore-lam2"} <= reached, reached
    lam4_meta = next(a for a in by_name["ppo-offline"].produced if a.name == "lam4").metadata
    assert lam4_meta["registry_version"] > 0 and lam4_meta["run"] == run_dir.name
