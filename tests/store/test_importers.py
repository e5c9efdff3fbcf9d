"""Importers of the public formats and exporters. Fixtures: ``ufo_dataflow``/``gui360`` (a mix of good
and malformed records), ``ufo_results`` (a UFO ``results/`` tree shaped like microsoft/UFO's dataflow
writes it: a run that raised, its passing re-run in another stage folder, a timeout, an unsure verdict,
an instantiation that failed its judge, an instantiation error)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lam_rl.store import EmptySelection, InvalidRecord, StoreError
from lam_rl.store.export import export
from lam_rl.store.importers import import_path

from .conftest import local_and_az

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
    o = {r["traj_id"].rsplit("-", 1)[0]: r for r in store.outcomes().to_pylist()}
    assert sorted(o) == ["ufo-12", "ufo-31", "ufo-5"]  # ufo-<unique_id>-<attempt>
    assert o["ufo-5"]["success"] and o["ufo-5"]["complete"] == "yes" and o["ufo-5"]["template"] == "bulleted"
    assert not o["ufo-31"]["success"] and o["ufo-31"]["failure_kind"] == "invalid_action"
    assert o["ufo-12"]["policy"] == "gpt-4o" and o["ufo-12"]["duration_s"] == pytest.approx(26.81)
    assert json.loads(o["ufo-5"]["sub_scores"]) == {
        "text selection": "yes",
        "bulleted list conversion": "yes",
    }
    steps = store.steps(task_id="5").to_pylist()
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


@local_and_az
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


# ---------------------------------------------------------------- real UFO runs: failures, re-runs, kept fields

UFO = FIX / "ufo_results"


def _ufo_outcomes(store) -> dict[str, dict]:
    return {r["traj_id"]: r for r in store.outcomes().to_pylist()}


def test_a_ufo_run_that_raised_is_a_failed_trajectory_with_its_error(store):
    """UFO writes a run that raised as ``result: null`` + ``error: {type, message, traceback}`` under
    ``execution_fail/`` (the old importer made it a task plan only, the error gone)."""
    import_path(store, "ufo-dataflow", UFO / "dataflow" / "execution_fail")
    o = {r["task_id"]: r for r in _ufo_outcomes(store).values()}
    assert sorted(o) == ["13", "5", "7"]
    bullets = o["5"]
    assert (bullets["success"], bullets["complete"], bullets["failure_kind"]) == (False, "no", "error")
    assert bullets["reason"].startswith("RuntimeError: Execution failed. Step 2 execution failed.")
    extra = json.loads(bullets["extra"])
    assert extra["execution_error"]["type"] == "RuntimeError"
    assert extra["execution_error"]["traceback"].startswith("Traceback (most recent call last)")
    assert extra["folder"] == "execution_fail" and extra["source_file"].endswith("bulleted.json")
    # the step that failed ends the trajectory; the step UFO never reached (Success null) is not a step
    steps = store.steps(task_id="5", columns=["step", "function", "ok", "status", "plan"]).to_pylist()
    assert [(s["function"], s["ok"], s["status"]) for s in steps] == [
        ("select_text", True, "CONTINUE"),
        ("click_input", False, "FINISH"),
    ]
    assert steps[1]["plan"] == ["Save the document"]
    timeout = o["7"]  # a TimeoutError before the first step: a failed trajectory with no steps
    assert (timeout["failure_kind"], timeout["num_steps"]) == ("timeout", 0)
    assert timeout["reason"] == "TimeoutError: Word did not respond within 60 seconds"
    chart = json.loads(o["13"]["extra"])  # the prefill stage failed first: its error is kept too
    assert chart["instantiation_errors"]["prefill"]["error_message"].startswith("Expecting value")
    assert o["13"]["reason"] == "TypeError: 'NoneType' object is not iterable"


def test_every_attempt_of_a_task_is_its_own_trajectory(store):
    """The failed run (dataflow/execution_fail) and its passing re-run (execution/execution_pass) of
    task 5: both kept, neither merged (the old importer kept the failure and dropped the success)."""
    report = import_path(store, "ufo-dataflow", UFO)
    assert (report.trajectories, report.taskplans, report.duplicates, report.issues) == (5, 5, 0, [])
    runs = sorted(
        (r["success"], r["traj_id"], r["num_steps"])
        for r in _ufo_outcomes(store).values()
        if r["task_id"] == "5"
    )
    assert [(ok, n) for ok, _, n in runs] == [(False, 2), (True, 3)]
    assert runs[0][1] != runs[1][1] and all(t.startswith("ufo-5-") for _, t, _ in runs)
    # the attempt id comes from the file's content: the same files from another root add nothing
    again = import_path(store, "ufo-dataflow", UFO / "execution")
    assert (again.trajectories, again.duplicates) == (0, 1)
    # an unsure verdict is a failure with its own kind; a failed instantiation is a task plan only
    unsure = next(r for r in _ufo_outcomes(store).values() if r["task_id"] == "9")
    assert (unsure["complete"], unsure["failure_kind"], unsure["success"]) == ("unsure", "unsure", False)
    assert "11" not in {r["task_id"] for r in _ufo_outcomes(store).values()}
    assert store.taskplans(task_id="11").num_rows == 1


def test_ufo_judge_and_time_costs_are_kept_as_written(store):
    import_path(store, "ufo-dataflow", UFO / "execution")
    (o,) = _ufo_outcomes(store).values()
    extra = json.loads(o["extra"])
    assert extra["instantiation_evaluation"]["result"] == {
        "judge": True,
        "thought": "The task is specific and can be executed locally in Word.",
        "request_type": "None",
    }
    assert extra["time_cost"] == {
        "choose_template": 0.012,
        "prefill": 15.649,
        "instantiation_evaluation": 2.469,
        "execute": 5.824,
        "execute_eval": 8.702,
        "total": 74.729,
    }  # floats exactly as written (duration_s is float32: 74.729 is only close to it)
    assert o["duration_s"] == pytest.approx(74.729)
    (t,) = store.trajectories()
    assert t.outcome.extra["time_cost"]["total"] == 74.729  # Python records decode it too


def _gui360_line(**step_fields) -> dict:
    """word_4s_1's first line as a whole one-step execution."""
    line = json.loads((FIX / "gui360" / "part-0.jsonl").read_text().splitlines()[0])
    line["total_steps"] = 1
    line["step"].update(step_fields)
    return line


