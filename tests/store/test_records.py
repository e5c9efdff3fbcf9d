"""Schemas, records and their Arrow encoding."""

from __future__ import annotations

import dataclasses
import json

import lance
import pyarrow as pa
import pytest

from lam_rl.config import ConfigError
from lam_rl.env.protocol import Control, TaskSpec
from lam_rl.store import (
    SCHEMA_VERSION,
    InvalidRecord,
    Outcome,
    StepRecord,
    TaskPlanRecord,
    Trajectory,
    schemas,
)
from lam_rl.store.encode import EncodedTrajectories, encode_trajectories
from lam_rl.store.synthetic import make_trajectory


def test_every_dataset_records_its_table_and_schema_version(store):
    for table in schemas.TABLES:
        ds = lance.dataset(store.table_uri(table))
        assert schemas.schema_version_of(ds.schema) == SCHEMA_VERSION
        assert ds.schema.metadata[schemas.TABLE_KEY] == table.encode()
        assert ds.schema.names == schemas.SCHEMAS[table].names


def test_contract_columns_and_types():
    steps = schemas.STEPS
    assert steps.field("controls").type == pa.list_(
        pa.struct(
            [
                ("label", pa.int32()),
                ("text", pa.string()),
                ("type", pa.string()),
                ("rect", pa.list_(pa.int32())),
                ("window", pa.string()),
            ]
        )
    )
    assert steps.field("policy_version").type == pa.int64()
    assert steps.field("step").type == pa.int32()
    assert steps.field("reward").type == pa.float32() and steps.field("reward").nullable
    assert steps.field("created_at").type == pa.timestamp("us", tz="UTC")
    for name in ("traj_id", "task_id", "family", "app", "phase", "policy", "request", "canvas", "thought",
                 "control_label", "control_text", "function", "args", "status", "plan", "ok", "error", "valid",
                 "raw", "success", "latency_ms", "step_ms"):  # fmt: skip
        assert name in steps.names
    for name in ("traj_id", "task_id", "family", "app", "template", "split", "phase", "policy", "policy_version",
                 "attempt", "success", "complete", "reason", "sub_scores", "failure_kind", "num_steps",
                 "num_invalid", "duration_s", "task", "worker", "vm", "created_at"):  # fmt: skip
        assert name in schemas.OUTCOMES.names
    assert schemas.TASKPLANS.names[:8] == [
        "task_id", "app", "family", "source", "task", "plan", "evolved_from", "split",
    ]  # fmt: skip


def test_round_trip_through_the_store(store):
    t = make_trajectory(3, seed=9, steps=4)
    t.outcome.task = TaskSpec(
        task_id="t", family="bold_text", template="blank", request="Bold it", plan=["1. x"]
    )
    store.write([t])
    (back,) = store.trajectories()
    assert back.outcome.traj_id == t.traj_id and back.outcome.num_steps == 4
    assert back.outcome.task["request"] == "Bold it" and back.outcome.sub_scores == t.outcome.sub_scores
    for a, b in zip(back.steps, t.steps, strict=True):
        assert (a.step, a.function, a.args, a.controls, a.plan, a.status, a.valid, a.ok) == (
            b.step, b.function, b.args, b.controls, b.plan, b.status, b.valid, b.ok,
        )  # fmt: skip
        # trajectory-level columns come from the outcome
        assert (a.traj_id, a.phase, a.policy, a.success, a.family) == (
            t.traj_id, t.outcome.phase, t.outcome.policy, t.outcome.success, t.outcome.family,
        )  # fmt: skip
        assert a.latency_ms == pytest.approx(b.latency_ms, rel=1e-6)


def test_zero_step_trajectory_is_an_outcome_without_steps(store):
    dead = Trajectory(
        Outcome("vm-died", "task-1", phase="collect", failure_kind="vm_error", reason="VM lost")
    )
    store.write([dead])
    o = store.outcomes(traj_id="vm-died").to_pylist()[0]
    assert o["num_steps"] == 0 and o["failure_kind"] == "vm_error"
    assert store.steps(traj_id="vm-died", allow_empty=True).num_rows == 0
    assert list(store.trajectories(traj_id="vm-died"))[0].steps == []


def test_control_objects_encode_like_dicts():
    c = Control(label=3, text="Bold", type="Button", rect=(1, 2, 3, 4), window=None)
    as_obj = make_trajectory(0, steps=1)
    as_obj.steps[0].controls = [c]
    as_dict = make_trajectory(0, steps=1)
    as_dict.steps[0].controls = [{"label": 3, "text": "Bold", "type": "Button", "rect": [1, 2, 3, 4]}]
    a = encode_trajectories([as_obj], ["w"])[1].column("controls")
    b = encode_trajectories([as_dict], ["w"])[1].column("controls")
    assert a.equals(b)


