"""The version follower both Serve deployments run: it loads each new target of a real VersionBoard
actor, ignores the version it already serves, and survives a failing load (retried next tick)."""

from __future__ import annotations

import threading
import time

import pytest

pytestmark = pytest.mark.e2e


def _wait(cond, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_follower_loads_new_targets_only_and_retries_a_failed_load(ray_session):
    from cluster.serving import follow_version_board, version_board

    board = version_board("follower-test")
    ray_session.get(board.set.remote("/ckpt/1", 1))
    loads: list[tuple[str, int]] = []
    current = {"v": 1}
    fail_next = threading.Event()

    def load(path: str, version: int) -> None:
        if fail_next.is_set():
            fail_next.clear()
            raise RuntimeError("checkpoint not readable yet")
        loads.append((path, version))
        current["v"] = version

    thread = follow_version_board(board, lambda: current["v"], load, every_s=0.02, role="test")
    assert thread.daemon and thread.name == "test-version-follower"
    time.sleep(0.3)  # ~15 ticks on the version it already serves
    assert loads == []

    ray_session.get(board.set.remote("/ckpt/2", 2))
    _wait(lambda: loads == [("/ckpt/2", 2)])

    fail_next.set()
    ray_session.get(board.set.remote("/ckpt/3", 3))
    _wait(lambda: loads[-1] == ("/ckpt/3", 3))
    assert loads == [("/ckpt/2", 2), ("/ckpt/3", 3)]
    assert thread.is_alive()
