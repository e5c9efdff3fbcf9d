"""The whole recipe as a user runs it (`python -m jobs.pipeline`), on a reduced tiny config.

The first run is interrupted (Ctrl-C) once phase 2 is done; the second run must skip every stage the
first one finished (phases 0-2 at least: nothing re-trained, no new store versions for them), run
every stage it had not finished, and end with a report whose tables have every metric filled.

The interrupt lands whenever it lands: on a loaded machine explore (or more) may finish before the
driver stops. So the test asserts against what the first run's log says it completed, never against
where the interrupt was meant to land.
"""

from __future__ import annotations

import json
import os
import re
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
LATER = ["explore", "sft-boost", "reward", "ppo", "evaluate", "report"]


def pipeline_cmd(root) -> list[str]:
    return [sys.executable, "-m", "jobs.pipeline", f"run.root={root}", *REDUCED]


def stages_logged(log: str, what: str) -> set[str]:
    """Stages with a `stage <name>: <what>` line in a pipeline log."""
    return set(re.findall(rf"stage ([\w-]+): {what}", log))


def wait_until_gone(pgid: int, timeout_s: float = 300) -> None:
    """Wait until no process of the group is left (the interrupted driver's embedded Ray included)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)


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
        # Ctrl-C as a user at a terminal sends it: a test run started in the background by a
        # non-interactive shell (`make test &`) passes SIGINT down ignored, and the pipeline would never see it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
    try:  # communicate, not wait: a shutdown that logs more than a pipe holds must not stall it
        rest, _ = first.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(first.pid, signal.SIGKILL)
        rest, _ = first.communicate()
    first_log += rest.splitlines(keepends=True)
    assert interrupted, "".join(first_log[-60:])
    assert first.returncode != 0, "".join(first_log[-60:])  # it stopped, it did not finish
    wait_until_gone(first.pid)  # the interrupted run's embedded Ray has shut down (its session's group)
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


def resume_problems(first: str, second: str) -> list[str]:
    """What is wrong with a rerun (``second`` log) after an interrupted run (``first`` log): every
    stage the first run finished must be skipped, every stage it never started must run, and one it
    was running when interrupted may do either (it may have written its output before Ctrl-C landed)."""
    finished = stages_logged(first, "done in")
    started = stages_logged(first, "running")
    skipped, ran = stages_logged(second, "output exists, skipped"), stages_logged(second, "running")
    problems = [f"phase 0-2 stage {s} did not finish in the first run" for s in EARLY if s not in finished]
    if "report" in finished:
        problems.append("the interrupt did not stop the first run")
    problems += [f"{s} both skipped and run" for s in sorted(skipped & ran)]
    for stage in EARLY + LATER:
        if stage in finished and stage != "report":  # (report always re-runs: it reflects the latest results)
            if stage not in skipped:
                problems.append(f"{stage} finished in the first run but was not skipped")
        elif stage not in started or stage == "report":
            if stage not in ran:
                problems.append(f"{stage} never ran in the first run and did not run in the second")
        elif stage not in ran | skipped:
            problems.append(f"{stage} (interrupted) neither ran nor was skipped")
    return problems


def fake_log(done: list[str], running: str | None = None, skipped: tuple = ()) -> str:
    lines = [f"stage {s}: output exists, skipped" for s in skipped]
    for s in done:
        lines += [f"stage {s}: running", f"stage {s}: done in 12.3s"]
    return "\n".join([*lines, *([f"stage {running}: running"] if running else [])])


@pytest.mark.parametrize("late", [0, 1, 3])
def test_the_resume_check_holds_wherever_the_interrupt_lands(late):
    """No pipeline here: the e2e check above against logs where Ctrl-C landed at explore's start or
    stages later (as on a loaded machine), and against reruns that are wrong."""
    order = EARLY + LATER
    cut = len(EARLY) + late
    first = fake_log(order[:cut], running=order[cut])
    second = fake_log(order[cut:], skipped=tuple(order[:cut]))
    assert resume_problems(first, second) == []
    redone = fake_log(order[cut - 1 :], skipped=tuple(order[: cut - 1]))  # a finished stage ran again
    assert resume_problems(first, redone) == [
        f"{order[cut - 1]} finished in the first run but was not skipped"
    ]
    missing = fake_log(order[cut + 1 :], skipped=tuple(order[:cut]))  # the interrupted stage vanished
    assert resume_problems(first, missing) == [f"{order[cut]} (interrupted) neither ran nor was skipped"]


def test_rerun_after_an_interruption_skips_phases_0_to_2(runs):
    assert resume_problems(runs["first_log"], runs["second_log"]) == [], runs["second_log"][-6000:]
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
