"""The config sections only the Ray side reads: serving, the VM fleet, rollout workers, the Ray connection,
and the phases that are rollouts (collect, explore, evaluate).

Each is a section of the job-level ``Config`` (``jobs/config.py``): ``serve`` for Ray Serve's one
HTTP proxy (``cluster/serving.py``), ``policy`` and ``reward_serve`` for the Serve deployments
(``cluster/policy_server.py``, ``cluster/reward_server.py``), ``fleet`` and ``rollout`` for the
rollout workers (``cluster/fleet.py``, ``cluster/rollout.py``), ``ray`` for ``cluster/runtime.py``,
``collect``, ``explore`` and ``eval`` for ``cluster/collect.py``, ``cluster/explore.py`` and
``cluster/evaluate.py`` (and their jobs). This module imports neither Ray nor ``jobs``, so loading a
config stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from lam_rl.config import SEED_MAX, ConfigError, opt


@dataclass
class RayConfig:
    address: str | None = opt(
        None,
        "Ray cluster address. None: connect to RAY_ADDRESS when set (ray job submit sets it), else start "
        "an embedded single-node Ray in-process.",
    )
    num_cpus: int | None = opt(None, "CPUs for an embedded Ray (None: all). Ignored when connecting.", ge=1)
    namespace: str = opt("lam-rl", "Ray namespace for named actors and Serve apps.")
    include_dashboard: bool = opt(False, "Start the Ray dashboard with an embedded Ray.")


@dataclass
class ServeConfig:
    """Ray Serve's one HTTP proxy, shared by every app of the cluster (policy and reward servers)."""

    http_host: str = opt(
        "127.0.0.1",
        "Host the Serve HTTP proxy binds (0.0.0.0: every interface). Fixed when Serve first starts in "
        "the Ray cluster.",
    )
    http_port: int = opt(
        8000,
        "Port of the Serve HTTP proxy: every app (policy, reward) answers under its route prefix here. "
        "Fixed when Serve first starts in the Ray cluster.",
        ge=1,
        le=65535,
    )


@dataclass
class PolicyServeConfig:
    max_new_tokens: int = opt(96, "Tokens generated per action at most.", ge=1)
    temperature: float = opt(0.0, "Sampling temperature (0: greedy decoding).", ge=0)
    top_p: float = opt(1.0, "Nucleus sampling threshold when temperature > 0.", gt=0, le=1)
    max_batch_size: int = opt(
        32, "Largest batch of generation requests served at once (1: no batching).", ge=1
    )
    batch_wait_ms: float = opt(5.0, "How long a batch waits to fill before it runs.", ge=0)
    num_replicas: int = opt(1, "Policy server replicas.", ge=1)
    cpus_per_replica: float = opt(1.0, "CPUs reserved per replica.", ge=0)
    gpus_per_replica: float = opt(0.0, "GPUs per replica (0 on CPU machines).", ge=0)
    dtype: str = opt("float32", "Inference dtype: float32, bfloat16 or float16 (GPU).")
    token_env: str = opt("LAM_POLICY_TOKEN", "Environment variable holding the API token for HTTP callers.")
    token_file: str | None = opt(None, "File holding the API token (used when the variable is unset).")
    keep_versions: int = opt(
        2, "Checkpoint versions kept loaded so episodes pinned to the previous one finish.", ge=1
    )


@dataclass
class RewardServeConfig:
    max_batch_size: int = opt(32, "Largest batch of scoring requests (1: no batching).", ge=1)
    batch_wait_ms: float = opt(5.0, "How long a batch waits to fill.", ge=0)
    num_replicas: int = opt(1, "Reward server replicas.", ge=1)
    cpus_per_replica: float = opt(1.0, "CPUs per replica.", ge=0)
    gpus_per_replica: float = opt(0.0, "GPUs per replica.", ge=0)
    max_len: int = opt(512, "Longest (state, action) sequence scored, in tokens.", ge=1)
    max_items: int = opt(256, "Most items accepted in one HTTP request.", ge=1)
    token_env: str = opt("LAM_REWARD_TOKEN", "Environment variable holding the API token for HTTP callers.")
    token_file: str | None = opt(None, "File holding the API token (used when the variable is unset).")