def test_gui360_screenshots_actions_and_evidence_are_kept(store, tmp_path):
    line = _gui360_line(
        screenshot_clean="images/word_4s_1/action_step1.png",
        screenshot_desktop="s3://bucket/gui360/word_4s_1/desktop1.png",
        screenshot_annotated="",
        tags=["action_prediction", "grounding"],
    )
    line["step"]["action"].update(
        action_type="GUI",
        coordinate_x=0.1 + 0.2,  # 0.30000000000000004: stored as given
        coordinate_y=1e-7,
        rectangle={"left": 10, "top": 20, "right": 40, "bottom": 50},
        desktop_rectangle={"left": 10.5, "top": 20, "right": 40, "bottom": 50},
    )
    line["evaluation"]["evidence"] = {"screenshot": "final", "checks": [1.5, None, "yes"]}
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    import_path(store, "gui360", tmp_path / "in.jsonl")
    (t,) = store.trajectories()
    step = t.steps[0].extra
    assert step["screenshots"] == {
        "clean": "images/word_4s_1/action_step1.png",
        "desktop": "s3://bucket/gui360/word_4s_1/desktop1.png",
    }
    assert step["action"]["action_type"] == "GUI" and step["action"]["coordinate_x"] == 0.1 + 0.2
    assert step["action"]["coordinate_y"] == 1e-7
    assert step["action"]["rectangle"] == {"left": 10, "top": 20, "right": 40, "bottom": 50}
    assert step["action"]["desktop_rectangle"]["left"] == 10.5
    assert step["tags"] == ["action_prediction", "grounding"] and step["step_id"] == 1
    assert t.outcome.extra["evaluation"]["evidence"] == {"screenshot": "final", "checks": [1.5, None, "yes"]}


