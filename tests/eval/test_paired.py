"""Paired comparisons (lam_rl/eval/paired.py): the exact McNemar p-values of known tables, pairing by
task id, the bootstrap interval's coverage in a seeded simulation, bad input as a row, and the
report's table from a results.json; per-task successes read from a real store of WordSim episodes."""

from __future__ import annotations

import json
from fractions import Fraction
from math import comb

import numpy as np
import pytest

from lam_rl.eval.paired import (
    HEADER,
    NO_SHARED,
    bootstrap_ci,
    compare,
    compare_models,
    compare_splits,
    markdown,
    mcnemar_exact,
    summary_values,
    task_successes,
)


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (0, 10, 2 / 1024),  # every discordant task goes B's way: p ~ 0.002
        (10, 0, 2 / 1024),
        (5, 5, 1.0),  # b = c: no evidence either way
        (12, 12, 1.0),
        (0, 0, 1.0),  # no discordant task
        (0, 1, 1.0),
        (0, 5, 0.0625),  # the smallest count of one-sided discordance that passes 0.05 is 6
        (0, 6, 0.03125),
        # Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, the airway
        # hyper-responsiveness example: n12 = 1, n21 = 7, exact conditional p = 0.070
        (1, 7, 0.0703125),
    ],
)
def test_mcnemar_known_tables(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, rel=1e-12)


def test_mcnemar_matches_the_binomial_definition():
    """Two-sided exact binomial test at 1/2: the probability of every outcome no more likely than
    the one observed, computed with exact fractions (an independent route to the same number)."""
    for n in range(0, 31):
        pmf = [Fraction(comb(n, k), 2**n) for k in range(n + 1)]
        for b in range(n + 1):
            want = min(Fraction(1), sum(q for q in pmf if q <= pmf[b]))
            assert mcnemar_exact(b, n - b) == pytest.approx(float(want), rel=1e-12), (b, n - b)
    with pytest.raises(ValueError, match="must be >= 0"):
        mcnemar_exact(-1, 3)


def test_pairing_drops_unmatched_ids_and_counts_discordant_tasks():
    a = {"t1": True, "t2": True, "t3": False, "t4": False, "only-a": True}
    b = {"t1": True, "t2": False, "t3": True, "t4": True, "only-b1": False, "only-b2": True}
    row = compare(a, b)
    assert row["tasks"] == 4 and row["only_a"] == 1 and row["only_b"] == 2
    assert (row["b"], row["c"]) == (1, 2)  # t2: A solved, B not; t3, t4: the reverse
    assert row["a_tsr"] == pytest.approx(0.5) and row["b_tsr"] == pytest.approx(0.75)
    assert row["diff"] == pytest.approx(0.25)
    assert row["p"] == pytest.approx(1.0)
    assert row["ci_low"] <= row["diff"] <= row["ci_high"]
    assert row["verdict"] == "not distinguishable at 0.05"


def test_verdicts_follow_the_test():
    same = {f"s{i}": i % 2 == 0 for i in range(20)}  # 20 concordant tasks
    a = same | {f"d{i}": False for i in range(10)}
    b = same | {f"d{i}": True for i in range(10)}
    up, down = compare(a, b), compare(b, a)
    assert up["verdict"] == "better" and up["p"] == pytest.approx(2 / 1024) and up["ci_low"] > 0
    assert down["verdict"] == "worse" and down["ci_high"] < 0
    assert compare(a, a)["verdict"] == "not distinguishable at 0.05"
    # five discordant tasks all one way are not enough at 0.05, six are
    five = compare(same | {f"d{i}": False for i in range(5)}, same | {f"d{i}": True for i in range(5)})
    six = compare(same | {f"d{i}": False for i in range(6)}, same | {f"d{i}": True for i in range(6)})
    assert five["verdict"] == "not distinguishable at 0.05" and six["verdict"] == "better"


def test_bootstrap_interval_covers_the_true_difference_at_about_the_nominal_rate():
    """200 seeded simulations of 80 paired tasks with correlated outcomes (both solve 40%, only A 8%,
    only B 20%, neither 32%: true difference +12 points): the 95% interval holds the truth in 90-99%
    of them, and is not trivially wide."""
    rng = np.random.default_rng(17)
    probs = [0.40, 0.08, 0.20, 0.32]  # (A, B) = (1, 1), (1, 0), (0, 1), (0, 0)
    truth = probs[2] - probs[1]
    cells = np.array([(1, 1), (1, 0), (0, 1), (0, 0)], dtype=bool)
    hits, widths = 0, []
    for k in range(200):
        pairs = cells[rng.choice(4, size=80, p=probs)]
        lo, hi = bootstrap_ci(list(pairs[:, 0]), list(pairs[:, 1]), n_boot=1000, seed=k)
        hits += lo <= truth <= hi
        widths.append(hi - lo)
    assert 180 <= hits <= 198, hits
    assert 0.1 < float(np.mean(widths)) < 0.25, np.mean(widths)  # ~2 x 1.96 x sqrt(0.28 - 0.12^2)/sqrt(80)


def test_bootstrap_is_seeded():
    a, b = [True, False] * 20, [True, True, False, True] * 10
    assert bootstrap_ci(a, b, seed=3) == bootstrap_ci(a, b, seed=3)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([], [])


