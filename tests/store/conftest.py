"""Fixtures of the store tests: a fresh store in a temporary directory and synthetic trajectories."""

from __future__ import annotations

import pytest

from lam_rl.store import TrajectoryStore
from lam_rl.store.synthetic import make_trajectory


@pytest.fixture
def store(request, tmp_path) -> TrajectoryStore:
    """An empty store whose tables exist (opening alone creates nothing: ``create()`` does): in
    ``tmp_path``, or in a fresh Azurite container for a test marked :data:`local_and_az`."""
    if getattr(request, "param", "local") == "az":
        uri, opts = request.getfixturevalue("az_store")
        return TrajectoryStore(uri, opts).create()
    return TrajectoryStore(tmp_path / "store").create()


# The store's core contract on both backends: a local folder and az:// (Azure Blob, on Azurite).
local_and_az = pytest.mark.parametrize("store", ["local", "az"], indirect=True)


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
