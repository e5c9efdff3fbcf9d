"""The servers' dynamic batcher: batches grow with load, answers go to the right caller, a failing
batch fails only its own callers."""

import asyncio
import time

import pytest

from cluster.batching import Batcher


def slow_double(items: list[int]) -> list[int]:
    time.sleep(0.05)  # a model forward: the next batch forms while this one runs
    return [2 * x for x in items]


def test_32_concurrent_callers_form_few_full_batches_and_get_their_own_answers():
    async def main():
        b = Batcher(slow_double, max_batch_size=32, max_wait_s=0.01)
        answers = await asyncio.gather(*(b.submit(i) for i in range(64)))
        return b, answers

    b, answers = asyncio.run(main())
    assert answers == [2 * i for i in range(64)]
    assert b.items == 64 and b.batches <= 4  # unbatched would be 64 forward passes
    assert b.items / b.batches >= 16


def test_batch_size_one_is_the_unbatched_baseline():
    async def main():
        b = Batcher(slow_double, max_batch_size=1, max_wait_s=0.01)
        await asyncio.gather(*(b.submit(i) for i in range(8)))
        return b

    assert asyncio.run(main()).batches == 8


def test_a_failing_batch_fails_its_callers_and_the_batcher_lives_on():
    def fn(items):
        if -1 in items:
            raise ValueError("bad item")
        return items

    async def main():
        b = Batcher(fn, max_batch_size=8, max_wait_s=0.0)
        with pytest.raises(ValueError, match="bad item"):
            await b.submit(-1)
        return await b.submit(5)

    assert asyncio.run(main()) == 5
