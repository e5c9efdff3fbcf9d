"""How a job starts: resolve its config, set up logging, connect to (or embed) Ray, run, report.

``python -m jobs.x key=value`` and ``ray job submit -- python -m jobs.x key=value`` both land here:
with ``RAY_ADDRESS`` set (ray job submit sets it) the job connects to that cluster, otherwise it
starts an embedded single-node Ray in-process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cluster import noise
from cluster.config import RayConfig
from lam_rl.config import ConfigError, describe, load_config, to_yaml
from lam_rl.logs import setup_logging

log = logging.getLogger(__name__)
C = TypeVar("C")

# Environment every Ray worker of a job inherits from the driver, when set there: the user's Hugging
# Face settings (hub access, cache, token), CPU DeepSpeed, quiet tokenizers, W&B, the VM token.
# Hub access is the user's choice: nothing here turns it off (the demo and the tests do).
WORKER_ENV_KEYS = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HOME",
    "HF_HUB_CACHE",
    "HF_TOKEN",
    "HF_ENDPOINT",
    "DS_ACCELERATOR",
    "TOKENIZERS_PARALLELISM",
    "WANDB_MODE",
    "WANDB_API_KEY",
    "LAM_PROGRESS",
    "LAM_VM_TOKEN",
)


def worker_env() -> dict[str, str]:
    env = {"TOKENIZERS_PARALLELISM": "false"}
    env.update({k: os.environ[k] for k in WORKER_ENV_KEYS if k in os.environ})
    return env


@contextlib.contextmanager
def ray_session(cfg: RayConfig) -> Iterator[None]:
    """Connect to a cluster (cfg.address or RAY_ADDRESS) or start an embedded Ray; shut down after."""
    import ray

    if ray.is_initialized():
        yield
        return
    address = cfg.address or os.environ.get("RAY_ADDRESS")
    runtime_env = {"env_vars": worker_env()}
    noise.apply(runtime_env)  # what Ray, DeepSpeed and transformers print that means nothing here
    if address:
        log.info("connecting to Ray at %s", address)
        ray.init(address=address, namespace=cfg.namespace, runtime_env=runtime_env, log_to_driver=True)
    else:
        ray.init(
            num_cpus=cfg.num_cpus,
            namespace=cfg.namespace,
            include_dashboard=cfg.include_dashboard,
            runtime_env=runtime_env,
            log_to_driver=True,
            configure_logging=False,
        )
    try:
        yield
    finally:
        if "ray.serve" in sys.modules:
            with contextlib.suppress(Exception):
                sys.modules["ray.serve"].shutdown()
        ray.shutdown()


def on_this_node() -> Any:
    """A scheduling strategy that puts an actor on the caller's node and nowhere else.

    The driver places what a rollout must not lose with a worker node on its own node (the task
    queue, the store writer, the local WordSim VMs): a rollout or learner node that dies takes only
    its workers with it, and the driver dies with its own node anyway."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)


def print_help(schema: type, doc: str | None) -> None:
    if doc:
        print(doc.strip(), end="\n\n")
    print("usage: python -m jobs.<name> [config=tiny|small|PATH.yaml] [section.key=value ...]\n")
    for key, default, help_text in describe(schema):
        print(f"  {key} = {default}\n      {help_text}")


def job_main(
    schema: type[C],
    fn: Callable[[C], Any],
    *,
    name: str,
    configs_dir: Path,  # a folder or an importlib.resources traversable (jobs.CONFIGS_DIR)
    argv: Sequence[str] | None = None,
    needs_ray: bool = True,
    doc: str | None = None,
    check: Callable[[C], Any] | None = None,
) -> None:
    """Entry point shared by every job; exits 2 with a clear message on bad input.

    Order: config -> ``check(cfg)`` (the job's inputs: store tags, checkpoints, model paths) -> the
    config written to ``<run dir>/configs/`` -> Ray -> ``fn(cfg)``. A config or input problem exits
    2 before anything is written or started."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        print_help(schema, doc)
        return
    setup_logging(os.environ.get("LAM_LOG_LEVEL", "INFO"))
    try:
        cfg = load_config(schema, argv, configs_dir=configs_dir)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    # The config travels to Ray workers, whose working directory is not the driver's: make a local
    # run root absolute here so every path derived from it (checkpoints, the store) resolves there.
    run = cfg.run  # type: ignore[attr-defined]
    if "://" not in run.root and not Path(run.root).is_absolute():
        run.root = str(Path(run.root).expanduser().absolute())
    run_dir: Path = cfg.run.dir  # type: ignore[attr-defined]
    setup_logging(cfg.run.log_level)  # type: ignore[attr-defined]
    try:
        if getattr(cfg, "store", None) is not None:  # an object store that refuses us: before anything runs
            from lam_rl.store.remote import check_store

            check_store(cfg.store, run_dir)
        if check is not None:
            check(cfg)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    (run_dir / "configs").mkdir(parents=True, exist_ok=True)
    (run_dir / "configs" / f"{name}.yaml").write_text(to_yaml(cfg))
    try:
        if needs_ray:
            with ray_session(cfg.ray):  # type: ignore[attr-defined]
                fn(cfg)
        else:
            fn(cfg)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
