"""Deterministic, resumable batching: length-bucketed batches and an endless micro-batch stream."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, seed: int, bucket_batches: int = 64
) -> list[list[int]]:
    """Deterministic batches of indices for one epoch: shuffle, sort by length within windows of
    ``bucket_batches`` batches (less padding), then shuffle the batches. Incomplete batches are dropped."""
    rng = random.Random(seed)
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    if bucket_batches > 0:
        window = batch_size * bucket_batches
        idx = [
            i
            for s in range(0, len(idx), window)
            for i in sorted(idx[s : s + window], key=lambda j: lengths[j])
        ]
    batches = [idx[s : s + batch_size] for s in range(0, len(idx) - batch_size + 1, batch_size)]
    rng.shuffle(batches)
    return batches


def micro_batch_stream(
    lengths: Sequence[int], micro_batch: int, seed: int, bucket_batches: int, start: int = 0
) -> Iterator[tuple[int, int, list[int]]]:
    """Endless (epoch, index, batch) stream from micro-batch number ``start`` (for resume)."""
    per_epoch = len(lengths) // micro_batch
    if per_epoch == 0:
        raise ValueError(f"{len(lengths)} examples are fewer than one micro-batch of {micro_batch}")
    m = start
    while True:
        epoch, within = divmod(m, per_epoch)
        batches = bucketed_batches(lengths, micro_batch, seed + epoch, bucket_batches)
        for i in range(within, per_epoch):
            yield epoch, m, batches[i]
            m += 1
