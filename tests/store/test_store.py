"""The store's reads and its exactly-once, whole-or-nothing write protocol."""

from __future__ import annotations

import lance
import pyarrow as pa
import pytest

from lam_rl.config import ConfigError
from lam_rl.store import (
    EmptySelection,
    Snapshot,
    StoreError,
    StoreNotFound,
    TaskPlanRecord,
    TrajectoryStore,
)
from lam_rl.store.encode import EncodedTrajectories
from lam_rl.store.synthetic import make_trajectory

from .conftest import local_and_az, visible


def expected_steps(trajs, pred=lambda t: True):
    return {t.traj_id: list(range(len(t.steps))) for t in trajs if pred(t) and t.steps}


@local_and_az
def test_write_then_read_everything(store, trajs):
    r = store.write(trajs)
    assert (r.trajectories, r.duplicates, r.commits) == (60, 0, 2)
    assert r.steps == sum(len(t.steps) for t in trajs)
    assert store.outcomes().num_rows == 60
    assert visible(store) == expected_steps(trajs)
    assert "write_id" not in store.steps().column_names  # internal column stays hidden
    assert store.count("steps") == r.steps and store.count("outcomes") == 60


@local_and_az
def test_resending_never_duplicates(store, trajs):
    store.write(trajs[:40])
    r = store.write(trajs[20:] + trajs[:5] + trajs[50:52])  # overlaps the first batch and itself
    assert r.trajectories == 20
    assert r.duplicates == 27
    assert sorted(store.outcomes(columns=["traj_id"]).column("traj_id").to_pylist()) == sorted(
        t.traj_id for t in trajs
    )
    assert visible(store) == expected_steps(trajs)
    assert store.write(trajs).trajectories == 0


@local_and_az
def test_filters_select_like_python_would(store, trajs):
    for i, t in enumerate(trajs):
        t.outcome.policy_version = i % 3
    store.write(trajs)
    cases = [
        ({"success": True}, lambda t: t.outcome.success),
        (
            {"success": False, "family": "bold_text"},
            lambda t: not t.outcome.success and t.outcome.family == "bold_text",
        ),
        ({"policy_version": [0, 2]}, lambda t: t.outcome.policy_version in (0, 2)),
        ({"split": "eval"}, lambda t: t.outcome.split == "eval"),  # an outcome-only column, applied to steps
        ({"failure_kind": "vm_error"}, lambda t: t.outcome.failure_kind == "vm_error"),
        ({"phase": "collect", "policy": "expert"}, lambda t: True),
    ]
    for filters, pred in cases:
        assert visible(store, **filters) == expected_steps(trajs, pred), filters
        got = sorted(store.outcomes(allow_empty=True, **filters).column("traj_id").to_pylist())
        assert got == sorted(t.traj_id for t in trajs if pred(t)), filters
    finish = store.steps(status="FINISH", columns=["traj_id", "step"]).to_pylist()
    assert sorted((r["traj_id"], r["step"]) for r in finish) == sorted(
        (t.traj_id, len(t.steps) - 1) for t in trajs if t.steps
    )
    clicks = store.steps(where="function = 'click_input' AND step < 2", columns=["function", "step"])
    assert clicks.num_rows and set(clicks.column("function").to_pylist()) == {"click_input"}


def test_projection_and_bad_arguments(store, trajs):
    store.write(trajs)
    t = store.steps(columns=["traj_id", "controls"])
    assert t.column_names == ["traj_id", "controls"]
    assert t.schema.field("controls").type.value_type.names == ["label", "text", "type", "rect", "window"]
    with pytest.raises(StoreError, match="unknown column"):
        store.steps(columns=["nope"])
    with pytest.raises(StoreError, match="unknown filter 'source' for outcomes"):
        store.outcomes(source="x")
    with pytest.raises(StoreError, match="takes true/false"):
        store.steps(success="yes")
    with pytest.raises(StoreError, match="takes integers"):
        store.steps(policy_version="2")
    with pytest.raises(StoreError, match="either tag= or version="):
        store.steps(tag="a", version=store.snapshot())


def test_empty_selection_raises_a_clear_config_error(store, trajs):
    store.write(trajs)
    with pytest.raises(EmptySelection, match="no steps match phase='explore'.*jobs.explore") as e:
        store.steps(phase="explore")
    assert isinstance(e.value, ConfigError)
    empty = store.steps(phase="explore", columns=["traj_id", "step"], allow_empty=True)
    assert empty.num_rows == 0 and empty.column_names == ["traj_id", "step"]
    with pytest.raises(EmptySelection):
        list(store.iter_batches("outcomes", family="no-such-family"))


def test_a_missing_store_is_reported_not_created(tmp_path):
    with pytest.raises(StoreNotFound, match="no trajectory store at") as e:
        TrajectoryStore(tmp_path / "nowhere", create=False)
    assert isinstance(e.value, ConfigError)
    assert not (tmp_path / "nowhere").exists()


