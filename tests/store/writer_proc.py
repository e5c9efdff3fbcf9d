"""A writer process for the concurrency and crash tests: writes synthetic trajectories to a store.

    python tests/store/writer_proc.py URI --seed S --indices 0:60 [--resend 10] [--batch 8]
    python tests/store/writer_proc.py URI --seed S --pool 300 --forever      (until killed)

``--options JSON`` gives the store's storage options (an az:// store on Azurite).

Trajectory ``i`` is ``make_trajectory(i, seed=DATA_SEED)``: every process writes identical content for
the same index, so processes overlap exactly like retried rollout workers re-sending.
"""

from __future__ import annotations

import argparse
import json
import random

from lam_rl.store import TrajectoryStore
from lam_rl.store.encode import EncodedTrajectories
from lam_rl.store.synthetic import make_trajectory

DATA_SEED = 11


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("uri")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--indices", default="0:0")
    p.add_argument("--resend", type=int, default=0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--pool", type=int, default=0)
    p.add_argument("--forever", action="store_true")
    p.add_argument("--options", default="{}", help="storage options (JSON)")
    a = p.parse_args()
    rng = random.Random(a.seed)
    store = TrajectoryStore(a.uri, json.loads(a.options))
    print("ready", flush=True)
    if a.forever:  # small random batches of random (overlapping) indices until SIGKILL
        while True:
            batch = [
                make_trajectory(rng.randrange(a.pool), seed=DATA_SEED) for _ in range(rng.randint(1, 12))
            ]
            if rng.random() < 0.5:
                store.write(batch)
            else:
                store.write([EncodedTrajectories.of(batch)])
    start, stop = (int(x) for x in a.indices.split(":"))
    order = list(range(start, stop)) + list(range(start, start + a.resend))
    with store.writer(batch_size=a.batch, flush_interval_s=3600, background=False) as w:
        for i in order:
            w.add(make_trajectory(i, seed=DATA_SEED))
    print(f"done {w.totals.trajectories} {w.totals.duplicates}", flush=True)


if __name__ == "__main__":
    main()
