"""``lam-rl store ...``: readable output, JSON, exit codes; importing it pulls in neither Ray nor torch."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from jobs.cli import main

FIX = Path(__file__).parent / "fixtures"


def run(*args: str, ok: bool = True):
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert res.exit_code == 0, res.output
    return res


@pytest.fixture
def uri(store, trajs):
    store.write(trajs)
    return store.uri


def test_stats_json_has_the_contract_keys(uri, trajs):
    st = json.loads(run("store", "stats", "--store", uri, "--json").output)
    assert st["trajectories"] == 60 and st["steps"] == sum(len(t.steps) for t in trajs)
    assert set(st["by_phase"]) == {"collect"} and "histogram" in st["step_lengths"]
    only = json.loads(
        run("store", "stats", "--store", uri, "--json", "--success", "--family", "bold_text").output
    )
    assert only["trajectories"] == sum(t.outcome.success and t.outcome.family == "bold_text" for t in trajs)


def test_readable_tables(uri):
    out = run("store", "stats", "--store", uri).output
    assert "60 trajectories" in out and "by phase" in out and "steps per trajectory" in out
    out = run("store", "ls", "--store", uri).output
    assert "outcomes" in out and "no tags yet" in out
    out = run("store", "show", "--store", uri, "--table", "steps", "--limit", "3", "--failure").output
    assert "steps (3 shown)" in out and "traj_id" in out
    rows = run(
        "store", "show", "--store", uri, "--json", "--limit", "2", "--columns", "traj_id,success"
    ).output
    assert [set(json.loads(r)) for r in rows.splitlines()] == [{"traj_id", "success"}] * 2


def test_tag_then_read_by_tag(uri):
    out = run(
        "store", "tag", "collect-expert", "--store", uri, "--phase", "collect", "--policy", "expert"
    ).output
    assert out.startswith("tagged collect-expert: 60 trajectories")
    assert "collect-expert" in run("store", "tag", "--list", "--store", uri).output
    st = json.loads(run("store", "stats", "--store", uri, "--tag", "collect-expert", "--json").output)
    assert st["trajectories"] == 60 and st["tag"] == "collect-expert"
    res = run("store", "tag", "collect-expert", "--store", uri, ok=False)
    assert res.exit_code == 2 and "already exists" in res.output
    assert "deleted" in run("store", "tag", "collect-expert", "--delete", "--store", uri).output


def test_import_then_export(tmp_path):
    uri = str(tmp_path / "imported")
    res = run("store", "import", "--format", "ufo-dataflow", str(FIX / "ufo_dataflow"), "--store", uri)
    assert "imported 3 trajectories (8 steps) and 4 task plans" in res.output
    assert (
        "skipped malformed record" in res.output and "40.json: execution_result.result.complete" in res.output
    )
    out = tmp_path / "steps.parquet"
    assert "wrote 8 steps rows" in run("store", "export", "--store", uri, str(out)).output
    assert pq.read_table(out).num_rows == 8
    run(
        "store",
        "export",
        "--store",
        uri,
        str(tmp_path / "tp.jsonl"),
        "--table",
        "taskplans",
        "--source",
        "ufo-dataflow",
    )
    assert len((tmp_path / "tp.jsonl").read_text().splitlines()) == 4
    res = run(
        "store", "import", "--format", "gui360", str(FIX / "gui360"), "--store", uri, "--strict", ok=False
    )
    assert res.exit_code == 2 and "nothing was imported" in res.output


def test_user_errors_exit_2_with_a_hint(uri, tmp_path):
    res = run("store", "show", "--store", uri, "--tag", "explore-lam2", ok=False)
    assert res.exit_code == 2 and "jobs.explore" in res.output
    res = run("store", "stats", "--store", str(tmp_path / "missing"), ok=False)
    assert res.exit_code == 2 and "no trajectory store at" in res.output
    assert not (tmp_path / "missing").exists()
    res = run("store", "export", "--store", uri, str(tmp_path / "x.parquet"), "--phase", "explore", ok=False)
    assert res.exit_code == 2 and "no steps match" in res.output
    res = run("store", "show", "--store", uri, "--table", "outcomes", "--source", "x", ok=False)
    assert res.exit_code == 2 and "--source does not apply" in res.output


def test_importing_the_store_and_its_cli_needs_neither_ray_nor_torch(run_python):
    code = (
        "import sys, lam_rl.store, lam_rl.store.importers, lam_rl.store.export, jobs.cli.store;"
        "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & {'ray', 'torch'})))"
    )
    assert run_python(code) == []


def test_compact_and_ls_json(uri):
    report = json.loads(run("store", "compact", "--store", uri, "--grace-s", "0").output)
    assert report["orphan_steps"] == 0 and "compaction" in report
    info = json.loads(run("store", "ls", "--store", uri, "--json").output)
    assert info["tables"]["outcomes"]["rows"] == 60 and info["tables"]["steps"]["fragments"] == 1
