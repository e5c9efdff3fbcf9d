"""Capacity of one VM host process: many WordSim VMs behind one port (``--layout paths``).

    .venv/bin/python bench/vmhost.py [--json] [--smoke] [--vms 1000] [--latency-s 2] [--duration-s 20]
                                     [--client-procs 2] [--http auto|h11|httptools|both]

Starts ``lam-rl env serve --layout paths --count VMS --latency-ms ...`` in a process of its own, and
beside it a one-VM host (the baseline for memory). Client processes (asyncio, one keep-alive
connection per VM, a minimal HTTP/1.1 client so the clients cost little CPU) reset every VM, then
step it back to back: VMS concurrent clients each stepping, each step waiting the VM's latency. The
steps that end inside a window of ``--duration-s`` opening ``--warmup-s`` after the start are
counted (steady state: the VMs' steps are out of phase by then, as their resets were). Headline: steps/s of the host against the ideal VMS / latency (every
step answered the moment its latency ends); goal: at least 80% of it. Also printed: the host's
RSS per hosted VM ((RSS of the VMS host - RSS of the one-VM host) / (VMS - 1), after the resets
and steps), the host's CPU time per step (so how many steps/s one host core can serve, and how
many host processes a given fleet needs), and the step latency percentiles seen by the clients.
``--http both`` measures uvicorn's h11 and httptools parsers in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SMOKE_HELP, emit  # noqa: E402

TOKEN = "bench-token"
HOST = """
import json, os, sys
import lam_rl.env.fleet as F
from lam_rl.env.config import EnvConfig
count, latency_ms, http, ready = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
F.HTTP_IMPL = http
fleet = F.serve_many(count, token=os.environ["LAM_VM_TOKEN"], layout="paths",
                     cfg=EnvConfig(latency_ms=latency_ms, max_steps=0))
