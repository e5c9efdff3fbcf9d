"""The store's code layout: a core, parts built on it, one module composing them (imports one way),
and ``TrajectoryStore.from_config`` as the one way a job's config opens its store."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import lam_rl.store
from lam_rl.store import StoreConfig, StoreError, StoreNotFound, TrajectoryStore

PKG = Path(lam_rl.store.__file__).parent
PARTS = ("reading", "tags", "rewards", "maintenance")


def _imports(module: str) -> set[str]:
    """Every lam_rl.store module ``module`` imports, at the top, in functions or under TYPE_CHECKING."""
    tree = ast.parse((PKG / f"{module}.py").read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom) and node.module == "lam_rl.store"
        ):  # from lam_rl.store import filters
            out.update(a.name if (PKG / f"{a.name}.py").exists() else "__init__" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lam_rl.store."):
            out.add(node.module.removeprefix("lam_rl.store."))
        elif isinstance(node, ast.Import):
            out.update(
                a.name.removeprefix("lam_rl.store.") for a in node.names if a.name.startswith("lam_rl.store.")
            )
    return out


def test_imports_go_one_way_core_then_parts_then_store():
    core = _imports("core")
    assert not core & {*PARTS, "store", "writer"}, f"core imports a part: {sorted(core)}"
    for part in PARTS:
        back = _imports(part) & {"store", "writer", "__init__"}
        assert not back, f"{part}.py imports back from {sorted(back)}"
    assert {"core", *PARTS} <= _imports("store")


def test_trajectory_store_is_composed_not_inherited():
    assert TrajectoryStore.__bases__ == (object,)
    assert len((PKG / "store.py").read_text().splitlines()) <= 600


def test_every_forwarded_method_keeps_its_parts_signature_and_docs():
    from lam_rl.store.reading import Reader

    for name in ("steps", "iter_batches", "resolve", "trajectories"):
        fwd, own = getattr(TrajectoryStore, name), getattr(Reader, name)
        assert inspect.signature(fwd) == inspect.signature(own) and fwd.__doc__ == own.__doc__


def test_every_read_takes_the_same_query_keywords(store, trajs):
    """steps, iter_batches, resolve, trajectories, count and StoreDataset select the same trajectories
    for the same keywords; an unknown one fails the same way everywhere."""
    from lam_rl.store.core import Query
    from lam_rl.store.torch_data import StoreDataset

    store.write(trajs[:12])
    store.tag("collect-expert", phase="collect")
    store.write(trajs[12:20])  # after the tag: tag reads must not see these
    q = {"tag": "collect-expert", "success": True, "where": "step >= 0"}
    succ = {t.outcome.traj_id for t in trajs[:12] if t.outcome.success}
    want = {t.outcome.traj_id for t in trajs[:12] if t.outcome.success and t.steps}
    assert want and len(succ) < 12
    assert {r["traj_id"] for r in store.steps(columns=["traj_id"], **q).to_pylist()} == want
    assert {
        r["traj_id"] for b in store.iter_batches("steps", columns=["traj_id"], **q) for r in b.to_pylist()
    } == want
    assert store.count("steps", **q) == sum(len(t.steps) for t in trajs[:12] if t.outcome.traj_id in want)
    ds = StoreDataset(store, "steps", columns=["traj_id"], shuffle=False, **q)
    assert {r["traj_id"] for r in ds} == want
    assert {t.outcome.traj_id for t in store.trajectories(tag="collect-expert", success=True)} == succ
    assert set(store.outcomes(tag="collect-expert", success=True).column("traj_id").to_pylist()) == succ
    assert [p.versions for p in store.resolve("steps", **q)] == [store.get_tag("collect-expert").versions]
    assert Query.of(**q) == Query(tag="collect-expert", where="step >= 0", filters={"success": True})
    for read in (
        lambda: store.steps(colour="red"),
        lambda: list(store.iter_batches("steps", colour="red")),
        lambda: StoreDataset(store, "steps", colour="red"),
    ):
        with pytest.raises(StoreError, match="colour"):
            read()


def test_from_config_uri_else_run_dir(tmp_path):
    run = tmp_path / "run"
    assert TrajectoryStore.from_config(StoreConfig(), run).uri == str(run / "store")
    own = TrajectoryStore.from_config(StoreConfig(uri=str(tmp_path / "elsewhere")), run)
    assert own.uri == str(tmp_path / "elsewhere")
    opts = {"region": "eu-west-1"}
    assert (
        TrajectoryStore.from_config(
            StoreConfig(uri=str(tmp_path / "s"), storage_options=opts)
        ).storage_options
        == opts
    )
    with pytest.raises(StoreNotFound, match="no trajectory store at"):
        TrajectoryStore.from_config(StoreConfig(), run, create=False)
    with pytest.raises(StoreError, match="'store.uri' is not set"):
        TrajectoryStore.from_config(StoreConfig())
    assert not run.exists(), "opening created something"


def test_no_call_site_builds_the_store_from_a_config_by_hand():
    root = PKG.parents[1]
    offenders = []
    for folder in ("cluster", "jobs", "lam_rl", "bench"):
        for f in (root / folder).rglob("*.py"):
            text = f.read_text()
            if "TrajectoryStore(cfg." in text or "TrajectoryStore(self.cfg." in text:
                offenders.append(str(f.relative_to(root)))
    assert not offenders, f"use TrajectoryStore.from_config(cfg.store, cfg.run_dir) in {offenders}"
