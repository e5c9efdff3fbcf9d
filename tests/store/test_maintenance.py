"""stats() and compact()."""

from __future__ import annotations

import json
from collections import Counter

from lam_rl.store import TaskPlanRecord
from lam_rl.store.encode import EncodedTrajectories
from lam_rl.store.synthetic import make_trajectory

from .conftest import local_and_az, visible


@local_and_az
def test_stats_match_the_data(store, trajs):
    lam2 = [
        make_trajectory(i, seed=7, phase="explore", policy="lam2", policy_version=2, prefix="x")
        for i in range(9)
    ]
    store.write(trajs + lam2)
    store.add_taskplans(
        [TaskPlanRecord("t1", "x", ["a"], source="seed"), TaskPlanRecord("t2", "y", [], source="evolved")]
    )
    st = store.stats()
    json.dumps(st)  # JSON-able
    everything = trajs + lam2
    assert st["trajectories"] == 69
    assert st["steps"] == sum(len(t.steps) for t in everything)
    assert st["successes"] == sum(t.outcome.success for t in everything)
    assert st["by_phase"]["explore"]["trajectories"] == 9
    assert st["by_policy"]["lam2@2"]["steps"] == sum(len(t.steps) for t in lam2)
    assert st["by_success"]["true"]["trajectories"] == st["successes"]
    assert st["by_family"]["bold_text"]["trajectories"] == sum(
        t.outcome.family == "bold_text" for t in everything
    )
    kinds = Counter(t.outcome.failure_kind for t in everything if not t.outcome.success)
    assert {k: v["trajectories"] for k, v in st["by_failure_kind"].items()} == dict(kinds)
    lengths = sorted(len(t.steps) for t in everything)
    assert st["step_lengths"]["min"] == lengths[0] and st["step_lengths"]["max"] == lengths[-1]
    assert sum(st["step_lengths"]["histogram"].values()) == 69
    assert st["taskplans"] == 2 and st["taskplans_by_source"] == {"seed": 1, "evolved": 1}
    only = store.stats(phase="explore", success=True)
    assert only["trajectories"] == sum(t.outcome.success for t in lam2)
    store.tag("explore-lam2", phase="explore")
    assert store.stats(tag="explore-lam2")["trajectories"] == 9


@local_and_az
def test_compact_removes_only_invisible_rows(store, trajs):
    store.write(trajs[:20])
    crashed = EncodedTrajectories.of(trajs[20:30])
    store.core.append("steps", crashed.steps, retries=0)  # orphans
    race = EncodedTrajectories.of(trajs[:3])
    store.core.append("steps", race.steps, retries=0)
    store.core.append("outcomes", race.outcomes, retries=0)  # losing duplicates (larger write ids)
    before = visible(store)
    report = store.compact(grace_s=0)
    assert report["orphan_steps"] == crashed.num_steps + race.num_steps
    assert report["duplicate_outcomes"] == 3
    assert visible(store) == before
    assert store.dataset("steps").count_rows() == store.count("steps")
    assert store.dataset("outcomes").count_rows() == 20
    assert len(store.dataset("steps").get_fragments()) == 1
    assert store.write(trajs[20:30]).trajectories == 10  # the crashed write can still be re-sent


def test_compact_keeps_recent_invisible_rows(store, trajs):
    store.write(trajs[:5])
    # a writer between commits
    store.core.append("steps", EncodedTrajectories.of(trajs[5:8]).steps, retries=0)
    assert store.compact(grace_s=3600)["orphan_steps"] == 0
    assert store.info()["tables"]["steps"]["rows"] > store.count("steps")
