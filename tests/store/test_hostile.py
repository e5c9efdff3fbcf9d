"""The store against malformed records and damaged or missing stores: one bad trajectory never blocks a
writer, opening or reading never creates anything, damage is one line and exit 2, and a store written
by the previous schema version is read and migrated."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lance
import pyarrow as pa
import pytest
from click.testing import CliRunner

from jobs.cli import main
from lam_rl.store import (
    SCHEMA_VERSION,
    EncodedTrajectories,
    InvalidRecord,
    StoreNotFound,
    TrajectoryStore,
    schemas,
)
from lam_rl.store.errors import StoreCorrupt
from lam_rl.store.synthetic import make_trajectory

FIX = Path(__file__).parent / "fixtures"


# ---------------------------------------------------------------- the writer


def test_an_unstorable_trajectory_is_set_aside_and_the_writer_goes_on(store):
    """A lone surrogate passes the cheap checks of add() but not Arrow. The old writer kept the batch
    queued and raised from every later flush; now the bad trajectory is quarantined."""
    good = [make_trajectory(i, seed=3, steps=2) for i in range(4)]
    bad = make_trajectory(9, seed=3, steps=2)
    bad.steps[1].thought = "broken \ud800 text"
    with store.writer(batch_size=100, background=False) as w:
        w.add(good[0])
        w.add(bad)
        w.add(good[1])
        first = w.flush()
        w.add(good[2])
        w.add(good[3])
        second = w.flush()
    assert (first.trajectories, first.rejected, second.trajectories, second.rejected) == (2, 1, 2, 0)
    assert w.totals.rejected == 1 and w.pending == 0
    ((item, reason),) = w.quarantine
    assert item is bad and "field 'thought'" in reason and "surrogates not allowed" in reason
    assert sorted(store.outcomes(columns=["traj_id"]).column("traj_id").to_pylist()) == sorted(
        t.traj_id for t in good
    )


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: setattr(t.steps[0], "latency_ms", float("inf")), "latency_ms must be finite"),
        (lambda t: setattr(t.steps[0], "control_label", 2**40), "control_label does not fit"),
        (lambda t: setattr(t.outcome, "policy_version", 2**64), "policy_version does not fit"),
        (lambda t: setattr(t.outcome, "duration_s", 1e300), "duration_s must be finite and within float32"),
        (lambda t: setattr(t.steps[0], "plan", ["a", None]), "plan must be a list of strings"),
        (lambda t: setattr(t.outcome, "success", None), "success must be a bool"),
        (lambda t: t.steps[0].controls.append(None), "controls must not hold null entries"),
    ],
)
def test_add_rejects_what_is_cheap_to_check_and_queues_nothing(store, mutate, message):
    t = make_trajectory(1, seed=3, steps=2)
    mutate(t)
    w = store.writer(background=False)
    with pytest.raises(InvalidRecord, match=message):
        w.add(t)
    assert w.pending == 0
    w.add(make_trajectory(2, seed=3, steps=1))
    assert w.close().trajectories == 1


def test_the_same_encoded_batch_sent_twice_is_one_copy(store):
    """A producer's retry re-sends the same Arrow (same write ids): the old writer failed the whole
    batch ("repeat a write_id") on every flush."""
    enc = EncodedTrajectories.of([make_trajectory(i, seed=4, steps=2) for i in range(3)])
    with store.writer(batch_size=100, background=False) as w:
        w.add(enc)
        w.add(enc)
        w.add(make_trajectory(7, seed=4, steps=1))
    assert (w.totals.trajectories, w.totals.duplicates, w.totals.rejected) == (4, 3, 0)
    assert store.count("outcomes") == 4 and store.count("steps") == 7


# ---------------------------------------------------------------- opening never creates


def test_opening_and_reading_a_missing_store_creates_nothing(tmp_path):
    uri = tmp_path / "not-yet"
    s = TrajectoryStore(uri)
    assert not s.has_tag("collect-expert") and s.tags() == [] and s.committed(["a"]) == set()
    assert s.outcomes(allow_empty=True).num_rows == 0 and list(s.trajectories(allow_empty=True)) == []
    with pytest.raises(StoreNotFound, match="nothing was written to it"):
        s.outcomes()
    with pytest.raises(StoreNotFound):
        TrajectoryStore(uri, create=False)
    assert not uri.exists()
    s.write([make_trajectory(1, seed=2, steps=1)])  # the first write creates it
    assert s.count("outcomes") == 1 and TrajectoryStore(uri, create=False).count("steps") == 1


def test_the_pipeline_done_checks_create_no_store(repo_root, tmp_path):
    """Every stage's done(cfg) on a fresh run: each says no, and no store appears (the old checks of
    taskplan, collect, explore and reward each created an empty store)."""
    from jobs.config import PipelineConfig
    from jobs.pipeline import STAGES
    from lam_rl.config import load_config

    cfg = load_config(
        PipelineConfig, ["config=tiny", f"run.root={tmp_path}"], configs_dir=repo_root / "jobs/configs"
    )
    for name, _, done in STAGES:
        assert not done(cfg), name
    assert not Path(cfg.store_uri).exists()


def test_a_deleted_table_is_an_error_never_recreated(store, trajs):
    """The old constructor silently created an empty tags table (every tag gone, no word said)."""
    store.write(trajs[:5])
    store.tag("collect-expert", phase="collect")
    shutil.rmtree(Path(store.uri) / "tags.lance")
    for create in (True, False):
        with pytest.raises(StoreCorrupt, match=r"incomplete: tags\.lance missing"):
            TrajectoryStore(store.uri, create=create)
    assert not (Path(store.uri) / "tags.lance").exists()


# ---------------------------------------------------------------- damaged stores on the CLI


def _truncate_data(root: Path, table: str) -> None:
    for f in (root / f"{table}.lance" / "data").glob("*.lance"):
        with f.open("r+b") as fh:
            fh.truncate(100)


DAMAGE = {
    "a file": lambda root: (shutil.rmtree(root), root.write_text("not a store")),
    "an empty directory": lambda root: (shutil.rmtree(root), root.mkdir()),
    "a truncated steps file": lambda root: _truncate_data(root, "steps"),
    "a truncated outcomes file": lambda root: _truncate_data(root, "outcomes"),
    "a garbage manifest": lambda root: [
        m.write_bytes(b"garbage") for m in (root / "outcomes.lance" / "_versions").glob("*.manifest")
    ],
    "a deleted data file": lambda root: [f.unlink() for f in (root / "steps.lance" / "data").glob("*.lance")],
    "a deleted table": lambda root: shutil.rmtree(root / "rewards.lance"),
}
COMMANDS = [
    ["stats"],
    ["stats", "--json"],
    ["ls"],
    ["show", "--table", "steps"],
    ["export", "{out}"],
    ["tag", "t2", "--phase", "collect"],
    ["compact"],
    ["import", "--format", "ufo-dataflow", str(FIX / "ufo_results")],
]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("good") / "store"
    s = TrajectoryStore(root)
    s.write([make_trajectory(i, seed=1) for i in range(20)])
    s.tag("t1", phase="collect")
    return root


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_every_store_command_on_a_damaged_store_is_one_line_and_exit_2(good_store, tmp_path, damage):
    """The old CLI exited 1 with a Lance traceback, and `stats` exited 0 over a truncated data file."""
    root = tmp_path / "store"
    shutil.copytree(good_store, root)
    DAMAGE[damage](root)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    for cmd in (
        COMMANDS if damage != "an empty directory" else COMMANDS[:-1]
    ):  # import may start a store there
        args = [a.format(out=tmp_path / "out.parquet") for a in cmd]
        res = CliRunner().invoke(main, ["store", *args, "--store", str(root)])
        lines = res.output.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("Error: "), (
            damage,
            cmd,
            res.output,
        )
        assert res.exception is None or isinstance(res.exception, SystemExit), (damage, cmd)
        assert "Traceback" not in res.output and "/rust" not in res.output
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before  # nothing written


def test_tag_list_reads_only_the_manifest(good_store, tmp_path):
    root = tmp_path / "store"
    shutil.copytree(good_store, root)
    _truncate_data(root, "steps")
    res = CliRunner().invoke(main, ["store", "tag", "--list", "--store", str(root)])
    assert res.exit_code == 0 and res.output.strip() == "t1"


# ---------------------------------------------------------------- an older store


def _write_v1(root: Path, trajs) -> None:
    """A store as schema version 1 wrote it: the same tables without the columns version 2 added."""
    o, s = EncodedTrajectories.of(trajs).outcomes, EncodedTrajectories.of(trajs).steps
    data = {"steps": s, "outcomes": o}
    for table in schemas.TABLES:
        added = schemas.ADDED[2].get(table, ())
        fields = [f for f in schemas.SCHEMAS[table] if f.name not in added]
        v1 = pa.schema(fields, metadata={schemas.TABLE_KEY: table.encode(), schemas.VERSION_KEY: b"1"})
        t = data[table].select(v1.names).cast(v1) if table in data else v1.empty_table()
        lance.write_dataset(t, str(root / f"{table}.lance"))


def test_a_version_1_store_is_read_then_migrated_by_its_first_write(tmp_path):
    root = tmp_path / "v1"
    old = [make_trajectory(i, seed=6, steps=2) for i in range(3)]
    _write_v1(root, old)
    s = TrajectoryStore(root)
    assert schemas.schema_version_of(s.dataset("steps").schema) == 1  # opening changed nothing
    steps = s.steps()
    assert steps.num_rows == 6 and steps.column("extra").null_count == 6
    assert [t.traj_id for t in s.trajectories()] == sorted(t.traj_id for t in old)
    s.tag("old", phase="collect")
    new = make_trajectory(10, seed=6, steps=1)
    new.outcome.extra = {"source_file": "x.json"}
    s.write([new])  # the first write adds the new columns (all null) and records version 2
    for table in ("steps", "outcomes"):
        assert "extra" in s.dataset(table).schema.names
        if hasattr(lance.LanceDataset, "update_schema_metadata"):  # pylance 0.20 cannot relabel a table
            assert schemas.schema_version_of(s.dataset(table).schema) == SCHEMA_VERSION
    again = TrajectoryStore(root, create=False)
    assert json.loads(again.outcomes(traj_id=new.traj_id)["extra"][0].as_py()) == {"source_file": "x.json"}
    tagged = again.outcomes(tag="old")  # the tag pins a version-1 table version: extra reads as null
    assert tagged.num_rows == 3 and tagged.column("extra").null_count == 3
    assert again.count("steps") == 7


@pytest.mark.parametrize("where", ["nocol = 1", "step ==== 1", "'unterminated"])
def test_a_where_lance_refuses_is_one_line_and_exit_2(good_store, tmp_path, where):
    """The old CLI exited 1 with Lance's traceback for a predicate it could not run."""
    for cmd in (["show", "--table", "steps"], ["export", str(tmp_path / "x.parquet")]):
        res = CliRunner().invoke(main, ["store", *cmd, "--where", where, "--store", str(good_store)])
        lines = res.output.strip().splitlines()
        assert res.exit_code == 2 and len(lines) == 1 and "cannot run this query" in lines[0], res.output
    assert not (tmp_path / "x.parquet").exists()