def test_columnar_encoding_matches_row_encoding():
    trajs = [make_trajectory(i, seed=4) for i in range(12)]
    _, steps = encode_trajectories(trajs, [f"w{i}" for i in range(12)])
    rows = [r for i, t in enumerate(trajs) for r in t.rows(f"w{i}", steps.column("created_at")[0].as_py())[1]]
    assert steps.equals(pa.Table.from_pylist(rows, schema=schemas.STEPS))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: setattr(t.steps[1], "step", 5), "numbered 0..n-1"),
        (lambda t: setattr(t.steps[0], "status", "DONE"), "status must be one of"),
        (lambda t: setattr(t.outcome, "split", "test"), "split must be one of"),
        (lambda t: setattr(t.outcome, "complete", "maybe"), "complete must be one of"),
        (lambda t: setattr(t.steps[0], "traj_id", "other"), r"steps\[0\]\.traj_id"),
        (lambda t: setattr(t.steps[0], "reward", float("nan")), "reward must be finite"),
        (lambda t: setattr(t.outcome, "traj_id", ""), "traj_id must be a non-empty string"),
    ],
)
def test_bad_trajectories_are_rejected_with_the_reason(mutate, message):
    t = make_trajectory(1, steps=3)
    mutate(t)
    with pytest.raises(InvalidRecord, match=message) as e:
        t.check()
    assert isinstance(e.value, ConfigError)


def test_encoding_errors_name_trajectory_step_and_field():
    t = make_trajectory(1, steps=3)
    t.steps[2].latency_ms = "slow"
    with pytest.raises(InvalidRecord, match=r"trajectory 'syn-0-1' step 2: field 'latency_ms'"):
        EncodedTrajectories.of([t])
    t = make_trajectory(1, steps=1)
    t.steps[0].args = {"x": object()}
    with pytest.raises(InvalidRecord, match="args must be JSON-serialisable"):
        EncodedTrajectories.of([t])


def test_encoded_batches_keep_steps_tied_to_their_outcome_under_new_ids():
    enc = EncodedTrajectories.of([make_trajectory(i, steps=2) for i in range(3)])
    new = enc.with_new_write_ids().validate()
    assert set(new.outcomes.column("write_id").to_pylist()).isdisjoint(
        enc.outcomes.column("write_id").to_pylist()
    )
    pairs = lambda e: sorted(  # noqa: E731
        zip(e.steps.column("traj_id").to_pylist(), e.steps.column("write_id").to_pylist(), strict=True)
    )
    by_traj = dict(zip(new.outcomes.column("traj_id").to_pylist(), new.outcomes.column("write_id").to_pylist(),
                       strict=True))  # fmt: skip
    assert all(by_traj[t] == w for t, w in pairs(new))
    bad = EncodedTrajectories(enc.outcomes, enc.steps.slice(0, 0).append_column("x", pa.array([], pa.int8())))
    with pytest.raises(InvalidRecord, match="schema"):
        bad.validate()


def test_taskplan_and_step_rows_round_trip():
    tp = TaskPlanRecord("t1", "Add a border", ["1. Design tab", "2. Page Borders"], source="seed")
    back_tp = TaskPlanRecord.from_row(tp.to_row())
    assert back_tp.created_at is not None  # to_row stamps the time it was written
    assert dataclasses.replace(back_tp, created_at=None) == tp
    s = StepRecord(step=0, function="click_input", args={"button": "left"}, control_label=4)
    back = StepRecord.from_row(s.to_row())
    assert back.args == {"button": "left"} and back.control_label == 4
    assert json.loads(s.to_row()["args"]) == {"button": "left"}
    with pytest.raises(InvalidRecord, match="split"):
        TaskPlanRecord("t2", "x", split="dev").check()


@pytest.mark.parametrize("complete,success", [("yes", True), ("no", False), ("unsure", False)])
def test_only_the_judges_yes_is_a_success(complete, success):
    from lam_rl.env.tasks import make_task

    o = Outcome.judged(traj_id="t", task_id="k", complete=complete, phase="collect")
    assert (o.success, o.complete, o.phase) == (success, complete, "collect")
    task = make_task("bold_text", 3)
    o = Outcome.of_task(task, traj_id="t2", complete=complete, vm="vm-1")
    assert (o.task_id, o.family, o.template, o.vm, o.success) == (
        task.task_id,
        task.family,
        task.template,
        "vm-1",
        success,
    )
    assert o.task == task.model_dump(mode="json")
