"""Many writer processes, re-sends and SIGKILLs: every trajectory visible once, whole, or not at all.

Writers are separate Python processes (Lance is not fork-safe: never fork a process that used it).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lam_rl.store import TrajectoryStore
from lam_rl.store.synthetic import make_trajectory

from .conftest import visible
from .writer_proc import DATA_SEED

pytestmark = pytest.mark.e2e
SCRIPT = str(Path(__file__).with_name("writer_proc.py"))


def start(uri: str, *args: str, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, SCRIPT, uri, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip


def wait_ready(p: subprocess.Popen) -> None:
    line = p.stdout.readline()
    assert line.strip() == "ready", (line, p.stderr.read() if p.poll() is not None else "")


def check_consistent(store: TrajectoryStore) -> set[str]:
    """Every visible trajectory is whole and equal to what was sent; no traj_id twice. Returns the ids."""
    outcomes = store.outcomes(columns=["traj_id", "num_steps", "success"], allow_empty=True).to_pylist()
    ids = [o["traj_id"] for o in outcomes]
    assert len(ids) == len(set(ids)), "a trajectory is visible twice"
    steps = visible(store)
    for o in outcomes:
        want = make_trajectory(int(o["traj_id"].rsplit("-", 1)[1]), seed=DATA_SEED)
        assert o["num_steps"] == len(want.steps) and o["success"] == want.outcome.success
        assert steps.get(o["traj_id"], []) == list(range(len(want.steps))), f"{o['traj_id']} is partial"
    assert set(steps) <= set(ids), "steps of a trajectory without a committed outcome are visible"
    return set(ids)


def test_four_writers_resending_overlapping_trajectories(tmp_path, subprocess_env):
    uri = str(tmp_path / "store")
    TrajectoryStore(uri)
    procs = [start(uri, "--seed", str(k), "--indices", f"{30 * k}:{30 * k + 60}", "--resend", "12", "--batch", "8",
                   env=subprocess_env) for k in range(4)]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    store = TrajectoryStore(uri)
    ids = check_consistent(store)
    assert ids == {f"syn-{DATA_SEED}-{i}" for i in range(150)}  # final count == distinct traj_ids
    assert store.count("steps") == sum(len(make_trajectory(i, seed=DATA_SEED).steps) for i in range(150))
    written = [tuple(map(int, o[0].strip().splitlines()[-1].split()[1:])) for o in outs]
    assert sum(w for w, _ in written) >= 150 and sum(d for _, d in written) >= 4 * 12


@pytest.fixture(params=["local", "az"])
def killed_store(request, tmp_path) -> tuple[str, dict[str, str], int]:
    """(uri, storage options, rounds of kills): a local store, and one on Azure Blob (Azurite), where a
    commit is a few HTTP requests a SIGKILL can cut between."""
    if request.param == "az":
        return (*request.getfixturevalue("az_store"), 3)
    return str(tmp_path / "store"), {}, 10


def test_writers_killed_at_random_points(killed_store, subprocess_env):
    """2 SIGKILLs a round (10 rounds local, 3 on az://); after each round the store opens and is consistent."""
    uri, opts, rounds = killed_store
    TrajectoryStore(uri, opts)
    rng = random.Random(1234)
    kills = 0
    for round_ in range(rounds):
        procs = [start(uri, "--seed", str(100 * round_ + k), "--pool", "1500", "--forever",
                       "--options", json.dumps(opts), env=subprocess_env)
                 for k in range(2)]  # fmt: skip
        for p in procs:
            wait_ready(p)
        for p in procs:
            time.sleep(rng.uniform(0.05, 0.5))
            assert p.poll() is None, p.stderr.read()[-2000:]
            p.kill()  # SIGKILL: no cleanup, possibly mid-commit
            p.wait(timeout=30)
            kills += 1
        check_consistent(TrajectoryStore(uri, opts, create=False))
    assert kills == 2 * rounds
    store = TrajectoryStore(uri, opts)
    raw = store.dataset("steps").count_rows()
    print(
        f"after {kills} kills: {store.count('outcomes')} trajectories visible, {raw - store.count('steps')} "
        "invisible step rows left by interrupted writes"
    )
    # every trajectory the killed writers may have been sending can still be sent, once, whole
    with store.writer(batch_size=64) as w:
        for i in range(1500):
            w.add(make_trajectory(i, seed=DATA_SEED))
    assert check_consistent(store) == {f"syn-{DATA_SEED}-{i}" for i in range(1500)}