@dataclass
class FleetConfig:
    vms: list[str] = opt(
        [], "URLs of running VM agents (real Windows VMs). Empty: start `local` WordSim VMs."
    )
    token_env: str = opt("LAM_VM_TOKEN", "Environment variable holding the VMs' bearer token.")
    token_file: str | None = opt(
        None, "File holding the VMs' bearer token (used when the variable is unset)."
    )
    local: int = opt(4, "WordSim VM agents started locally (loopback HTTP) when `vms` is empty.", ge=0)
    local_base_port: int = opt(
        0,
        "First port of the local VM agents (0: any free ports); with local_layout=paths, their one port.",
        ge=0,
        le=65535,
    )
    local_layout: str = opt(
        "ports",
        "How the local VM agents are served: 'ports' (a port each) or 'paths' (all on one port, each at "
        "/vms/<name>: hundreds per host process). Their step latency is env.latency_ms.",
    )
    max_vm_failures: int = opt(
        3,
        "Consecutive failed health checks after which a remote VM is retired (client timeouts: env.*).",
        ge=1,
    )

    def __post_init__(self) -> None:
        if self.local_layout not in ("ports", "paths"):
            raise ConfigError(
                f"config key 'fleet.local_layout' must be 'ports' or 'paths', got {_shown(self.local_layout)}"
            )
        if not self.vms and self.local < 1:
            raise ConfigError("config key 'fleet.local' must be >= 1 when fleet.vms is empty")
        bad, seen, dup = [], {}, []
        for i, url in enumerate(self.vms):
            key = vm_address(url)
            if key is None:
                bad.append(f"[{i}] {_shown(url)}")
            elif key in seen:
                dup.append(f"[{seen[key]}] {_shown(self.vms[seen[key]])} and [{i}] {_shown(url)}")
            else:
                seen[key] = i
        if bad:
            raise ConfigError(
                f"config key 'fleet.vms' has entries that are not http(s) URLs with a host: {_few(bad, ', ')}; "
                "write each VM as http://HOST:PORT (or https://...)"
            )
        if dup:
            raise ConfigError(
                f"config key 'fleet.vms' names the same VM twice: {_few(dup, '; ')}; list each VM once"
            )


def _shown(value: object) -> str:
    r = repr(value)
    return r if len(r) <= 80 else f"{r[:80]}...({len(r)} chars)"


def _few(items: list[str], sep: str, limit: int = 10) -> str:
    more = f"{sep}and {len(items) - limit} more" if len(items) > limit else ""
    return sep.join(items[:limit]) + more


def vm_address(url: object) -> tuple[str, int, str] | None:
    """The VM a ``fleet.vms`` entry names, as (host, port, path), or None when it is not an http(s) URL
    with a host. Scheme and host case, a default port (80/443), a trailing slash and surrounding
    spaces do not make another VM; different host names (``localhost``, ``127.0.0.1``) do."""
    if not isinstance(url, str):
        return None
    try:
        u = urlsplit(url.strip())
        port = u.port
    except ValueError:  # a port that is not a number in 0-65535, a bad IPv6 literal
        return None
    scheme = u.scheme.lower()
    if scheme not in ("http", "https") or not u.hostname or u.query or u.fragment or u.username:
        return None
    if any(c.isspace() for c in u.netloc) or port == 0:
        return None
    return u.hostname.lower(), port if port else (443 if scheme == "https" else 80), u.path.rstrip("/")


@dataclass
class RolloutConfig:
    max_steps: int = opt(12, "Step limit of an episode.", ge=1)
    max_invalid: int = opt(3, "Consecutive invalid model answers that end an episode.", ge=1)
    max_retries: int = opt(
        3, "Times a task is retried after infrastructure failures before it is recorded as one.", ge=0
    )
    lease_timeout_s: float = opt(
        120.0, "A leased task not finished within this is handed to another worker.", gt=0
    )
    progress_every_s: float = opt(
        1.0, "How often the driver refreshes progress and logs rollout metrics.", gt=0
    )
    workers: int = opt(
        0,
        "Rollout worker processes (Ray actors); the VMs are spread evenly over them, each driven by its "
        "own connection (a thread) in its worker. 0: auto, one per CPU of the Ray cluster (fewer when "
        "`resources` fit fewer, never more than VMs), so workers scale with cores, not with VMs.",
        ge=0,
        le=4096,
    )
    vms_per_worker: int = opt(
        0,
        "VM connections each rollout worker process drives (workers = ceil(VMs / this)). 0: auto "
        "(see `workers`). Set `workers` or this, not both; 1 is one process per VM.",
        ge=0,
        le=4096,
    )
    resources: dict[str, float] = opt(
        {},
        "Custom Ray resources each rollout worker process requests (e.g. {rollout_node: 1} to place "
        "workers on nodes that offer it); {}: none. CPU/GPU are not custom resources.",
    )

    def __post_init__(self) -> None:
        if self.workers and self.vms_per_worker:
            raise ConfigError(
                f"config keys 'rollout.workers' ({self.workers}) and 'rollout.vms_per_worker' "
                f"({self.vms_per_worker}) are both set; set one of them (the other follows from the VMs)"
            )
        if not isinstance(self.resources, dict):
            raise ConfigError(
                f"config key 'rollout.resources' must be a mapping of resource name to amount, got "
                f"{_shown(self.resources)}; write e.g. rollout.resources={{rollout_node: 1}}"
            )
        for name, amount in self.resources.items():
            if not isinstance(name, str) or not name.strip() or name in ("CPU", "GPU", "memory"):
                raise ConfigError(
                    f"config key 'rollout.resources' has the resource name {_shown(name)}; name a custom "
                    "resource (CPU, GPU and memory are Ray's own and are not requested here)"
                )
            ok = isinstance(amount, (int, float)) and not isinstance(amount, bool)
            if not ok or not 0 < amount < float("inf"):
                raise ConfigError(
                    f"config key 'rollout.resources.{name}' must be a positive number, got {_shown(amount)}"
                )


