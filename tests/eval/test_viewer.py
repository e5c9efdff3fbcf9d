"""The trajectory viewer: pages of real WordSim trajectories from a real store show every step's
screen (replayed, matching what the policy saw), controls, thought and action, escape all text,
and unknown ids / stores fail with a message that says how to find ids."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from lam_rl.agent.config import AgentConfig
from lam_rl.agent.episode import EpisodeLimits, run_episode
from lam_rl.agent.policy import ExpertAdapter, LMPolicy
from lam_rl.data.sft import agent_builder
from lam_rl.env.client import VMClient
from lam_rl.env.config import ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.tasks import sample_tasks
from lam_rl.env.wordsim import WordSim
from lam_rl.eval.viewer import ViewerError, action_text, load_view, run_store, write_trajectory_html
from lam_rl.store import Outcome, StepRecord, Trajectory, TrajectoryStore

GARBAGE = '<script>alert("x")</script> & not an action'


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    store = TrajectoryStore(run / "store")
    vm = VMClient.in_process(WordSim("vm"))
    tasks = sample_tasks(3, 11, split="eval")
    trajs = [
        run_episode(vm, ExpertAdapter(ExpertPolicy(ExpertConfig(noise=False), seed=i)), t,
                    traj_id=f"eval:expert:{t.task_id}", phase="eval-expert", split="eval")
        for i, t in enumerate(tasks)
    ]  # fmt: skip
    garbage = LMPolicy(lambda prompt, pinned: (GARBAGE, 3), agent_builder(AgentConfig()), name="lam1")
    trajs.append(
        run_episode(vm, garbage, tasks[0], traj_id="eval:lam1:garbage", phase="eval-lam1", split="eval",
                    limits=EpisodeLimits(max_invalid=2))
    )  # fmt: skip
    # a trajectory recorded elsewhere whose task WordSim cannot set up, with text that needs escaping
    trajs.append(
        Trajectory(
            Outcome("odd:1", "t-odd", family="no_such_family", task={"task_id": "t-odd", "family": "no_such_family",
                    "template": "none", "request": "Do <b>this</b> & that"}, reason="judge said <no>"),
            [StepRecord(0, request="Do <b>this</b>", thought='I "think" <i>so</i>', function="click_input",
                        control_label=3, control_text="<Bold>", args={"button": "left"}, status="FINISH",
                        controls=[{"label": 3, "text": "<Bold>", "type": "Button", "rect": [1, 2, 30, 20]}])],
        )
    )  # fmt: skip
    store.write(trajs)
    return store, trajs, run


def images(page: str) -> list[Image.Image]:
    out = []
    for b64 in re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page):
        img = Image.open(io.BytesIO(base64.b64decode(b64)))
        img.load()
        out.append(img)
    return out


def test_page_shows_every_step_with_its_screen(store, tmp_path):
    st, trajs, _ = store
    traj = max(trajs[:3], key=lambda t: len(t.steps))
    out = write_trajectory_html(st, traj.traj_id, tmp_path / "page.html")
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    imgs = images(page)
    assert len(imgs) == len(traj.steps) + 1  # before every step, and after the last
    assert all(im.size == imgs[0].size and im.size[0] >= 640 for im in imgs)
    for s in traj.steps:
        row = s.to_row()
        assert html.escape(action_text(row)) in page
        assert html.escape(s.thought) in page
        assert f"Step {s.step}:" in page
        assert html.escape(s.control_text, quote=True) in page
    assert html.escape(traj.outcome.reason, quote=True) in page and "success" in page
    assert "Controls (" in page and 'class="acted"' in page
    assert not [p for p in tmp_path.iterdir() if p.name != "page.html"]  # no temp file left
    view = load_view(st, traj.traj_id)
    assert view.replay.diverged_at is None and view.replay.note == ""  # the replay is what the policy saw
    # screens change as the episode acts (the acted control is boxed, the UI moves on)
    assert len({f for f in view.replay.frames}) > 1


def test_invalid_steps_and_escaping(store, tmp_path):
    st, _, _ = store
    page = write_trajectory_html(st, "eval:lam1:garbage", tmp_path / "g.html").read_text()
    assert "<script>" not in page and html.escape(GARBAGE) in page
    assert page.count("invalid output") >= 2 and len(images(page)) == 3
    odd = write_trajectory_html(st, "odd:1", tmp_path / "odd.html").read_text()
    assert "<b>this</b>" not in odd and "&lt;b&gt;this&lt;/b&gt; &amp; that" in odd
    assert "&lt;Bold&gt;" in odd and "&quot;think&quot;" in odd and "judge said &lt;no&gt;" in odd
    assert "WordSim cannot set up this task" in odd and not images(odd)  # no screens, still a page


def test_unknown_id_says_how_to_find_ids(store, tmp_path):
    st, trajs, _ = store
    with pytest.raises(ViewerError, match=r"lam-rl store show --store .* --table outcomes") as e:
        write_trajectory_html(st, trajs[0].traj_id + "x", tmp_path / "x.html")
    assert f"Did you mean: {trajs[0].traj_id}" in str(e.value)
    assert not (tmp_path / "x.html").exists()


def test_run_store_reads_the_runs_config(tmp_path):
    assert run_store(tmp_path) == (str(tmp_path / "store"), {})
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "collect.yaml").write_text(
        "store:\n  uri: s3://bucket/x\n  storage_options: {region: eu}\n"
    )
    (tmp_path / "configs" / "pipeline.yaml").write_text("store:\n  uri: /data/store\n  storage_options: {}\n")
    assert run_store(tmp_path) == ("/data/store", {})  # the pipeline's/evaluation's config first


def test_cli_view(store, tmp_path, monkeypatch):
    from jobs.cli import main

    st, trajs, run = store
    monkeypatch.delenv("LAM_RL_STORE", raising=False)
    runner = CliRunner()
    tid = trajs[1].traj_id
    res = runner.invoke(main, ["view", tid, "--run-dir", str(run)])
    assert res.exit_code == 0, res.output
    written = res.output.strip().splitlines()[-1]
    assert written.startswith(str(run / "report" / "trajectories")) and written.endswith(".html")
    assert tid in Path(written).read_text()
    out = tmp_path / "sub" / "v.html"
    res = runner.invoke(main, ["view", tid, "--store", st.uri, "--out", str(out)])
    assert res.exit_code == 0 and out.exists() and "<img " in out.read_text()

    res = runner.invoke(
        main, ["view", "no-such-id", "--run-dir", str(run), "--out", str(tmp_path / "n.html")]
    )
    assert res.exit_code == 2 and "lam-rl store show" in res.output and "no-such-id" in res.output
    assert not (tmp_path / "n.html").exists()
    res = runner.invoke(main, ["view", tid])
    assert res.exit_code == 2 and "--run-dir" in res.output
    res = runner.invoke(main, ["view", tid, "--run-dir", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(main, ["view", tid, "--store", str(tmp_path / "nostore")])
    assert res.exit_code == 2 and "no trajectory store" in res.output
    assert not (tmp_path / "nostore").exists()


def test_a_label_answer_shows_its_text_and_label_and_replays(tmp_path):
    """agent.arg_labels: the page shows the text an argument label resolved to and the label, and the
    replay (from the stored text) matches what the policy saw."""
    from lam_rl.env.tasks import make_task

    task = make_task("bold_text", 5)
    phrase = task.params["text"]
    answers = iter(
        [
            '{"control_name": "Page 1 content", "function": "select_text", "args": {"text": "@1"}}',
            '{"control_name": "Bold", "function": "click_input", "args": {}, "status": "FINISH"}',
        ]
    )
    policy = LMPolicy(
        lambda p, v: (next(answers), 1), agent_builder(AgentConfig(arg_labels=True)), name="lam"
    )
    vm = VMClient.in_process(WordSim("vm"))
    traj = run_episode(vm, policy, task, traj_id="eval:lam:labels", phase="eval-lam", split="eval")
    assert traj.outcome.complete == "yes"
    st = TrajectoryStore(tmp_path / "store")
    st.write([traj])
    page = write_trajectory_html(st, "eval:lam:labels", tmp_path / "l.html").read_text()
    assert html.escape(f'select_text(text="{phrase}" (@1))') in page
    assert load_view(st, "eval:lam:labels").replay.diverged_at is None
