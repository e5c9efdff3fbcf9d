"""The rollout task queue's lease logic (the actor's class, used directly)."""

import time

from cluster.rollout import LeaseQueue, WorkItem


def items(n):
    return [WorkItem(f"t{i}", {"task_id": f"t{i}"}) for i in range(n)]


def test_each_task_completes_once():
    q = LeaseQueue(items(3), max_retries=2, lease_timeout_s=60)
    leases = [q.lease("w") for _ in range(3)]
    assert q.lease("w") is None and not q.finished()
    for lease, item, retries in leases:
        assert retries == 0
        assert q.complete(lease, {"success": item.traj_id != "t0", "num_steps": 2})
        assert not q.complete(lease, {"success": True})  # a second completion is refused
    assert q.finished()
    s = q.get_stats()
    assert (s.done, s.successes, s.steps, s.pending, s.leased) == (3, 2, 6, 0, 0)


def test_infrastructure_failures_retry_then_become_final():
    q = LeaseQueue(items(1), max_retries=2, lease_timeout_s=60)
    for expected_retry in range(2):
        lease, _, retries = q.lease("w")
        assert retries == expected_retry
        assert q.failed(lease, "vm_error") == "retry"
        assert not q.complete(lease, {})  # a failed lease cannot complete any more
    lease, _, retries = q.lease("w")
    assert retries == 2
    assert q.failed(lease, "vm_error") == "final"
    assert q.lease("w") is None
    assert q.complete(lease, {"success": False, "failure_kind": "vm_error"})
    s = q.get_stats()
    assert q.finished() and s.failures == {"retried_vm_error": 3, "vm_error": 1} and s.retries == 2


def test_expired_lease_is_handed_out_again_and_the_late_worker_is_refused():
    q = LeaseQueue(items(1), max_retries=3, lease_timeout_s=0.05)
    slow, _, _ = q.lease("slow")
    time.sleep(0.1)
    fast, _, retries = q.lease("fast")
    assert retries == 1 and fast != slow
    assert q.complete(fast, {"success": True})
    assert not q.complete(slow, {"success": True})
    assert q.finished() and q.get_stats().done == 1
