"""Ray Train wiring shared by every learner (SFT, reward model, PPO).

``run_workers`` starts ``learner.num_workers`` Ray Train workers (``TorchTrainer``: process group
with gloo on CPU, NCCL on GPU) and runs ``worker_fn(config)`` on each; the function builds the
phase's learner from ``lam_rl.algos`` and drives it. Failures restart the worker group up to
``learner.max_failures`` times; learners resume from their own last complete checkpoint.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray
from ray.train import FailureConfig, LoggingConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchConfig, TorchTrainer

from cluster import noise
from lam_rl.algos.config import LearnerConfig
from lam_rl.algos.engine import backend_for, check_hardware, resolve_use_gpu
from lam_rl.checkpoints import CheckpointRegistry
from lam_rl.config import ConfigError

if TYPE_CHECKING:
    from lam_rl.tracking import Tracker

log = logging.getLogger(__name__)


def cluster_has_gpus() -> bool:
    return ray.cluster_resources().get("GPU", 0) > 0


def plan_resources(
    learner: LearnerConfig, reserve_cpus: float = 0.0, reserve_gpus: float = 0.0
) -> tuple[bool, float, float]:
    """(use_gpu, CPUs per worker, GPUs per worker), checked against the cluster before anything starts.

    ``reserve_cpus`` / ``reserve_gpus`` stay free for what the workers start themselves (online PPO's
    policy server). On GPUs each worker gets one GPU; a single worker shares its GPU when the policy
    server's share would not fit beside it (one GPU: learner 0.5, policy server 0.5). NCCL cannot put
    two ranks on one GPU, so more workers than free GPUs is an error.
    """
    use_gpu = resolve_use_gpu(learner, cluster_has_gpus())
    check_hardware(learner, use_gpu)
    nodes = learner_nodes(learner)
    free = ray.available_resources().get("CPU", 0) or ray.cluster_resources().get("CPU", 1)
    if learner.resources:  # only the nodes that hold the learner's resources count
        free = min(free, sum(n["Resources"].get("CPU", 0) for n in nodes))
    total_cpus = max(free - reserve_cpus, 1.0)
    # A worker runs on one node: never ask for more CPUs than the largest node that may host it has
    # (the cluster's total spread over workers would never be placed on several small nodes).
    largest = max(n["Resources"].get("CPU", 0) for n in nodes)
    cpus = max(1.0, float(int(min(total_cpus // learner.num_workers, largest)))) if not use_gpu else 1.0
    if not use_gpu and total_cpus < learner.num_workers:
        raise ConfigError(
            f"learner.num_workers={learner.num_workers} needs {learner.num_workers} CPUs but the Ray cluster has "
            f"{total_cpus:g} free; lower learner.num_workers"
        )
    gpus = 0.0
    if use_gpu:
        free_gpus = ray.cluster_resources().get("GPU", 0) - reserve_gpus
        if free_gpus >= learner.num_workers:
            gpus = 1.0
        elif learner.num_workers == 1 and free_gpus > 0:
            gpus = round(free_gpus, 4)
        else:
            raise ConfigError(
                f"learner.num_workers={learner.num_workers} needs {learner.num_workers} GPUs but the Ray cluster "
                f"has {free_gpus:g} beside the {reserve_gpus:g} the policy server takes; lower "
                "learner.num_workers or policy.gpus_per_replica"
            )
    return use_gpu, cpus, gpus


def learner_nodes(learner: LearnerConfig) -> list[dict[str, Any]]:
    """The alive nodes that hold every custom resource of ``learner.resources`` (all alive nodes when
    it is empty); a ConfigError when there is none, instead of workers waiting for a node forever."""
    want = learner.resources
    nodes = [
        n
        for n in ray.nodes()
        if n.get("Alive") and all(n["Resources"].get(k, 0) >= v for k, v in want.items())
    ]
    if not nodes:
        have = sorted({k for n in ray.nodes() if n.get("Alive") for k in n["Resources"]})
        raise ConfigError(
            f"learner.resources={dict(want)}: no node of the Ray cluster has that much of them (resources "
            f"there: {', '.join(k for k in have if not k.startswith('node:'))}); start a node with "
            "`ray start --resources=...` or change learner.resources"
        )
    return nodes


@dataclass
class WorkerInfo:
    rank: int
    world: int
    local_rank: int


def worker_info() -> WorkerInfo:
    """Inside a Ray Train worker: who am I. Also sizes torch's thread pool to the worker's CPUs and
    quiets the libraries' console noise (``cluster.noise``)."""
    import torch

    noise.quiet_process()
    ctx = ray.train.get_context()
    cpus = int(os.environ.get("LAM_WORKER_CPUS", "1"))
    torch.set_num_threads(max(1, cpus))
    return WorkerInfo(ctx.get_world_rank(), ctx.get_world_size(), ctx.get_local_rank())