def test_bad_input_is_a_row_not_a_crash():
    row = compare({"x": True}, {"y": False})
    assert row["tasks"] == 0 and row["p"] is None and row["verdict"] == NO_SHARED
    assert compare({}, {})["verdict"] == NO_SHARED
    rows = compare_models({"lam1": {"t": False}, "lam2": {"u": True}, "lam3": {"t": True}})
    assert [r["verdict"] for r in rows] == [NO_SHARED, NO_SHARED, "not run (lam4)", "not run (expert, lam4)"]
    table = markdown({"plain": rows})
    assert table.count("\n") == 1 + len(rows) and "no shared tasks" in table and "not run (lam4)" in table
    assert summary_values({"plain": rows}) == {}


def test_splits_are_compared_apart():
    plain = {m: {"tsr": 0.0, "per_task": {f"t{i}": i < k for i in range(12)}} for m, k in
             (("lam1", 0), ("lam2", 2), ("lam3", 9), ("lam4", 9), ("expert", 10))}  # fmt: skip
    para = {m: {"tsr": 0.0, "per_task": {f"t{i}": False for i in range(12)}} for m in plain}
    out = compare_splits({"plain": plain, "paraphrase": para}, seed=1)
    assert [(r["model_a"], r["model_b"]) for r in out["plain"]] == [
        ("lam1", "lam2"), ("lam2", "lam3"), ("lam3", "lam4"), ("expert", "lam4"),
    ]  # fmt: skip
    by = {(r["model_a"], r["model_b"]): r for r in out["plain"]}
    assert (by["lam2", "lam3"]["b"], by["lam2", "lam3"]["c"], by["lam2", "lam3"]["verdict"]) == (
        0,
        7,
        "better",
    )
    assert by["lam3", "lam4"]["p"] == 1.0 and by["expert", "lam4"]["c"] == 0
    assert all(r["p"] == 1.0 and r["diff"] == 0 for r in out["paraphrase"])
    s = summary_values(out)
    assert s["paired/plain/lam3_vs_lam2/p"] == pytest.approx(2 / 2**7)
    assert len(s) == 4 * 8


def test_task_successes_from_a_real_store(tmp_path):
    """Outcome rows as the evaluation reads them from the store: keyed by task id; an
    infrastructure failure is left out (so it drops out of both sides of a pair)."""
    from lam_rl.agent.episode import EpisodeLimits, run_episode
    from lam_rl.agent.policy import ExpertAdapter
    from lam_rl.env.client import VMClient
    from lam_rl.env.config import ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.tasks import sample_tasks
    from lam_rl.env.wordsim import WordSim
    from lam_rl.store import TrajectoryStore

    store = TrajectoryStore(tmp_path / "store")
    vm = VMClient.in_process(WordSim("vm"))
    tasks = sample_tasks(3, 5, split="eval")
    limits = EpisodeLimits(max_steps=1)  # the one-step limit fails every multi-step task
    trajs = [
        run_episode(vm, ExpertAdapter(ExpertPolicy(ExpertConfig(noise=False), seed=0), name="m"), t,
                    traj_id=f"eval:m@v1:{t.task_id}", phase="eval-m", split="eval", limits=lim)
        for t, lim in zip(tasks, [None, limits, None], strict=True)
    ]  # fmt: skip
    store.write(trajs)
    cols = ["traj_id", "success", "family", "num_steps", "failure_kind", "task"]
    outs = store.outcomes(traj_id=[t.traj_id for t in trajs], columns=cols).to_pylist()
    got = task_successes(outs)
    want = {t.task_id: bool(tr.outcome.success) for t, tr in zip(tasks, trajs, strict=True)}
    assert got == want and set(got) == {t.task_id for t in tasks}
    assert True in got.values() and False in got.values()
    infra = dict(outs[0], failure_kind="vm_error", success=False)
    assert tasks[0].task_id not in task_successes([infra, *outs[1:]])
    # the evaluation passes traj_id -> task id; without a task column the id's last part is used
    assert task_successes(outs, {o["traj_id"]: "x" + o["traj_id"][-3:] for o in outs}).keys() == {
        "x" + o["traj_id"][-3:] for o in outs
    }
    assert task_successes([{"traj_id": "eval:m@v1:paraphrase:t9", "success": True}]) == {"t9": True}


def test_report_renders_the_paired_table(tmp_path):
    from lam_rl.eval.report import write_report

    run = tmp_path / "tiny"
    (run / "eval").mkdir(parents=True)
    per = {m: {f"t{i}": i < k for i in range(30)} for m, k in
           (("lam1", 0), ("lam2", 3), ("lam3", 15), ("lam4", 16), ("expert", 20))}  # fmt: skip
    online = {m: {"tsr": sum(v.values()) / 30, "tasks": 30, "per_task": v} for m, v in per.items()}
    results = {"models": {}, "reference": {"tasks": 30, "steps": 90}, "online": online}
    results["paired"] = compare_splits({"plain": online})
    (run / "eval" / "results.json").write_text(json.dumps(results))
    text = write_report(run, trajectories=0).read_text()
    assert "### Paired comparisons (online, same tasks)" in text
    assert "| " + " | ".join(HEADER) + " |" in text
    assert "| plain | LAM2 | LAM3 | 30 | 10.0% | 50.0% | +40.0 pts |" in text
    assert "| 0 | 12 | 0.000488 | better |" in text
    assert "| plain | LAM3 | LAM4 | 30 | 50.0% | 53.3% | +3.3 pts |" in text
    assert "| 0 | 1 | 1 | not distinguishable at 0.05 |" in text
    assert "| plain | Expert | LAM4 | 30 | 66.7% | 53.3% | -13.3 pts |" in text
    del results["paired"]  # a results.json written before the paired comparisons existed
    (run / "eval" / "results.json").write_text(json.dumps(results))
    assert "Paired comparisons: not run" in write_report(run, trajectories=0).read_text()