# ---------------------------------------------------------------- nothing to import, hostile values


def test_an_import_of_nothing_raises_and_creates_no_store(tmp_path):
    from lam_rl.store import TrajectoryStore
    from lam_rl.store.importers import NothingImported

    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.jsonl").write_text("\n\n  \n")
    uri = tmp_path / "new-store"
    for name in ("empty.jsonl", "blank.jsonl"):
        with pytest.raises(NothingImported, match="hold no gui360 records"):
            import_path(TrajectoryStore(uri), "gui360", tmp_path / name)
    (tmp_path / "bad.jsonl").write_text('{"execution_id": "x"}\nnot json\n')
    with pytest.raises(NothingImported, match=r"(?s)all 2 record\(s\) are malformed.*bad\.jsonl:1: step_id"):
        import_path(TrajectoryStore(uri), "gui360", tmp_path / "bad.jsonl")
    assert not uri.exists()


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda r: r.__setitem__("request", "bold \ud800 text"), "request"),
        (
            lambda r: r["step"]["action"].__setitem__("control_label", "99999999999"),
            "step.action.control_label",
        ),
        (lambda r: r["step"]["action"].__setitem__("control_label", "²"), "step.action.control_label"),
        (lambda r: r["step"]["action"]["args"].__setitem__("n", float("nan")), "step.action.args.n"),
        (lambda r: r["step"].__setitem__("tags", _deep(80)), "step.tags"),
        (
            lambda r: r["step"]["control_infos"]["uia_controls_info"][0].__setitem__(
                "control_rect", [1e400, 0, 1, 1]
            ),
            "step.control_infos.uia_controls_info[0].control_rect[0]",
        ),
        (lambda r: r["evaluation"].__setitem__("evidence", "\udfff"), "evaluation.evidence"),
    ],
)
def test_hostile_values_are_an_issue_naming_the_field_and_change_nothing(tmp_path, mutate, field):
    """Each of these crashed the old importer (UnicodeEncodeError, ValueError, RecursionError) or
    stored a value the store cannot hold; now: an issue naming the field, the store untouched."""
    from lam_rl.store import TrajectoryStore
    from lam_rl.store.importers import NothingImported

    line = _gui360_line()
    mutate(line)
    (tmp_path / "in.jsonl").write_text(json.dumps(line) + "\n")
    uri = tmp_path / "s"
    with pytest.raises(NothingImported, match=re.escape(field)):
        import_path(TrajectoryStore(uri), "gui360", tmp_path / "in.jsonl")
    assert not uri.exists()


def _deep(n: int):
    x: list = []
    for _ in range(n):
        x = [x]
    return x


def test_bytes_that_are_not_utf8_are_an_issue_per_line(store, tmp_path):
    good = json.dumps(_gui360_line()).encode()
    (tmp_path / "in.jsonl").write_bytes(b'{"execution_id": "w\xff"}\n' + good + b"\n")
    report = import_path(store, "gui360", tmp_path / "in.jsonl")
    assert report.trajectories == 1 and [(i.line, i.field) for i in report.issues] == [(1, "<line>")]
    assert "not UTF-8" in report.issues[0].message


def test_import_and_export_show_progress(store, tmp_path, capsys):
    import_path(store, "ufo-dataflow", UFO, show_progress=True)
    assert "import ufo-dataflow" in capsys.readouterr().err
    export(store, tmp_path / "o.parquet", show_progress=True)
    assert "export steps" in capsys.readouterr().err
    import_path(store, "ufo-dataflow", UFO)  # quiet unless on a terminal (CI, pytest)
    assert capsys.readouterr().err == ""