def report_result(metrics: dict[str, Any]) -> None:
    """Called once by every worker at the end; rank 0's metrics come back from ``run_workers``.

    Ray Train (v2) returns metrics only with a checkpoint, so rank 0 attaches a tiny one holding
    the metrics (persisted under the run's storage path, also on a multi-node cluster).
    """
    import json
    import tempfile

    from ray.train import Checkpoint

    if ray.train.get_context().get_world_rank() == 0:
        with tempfile.TemporaryDirectory() as d:
            Path(d, "result.json").write_text(json.dumps(metrics, default=str))
            ray.train.report(metrics, checkpoint=Checkpoint.from_directory(d))
    else:
        ray.train.report({})


def publish(src: Path, dest: Path) -> None:
    """Copy a finished HF folder to its registry place atomically."""
    import shutil
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    shutil.copytree(src, tmp, dirs_exist_ok=True)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(tmp, dest)


@dataclass
class WorkerRun:
    """What a learner's worker body gets from :func:`rank0_scaffold`: who it is, the run's config
    (the dataclass the driver loaded, pickled by Ray), the job's inputs, the checkpoint registry and,
    on rank 0 only, the W&B Tracker of the run."""

    info: WorkerInfo
    cfg: Any
    inputs: dict[str, Any]  # what the job read (W&B config "inputs", registry metadata)
    args: dict[str, Any]  # the body's own arguments (the SFT phase, the starting checkpoint)
    use_gpu: bool
    registry: CheckpointRegistry
    tracker: Tracker | None

    @property
    def report(self) -> Callable[[dict[str, Any], int], None] | None:
        """The Tracker's ``log`` on rank 0 (a learner's ``report=``), else None."""
        return self.tracker.log if self.tracker is not None else None

    persist_to_storage: bool = False  # learner.storage is an object store: checkpoints go there too

    def persist(self, ds_checkpoint: Path, step: int) -> None:
        """Every rank, after each resumable checkpoint (the Learner's ``on_saved``): with ``learner.storage``
        on an object store, hand it to Ray Train, which uploads it there (a restart resumes from it on any
        node: :func:`restore_from_storage`). With local storage the checkpoint stays where it is."""
        if self.persist_to_storage:
            from ray.train import Checkpoint

            ray.train.report({"step": step}, checkpoint=Checkpoint.from_directory(str(ds_checkpoint)))

    def publish(self, hf: Path, name: str, **meta: Any) -> None:
        """Copy the final HF folder ``hf`` to ``<run dir>/checkpoints/<name>`` and register it there."""
        dest = Path(self.cfg.run_dir) / "checkpoints" / name
        publish(hf, dest)
        self.registry.register(name, dest, final=True, **meta)


