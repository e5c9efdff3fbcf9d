"""Fixtures of the store tests: a fresh store in a temporary directory and synthetic trajectories."""

from __future__ import annotations

import pytest

from lam_rl.store import TrajectoryStore
from lam_rl.store.synthetic import make_trajectory


@pytest.fixture
def store(tmp_path) -> TrajectoryStore:
    """An empty store whose tables exist (opening alone creates nothing: ``create()`` does)."""
    return TrajectoryStore(tmp_path / "store").create()


@pytest.fixture
def trajs():
    """60 trajectories of a collect phase (0-12 steps each, some with none)."""
    return [make_trajectory(i, seed=1) for i in range(60)]


def visible(store: TrajectoryStore, **kw) -> dict[str, list[int]]:
    """traj_id -> the step numbers visible for it (sorted)."""
    out: dict[str, list[int]] = {}
    for row in store.steps(columns=["traj_id", "step"], allow_empty=True, **kw).to_pylist():
        out.setdefault(row["traj_id"], []).append(row["step"])
    return {k: sorted(v) for k, v in out.items()}
