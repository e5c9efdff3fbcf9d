"""Dynamic batching for model servers: the next batch is formed when the model is free.

Ray Serve's ``@serve.batch`` forms batches eagerly: while one batch runs, the queue keeps being
cut into batches that wait for the model, each holding only what arrived within
``batch_wait_timeout_s``. With a model that takes tens of milliseconds per batch (CPU inference)
that yields batches of 2-3 under 32 concurrent callers (measured in Ray 2.60; see
docs/benchmarks.md). Here a single consumer takes *everything queued* (up to ``max_batch_size``)
each time the model becomes free, waiting at most ``max_wait_s`` for a batch to fill when the
queue is short, so batches grow with load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


class Batcher(Generic[In, Out]):
    """``await batcher.submit(item)``; ``fn(items) -> results`` runs in a worker thread."""

    def __init__(
        self, fn: Callable[[list[In]], Sequence[Out]], max_batch_size: int, max_wait_s: float
    ) -> None:
        self.fn = fn
        self.max_batch_size = max(1, max_batch_size)
        self.max_wait_s = max_wait_s
        self._queue: asyncio.Queue[tuple[In, asyncio.Future[Out]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    def _ensure(self) -> asyncio.Queue:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.get_running_loop().create_task(self._consume())
        return self._queue

    async def submit(self, item: In) -> Out:
        queue = self._ensure()
        fut: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        await queue.put((item, fut))
        return await fut

    async def _consume(self) -> None:
        assert self._queue is not None
        queue = self._queue
        while True:
            batch = [await queue.get()]
            deadline = asyncio.get_running_loop().time() + self.max_wait_s
            while len(batch) < self.max_batch_size:
                if not queue.empty():
                    batch.append(queue.get_nowait())
                    continue
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            await self._run(batch)

    async def _run(self, batch: list[tuple[In, asyncio.Future[Any]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            results = await asyncio.to_thread(self.fn, [item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} items")
        except BaseException as e:  # noqa: BLE001 - every waiter gets the error, the consumer lives on
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(e)
            return
        for (_, fut), res in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(res)