@dataclass
class CollectConfig:
    num_tasks: int = opt(2000, "Training tasks the expert plays (phase 0b).", ge=1)
    eval_tasks: int = opt(
        300, "Held-out tasks played by the noiseless expert: the reference trajectories.", ge=0
    )
    composite_fraction: float = opt(0.2, "Fraction of composite (2-3 family) tasks.", ge=0, le=1)
    families: list[str] = opt([], "Only these task families (empty: all); also the online PPO task pool.")
    seed: int = opt(
        1, "Seed of the task sample (the corpus uses run.seed; keep them apart).", ge=0, le=SEED_MAX
    )
    tag: str = opt("collect-expert", "Store tag of the expert's trajectories.")
    eval_tag: str = opt("reference-eval", "Store tag of the held-out reference trajectories.")


@dataclass
class ExploreConfig:
    checkpoint: str = opt("lam2", "Policy that retries the expert's failures (registry name or path).")
    source_tag: str = opt("collect-expert", "Store tag whose failed trajectories are retried.")
    attempts: int = opt(2, "Attempts per failed task (sampled decoding makes them differ).", ge=1)
    temperature: float = opt(
        0.7, "Sampling temperature of the exploring policy (0: greedy, one attempt suffices).", ge=0
    )
    max_tasks: int = opt(0, "Retry at most this many failed tasks (0: all).", ge=0)
    tag: str = opt(
        "explore-lam2", "Store tag of the exploration trajectories (phase 3 trains on its successes)."
    )


@dataclass
class EvalConfig:
    models: list[str] = opt(
        ["lam1", "lam2", "lam3", "lam4"],
        "Checkpoints to evaluate (registry names or paths); missing ones are skipped.",
    )
    expert: bool = opt(
        True, "Also evaluate the scripted expert (the paper's GPT-4o row), with its default noise."
    )
    offline: bool = opt(True, "Offline metrics on the held-out reference trajectories (teacher forcing).")
    online: bool = opt(True, "Online metrics: each model acts in WordSim VMs on the held-out tasks.")
    max_tasks: int = opt(0, "Evaluate on at most this many held-out tasks (0: all reference tasks).", ge=0)
    batch_size: int = opt(32, "Prompts per generation batch in offline evaluation.", ge=1)
    max_new_tokens: int = opt(96, "Tokens generated per answer at most.", ge=1)
    tag_prefix: str = opt("eval", "Online evaluation trajectories are tagged <prefix>-<model>.")
    splits: list[str] = opt(
        ["plain", "paraphrase"],
        "Request wordings of the online evaluation: 'plain' (the held-out tasks as generated) and "
        "'paraphrase' (the same tasks, requests reworded in words training never uses; "
        "lam_rl.env.tasks.paraphrase). Task success is reported per split, with the gap.",
    )

    def __post_init__(self) -> None:
        known = ("plain", "paraphrase")
        bad = [s for s in self.splits if s not in known] if isinstance(self.splits, list) else None
        if bad is None or bad or not self.splits or len(set(self.splits)) != len(self.splits):
            raise ConfigError(
                f"config key 'eval.splits' must list some of {list(known)} once each, got "
                f"{_shown(self.splits)}; e.g. eval.splits=[plain,paraphrase]"
            )
