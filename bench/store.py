"""Trajectory-store ingest and scan rates: the batched writer vs one Lance commit per trajectory.

    .venv/bin/python bench/store.py [--json] [--smoke] [--producers 4] [--trajectories 1500] [--controls 24] [--no-az]

Producers are separate processes (spawned: Lance is not fork-safe), like rollout workers. Each first
builds its share of synthetic Word trajectories (0-12 steps, ``--controls`` controls a step) and
encodes each one to Arrow (``EncodedTrajectories.of``), as a rollout worker does when it finishes a
trajectory (untimed: in a real run that cost sits next to seconds of VM time per step). Then, timed
from a common start until every producer has committed:

- batched:  each producer adds its trajectories to its own ``StoreWriter`` (``--batch`` per commit),
            so four writers commit to the same store concurrently (``--repeat`` runs, median reported);
- baseline: each producer appends every trajectory directly with ``lance.write_dataset`` (steps, then
            the outcome: one commit each), for the first ``--baseline-trajectories`` of the same data.

The az:// row: the batched writer (same producers and data) into an ``az://`` store on Azure Blob,
Azurite on loopback (``make install`` installs it; ``--no-az`` skips the row), and its ratio to local disk.

Headline: batched / baseline ingest in steps/s (goal >= 5x, and >= 50k steps/s). Also printed: the
batched writer fed Python records (encoding inside the timed part); the batched writer on copies of
real trajectories, the expert playing ``--wordsim-tasks`` WordSim tasks (full observations: about
70 controls a step, three times the synthetic default); and filtered-scan rates.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SMOKE_HELP, emit  # noqa: E402


def record_wordsim(tasks: int, path: Path) -> dict[str, float]:
    """The expert (default noise) plays ``tasks`` WordSim tasks in-process; the trajectories, recorded as a
    rollout worker records them (full observations), are pickled to ``path``."""
    import pickle
    import statistics

    from lam_rl.env.client import VMClient
    from lam_rl.env.config import ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.tasks import sample_tasks
    from lam_rl.env.wordsim import WordSim
    from lam_rl.store import Outcome, StepRecord, Trajectory

    vm = VMClient.in_process(WordSim("bench-store", max_steps=0))
    expert = ExpertPolicy(ExpertConfig(), seed=0)
    out = []
    for i, task in enumerate(sample_tasks(tasks, 0, split="all", composite_fraction=0.2)):
        obs, steps = vm.reset(task), []
        expert.reset(task)
        for s in range(20):
            t0 = time.perf_counter()
            d = expert.act(obs)
            rec = StepRecord(step=s, request=task.request, controls=list(obs.controls), canvas=obs.canvas,
                             thought=d.thought, control_label=d.control_label, control_text=d.control_name,
                             function=d.function, args=dict(d.args), status=d.status, plan=list(d.plan),
                             latency_ms=(time.perf_counter() - t0) * 1000)  # fmt: skip
            action = d.to_action()
            if action is not None:
                t0 = time.perf_counter()
                res = vm.step(action)
                rec.ok, rec.error, rec.step_ms = res.ok, res.error, (time.perf_counter() - t0) * 1000
                obs = res.observation
            steps.append(rec)
            if d.status == "FINISH":
                break
        v = vm.evaluate()
        out.append(Trajectory(Outcome(traj_id=f"wordsim-{i}", task_id=task.task_id, family=task.family,
                                      template=task.template, phase="collect", policy="expert",
                                      success=v.complete == "yes", complete=v.complete, reason=v.reason,
                                      sub_scores=v.sub_scores, task=task,
                                      failure_kind=None if v.complete == "yes" else "verifier_no"), steps))  # fmt: skip
    path.write_bytes(pickle.dumps(out))
    per_step = [len(s.controls) for t in out for s in t.steps]
    return {"trajectories": len(out), "steps": len(per_step), "controls": statistics.mean(per_step)}


def _trajectories(k: int, n: int, data: tuple[str, object]):
    import dataclasses
    import pickle

    from lam_rl.store import Trajectory
    from lam_rl.store.synthetic import make_trajectory

    kind, arg = data
    if kind == "synthetic":
        return [make_trajectory(k * n + i, seed=5, controls=int(arg)) for i in range(n)]
    recorded = pickle.loads(Path(str(arg)).read_bytes())  # copies of recorded trajectories under new ids
    return [Trajectory(dataclasses.replace(t.outcome, traj_id=f"ws-{k}-{i}"), t.steps)
            for i, t in ((i, recorded[(k * n + i) % len(recorded)]) for i in range(n))]  # fmt: skip


def producer(
    mode: str, uri: str, k: int, n: int, data: tuple[str, object], batch: int, ready, go, out, opts=None
) -> None:
    import lance

    from lam_rl.store import TrajectoryStore
    from lam_rl.store.encode import EncodedTrajectories

    trajs = _trajectories(k, n, data)
    store = TrajectoryStore(uri, opts)
    items = trajs if mode == "records" else [EncodedTrajectories.of([t]) for t in trajs]
    steps = sum(len(t.steps) for t in trajs)
    ready.put(k)
    go.wait()
    t0, c0 = time.perf_counter(), _cpu()
    if mode == "baseline":
        for enc in items:
            if enc.num_steps:
                lance.write_dataset(enc.steps, store.table_uri("steps"), mode="append")
            lance.write_dataset(enc.outcomes, store.table_uri("outcomes"), mode="append")
    else:
        with store.writer(batch_size=batch, flush_interval_s=3600, background=False) as w:
            for it in items:
                w.add(it)
    out.put((k, steps, time.perf_counter() - t0, time.perf_counter(), _cpu() - c0))


def _cpu() -> float:
    """CPU seconds of this process, all threads (Lance's included)."""
    t = os.times()
    return t.user + t.system


def ingest(
    mode: str, uri: str, producers: int, n: int, data: tuple[str, object], batch: int, opts=None
) -> tuple[float, int, float, float]:
    """(steps/s over the wall time from the common start to the last commit, steps, seconds, CPU seconds)."""
    ctx = mp.get_context("spawn")
    ready, out, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    procs = [ctx.Process(target=producer, args=(mode, uri, k, n, data, batch, ready, go, out, opts))
             for k in range(producers)]  # fmt: skip
    for p in procs:
        p.start()
    for _ in procs:
        _get(ready, procs, mode, 600)
    start = time.perf_counter()
    go.set()
    results = [_get(out, procs, mode, 1200) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a {mode} producer failed (exit {p.exitcode})")
    wall = max(r[3] for r in results) - start
    steps = sum(r[1] for r in results)
    return steps / wall, steps, wall, sum(r[4] for r in results)


def _get(queue, procs, mode: str, timeout_s: float):
    """The next item of ``queue``; a producer that died (it will never put one) fails the bench now."""
    import queue as q

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return queue.get(timeout=0.5)
        except q.Empty:
            dead = [p.exitcode for p in procs if p.exitcode]
            if dead:
                raise SystemExit(f"a {mode} producer failed (exit {dead[0]})") from None
            if time.monotonic() > deadline:
                raise SystemExit(f"{mode} producers gave no answer in {timeout_s:.0f} s") from None


def scan_rates(uri: str) -> dict[str, str]:
    from lam_rl.store import TrajectoryStore

    store = TrajectoryStore(uri)
    total = store.dataset("steps").count_rows()
    out = {}
    for label, kw in (
        ("filtered scan, 4 columns", {"columns": ["traj_id", "step", "function", "args"], "success": True,
                                      "family": "bold_text"}),
        ("filtered scan, all columns", {"success": True}),
        ("tagged read, 4 columns", {"columns": ["traj_id", "step", "function", "args"], "tag": "bench"}),
    ):  # fmt: skip
        store.steps(**kw)  # warm
        t0 = time.perf_counter()
        rows = store.steps(**kw).num_rows
        dt = time.perf_counter() - t0
        out[label] = (
            f"{total / dt:,.0f} steps scanned/s ({rows} of {total} rows returned in {dt * 1000:.0f} ms)"
        )
    return out


def azure_rows(a, data: tuple[str, object], local_rate: float) -> dict[str, str]:
    """The batched writer on ``az://`` (Azure Blob: Azurite on loopback, ``make install`` installs it)
    with the same producers and data as the local headline, and its ratio to local disk."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from lam_rl.store import TrajectoryStore
    from tests.azurite import Azurite

    try:
        az = Azurite()
    except FileNotFoundError as e:
        return {"az://": f"skipped: {e}"}
    try:
        runs = []
        for _ in range(a.repeat):
            uri, opts = f"az://{az.container('bench')}/store", az.storage_options()
            TrajectoryStore(uri, opts).create()
            runs.append(ingest("encoded", uri, a.producers, a.trajectories, data, a.batch, opts))
            assert TrajectoryStore(uri, opts).count("outcomes") == a.producers * a.trajectories
        rate, steps, wall, _ = sorted(runs)[len(runs) // 2]
        return {
            "batched writer per producer on az:// (Azurite, loopback)": f"{rate:,.0f} steps/s, median of "
            f"{', '.join(f'{x[0]:,.0f}' for x in runs)} ({steps} steps, {wall:.2f} s)",
            "az:// / local disk": f"{rate / local_rate:.2f}x",
        }
    finally:
        az.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--trajectories", type=int, default=2500, help="per producer, batched runs")
    ap.add_argument("--baseline-trajectories", type=int, default=60, help="per producer, baseline run")
    ap.add_argument("--controls", type=int, default=24, help="controls per step")
    ap.add_argument("--batch", type=int, default=256, help="trajectories per commit (store.batch_size)")
    ap.add_argument("--repeat", type=int, default=3, help="batched runs (the median is reported)")
    ap.add_argument(
        "--wordsim-tasks",
        type=int,
        default=300,
        help="also ingest copies of this many recorded WordSim expert trajectories (0: skip)",
    )
    ap.add_argument("--dir", help="where to put the stores (default: a temporary directory)")
    ap.add_argument(
        "--no-az", action="store_true", help="skip the az:// row (Azure Blob on Azurite, loopback)"
    )
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    a = ap.parse_args()
    if a.smoke:
        a.producers, a.trajectories, a.baseline_trajectories, a.repeat, a.wordsim_tasks = 2, 20, 4, 1, 4
    root = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="lam-rl-bench-store-"))
    from lam_rl.store import TrajectoryStore

    def fresh(name: str) -> str:
        uri = str(root / name)
        shutil.rmtree(uri, ignore_errors=True)
        store = TrajectoryStore(uri)
        create = getattr(store, "create", None)  # opening a store no longer creates its tables: do it
        if create is not None:  # here, before producers race to append to them
            create()
        return uri

    synthetic = ("synthetic", a.controls)
    cores = os.cpu_count() or 1

    def describe(runs: list[tuple], label: str) -> tuple[float, str]:
        """The median run's rate, and a line with every run and the CPU cost per step."""
        rate, steps, wall, cpu = sorted(runs)[len(runs) // 2][:4]
        per_cpu = steps / cpu
        return rate, (
            f"{rate:,.0f} steps/s, median of {', '.join(f'{x[0]:,.0f}' for x in runs)} ({steps} steps, {wall:.2f} s, "
            f"{label}); CPU {cpu / steps * 1e6:.1f} us/step = {per_cpu:,.0f} steps per CPU-second, "
            f"{per_cpu * cores:,.0f} steps/s on {cores} idle cores"
        )

    try:
        runs = []
        for r in range(a.repeat):
            uri = fresh(f"batched-{r}")
            runs.append((*ingest("encoded", uri, a.producers, a.trajectories, synthetic, a.batch), uri))
        uri = sorted(runs)[len(runs) // 2][4]
        steps = sorted(runs)[len(runs) // 2][1]
        n = a.producers * a.trajectories
        rate, line = describe(runs, f"{n} trajectories, {a.producers} producers, batch {a.batch}")
        base, bsteps, bwall, _ = ingest("baseline", fresh("baseline"), a.producers, a.baseline_trajectories,
                                        synthetic, a.batch)  # fmt: skip
        _, rec_line = describe([ingest("records", fresh("records"), a.producers, a.trajectories, synthetic, a.batch)],
                               "encoding timed")  # fmt: skip
        ws_line = "skipped (--wordsim-tasks 0)"
        if a.wordsim_tasks:
            info = record_wordsim(a.wordsim_tasks, root / "wordsim.pkl")
            data = ("wordsim", str(root / "wordsim.pkl"))
            ws_runs = [ingest("encoded", fresh(f"wordsim-{r}"), a.producers, a.trajectories, data, a.batch)
                       for r in range(a.repeat)]  # fmt: skip
            _, ws_line = describe(ws_runs, f"copies of {info['trajectories']} expert trajectories, "
                                  f"{info['controls']:.0f} controls a step")  # fmt: skip
        az_lines = azure_rows(a, synthetic, rate) if not a.no_az else {"az://": "skipped (--no-az)"}
        store = TrajectoryStore(uri)
        assert store.count("outcomes") == n and store.count("steps") == steps, "lost or duplicated data"
        store.tag("bench", success=True, family="bold_text")
        extra = {
            "batched writer per producer, Arrow from the producers": line,
            "batched writer per producer, Python records": rec_line,
            "batched writer per producer, WordSim expert trajectories (Arrow)": ws_line,
            "baseline: one lance.write_dataset per trajectory": f"{base:,.0f} steps/s ({bsteps} steps, "
            f"{a.producers * a.baseline_trajectories} trajectories, {bwall:.2f} s)",
            **az_lines,
            **scan_rates(uri),
            "goal": ">= 5x the baseline and >= 50,000 steps/s",
        }
        emit({"name": "store_ingest", "value": rate, "unit": "steps/s", "baseline": base, "ratio": rate / base,
              "goal": ">= 5x", "smoke": a.smoke}, a.json, extra)  # fmt: skip
    finally:
        if not a.dir:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
