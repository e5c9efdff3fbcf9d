"""Tags (named phase outputs) and per-step rewards written as new versions."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lam_rl.config import ConfigError
from lam_rl.store import (
    EmptySelection,
    InvalidRecord,
    StoreError,
    TagExists,
    TagNotFound,
    TagScopeError,
    TaskPlanRecord,
)
from lam_rl.store.synthetic import make_trajectory

from .conftest import local_and_az, visible


@pytest.fixture
def two_phases(store):
    expert = [make_trajectory(i, seed=2, phase="collect", policy="expert") for i in range(30)]
    lam2 = [
        make_trajectory(i, seed=3, phase="explore", policy="lam2", policy_version=2, prefix="x")
        for i in range(20)
    ]
    store.write(expert)
    return store, expert, lam2


@local_and_az
def test_a_tag_pins_versions_and_a_selection(two_phases):
    store, expert, lam2 = two_phases
    info = store.tag("collect-expert", phase="collect", policy="expert", note="phase 0b")
    assert info.counts == {"trajectories": 30, "steps": sum(len(t.steps) for t in expert), "taskplans": 0}
    store.write(lam2 + [make_trajectory(100, seed=2)])  # later data, even of the same phase, stays out
    got = visible(store, tag="collect-expert")
    assert set(got) == {t.traj_id for t in expert if t.steps}
    assert store.outcomes(tag="collect-expert").num_rows == 30
    assert store.outcomes(tag="collect-expert", success=True).num_rows == sum(
        t.outcome.success for t in expert
    )
    assert store.has_tag("collect-expert") and [t.name for t in store.tags()] == ["collect-expert"]
    assert store.get_tag("collect-expert").note == "phase 0b"
    assert store.snapshot(tag="collect-expert").versions == info.versions


@local_and_az
def test_several_tags_read_as_one_without_duplicates(two_phases):
    store, expert, lam2 = two_phases
    store.tag("collect-expert", phase="collect")
    store.write(lam2)
    store.tag("explore-lam2", phase="explore", policy="lam2")
    store.tag("everything")  # overlaps both
    both = store.outcomes(tag=["collect-expert", "explore-lam2", "everything"], columns=["traj_id"])
    ids = both.column("traj_id").to_pylist()
    assert len(ids) == len(set(ids)) == 50
    steps = store.steps(tag=["everything", "collect-expert"], columns=["traj_id", "step"]).to_pylist()
    assert (
        len(steps)
        == len({(r["traj_id"], r["step"]) for r in steps})
        == sum(len(t.steps) for t in expert + lam2)
    )


def test_tag_errors_say_what_to_run(two_phases):
    store, _, _ = two_phases
    with pytest.raises(TagNotFound, match=r"no tag 'explore-lam2'.*jobs\.explore") as e:
        store.steps(tag="explore-lam2")
    assert isinstance(e.value, ConfigError)
    with pytest.raises(EmptySelection, match="would select nothing.*jobs.explore"):
        store.tag("explore-lam2", phase="explore")
    assert not store.has_tag("explore-lam2")
    with pytest.raises(StoreError, match="bad tag name"):
        store.tag("no spaces please")
    store.tag("collect-expert", phase="collect")
    with pytest.raises(TagExists, match="replace=True"):
        store.tag("collect-expert")
    with pytest.raises(EmptySelection, match="excludes everything the tag selects"):
        store.steps(tag="collect-expert", phase="explore")


def test_replace_and_delete(two_phases):
    store, expert, lam2 = two_phases
    store.tag("latest")
    store.write(lam2)
    moved = store.tag("latest", replace=True)
    assert moved.counts["trajectories"] == 50 and store.outcomes(tag="latest").num_rows == 50
    store.delete_tag("latest")
    assert not store.has_tag("latest")
    with pytest.raises(TagNotFound):
        store.get_tag("latest")
    assert store.outcomes().num_rows == 50  # the data stays


@local_and_az
def test_tagged_versions_survive_version_cleanup(two_phases):
    store, expert, lam2 = two_phases
    store.tag("collect-expert", phase="collect")
    store.write(lam2)
    store.compact(grace_s=0)  # rewrites fragments: new versions
    for name in ("steps", "outcomes"):
        store.dataset(name).cleanup_old_versions(older_than=timedelta(0), error_if_tagged_old_versions=False)
        assert "collect-expert" in store.dataset(name).tags.list()
    assert set(visible(store, tag="collect-expert")) == {t.traj_id for t in expert if t.steps}


def test_taskplan_tags_are_scoped_to_taskplans(two_phases):
    store, _, _ = two_phases
    store.add_taskplans([TaskPlanRecord(f"t{i}", "x", ["1. y"], source="evolved" if i < 3 else "seed")
                         for i in range(5)])  # fmt: skip
    info = store.tag("plans-evolved", source="evolved")
    assert info.counts["taskplans"] == 3 and info.counts["trajectories"] == 0
    assert store.taskplans(tag="plans-evolved").num_rows == 3
    with pytest.raises(TagScopeError, match="selects by source"):
        store.steps(tag="plans-evolved")


def test_overlapping_taskplan_tags_read_each_plan_once(two_phases):
    store, _, _ = two_phases
    store.add_taskplans([TaskPlanRecord(f"t{i}", "x", ["1. y"], source="evolved" if i < 3 else "seed")
                         for i in range(6)])  # fmt: skip
    store.tag("plans-evolved", source="evolved")
    store.tag("plans-all-early", task_id=["t0", "t1", "t3"])
    store.add_taskplans([TaskPlanRecord("t9", "x", ["1. y"], source="evolved")])  # after both tags
    got = store.taskplans(tag=["plans-evolved", "plans-all-early"], columns=["task_id"]).column("task_id")
    assert sorted(got.to_pylist()) == ["t0", "t1", "t2", "t3"]
    again = store.taskplans(tag=["plans-all-early", "plans-evolved"], source="evolved", columns=["task_id"])
    assert sorted(again.column("task_id").to_pylist()) == ["t0", "t1", "t2"]


@local_and_az
def test_rewards_are_a_new_version_and_never_touch_the_steps(two_phases):
    store, expert, _ = two_phases
    scored = [t for t in expert if t.steps][:5]
    store.tag("before-rm")
    steps_version = store.dataset("steps").version
    rows = [(t.traj_id, s.step, 1.0 if t.outcome.success else -1.0) for t in scored for s in t.steps]
    v = store.write_rewards(rows, reward_model="rm-lam3", reward_model_version=1)
    assert store.dataset("steps").version == steps_version  # steps untouched
    assert store.dataset("rewards").version == v
    got = store.steps(traj_id=[t.traj_id for t in scored], reward_model="rm-lam3",
                      columns=["traj_id", "step", "reward"]).to_pylist()  # fmt: skip
    assert sorted((r["traj_id"], r["step"], r["reward"]) for r in got) == sorted(rows)
    # unscored steps read null; without reward_model the original (null) column is read
    other = store.steps(reward_model="rm-lam3", columns=["traj_id", "reward"]).to_pylist()
    assert all(r["reward"] is None for r in other if r["traj_id"] not in {t.traj_id for t in scored})
    assert all(r is None for r in store.steps(columns=["reward"]).column("reward").to_pylist())
    # the earlier tag pins the rewards version before the model wrote: it still reads the original
    with pytest.raises(StoreError, match="wrote no rewards in this snapshot"):
        store.steps(tag="before-rm", reward_model="rm-lam3")
    assert store.reward_models() == {"rm-lam3": [1]}


def test_reward_versions_and_rewrites(two_phases):
    store, expert, _ = two_phases
    t = next(t for t in expert if len(t.steps) >= 2)
    store.write_rewards([(t.traj_id, 0, 0.1), (t.traj_id, 1, 0.2)], reward_model="rm", reward_model_version=1)
    store.write_rewards(
        [{"traj_id": t.traj_id, "step": 0, "reward": 0.9}], reward_model="rm", reward_model_version=2
    )
    store.write_rewards([(t.traj_id, 1, 0.25)], reward_model="rm", reward_model_version=1)  # rewrite wins

    def read(**kw):
        return {
            r["step"]: r["reward"]
            for r in store.steps(
                traj_id=t.traj_id, reward_model="rm", columns=["step", "reward"], **kw
            ).to_pylist()
            if r["step"] < 2
        }

    assert read() == {0: pytest.approx(0.9), 1: None}  # the newest model version by default
    assert read(reward_model_version=1) == {0: pytest.approx(0.1), 1: pytest.approx(0.25)}
    store.tag("scored", reward_model="rm", reward_model_version=1)
    tagged = {r["step"]: r["reward"] for r in store.steps(tag="scored", traj_id=t.traj_id,
                                                          columns=["step", "reward"]).to_pylist()}  # fmt: skip
    assert tagged[0] == pytest.approx(0.1)


def test_bad_rewards_are_rejected(two_phases):
    store, expert, _ = two_phases
    t = next(t for t in expert if t.steps)
    with pytest.raises(InvalidRecord, match="unknown trajectory"):
        store.write_rewards([("nope", 0, 1.0)], reward_model="rm")
    with pytest.raises(InvalidRecord, match=f"step 99 of '{t.traj_id}'"):
        store.write_rewards([(t.traj_id, 99, 1.0)], reward_model="rm")
    with pytest.raises(InvalidRecord, match="finite"):
        store.write_rewards([(t.traj_id, 0, float("inf"))], reward_model="rm")
    with pytest.raises(InvalidRecord, match="reward_model"):
        store.write_rewards([(t.traj_id, 0, 1.0)], reward_model="")
    assert store.dataset("rewards").count_rows() == 0


def test_tag_info_is_json_friendly(two_phases):
    store, _, _ = two_phases
    d = store.tag("collect-expert", phase=["collect"], success=True).to_dict()
    assert json.loads(json.dumps(d))["selection"] == {"phase": "collect", "success": True}
