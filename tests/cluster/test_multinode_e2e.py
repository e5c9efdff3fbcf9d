"""Several Ray nodes on this machine: a head and worker nodes started with `ray start` (each its own
temp dir, one CPU and custom resources; token authentication on), jobs submitted with `ray job
submit`, nodes killed with SIGKILL mid-job.

- collect + SFT across the nodes: rollout workers on the `rollout` node, the learner on a `learner`
  node, the task queue, store writer and local VMs on the head (the driver's node);
- the rollout node killed mid-collection: every task still ends with exactly one whole trajectory
  (the job finishes, or its rerun on the same run directory does);
- the learner's node killed mid-SFT: Ray Train restarts the worker on the other learner node, which
  resumes from the last checkpoint and stops at the same optimizer step as the uninterrupted run.

One cluster per module; only processes of its nodes are stopped (never `ray stop`: other tests of
the session use an embedded Ray).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

# A tiny model and a small sample: the point is where things run, not what they learn.
SMALL = [
    "config=tiny",
    "tracking.mode=offline",
    "model.hidden=64",
    "model.layers=2",
    "model.intermediate=128",
    "tokenizer.vocab_size=1024",
    "taskplan.num_tasks=120",
    "taskplan.tokenizer_samples=40",
    "learner.micro_batch=8",
    "sft.optim.batch_size=16",
    "sft.optim.warmup_steps=2",
    "learner.log_every=4",
    "fleet.local=4",
]
PLACED = ["learner.resources={learner: 1}", "rollout.resources={rollout: 1}"]
SFT_STEPS = 32  # the plan phase's optimizer steps, interrupted or not


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nodes:
    """A Ray cluster of `ray start` processes on this machine, node by node."""

    def __init__(self, env: dict[str, str], bin_dir: Path) -> None:
        self.env, self.ray = env, str(bin_dir / "ray")
        self.dirs: dict[str, str] = {}  # node name -> its temp dir (its processes carry it)
        self.gcs = self.dashboard = ""

    def _ports(self, *flags: str) -> list[str]:
        return [f"--{flag}={free_port()}" for flag in flags]

    def start(
        self, name: str, *, head: bool = False, resources: dict[str, float] | None = None
    ) -> subprocess.Popen:
        temp = tempfile.mkdtemp(prefix=f"lmn-{name}-", dir="/tmp")  # short: socket paths must fit
        self.dirs[name] = temp
        # every node carries a marker resource named after it, so a test can find its node id
        res = {**(resources or {}), f"mn_{name}": 1}
        args = [
            self.ray,
            "start",
            "--num-cpus=1",
            "--object-store-memory=120000000",
            f"--resources={json.dumps(res)}",
            "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp}",
            "--disable-usage-stats",
            *self._ports(
                "node-manager-port",
                "object-manager-port",
                "dashboard-agent-listen-port",
                "dashboard-agent-grpc-port",
                "metrics-export-port",
                "runtime-env-agent-port",
            ),
        ]
        if head:
            gcs, dash = free_port(), free_port()
            self.gcs, self.dashboard = f"127.0.0.1:{gcs}", f"http://127.0.0.1:{dash}"
            args += [
                "--head",
                f"--port={gcs}",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={dash}",
                "--include-dashboard=true",
                *self._ports("ray-client-server-port"),
            ]
        else:
            args.append(f"--address={self.gcs}")
        return subprocess.Popen(
            args, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def up(self, name: str, *, head: bool = False, resources: dict[str, float] | None = None) -> None:
        """Start a node; a start that hit Ray's fixed 30 s registration limit (a busy machine) is
        cleaned away and tried again (its node, if it registered late, is dead by then)."""
        for attempt in range(3):
            p = self.start(name, head=head, resources=resources)
            out, _ = p.communicate(timeout=300)
            if p.returncode == 0:
                return
            if "timed out during startup" not in out or attempt == 2:
                raise AssertionError(f"node {name}: {out[-3000:]}")
            self.kill(name)
            shutil.rmtree(self.dirs.pop(name), ignore_errors=True)

    def add(self, **named: dict[str, float]) -> None:
        """Start worker nodes one by one (name -> resources); wait until the cluster shows them."""
        for name, res in named.items():
            self.up(name, resources=res)
        self.wait(lambda: all(self.node_id(n) for n in named), f"nodes {list(named)} to join")

    def nodes(self) -> list[dict]:
        return self.listing("nodes")

    def node_id(self, name: str) -> str | None:
        for n in self.nodes():
            if n["state"] == "ALIVE" and f"mn_{name}" in (n.get("resources_total") or {}):
                return n["node_id"]
        return None

    def actors(self) -> list[dict]:
        return self.listing("actors")

    def listing(self, what: str) -> list[dict]:
        out = self.cli("list", what, "--detail", "--format=json", "--limit=10000")
        return json.loads(out) if out.lstrip().startswith("[") else []  # none: "No resource in the cluster"

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [self.ray, *args, f"--address={self.gcs}"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return out.stdout

    def kill(self, name: str) -> None:
        """The node dies at once: SIGKILL to its raylet, everything the raylet started and every
        process of its temp dir (no graceful shutdown, as when a machine is lost)."""
        procs = self._procs(self.dirs[name])
        for p in list(procs):
            with contextlib.suppress(psutil.NoSuchProcess):
                procs.extend(p.children(recursive=True))
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(procs, timeout=10)

    def stop(self) -> None:
        for temp in self.dirs.values():
            procs = self._procs(temp)
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.send_signal(signal.SIGTERM)
            _, alive = psutil.wait_procs(procs, timeout=5)
            for p in alive:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.kill()
            shutil.rmtree(temp, ignore_errors=True)

    @staticmethod
    def _procs(temp: str) -> list[psutil.Process]:
        out = []
        for p in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                if p.pid != os.getpid() and any(temp in a for a in p.info["cmdline"] or []):
                    out.append(p)
        return out

    @staticmethod
    def wait(cond, what: str, timeout: float = 600, every: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = cond()
            if got:
                return got
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")

    # -- jobs ---------------------------------------------------------------------------------
    def submit(self, repo_root: Path, entry: list[str], *, wait: bool = True) -> tuple[str, str]:
        """`ray job submit` (retried while the head has no job agent yet: nothing was created then);
        returns (submission id, the job's log when waited for)."""
        sub = f"mn-{time.monotonic_ns()}"
        cmd = [self.ray, "job", "submit", "--address", self.dashboard, "--submission-id", sub]
        cmd += ["--working-dir", str(repo_root), *([] if wait else ["--no-wait"]), "--", *entry]
        deadline = time.monotonic() + 600
        while True:
            out = subprocess.run(
                cmd, capture_output=True, text=True, env=self.env, cwd=repo_root, timeout=900
            )
            if "No available agent" not in out.stdout + out.stderr or time.monotonic() > deadline:
                break
            time.sleep(3)
        assert wait or out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        return sub, out.stdout + out.stderr

    def status(self, sub: str) -> str:
        """The job's status (PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED), asked until it answers."""

        def ask():
            out = subprocess.run(
                [self.ray, "job", "status", "--address", self.dashboard, sub],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            text = out.stdout + out.stderr  # Ray words the end states, and names the others
            for word, state in (("succeeded", "SUCCEEDED"), ("failed", "FAILED"), ("was stopped", "STOPPED")):
                if f"Job '{sub}' {word}" in text:
                    return state
            m = re.search(r"Status for job '[^']+': (?:JobStatus\.)?(\w+)", text)
            return m.group(1) if m else None

        return self.wait(ask, f"the status of job {sub}", timeout=120, every=1)

    def logs(self, sub: str) -> str:
        out = subprocess.run(
            [self.ray, "job", "logs", "--address", self.dashboard, sub],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return out.stdout + out.stderr


@pytest.fixture(scope="module")
def cluster(subprocess_env):
    bin_dir = Path(sys.executable).parent
    env = dict(
        subprocess_env,
        RAY_AUTH_MODE="token",
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        # a lost node is declared dead after ~5 s of missed health checks (Ray's default: ~15 s)
        RAY_health_check_period_ms="1000",
        RAY_health_check_failure_threshold="5",
    )
    subprocess.run(
        [str(bin_dir / "ray"), "get-auth-token", "--generate"], env=env, capture_output=True, check=True
    )
    nodes = Nodes(env, bin_dir)
    try:
        nodes.up("head", head=True)
        nodes.add(rollout_a={"rollout": 16}, learner_a={"learner": 1}, learner_b={"learner": 1})
        yield nodes
    finally:
        nodes.stop()


def actors_by_class(cluster: Nodes, before: set[str]) -> dict[str, set[str]]:
    """class name -> the node ids its actors ran on (alive or dead), for actors not in ``before``."""
    out: dict[str, set[str]] = {}
    for a in cluster.actors():
        if a["actor_id"] not in before and a.get("node_id"):
            out.setdefault(a["class_name"], set()).add(a["node_id"])
    return out


def actor_ids(cluster: Nodes) -> set[str]:
    return {a["actor_id"] for a in cluster.actors()}


def registry_entries(run_dir: Path, name: str) -> list:
    from lam_rl.checkpoints import CheckpointRegistry

    return [e for e in CheckpointRegistry(run_dir / "checkpoints").entries() if e.name == name]


@pytest.fixture(scope="module")
def placed_run(cluster, repo_root, tmp_path_factory):
    """One pipeline job (task plans, expert collection, plan SFT) submitted to the cluster, with the
    rollout workers and the learner placed by resources; (run root, its log, actors it started)."""
    root = tmp_path_factory.mktemp("mn-run")
    before = actor_ids(cluster)
    entry = [sys.executable, "-m", "jobs.pipeline", *SMALL, *PLACED, f"run.root={root}"]
    entry += ["stages=[taskplan,collect,sft-plan]", "collect.num_tasks=16", "collect.eval_tasks=4"]
    entry += [f"sft.optim.max_steps={SFT_STEPS}"]
    _, log = cluster.submit(repo_root, entry)
    assert "succeeded" in log, log[-6000:]
    return root, log, actors_by_class(cluster, before)


def test_collect_and_sft_run_across_the_nodes_where_their_resources_are(cluster, placed_run):
    from lam_rl.store import TrajectoryStore

    root, log, placed = placed_run
    assert "connecting to Ray at" in log, "the job must join the cluster, not embed a Ray of its own"
    head, rollout = cluster.node_id("head"), cluster.node_id("rollout_a")
    learners = {cluster.node_id("learner_a"), cluster.node_id("learner_b")}
    rollout_classes = [c for c in placed if "Rollout" in c]
    assert rollout_classes, placed
    for c in rollout_classes:
        assert placed[c] == {rollout}, f"{c} ran on {placed[c]}, not only on the rollout node {rollout}"
    assert placed["RayTrainWorker"] and placed["RayTrainWorker"] <= learners, placed
    for c in ("StoreWriterActor", "VMHost", "LeaseQueue"):  # what a worker node's loss must not take
        assert placed.get(c) == {head}, f"{c} ran on {placed.get(c)}, not on the driver's node {head}"

    store = TrajectoryStore(str(root / "tiny" / "store"), create=False)
    assert store.outcomes(tag="collect-expert", columns=["traj_id"]).num_rows == 16
    assert [e.step for e in registry_entries(root / "tiny", "lam1") if e.final] == [SFT_STEPS]


def test_killing_the_rollout_node_loses_and_duplicates_no_task(cluster, repo_root, tmp_path_factory):
    from lam_rl.store import TrajectoryStore
    from lam_rl.store.errors import StoreNotFound

    root = tmp_path_factory.mktemp("mn-collect")
    n_train, n_eval = 40, 4
    entry = [sys.executable, "-m", "jobs.collect", *SMALL, *PLACED, f"run.root={root}"]
    entry += [f"collect.num_tasks={n_train}", f"collect.eval_tasks={n_eval}"]
    # slow VM steps keep the collection going while the node dies; short leases and commits
    entry += ["env.latency_ms=400", "store.flush_interval_s=0.5", "rollout.lease_timeout_s=15"]
    sub, _ = cluster.submit(repo_root, entry, wait=False)
    store_dir = root / "tiny" / "store"

    def committed() -> int:
        try:
            return TrajectoryStore(str(store_dir), create=False).outcomes(columns=["traj_id"]).num_rows
        except StoreNotFound:
            return 0

    asked = [0.0]

    def first_outcomes() -> bool:  # the store every 0.2 s, the job's status (a slow CLI) every 10 s
        if committed() >= 2:
            return True
        if time.monotonic() - asked[0] > 10:
            asked[0] = time.monotonic()
            return cluster.status(sub) not in ("PENDING", "RUNNING")
        return False

    cluster.wait(first_outcomes, "the first outcomes", every=0.2)
    at_kill = committed()
    assert 2 <= at_kill < n_train, (
        f"{at_kill} outcomes when the node was to be killed:\n{cluster.logs(sub)[-3000:]}"
    )
    cluster.kill("rollout_a")
    cluster.add(rollout_b={"rollout": 16})  # a replacement rollout node
    cluster.wait(lambda: cluster.status(sub) not in ("PENDING", "RUNNING"), "the job to end", timeout=900)
    first = cluster.status(sub)
    print(f"rollout node killed at {at_kill} of {n_train} train outcomes; the job then: {first}")
    if first != "SUCCEEDED":  # the design's fallback: a rerun on the same run dir plays what is missing
        _, log = cluster.submit(repo_root, entry)
        assert "succeeded" in log, f"first run {first}:\n{cluster.logs(sub)[-3000:]}\nrerun:\n{log[-4000:]}"

    store = TrajectoryStore(str(store_dir), create=False)
    outcomes = store.outcomes(columns=["traj_id", "num_steps"]).to_pylist()
    ids = Counter(o["traj_id"] for o in outcomes)
    assert len(ids) == n_train + n_eval and max(ids.values()) == 1, ids.most_common(3)
    steps = Counter(r["traj_id"] for r in store.steps(columns=["traj_id"]).to_pylist())
    assert all(steps.get(o["traj_id"], 0) == o["num_steps"] for o in outcomes), "a trajectory is not whole"
    assert store.has_tag("collect-expert") and store.has_tag("reference-eval")


def test_killing_the_learners_node_resumes_on_the_other_to_the_same_step(cluster, repo_root, placed_run):
    root, _, _ = placed_run
    run_dir = root / "tiny"
    uninterrupted = [e.step for e in registry_entries(run_dir, "lam1") if e.final]
    shutil.rmtree(run_dir / "train" / "lam1" / "ds")  # start over (as force=[sft-plan] does)
    before, since = actor_ids(cluster), time.time()
    entry = [sys.executable, "-m", "jobs.sft", "phase=plan", *SMALL, *PLACED, f"run.root={root}"]
    entry += [f"sft.optim.max_steps={SFT_STEPS}", "learner.checkpoint_every=4", "learner.max_failures=2"]
    sub, _ = cluster.submit(repo_root, entry, wait=False)
    nodes = {cluster.node_id(n): n for n in ("learner_a", "learner_b")}

    def worker():
        alive = [a for a in cluster.actors() if a["class_name"] == "RayTrainWorker" and a["state"] == "ALIVE"]
        return [a for a in alive if a["actor_id"] not in before] or cluster.status(sub) not in (
            "PENDING",
            "RUNNING",
        )

    got = cluster.wait(worker, "the Train worker")
    assert isinstance(got, list) and len(got) == 1, cluster.logs(sub)[-4000:]
    first = got[0]
    victim = nodes[first["node_id"]]
    (other,) = set(nodes) - {first["node_id"]}

    def checkpointed():
        return [e for e in registry_entries(run_dir, "lam1") if not e.final and e.created_at >= since]

    cluster.wait(lambda: checkpointed() or not psutil.pid_exists(first["pid"]), "a checkpoint", every=0.02)
    # freeze the learner at once, so the node dies mid-run however fast this machine trains
    os.kill(first["pid"], signal.SIGSTOP)
    killed_at = max(e.step for e in checkpointed())
    assert killed_at < SFT_STEPS, killed_at
    cluster.kill(victim)
    cluster.wait(lambda: cluster.status(sub) not in ("PENDING", "RUNNING"), "the job to end", timeout=900)
    log = cluster.logs(sub)
    assert cluster.status(sub) == "SUCCEEDED", log[-6000:]

    ran = actors_by_class(cluster, before)["RayTrainWorker"]
    assert ran == {first["node_id"], other}, f"Train workers ran on {ran}; killed {victim}"
    m = re.search(r"sft plan finished: .*'steps': (\d+),.*'resumed_from': (\d+)", log)
    assert m, log[-4000:]
    steps, resumed_from = int(m.group(1)), int(m.group(2))
    assert uninterrupted == [SFT_STEPS] and steps == SFT_STEPS, (uninterrupted, steps)
    assert killed_at <= resumed_from < SFT_STEPS, (killed_at, resumed_from)
    final = [e.step for e in registry_entries(run_dir, "lam1") if e.final]
    assert final == [SFT_STEPS, SFT_STEPS], final
