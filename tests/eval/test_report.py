"""The report: a run directory built from real parts (WordSim episodes in a real store, metrics from
the real Tracker, results from the real metric code) turns into report.md with every metric of the
models that ran filled, "not run" rows for the rest, valid PNGs and linked trajectory pages."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from lam_rl.agent.episode import EpisodeLimits, run_episode
from lam_rl.agent.policy import ExpertAdapter, LMPolicy
from lam_rl.data.sft import agent_builder
from lam_rl.env.client import VMClient
from lam_rl.env.config import ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.protocol import TaskSpec
from lam_rl.env.tasks import sample_tasks
from lam_rl.env.wordsim import WordSim
from lam_rl.eval.offline import evaluate_policy_offline
from lam_rl.eval.online import STEP_COLUMNS, online_report
from lam_rl.eval.report import ReportError, read_metrics, write_report
from lam_rl.store import TrajectoryStore
from lam_rl.tracking import Tracker, TrackingConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GARBAGE = '<script>alert("x")</script> not an action'


def garbage_policy(name: str) -> LMPolicy:
    """A 'model' that never answers with an action: every step is invalid."""
    from lam_rl.agent.config import AgentConfig

    return LMPolicy(lambda prompt, pinned: (GARBAGE, 1), agent_builder(AgentConfig()), name=name)


def expert(name: str, seed: int, noise: bool = True) -> ExpertAdapter:
    return ExpertAdapter(ExpertPolicy(ExpertConfig(noise=noise), seed=seed), name=name)


def build_run(root, *, store_dir=None):
    """A run directory as jobs.collect + jobs.evaluate + the trainers leave it (LAM1, LAM2 and the
    expert evaluated; LAM3/LAM4, phase 1, phase 3 never ran)."""
    run = root / "tiny"
    store = TrajectoryStore(store_dir or run / "store")
    vm = VMClient.in_process(WordSim("test-vm"))
    held_out = sample_tasks(6, 3, split="eval")
    # reference trajectories (phase 0b, noiseless expert), as jobs.collect writes them
    store.write(
        [
            run_episode(vm, expert("expert", 0, noise=False), t, traj_id=f"ref:{t.task_id}", phase="reference",
                        split="eval")
            for t in held_out
        ]
    )  # fmt: skip
    store.tag("reference-eval", phase="reference")
    policies = {"lam1": lambda i: garbage_policy("lam1"), "lam2": lambda i: expert("lam2", 100 + i)}
    policies["expert"] = lambda i: expert("expert", 7 + i)
    online = {}
    limits = EpisodeLimits(max_steps=12, max_invalid=2)
    for name, make in policies.items():
        tasks = held_out if name != "lam1" else held_out[:2]
        trajs = [
            run_episode(vm, make(i), t, traj_id=f"eval:{name}:{t.task_id}", phase=f"eval-{name}", split="eval",
                        limits=limits)
            for i, t in enumerate(tasks)
        ]  # fmt: skip
        store.write(trajs)
        store.tag(f"eval-{name}", phase=f"eval-{name}")
        ids = [t.traj_id for t in trajs]
        outs = store.outcomes(traj_id=ids).to_pylist()
        steps = store.steps(traj_id=ids, columns=list(STEP_COLUMNS)).to_pylist()
        online[name] = online_report(outs, steps).as_dict() | {"tag": f"eval-{name}"}
    ref_steps = store.steps(tag="reference-eval").to_pylist()
    tasks = {o["traj_id"]: json.loads(o["task"]) for o in store.outcomes(tag="reference-eval").to_pylist()}

    def offline_of(name: str, seed: int, noise: bool):
        def make(first_row):
            e = ExpertPolicy(ExpertConfig(noise=noise), seed=seed)
            e.reset(TaskSpec.model_validate(tasks[first_row["traj_id"]]))
            return e

        return evaluate_policy_offline(ref_steps, make).as_dict()

    offline = {"lam1": offline_of("lam1", 1, True), "lam2": offline_of("lam2", 2, False)}
    offline["expert"] = offline_of("expert", 3, True)
    results = {
        "models": {m: {"path": f"{run}/checkpoints/{m}", "version": 1} for m in ("lam1", "lam2")},
        "reference": {"tasks": len(tasks), "steps": len(ref_steps)},
        "created_at": 1.7e9,
        "offline": offline,
        "online": online,
    }
    (run / "eval").mkdir(parents=True)
    (run / "eval" / "results.json").write_text(json.dumps(results))
    off = TrackingConfig(mode="disabled")
    with Tracker(off, run_dir=run, name="sft-imitate", job_type="sft-imitate") as tr:
        tr.log({"data/train_examples": 40}, 0)
        for s in range(1, 21):
            tr.log({"train/loss": 3.0 / s, "train/lr": 1e-3}, s)
            if s % 5 == 0:
                tr.log({"eval/loss": 3.5 / s}, s)
    with Tracker(off, run_dir=run, name="reward", job_type="reward") as tr:
        for s in range(1, 11):
            tr.log({"train/loss": 1.0 / s}, s)
        tr.log({"eval/loss": 0.2, "eval/auc": 0.8}, 10)
    with Tracker(off, run_dir=run, name="ppo-offline", job_type="ppo") as tr:
        for s in range(8):
            tr.log({"ppo/policy_loss": 0.1 - 0.01 * s, "ppo/value_loss": 0.5, "ppo/reward_mean": 0.1 * s}, s)
    with Tracker(off, run_dir=run, name="collect", job_type="collect") as tr:
        tr.summary(trajectories=40, steps=160, success_rate=0.65)
    with Tracker(off, run_dir=run, name="taskplan", job_type="taskplan") as tr:
        tr.summary(records=120, parameters=1_250_000)
    return run, results


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run, _ = build_run(tmp_path_factory.mktemp("runs"))
    return run


def table(md: str, heading: str) -> list[list[str]]:
    """The first markdown table after ``heading``: rows of cells (header first)."""
    section = md.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            if set(line) <= set("|-"):
                continue
            rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        elif rows:
            break
    return rows


def test_report_fills_every_metric_of_the_models_that_ran(run_dir):
    path = write_report(run_dir)
    assert path == run_dir / "report" / "report.md"
    md = path.read_text()
    offline = table(md, "## Offline evaluation")
    assert offline[0] == ["Metric", "LAM1", "LAM2", "LAM3", "LAM4", "Expert"]
    results = json.loads((run_dir / "eval" / "results.json").read_text())
    pct = re.compile(r"^\d+\.\d%$")
    keys = ["object_acc", "operation_acc", "status_acc", "ssr", "tsr", "arg_acc", "tsr_args", "invalid_rate"]
    assert [r[0].split(" (")[0] for r in offline[1:]] == [
        "Object acc.", "Operation acc.", "Status acc.", "Step success rate", "Task success rate", "Argument acc.",
        "TSR with arguments", "Invalid answers",
    ]  # fmt: skip
    for row, key in zip(offline[1:], keys, strict=True):
        for col, model in ((1, "lam1"), (2, "lam2"), (5, "expert")):
            value = results["offline"][model][key]
            if key == "arg_acc" and value is None:  # no held-out step takes an argument
                assert row[col] == "-"
                continue
            assert pct.match(row[col]), (row, model)
            assert row[col] == f"{100 * value:.1f}%"
        assert row[3] == row[4] == "not run"
    assert offline[5][2] == "100.0%"  # the noiseless expert as LAM2 gets every reference task right

    online = table(md, "## Online evaluation")
    assert online[0][:3] == ["Model", "TSR", "Completion time (s)"]
    by_model = {r[0]: r[1:] for r in online[1:]}
    assert set(by_model) == {"LAM1", "LAM2", "LAM3", "LAM4", "Expert"}
    assert by_model["LAM3"] == ["not run"] * 7 and by_model["LAM4"] == ["not run"] * 7
    for m in ("LAM1", "LAM2", "Expert"):
        assert "not run" not in by_model[m] and "-" not in by_model[m], by_model[m]
    assert by_model["LAM1"][0] == "0.0%" and by_model["LAM1"][4] == "100.0%"  # garbage: all invalid
    assert by_model["Expert"][0] == f"{100 * results['online']['expert']['tsr']:.1f}%"
    assert by_model["Expert"][5] == "6"

    # every failed episode has one class; the garbage model's are all invalid answers
    fails = {r[0]: r[1:] for r in table(md, "### Why episodes failed")}
    assert fails["Failure class"] == ["LAM1", "LAM2", "Expert"]
    assert fails["Invalid answer"][0] == "2" and sum(int(c[0]) for k, c in fails.items() if k != "Failure class") == 2
    for i, m in enumerate(("lam1", "lam2", "expert")):
        failed = round(results["online"][m]["tasks"] * (1 - results["online"][m]["tsr"]))
        assert sum(int(c[i]) for k, c in fails.items() if k != "Failure class") == failed, (m, fails)

    fam = table(md, "### Success by task family")
    families = set(results["online"]["expert"]["by_family"])
    assert {r[0] for r in fam[1:]} == families and fam[0] == ["Family", "LAM1", "LAM2", "Expert"]

    train = {r[0]: r for r in table(md, "## Training")[1:]}
    assert train["Phase 2: learning from the expert (LAM2)"][2:6] == ["20", "3", "0.15", "0.175"]
    assert train["Phase 1: task-plan pretraining (LAM1)"][2] == "not run"
    assert train["Phase 3: self-boosting (LAM3)"][2] == "not run"
    assert "eval AUC 0.800" in train["Phase 4: reward model"][6]
    assert train["Phase 4: PPO (LAM4)"][6] == "reward 0.000 -> 0.700"
    data = {r[0]: r[1] for r in table(md, "### Data phases")[1:]}
    assert data["Phase 0b: expert trajectories"] == "trajectories 40, steps 160, expert success rate 65.0%"
    assert data["Phase 3: LAM2 retries expert failures"] == "not run"

    out = run_dir / "report"
    images = re.findall(r"\]\(([^)]+\.png)\)", md)
    for name in ("offline.png", "online.png", "family_success.png", "training_curves.png"):
        assert name in images
    assert len(images) >= 6  # the four plots + at least two trajectories
    for name in images:
        data = (out / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 2000, name
        from PIL import Image

        Image.open(out / name).verify()
    pages = re.findall(r"\]\((trajectories/[^)]+\.html)\)", md)
    assert 2 <= len(set(pages)) <= 3
    assert (
        "success" in md.split("## Rendered trajectories")[1]
        and "failure" in md.split("## Rendered trajectories")[1]
    )
    for page in set(pages):
        text = (out / page).read_text()
        assert text.count("<img ") >= 2 and "<script>" not in text
    assert not list(run_dir.glob(".report-*"))


def test_report_logs_tables_to_the_tracker_and_replaces_the_old_one(run_dir):
    stale = run_dir / "report" / "stale.png"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"old")
    with Tracker(TrackingConfig(mode="disabled"), run_dir=run_dir, name="report", job_type="report") as tr:
        path = write_report(run_dir, tr, trajectories=1)
    assert path.exists() and not stale.exists()
    logged = json.loads((run_dir / "metrics" / "report.report_offline.table.json").read_text())
    assert logged["columns"][0] == "Metric" and len(logged["rows"]) == 8
    fam = json.loads((run_dir / "metrics" / "report.report_online_by_family.table.json").read_text())
    assert fam["columns"] == ["Family", "LAM1", "LAM2", "Expert"]
    assert len(set(re.findall(r"\]\((trajectories/[^)]+\.html)\)", path.read_text()))) == 1


def test_missing_results_and_partial_results(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        write_report(tmp_path / "nope")
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(ReportError, match=r"jobs\.evaluate"):
        write_report(run)
    assert not (run / "report").exists()
    # evaluation ran offline only, no checkpoints: every model row is "not run", no crash
    (run / "eval").mkdir()
    (run / "eval" / "results.json").write_text(json.dumps({"models": {}, "reference": {}, "offline": {}}))
    md = write_report(run).read_text()
    assert "Online evaluation: not run" in md and "No online evaluation trajectories" in md
    rows = table(md, "## Offline evaluation")[1:]
    assert all(c == "not run" for r in rows for c in r[1:])
    assert all(r[2] == "not run" for r in table(md, "## Training")[1:])
    assert not list((run / "report").glob("*.png"))


def test_read_metrics_keeps_the_last_run_of_a_phase(tmp_path):
    off = TrackingConfig(mode="disabled")
    for losses in ([5.0, 4.0, 3.0, 2.0], [9.0, 1.0]):  # a run, then a full re-run (forced stage)
        with Tracker(off, run_dir=tmp_path, name="sft-plan", job_type="sft") as tr:
            for s, loss in enumerate(losses):
                tr.log({"train/loss": loss}, s)
    with Tracker(off, run_dir=tmp_path, name="sft-plan", job_type="sft") as tr:  # resumed at step 1
        tr.log({"train/loss": 0.5}, 1)
        tr.log({"train/loss": 0.4}, 2)
    with (tmp_path / "metrics" / "sft-plan.jsonl").open("a") as f:
        f.write('{"_step": 3, "train/lo')  # a line cut by a crash
    rows = read_metrics(tmp_path / "metrics" / "sft-plan.jsonl")
    assert [(r["_step"], r["train/loss"]) for r in rows] == [(0, 9.0), (1, 0.5), (2, 0.4)]


def test_cli_report(run_dir, tmp_path):
    from jobs.cli import main

    runner = CliRunner()
    res = runner.invoke(main, ["report", str(run_dir), "--trajectories", "0"])
    assert res.exit_code == 0, res.output
    assert res.output.strip().endswith("report.md")
    assert "## Rendered trajectories" in (run_dir / "report" / "report.md").read_text()
    res = runner.invoke(main, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(main, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "python -m jobs.evaluate" in res.output
    assert not (tmp_path / "report").exists()
