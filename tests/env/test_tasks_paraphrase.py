"""The paraphrase split: the same held-out instances, requests reworded in words training never uses,
every value the verifier needs preserved, the same verdicts."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from lam_rl.data.config import TaskPlanConfig
from lam_rl.data.taskplan import build_corpus
from lam_rl.env.config import ExpertConfig
from lam_rl.env.expert import ExpertPolicy
from lam_rl.env.protocol import TaskSpec
from lam_rl.env.tasks import (
    COMPOSITE,
    list_families,
    make_task,
    near_miss_actions,
    sample_tasks,
    task_split,
)
from lam_rl.env.tasks.base import REGISTRY
from lam_rl.env.tasks.paraphrase import (
    PHRASES,
    VOCABULARY,
    paraphrase,
    paraphrase_template,
    split_gaps,
    split_tasks,
)
from lam_rl.env.wordsim import WordSim

FAMILIES = [f.name for f in list_families()]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


@pytest.fixture(scope="module")
def held_out():
    """Held-out tasks of every family (several phrasings each) and composites."""
    tasks = sample_tasks(400, 5, split="eval", composite_fraction=0.25)
    seen = {t.family for t in tasks}
    for name in FAMILIES:  # families the sample missed: their first held-out instances
        if name not in seen:
            found = [t for s in range(400) if task_split(t := make_task(name, s)) == "eval"][:2]
            tasks += found or [make_task(name, 0)]
    return tasks


def test_vocabulary_never_in_training_requests_or_evolution():
    """No word or phrase the rewording relies on occurs in a training request (suite tasks and
    composites over several seeds), in the task-plan corpus (requests, evolved requests, plans)."""
    texts = []
    for seed in range(2):
        texts += [t.request for t in sample_tasks(1500, seed, split="train", composite_fraction=0.3)]
        recs, stats = build_corpus(TaskPlanConfig(num_tasks=600, evolved_fraction=1.0), 100 + seed)
        assert stats.evolved > 100
        texts += [r.task for r in recs] + [" ".join(r.plan) for r in recs]
    texts += [p for f in REGISTRY.values() for p in f.phrasings]  # every phrasing, whatever the sample
    seen = set().union(*(words(t) for t in texts))
    assert not VOCABULARY & seen, sorted(VOCABULARY & seen)
    low = [t.lower() for t in texts]
    assert not [p for p in PHRASES if any(p in t for t in low)]


def _values(params: dict) -> list[str]:
    out = []
    for v in params.values():
        if isinstance(v, (str, int, float)) and not isinstance(v, bool):
            out.append(str(v))
        elif isinstance(v, list):
            out += [str(x) for x in v if isinstance(x, (str, int, float))]
    return out


def test_same_instance_new_words_values_preserved(held_out):
    assert {t.family for t in held_out} >= set(FAMILIES) | {COMPOSITE}
    for t in held_out:
        p = paraphrase(t)
        assert p.request != t.request
        assert p.model_dump(exclude={"request"}) == t.model_dump(exclude={"request"})
        assert words(p.request) & VOCABULARY, p.request
        parts = t.params["parts"] if t.family == COMPOSITE else [{"family": t.family, "params": t.params}]
        for part in parts:
            plain = REGISTRY[part["family"]].request(part["params"], part.get("phrasing", 0))
            if t.family != COMPOSITE:
                plain = t.request
            for v in _values(part["params"]):
                # every value the plain request states is stated, character for character
                if v in plain:
                    assert v in p.request, (v, plain, p.request)
        for quoted in re.findall(r'"([^"]+)"', t.request):
            assert f'"{quoted}"' in p.request, (quoted, p.request)
        assert paraphrase(t).request == p.request  # deterministic


def _play(task, decisions) -> tuple[str, dict]:
    sim = WordSim(max_steps=40)
    sim.reset(task)
    for d in decisions:
        if d.to_action() is not None:
            sim.step(d.to_action())
    v = sim.evaluate()
    return v.complete, dict(v.sub_scores)


def _expert_run(task) -> tuple[str, dict]:
    sim = WordSim(max_steps=40)
    obs = sim.reset(task)
    expert = ExpertPolicy(ExpertConfig(noise=False), seed=0)
    expert.reset(task)
    for _ in range(30):
        d = expert.act(obs)
        if d.to_action() is not None:
            obs = sim.step(d.to_action()).observation
        if d.status == "FINISH":
            break
    v = sim.evaluate()
    return v.complete, dict(v.sub_scores)


def test_expert_verdict_unchanged_on_every_family(held_out):
    """The expert's verdict (and a near miss's) on the paraphrased task equals the plain one."""
    by_family = {}
    for t in held_out:
        by_family.setdefault(t.family, t)
    yes = 0
    for t in by_family.values():
        p = paraphrase(t)
        plain = _expert_run(t)
        assert _expert_run(p) == plain, t.task_id
        yes += plain[0] == "yes"
        assert _play(p, near_miss_actions(p)) == _play(t, near_miss_actions(t)), t.task_id
    assert yes >= len(by_family) - 2  # the noise-free expert solves (nearly) every family


def test_rules_on_templates():
    assert paraphrase_template('Make "{text}" bold.', "k") != 'Make "{text}" bold.'
    out = {paraphrase_template('Make "{text}" bold.', str(k)) for k in range(40)}
    assert any(o.startswith('"{text}" ought to be made bold') for o in out)  # passive
    assert any(o.startswith('Regarding "{text}": make it bold') for o in out)  # word order
    assert all('"{text}"' in o for o in out)
    q = paraphrase_template("How many words does this document have?", "k")
    assert q.endswith("?") and "wonder" in q
    with pytest.raises(ValueError, match="none of family"):
        t = make_task("bold_text", 0)
        paraphrase(t.model_copy(update={"request": "something else"}))


def test_eval_reports_both_splits_and_the_gap(tmp_path):
    """Episodes of the noisy expert and a request-blind policy on the plain and the paraphrased
    held-out tasks (WordSim), through the evaluation's split helpers into report.md."""
    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import ExpertAdapter, Policy, PolicyOutput
    from lam_rl.env.client import VMClient
    from lam_rl.eval.online import online_report
    from lam_rl.eval.report import write_report

    class RequestBlind(Policy):
        """Clicks Bold whatever the request says: succeeds on no task of either split."""

        name = "lam1"

        def reset(self, task):
            pass

        def act(self, obs):
            from lam_rl.env.protocol import Decision

            return PolicyOutput(
                Decision(control_name="Bold", control_type="Button", function="click_input", status="FINISH")
            )

    tasks = {t.task_id: t.model_dump() for t in sample_tasks(6, 9, split="eval")}
    worded = {s: split_tasks(s, tasks) for s in ("plain", "paraphrase")}
    assert all(worded["paraphrase"][k]["request"] != tasks[k]["request"] for k in tasks)
    vm = VMClient.in_process(WordSim("eval-vm"))
    by_split: dict = {}
    for split, ts in worded.items():
        for name, make in (
            ("expert", lambda: ExpertAdapter(ExpertPolicy(ExpertConfig(noise=False), seed=1))),
            ("lam1", RequestBlind),
        ):
            trajs = [
                run_episode(vm, make(), TaskSpec.model_validate(t), traj_id=f"{split}:{k}", phase="eval")
                for k, t in ts.items()
            ]
            outs = [dataclasses.asdict(tr.outcome) for tr in trajs]
            by_split.setdefault(split, {})[name] = online_report(outs, []).as_dict()
    gaps = split_gaps(by_split)
    assert gaps["expert"] == {"plain": 1.0, "paraphrase": 1.0, "gap": 0.0}
    assert gaps["lam1"]["plain"] == gaps["lam1"]["paraphrase"] == 0.0
    run = tmp_path / "run"
    (run / "eval").mkdir(parents=True)
    results = {"models": {}, "online": by_split["plain"], "online_paraphrase": by_split["paraphrase"]}
    (run / "eval" / "results.json").write_text(json.dumps(results | {"online_splits": gaps}))
    md = write_report(run, trajectories=0).read_text()
    i = md.index("plain vs paraphrase split")
    rows = [ln for ln in md[i:].splitlines() if ln.startswith("|")][:4]
    assert rows[0].split("|")[2:5] == [" TSR plain ", " TSR paraphrase ", " Gap (paraphrase - plain) "]
    assert "| Expert | 100.0% | 100.0% | +0.0 pts |" in rows
    (run / "eval" / "results.json").write_text(json.dumps(results))  # one wording: said, no table
    assert "no paraphrase gap" in write_report(run, trajectories=0).read_text()