def restore_from_storage(cfg: Any) -> Any:
    """In a (re)started worker with ``learner.resume=auto``: the last resumable checkpoint Ray Train holds in
    ``learner.storage`` (of this run, or of an interrupted earlier run of the same name: Ray Train reloads
    its list), downloaded to this node, becomes ``learner.resume`` (a copy of ``cfg``; unchanged when there
    is none, or when the last one is a finished run's result)."""
    import copy
    import dataclasses
    import json
    import tempfile

    if cfg.learner.resume != "auto":  # never, or a checkpoint the user named
        return cfg
    ckpt = ray.train.get_checkpoint()
    if ckpt is None:
        return cfg
    local = Path(tempfile.mkdtemp(prefix="lam-resume-")) / "restored"
    ckpt.to_directory(str(local))
    marker = local / "COMPLETE"
    if not marker.exists():  # the final result (result.json), not a resumable checkpoint
        return cfg
    step = int(json.loads(marker.read_text())["step"])
    tagged = local.rename(local.with_name(f"step{step}"))  # DeepSpeed loads a checkpoint by its tag
    log.info("resuming from step %d of %s (downloaded from learner.storage)", step, cfg.learner.storage)
    cfg = copy.copy(cfg)
    cfg.learner = dataclasses.replace(cfg.learner, resume=str(tagged))
    return cfg


def rank0_scaffold(
    body: Callable[[WorkerRun], dict[str, Any]],
) -> Callable[[dict[str, Any]], None]:
    """A Ray Train worker function around ``body``: worker info, the config, rank 0's Tracker
    (opened before ``body`` and finished after it with ``body``'s summary), the result reported.

    :func:`run_learner` runs it.
    """

    def worker(config: dict[str, Any]) -> None:
        from lam_rl.config import to_dict
        from lam_rl.tracking import Tracker

        info = worker_info()
        cfg = config["cfg"]
        if config.get("persist"):
            cfg = restore_from_storage(cfg)
        name, job_type, extra = config["tracking"]
        tracker = None
        if info.rank == 0:
            wb_config = {**to_dict(cfg), **extra, "inputs": config["inputs"]}
            tracker = Tracker(
                cfg.tracking, run_dir=cfg.run_dir, name=name, job_type=job_type, config=wb_config
            )
        run = WorkerRun(
            info,
            cfg,
            config["inputs"],
            config["args"],
            config["_use_gpu"],
            CheckpointRegistry(Path(cfg.run_dir) / "checkpoints"),
            tracker,
            persist_to_storage=bool(config.get("persist")),
        )
        try:
            summary = body(run)
            if tracker is not None:
                tracker.summary(**summary)
        finally:
            if tracker is not None:
                tracker.finish()
        report_result(summary)

    worker.__name__ = worker.__qualname__ = getattr(body, "__name__", "worker")
    return worker


class Trainer(TorchTrainer):
    """``TorchTrainer`` without Ray Train's placement-group cleaner where the cluster has no State API
    (``cluster.noise.drop_placement_group_cleaner``: lam-rl's embedded Ray has no dashboard)."""

    def _create_default_callbacks(self):
        return noise.drop_placement_group_cleaner(super()._create_default_callbacks())


def fit_keeping_sigint(trainer: TorchTrainer):
    """``trainer.fit()``, then the SIGINT handler as it was before.

    Ray Train's ``fit`` installs a Ctrl-C handler that aborts *its* controller and never removes
    it; left in place, a later Ctrl-C in the same driver (the pipeline's next stage) would go to a
    finished run's controller and be lost, and the job would not stop.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return trainer.fit()
    before = signal.getsignal(signal.SIGINT)
    try:
        return trainer.fit()
    finally:
        signal.signal(signal.SIGINT, before)


def storage_kwargs(learner: LearnerConfig, storage_path: Path) -> dict[str, Any]:
    """RunConfig's storage: ``storage_path`` (local disk / a shared volume) unless ``learner.storage`` is
    set: a folder, or an object store reached through a pyarrow filesystem built from
    ``learner.storage_options``; under the run folder's name there, so runs sharing it never share state."""
    where = learner.storage
    if not where:
        return {"storage_path": str(Path(storage_path).resolve())}
    run_name = Path(storage_path).parent.name
    if "://" not in where or where.startswith("file://"):
        return {"storage_path": str(Path(where.removeprefix("file://")).expanduser().resolve() / run_name)}
    from ray.train import CheckpointConfig

    from lam_rl.store.remote import arrow_filesystem

    fs, path = arrow_filesystem(where, learner.storage_options)
    return {
        "storage_path": f"{path}/{run_name}",
        "storage_filesystem": fs,
        # the resumable checkpoints uploaded there, and the final result
        "checkpoint_config": CheckpointConfig(num_to_keep=learner.keep_checkpoints + 1),
    }