@local_and_az
def test_a_snapshot_is_a_stable_view(store, trajs):
    store.write(trajs[:30])
    snap = store.snapshot()
    before = visible(store, version=snap)
    store.write(trajs[30:])
    assert visible(store, version=snap) == before == expected_steps(trajs[:30])
    assert visible(store) == expected_steps(trajs)
    again = Snapshot.coerce(snap.to_dict())
    assert store.outcomes(version=again).num_rows == 30
    with pytest.raises(StoreError, match="must name every table"):
        Snapshot.coerce({"steps": 1})


@local_and_az
def test_steps_committed_without_their_outcome_are_invisible(store, trajs):
    """A writer killed between its two commits leaves steps nobody sees; a re-send writes it once."""
    store.write(trajs[:10])
    crashed = EncodedTrajectories.of(trajs[10:20])
    store.core.append("steps", crashed.steps, retries=0)  # the first commit of a write that then died
    assert visible(store) == expected_steps(trajs[:10])
    assert store.outcomes().num_rows == 10
    r = store.write(trajs[10:20])  # the retried worker re-sends
    assert r.trajectories == 10
    assert visible(store) == expected_steps(trajs[:20])
    assert store.count("steps") == sum(len(t.steps) for t in trajs[:20])
    assert store.dataset("steps").count_rows() > store.count("steps")  # orphans stay on disk
    assert len(list(store.trajectories())) == 20


@local_and_az
def test_racing_writers_resolve_to_one_copy(store, trajs):
    """Two writers that both passed the 'already committed?' check commit the same traj_id."""
    a = EncodedTrajectories.of(trajs[:5])
    b = EncodedTrajectories.of(trajs[:5])
    for enc in (b, a):  # the later-encoded copy commits first
        store.core.append("steps", enc.steps, retries=0)
        store.core.append("outcomes", enc.outcomes, retries=0)
    assert store.outcomes().num_rows == 5
    assert visible(store) == expected_steps(trajs[:5])
    winners = set(store.outcomes(columns=["write_id"]).column("write_id").to_pylist())
    assert winners == set(a.outcomes.column("write_id").to_pylist())  # smallest write_id wins
    assert [t.traj_id for t in store.trajectories()] == sorted(t.traj_id for t in trajs[:5])


def test_a_retried_outcome_commit_is_read_once(store, trajs):
    enc = EncodedTrajectories.of(trajs[:3])
    store.core.append("steps", enc.steps, retries=0)
    store.core.append("outcomes", enc.outcomes, retries=0)
    store.core.append("outcomes", enc.outcomes, retries=0)  # same rows twice (the first 'failed' but landed)
    assert store.outcomes().num_rows == 3
    assert visible(store) == expected_steps(trajs[:3])
    assert len(list(store.trajectories())) == 3


def test_streaming_batches(store, trajs):
    store.write(trajs)
    batches = list(store.iter_batches("steps", columns=["traj_id", "step"], batch_rows=50))
    assert all(b.num_rows <= 50 for b in batches)
    assert sum(b.num_rows for b in batches) == store.count("steps")
    assert all(isinstance(b, pa.RecordBatch) for b in batches)


def test_trajectories_come_whole_and_ordered(store, trajs):
    store.write(trajs)
    got = list(store.trajectories(success=True))
    assert [t.traj_id for t in got] == sorted(t.traj_id for t in trajs if t.outcome.success)
    for t in got:
        assert [s.step for s in t.steps] == list(range(t.outcome.num_steps))


def test_taskplans_are_added_once_and_filtered(store):
    recs = [TaskPlanRecord(f"t{i}", f"task {i}", [f"1. do {i}"], source="seed" if i % 2 else "evolved",
                           evolved_from=None if i % 2 else f"t{i + 1}") for i in range(10)]  # fmt: skip
    assert store.add_taskplans(recs) == 10
    assert store.add_taskplans(recs[:4] + [TaskPlanRecord("t99", "new", [])]) == 1
    assert store.taskplans().num_rows == 11
    assert sorted(store.taskplans(source="evolved").column("task_id").to_pylist()) == [
        "t0",
        "t2",
        "t4",
        "t6",
        "t8",
    ]
    assert store.taskplans(task_id="t3").to_pylist()[0]["plan"] == ["1. do 3"]


def test_the_store_pickles_by_uri(store, trajs):
    import pickle

    store.write(trajs[:3])
    clone = pickle.loads(pickle.dumps(store))
    assert clone.uri == store.uri and clone.outcomes().num_rows == 3


def test_newer_schema_versions_are_refused(tmp_path):
    from lam_rl.store import SchemaMismatch, schemas

    root = tmp_path / "s"
    TrajectoryStore(root).create()
    newer = schemas.STEPS.with_metadata({**schemas.STEPS.metadata, schemas.VERSION_KEY: b"99"})
    lance.write_dataset(newer.empty_table(), str(root / "steps.lance"), mode="overwrite")
    with pytest.raises(SchemaMismatch, match="schema version 99"):
        TrajectoryStore(root)


def test_object_store_uris_pass_through(tmp_path):
    s = TrajectoryStore(f"file://{tmp_path}/remote", {"timeout": "30s"})
    s.write([make_trajectory(1, steps=2)])
    assert s.table_uri("steps") == f"file://{tmp_path}/remote/steps.lance"
    assert TrajectoryStore(str(tmp_path / "remote"), create=False).count("steps") == 2
