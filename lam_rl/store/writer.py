"""The batched writer: many trajectories per commit, exactly once per ``traj_id``.

``add()`` queues a whole trajectory; a batch is committed when ``batch_size`` trajectories (or
``max_pending_steps`` steps) are queued, when the oldest queued trajectory is ``flush_interval_s``
old (a background thread checks), on ``flush()`` and on ``close()``. A commit is two Lance appends
(steps, then outcomes as the commit marker, see ``store.py``), so a batch becomes visible whole or
not at all, and trajectories already committed (a retried worker re-sending) are skipped.

A failed commit leaves its batch queued (the next flush retries it); ``flush()``/``close()`` raise
the error. A trajectory that cannot be stored at all (``add()`` checks what is cheap to check; Arrow
finds the rest when the batch is encoded: a lone surrogate in a string, an int that overflows its
column) is never retried: the batch is split, the bad trajectory is set aside in :attr:`quarantine`
(counted in ``rejected``, logged with the reason) and the rest is committed, so one bad record never
blocks a writer. One writer per process is the usual shape; many writers (processes or machines) may
append to one store at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from lam_rl.store.config import StoreConfig
from lam_rl.store.encode import EncodedTrajectories
from lam_rl.store.errors import InvalidRecord, StoreError
from lam_rl.store.records import Trajectory

if TYPE_CHECKING:
    from lam_rl.store.store import TrajectoryStore, WriteResult

log = logging.getLogger(__name__)

QUARANTINE_KEEP = 100


class StoreWriter:
    """Batches trajectories into few commits. Thread-safe; use as a context manager or call close()."""

    def __init__(
        self,
        store: TrajectoryStore,
        *,
        batch_size: int | None = None,
        flush_interval_s: float | None = None,
        max_pending_steps: int | None = None,
        retries: int | None = None,
        background: bool = True,
    ):
        from lam_rl.store.store import WriteResult

        d = StoreConfig()
        self.store = store
        self.batch_size = int(batch_size if batch_size is not None else d.batch_size)
        self.flush_interval_s = float(
            flush_interval_s if flush_interval_s is not None else d.flush_interval_s
        )
        self.max_pending_steps = int(
            max_pending_steps if max_pending_steps is not None else d.max_pending_steps
        )
        self.retries = int(retries if retries is not None else d.commit_retries)
        if self.batch_size < 1:
            raise StoreError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.flush_interval_s <= 0:
            raise StoreError(f"flush_interval_s must be > 0, got {self.flush_interval_s}")
        self._pending: list[Trajectory | EncodedTrajectories] = []
        self._pending_count = 0
        self._pending_steps = 0
        self._inflight = 0
        self._oldest: float | None = None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._closed = False
        self.totals: WriteResult = WriteResult()
        self.failed_commits = 0
        self.last_error: BaseException | None = None
        self.quarantine: list[tuple[Trajectory | EncodedTrajectories, str]] = []
        """The last :data:`QUARANTINE_KEEP` trajectories set aside as unstorable, with the reason."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._timer, name="lam-rl-store-writer", daemon=True)
            self._thread.start()

    # ------------------------------------------------------------------ producer side

    def add(self, trajectory: Trajectory | EncodedTrajectories) -> None:
        """Queue one whole trajectory (checked now), or a batch a producer encoded with
        ``EncodedTrajectories.of``; commits when ``batch_size`` trajectories are queued."""
        if self._closed:
            raise StoreError("this StoreWriter is closed; open a new one with store.writer()")
        if isinstance(trajectory, Trajectory):
            trajectory.check()
            n, steps = 1, len(trajectory.steps)
        elif isinstance(trajectory, EncodedTrajectories):
            trajectory.check_schema()  # the rest is checked once per commit, on the whole batch
            n, steps = len(trajectory), trajectory.num_steps
        else:
            raise StoreError(f"StoreWriter.add takes a Trajectory, got {type(trajectory).__name__}")
        with self._lock:
            self._pending.append(trajectory)
            self._pending_count += n
            self._pending_steps += steps
            if self._oldest is None:
                self._oldest = time.monotonic()
            full = self._pending_count >= self.batch_size or self._pending_steps >= self.max_pending_steps
        if full:
            self.flush()

    def add_many(self, trajectories: Iterable[Trajectory | EncodedTrajectories]) -> None:
        for t in trajectories:
            self.add(t)

    @property
    def pending(self) -> int:
        """Trajectories added and not yet committed (queued or in a commit under way)."""
        return self._pending_count + self._inflight

    def flush(self) -> WriteResult:
        """Commit everything queued now (raises the commit's error; the batch stays queued then)."""
        from lam_rl.store.store import WriteResult

        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                count, steps = self._pending_count, self._pending_steps
                self._pending_count, self._pending_steps, self._oldest = 0, 0, None
                self._inflight = count
            if not batch:
                return WriteResult()
            try:
                try:
                    result = self.store.write(batch, retries=self.retries)
                except InvalidRecord:  # a record Arrow cannot store: set it aside, commit the rest
                    good, rejected = self._set_aside(batch)
                    result = self.store.write(good, retries=self.retries)
                    result.rejected = rejected
            except BaseException as e:
                with self._lock:
                    self._inflight = 0
                    self._pending = batch + self._pending
                    self._pending_count += count
                    self._pending_steps += steps
                    self._oldest = time.monotonic()
                self.failed_commits += 1
                self.last_error = e
                raise
            self.totals += result
            self._inflight = 0
            log.debug(
                "committed %d trajectories (%d steps, %d duplicates skipped, %d set aside) in %.3fs",
                result.trajectories,
                result.steps,
                result.duplicates,
                result.rejected,
                result.seconds,
            )
            return result

    def _set_aside(
        self, batch: list[Trajectory | EncodedTrajectories]
    ) -> tuple[list[EncodedTrajectories], int]:
        """Encode each item alone: the ones that fail go to :attr:`quarantine`; the rest, encoded."""
        good: list[EncodedTrajectories] = []
        rejected = 0
        for item in batch:
            try:
                enc = EncodedTrajectories.of([item]) if isinstance(item, Trajectory) else item.validate()
            except InvalidRecord as e:
                n = 1 if isinstance(item, Trajectory) else len(item)
                rejected += n
                ids = (
                    item.traj_id
                    if isinstance(item, Trajectory)
                    else item.outcomes.column("traj_id").to_pylist()
                )
                log.error("StoreWriter: set aside %d unstorable trajectory(ies) %.200r: %s", n, ids, e)
                self.quarantine.append((item, str(e)))
                del self.quarantine[:-QUARANTINE_KEEP]
                continue
            good.append(enc)
        return good, rejected

    def close(self) -> WriteResult:
        """Flush and stop the background thread (idempotent). Returns the totals of this writer."""
        if not self._closed:
            self._stop.set()
            if self._thread is not None:
                self._thread.join(timeout=30)
            self.flush()
            self._closed = True
        return self.totals

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:  # still commit what was queued, but keep the original exception
            try:
                self.close()
            except Exception:  # noqa: BLE001
                log.exception("StoreWriter: flushing on error failed")

    # ------------------------------------------------------------------ background flushes

    def _timer(self) -> None:
        tick = min(max(self.flush_interval_s / 4, 0.05), 1.0)
        while not self._stop.wait(tick):
            with self._lock:
                due = self._oldest is not None and time.monotonic() - self._oldest >= self.flush_interval_s
            if due:
                try:
                    self.flush()
                except Exception as e:  # noqa: BLE001 - keep the data queued, retry on the next tick
                    log.warning("StoreWriter: background flush failed (%s); will retry", e)