def run_workers(
    worker_fn: Callable[[dict[str, Any]], None],
    config: dict[str, Any],
    learner: LearnerConfig,
    *,
    name: str,
    storage_path: Path,
    reserve_cpus: float = 0.0,
    reserve_gpus: float = 0.0,
) -> dict[str, Any]:
    """Run ``worker_fn`` on a Ray Train worker group; return rank 0's last reported metrics."""
    use_gpu, cpus, gpus = plan_resources(learner, reserve_cpus, reserve_gpus)
    resources = {"CPU": cpus, **({"GPU": gpus} if use_gpu else {}), **learner.resources}
    storage = storage_kwargs(learner, storage_path)
    config = dict(config, _use_gpu=use_gpu, persist="storage_filesystem" in storage)
    trainer = Trainer(
        worker_fn,
        train_loop_config=config,
        scaling_config=ScalingConfig(
            num_workers=learner.num_workers, use_gpu=use_gpu, resources_per_worker=resources
        ),
        torch_config=TorchConfig(backend=backend_for(use_gpu)),
        run_config=RunConfig(
            name=name,
            **storage,
            failure_config=FailureConfig(max_failures=learner.max_failures),
            worker_runtime_env={"env_vars": {**noise.ray_train_env(), "LAM_WORKER_CPUS": str(int(cpus))}},
            logging_config=LoggingConfig(log_level=noise.ray_train_log_level()),
        ),
    )
    log.info(
        "%s: %d Ray Train worker(s), %s, %g CPU each%s, ZeRO-%d %s",
        name,
        learner.num_workers,
        f"{gpus:g} GPU each, NCCL" if use_gpu else "CPU/gloo",
        cpus,
        f" + {learner.resources}" if learner.resources else "",
        learner.zero_stage,
        learner.precision,
    )
    result = fit_keeping_sigint(trainer)
    if result.error is not None:
        raise result.error
    return dict(result.metrics or {})


def run_learner(
    body: Callable[[WorkerRun], dict[str, Any]],
    cfg: Any,
    inputs: dict[str, Any],
    *,
    args: dict[str, Any] | None = None,
    name: str,
    job_type: str,
    wandb_extra: dict[str, Any] | None = None,
    learner: LearnerConfig | None = None,
    reserve_cpus: float = 0.0,
    reserve_gpus: float = 0.0,
) -> dict[str, Any]:
    """Run a job's learner: ``body`` through :func:`rank0_scaffold` on ``learner`` (default
    ``cfg.learner``) workers; returns rank 0's summary. ``cfg`` crosses to the workers as it is (Ray
    pickles the dataclass); ``args`` are the body's own. Rank 0's W&B run is ``name`` (``job_type``),
    its config the job's config plus ``wandb_extra`` and ``inputs``."""
    config = {
        "cfg": cfg,
        "inputs": inputs,
        "args": dict(args or {}),
        "tracking": (name, job_type, dict(wandb_extra or {})),
    }
    return run_workers(
        rank0_scaffold(body),
        config,
        learner or cfg.learner,
        name=name,
        storage_path=Path(cfg.run_dir) / "ray_train",
        reserve_cpus=reserve_cpus,
        reserve_gpus=reserve_gpus,
    )
