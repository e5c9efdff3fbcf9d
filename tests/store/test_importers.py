"""Importers of the public formats (fixtures written from PAPER.md's descriptions) and exporters."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lam_rl.store import EmptySelection, InvalidRecord, StoreError
from lam_rl.store.export import export
from lam_rl.store.importers import import_path

FIX = Path(__file__).parent / "fixtures"


def test_ufo_dataflow_imports_and_reports_malformed_records(store):
    report = import_path(store, "ufo-dataflow", FIX / "ufo_dataflow", phase="collect", policy="gpt-4o")
    assert (report.files, report.trajectories, report.steps, report.taskplans) == (7, 3, 8, 4)
    issues = {Path(i.file).name: i.field for i in report.issues}
    assert issues == {
        "40.json": "execution_result.result.complete",
        "41.json": "instantiation_result.prefill.result.instantiated_plan[1].ControlLabel",
        "77.json": "<file>",
    }
    o = {r["traj_id"]: r for r in store.outcomes().to_pylist()}
    assert sorted(o) == ["ufo-12", "ufo-31", "ufo-5"]
    assert o["ufo-5"]["success"] and o["ufo-5"]["complete"] == "yes" and o["ufo-5"]["template"] == "bulleted"
    assert not o["ufo-31"]["success"] and o["ufo-31"]["failure_kind"] == "invalid_action"
    assert o["ufo-12"]["policy"] == "gpt-4o" and o["ufo-12"]["duration_s"] == pytest.approx(26.81)
    assert json.loads(o["ufo-5"]["sub_scores"]) == {
        "text selection": "yes",
        "bulleted list conversion": "yes",
    }
    steps = store.steps(traj_id="ufo-5").to_pylist()
    assert [
        (s["step"], s["function"], s["control_label"], s["control_text"], s["status"]) for s in steps
    ] == [
        (0, "select_text", None, "", "CONTINUE"),
        (1, "click_input", 61, "Bullets", "FINISH"),
    ]
    assert steps[0]["plan"] == ["Click the Bullets button in the Paragraph group on the Home tab"]
    assert json.loads(steps[0]["args"]) == {"text": "text to edit"}
    assert steps[0]["request"] == "Turn the line of text 'text to edit' into a bulleted list in Word."
    plans = {r["task_id"]: r for r in store.taskplans().to_pylist()}
    assert sorted(plans) == ["12", "31", "5", "50"]  # 50 was instantiated but never executed: a plan only
    assert plans["12"]["plan"][0] == "1. Open the Design tab" and plans["12"]["source"] == "ufo-dataflow"
    again = import_path(store, "ufo-dataflow", FIX / "ufo_dataflow")
    assert (again.trajectories, again.duplicates, again.taskplans) == (
        0,
        3,
        0,
    )  # importing twice adds nothing


def test_gui360_groups_steps_across_files_and_drops_broken_executions(store):
    report = import_path(store, "gui360", FIX / "gui360", split="eval")
    assert (report.trajectories, report.steps, report.taskplans) == (2, 5, 2)
    found = {(Path(i.file).name, i.line, i.field) for i in report.issues}
    assert found == {
        ("part-0.jsonl", 5, "<line>"),
        ("part-0.jsonl", 6, "step_id"),
        ("part-1.jsonl", 2, "step.control_infos.uia_controls_info[1].control_rect"),
        ("part-0.jsonl", 7, "step_id"),  # excel_4s_9 misses step 2: never half-imported
    }
    t = {x.traj_id: x for x in store.trajectories()}
    assert sorted(t) == ["gui360-word_4s_1", "gui360-word_4s_2"]
    w1 = t["gui360-word_4s_1"]
    assert w1.outcome.success and w1.outcome.split == "eval" and w1.outcome.app == "word"
    assert [s.function for s in w1.steps] == ["click_input", "select_text", "click_input"]
    assert [s.control_label for s in w1.steps] == [3, None, 5]
    assert w1.steps[0].controls[4] == {
        "label": 5,
        "text": "Bold",
        "type": "Button",
        "rect": [200, 17, 230, 46],
        "window": None,
    }
    assert w1.steps[-1].status == "FINISH" and w1.steps[0].plan == ["Select the heading", "Click Bold"]
    w2 = t["gui360-word_4s_2"]  # its second step is in the second file
    assert [s.step for s in w2.steps] == [0, 1] and not w2.outcome.success
    assert w2.steps[1].status == "FINISH"  # OVERALL_FINISH
    assert store.taskplans(task_id="word_4s_1").to_pylist()[0]["plan"] == [
        "Open Home",
        "Select the heading",
        "Click Bold",
    ]


def test_strict_imports_nothing_when_any_record_is_malformed(store):
    with pytest.raises(
        InvalidRecord, match=r"(?s)3 malformed record\(s\).*40\.json: execution_result\.result\.complete"
    ):
        import_path(store, "ufo-dataflow", FIX / "ufo_dataflow", strict=True)
    assert store.outcomes(allow_empty=True).num_rows == 0 and store.taskplans(allow_empty=True).num_rows == 0
    good = import_path(store, "ufo-dataflow", FIX / "ufo_dataflow" / "execution_pass", strict=True)
    assert good.trajectories == 2 and not good.issues


def test_import_input_errors(store, tmp_path):
    with pytest.raises(StoreError, match="unknown import format"):
        import_path(store, "csv", FIX)
    with pytest.raises(StoreError, match="does not exist"):
        import_path(store, "gui360", tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no data here")
    with pytest.raises(StoreError, match="no gui360 files"):
        import_path(store, "gui360", tmp_path / "empty")


def test_export_parquet_and_jsonl(store, trajs, tmp_path):
    store.write(trajs)
    res = export(store, tmp_path / "out" / "ok.parquet", success=True)
    table = pq.read_table(res.path)
    assert res.rows == table.num_rows == store.count("steps", success=True)
    assert "write_id" not in table.column_names and set(table.column("success").to_pylist()) == {True}
    res = export(
        store, tmp_path / "o.jsonl", table="outcomes", columns=["traj_id", "sub_scores", "created_at"]
    )
    rows = [json.loads(line) for line in Path(res.path).read_text().splitlines()]
    assert len(rows) == 60 and isinstance(rows[0]["sub_scores"], dict) and "T" in rows[0]["created_at"]
    res = export(store, tmp_path / "t.jsonl", table="trajectories", phase="collect")
    first = json.loads(Path(res.path).read_text().splitlines()[0])
    assert first["num_steps"] == len(first["steps"]) and res.rows == 60
    assert list(tmp_path.glob(".*tmp*")) == [] and list((tmp_path / "out").glob(".*")) == []


def test_export_leaves_nothing_behind_on_error(store, trajs, tmp_path):
    store.write(trajs)
    out = tmp_path / "exports"
    with pytest.raises(EmptySelection):
        export(store, out / "none.parquet", phase="explore")
    assert list(out.iterdir()) == []
    with pytest.raises(StoreError, match="cannot tell the export format"):
        export(store, tmp_path / "x.csv")
    with pytest.raises(StoreError, match="nested JSONL only"):
        export(store, tmp_path / "x.parquet", table="trajectories")
    empty = export(store, tmp_path / "e.parquet", phase="explore", allow_empty=True, columns=["traj_id"])
    assert empty.rows == 0 and pq.read_table(empty.path).column_names == ["traj_id"]