open(ready + ".tmp", "w").write(json.dumps({"urls": fleet.urls, "pid": os.getpid()}))
os.replace(ready + ".tmp", ready)
fleet.wait()
"""


def start_host(tmp: Path, count: int, latency_s: float, http: str) -> tuple[subprocess.Popen, list[str]]:
    ready = tmp / f"ready-{count}-{http}.json"
    env = dict(os.environ, LAM_VM_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOST, str(count), str(latency_s * 1000), http, str(ready)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(
                f"the VM host did not start: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    return proc, json.loads(ready.read_text())["urls"]


def stop_host(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


# ---------------------------------------------------------------------- the clients (own processes)


async def _request(reader, writer, method: str, path: str, body: bytes) -> tuple[int, bytes]:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    return status, await reader.readexactly(length)


async def _drive(
    urls: list[str], tasks: list[str], start_at: float, stop_at: float
) -> tuple[int, list[float], int]:
    from urllib.parse import urlsplit

    steps, lat, errors, total = 0, [], 0, 0
    step_body = b'{"function": "texts"}'

    async def one(url: str, task: str) -> None:
        nonlocal steps, errors, total
        u = urlsplit(url)
        for _ in range(50):  # a thousand connections at once: a few may need a second try
            try:
                reader, writer = await asyncio.open_connection(u.hostname, u.port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            errors += 1
            return
        status, _ = await _request(reader, writer, "POST", u.path + "/v1/reset", task.encode())
        if status != 200:
            errors += 1
            return
        while True:  # stepping from its reset on; the window counts the steady state only
            t0 = time.time()
            if t0 >= stop_at:
                break
            status, _ = await _request(reader, writer, "POST", u.path + "/v1/step", step_body)
            t1 = time.time()
            total += 1
            if status != 200:
                errors += 1
            elif start_at <= t1 <= stop_at:  # steps that ended inside the window
                steps += 1
                lat.append(t1 - t0)
        writer.close()

    await asyncio.gather(*(one(u, t) for u, t in zip(urls, tasks, strict=True)))
    return steps, lat, errors, total


def client_proc(urls: list[str], tasks: list[str], start_at: float, stop_at: float, out) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    out.put(asyncio.run(_drive(urls, tasks, start_at, stop_at)))


def measure(
    urls: list[str], procs: int, warmup_s: float, duration_s: float
) -> tuple[float, list[float], int, int]:
    """Drive every VM from ``procs`` client processes; return steps/s in the window, their latencies,
    errors, and every step answered (warm-up and tail included)."""
    from lam_rl.env.tasks import make_task

    tasks = [
        json.dumps({"task": make_task("bold_text", i).model_dump(mode="json")}) for i in range(len(urls))
    ]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    start_at = time.time() + warmup_s
    stop_at = start_at + duration_s
    ps = [
        ctx.Process(target=client_proc, args=(urls[i::procs], tasks[i::procs], start_at, stop_at, q))
        for i in range(procs)
    ]
    for p in ps:
        p.start()
    results = [q.get(timeout=warmup_s + duration_s + 600) for _ in ps]
    for p in ps:
        p.join(30)
    steps = sum(r[0] for r in results)
    lat = [x for r in results for x in r[1]]
    return steps / duration_s, lat, sum(r[2] for r in results), sum(r[3] for r in results)


def run_one(tmp: Path, args, http: str) -> dict:
    import psutil

    proc, urls = start_host(tmp, args.vms, args.latency_s, http)
    try:
        host = psutil.Process(proc.pid)
        cpu0 = sum(host.cpu_times()[:2])
        rate, lat, errors, total = measure(urls, args.client_procs, args.warmup_s, args.duration_s)
        cpu = sum(host.cpu_times()[:2]) - cpu0
        rss = host.memory_info().rss
    finally:
        stop_host(proc)
    return {
        "http": http,
        "rate": rate,
        "lat": lat,
        "errors": errors,
        "rss": rss,
        # the host's CPU over the whole run per request answered (a reset counted as a step: an upper bound)
        "cpu_per_step": cpu / max(1, total + args.vms),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="Last line: one JSON object with the headline.")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    ap.add_argument("--vms", type=int, default=1000, help="VMs in the host process.")
    ap.add_argument("--latency-s", type=float, default=2.0, help="Step latency of every VM (seconds).")
    ap.add_argument("--duration-s", type=float, default=20.0, help="Measured window (seconds).")
    ap.add_argument(
        "--warmup-s", type=float, default=15.0, help="Time for connecting and resetting every VM."
    )
    ap.add_argument("--client-procs", type=int, default=2, help="Client processes driving the VMs.")
    ap.add_argument("--http", choices=["auto", "h11", "httptools", "both"], default="auto")
    args = ap.parse_args()
    if args.smoke:
        args.vms, args.latency_s, args.duration_s, args.warmup_s, args.client_procs = 20, 0.2, 2.0, 3.0, 1

    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        one_proc, one_urls = start_host(Path(tmp), 1, args.latency_s, "auto")  # the memory baseline
        try:
            measure(one_urls, 1, 1.0, 1.0)
            rss_one = psutil.Process(one_proc.pid).memory_info().rss
        finally:
            stop_host(one_proc)
        runs = [
            run_one(Path(tmp), args, h)
            for h in (["h11", "httptools"] if args.http == "both" else [args.http])
        ]
    best = max(runs, key=lambda r: r["rate"])
    ideal = args.vms / args.latency_s
    extra = {}
    for r in runs:
        lat = r["lat"] or [0.0]
        q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        extra[f"{r['http']}: steps/s"] = (
            f"{r['rate']:.1f} of ideal {ideal:.1f} ({r['rate'] / ideal:.1%}); step p50 {q[49]:.3f} s, "
            f"p95 {q[94]:.3f} s, p99 {q[98]:.3f} s (latency {args.latency_s:g} s); errors {r['errors']}"
        )
        extra[f"{r['http']}: host RSS"] = (
            f"{r['rss'] / 2**20:.0f} MiB for {args.vms} VMs, {(r['rss'] - rss_one) / max(1, args.vms - 1) / 2**10:.0f} KiB "
            f"per VM (one-VM host: {rss_one / 2**20:.0f} MiB)"
        )
        extra[f"{r['http']}: host CPU per step"] = (
            f"{r['cpu_per_step'] * 1000:.2f} ms (one host core serves at most ~{1 / max(r['cpu_per_step'], 1e-9):.0f} steps/s)"
        )
    extra["machine"] = f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    emit(
        {
            "name": "vmhost_steps_per_s",
            "value": round(best["rate"], 1),
            "unit": "steps/s",
            "baseline": round(ideal, 1),
            "ratio": round(best["rate"] / ideal, 4),
            "goal": f">= 0.8 of the ideal {args.vms} VMs / {args.latency_s:g} s from one host process",
            "rss_kib_per_vm": round((best["rss"] - rss_one) / max(1, args.vms - 1) / 2**10, 1),
            "host_cpu_ms_per_step": round(best["cpu_per_step"] * 1000, 3),
            "http": best["http"],
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
