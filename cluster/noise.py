"""What Ray, Ray Train, DeepSpeed, torch and transformers print that means nothing to a lam-rl user,
silenced at its source, in one place.

``apply(runtime_env)`` is called by ``cluster.runtime.ray_session`` before Ray starts: it sets the
environment of the driver and of every Ray worker (``runtime_env["env_vars"]``), makes
``quiet_process`` the setup hook of every Ray worker of the job (Train workers, Serve replicas,
rollout workers) and runs it in the driver. ``quiet_process()`` quiets the loggers and warnings of
the process it runs in; each Ray Train worker also calls it first (``cluster.train.worker_info``), so
learners started without ``ray_session`` (tests, benchmarks) are quiet too. What each setting removes,
measured on a 20-step SFT job with 2 workers and on the pipeline's log (docs/learners.md):

| noise on the console | source | silenced by |
|---|---|---|
| `(PlacementGroupCleaner) Failed to query Ray Train Controller actor state...` every second of every training stage, or its thread dying with `Found multiple active Ray instances` | Ray Train's placement-group cleaner polls the State API, which needs the Ray dashboard; lam-rl's embedded Ray runs without one | ``drop_placement_group_cleaner()``: no cleaner where there is no State API (``cluster.train``) |
| `core_worker.cc ... Actor with class name: 'PreemptionWatcher' ... max_restarts > 0` once per stage | Ray Train's preemption watcher (node-drain notices for spot nodes), which lam-rl's learners do not use: they checkpoint and resume | ``RAY_TRAIN_ENABLE_PREEMPTION_WATCHER=0`` |
| `Requesting resources`, `Attempting to start training worker group`, `Setting up process group`, `Checkpoint successfully created`, `Reporting training result` | Ray Train's INFO logs (still in the session's log files) | Ray Train's ``LoggingConfig`` at WARNING (INFO with ``LAM_LOG_LEVEL=DEBUG``), and the level of the one logger it names by file path |
| `[WARNING] [lr_schedules.py] Attempting to get learning rate from scheduler before it has started` | DeepSpeed's warm-up schedulers, on every engine start | a filter on DeepSpeed's logger |
| `DeepSpeed deepspeed.ops.comm.deepspeed_shm_comm_op built successfully` (twice per worker) | DeepSpeed loading its cached CPU comm op | a filter on the root logger (Ray Train turns a worker's prints into root-logger records); ``lam_rl.algos.engine.init_distributed`` swallows it outside Ray |
| `FutureWarning: torch.distributed.all_gather_into_tensor is deprecated` | torch, called by DeepSpeed ZeRO | a warnings filter |
| `Loading weights: 100%...`, `Writing model shards: 100%...` in every worker | transformers' progress bars | ``HF_HUB_DISABLE_PROGRESS_BARS=1`` in workers (and in the driver when stderr is not a terminal) |
| `(ServeReplica:...) INFO ... -- CALL score OK 716.4ms`, one per request, and Serve's deployment progress (`Deploying new version`, `Adding 1 replica`, `Got updated endpoints`, `Application ... is ready`) | Ray Serve's INFO logs | a filter on the `ray.serve` logger: warnings and errors only (in Serve's log files too) |
| `Failed to get queue length from Replica ... within 0.1s` | Serve's router, when a busy CPU replica answers a probe slowly | the message filter |
| `(TrainController) Failed to send resource request for train-...` and a traceback | Ray Train's controller, when a busy machine answers its autoscaling coordinator late (Ray: "safe to ignore" when transient) | the message filter on that module's logger |
| `Token authentication is enabled for this Ray cluster...` | Ray, starting the embedded cluster (token auth on is the secure default) | the driver's logger for it |

``LAM_LOG_LEVEL=DEBUG`` brings Ray Train's and Serve's INFO logs back.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from typing import Any

# Ray Train's own log level on the console (its log files under the Ray session keep everything).
QUIET_RAY_TRAIN_LEVEL = "WARNING"

# Environment of the driver and of every Ray worker.
ENV = {
    # Ray Train's preemption watcher: an actor per training stage whose creation logs a core_worker.cc
    # error line; lam-rl's learners do not listen to preemption notices (they resume from checkpoints).
    "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0",
}
# Environment of Ray workers only (the driver keeps its bars on a terminal).
WORKER_ENV = {"HF_HUB_DISABLE_PROGRESS_BARS": "1"}

# Messages dropped wherever they are logged (DeepSpeed's logger, or the root logger that receives a
# Ray Train worker's prints).
DROPPED = re.compile(
    "|".join(
        [
            r"Attempting to get learning rate from scheduler before it has started",
            r"deepspeed_shm_comm_op built successfully",
            # Serve's router in the driver when a busy CPU replica answers a probe slowly
            r"Failed to get queue length from Replica",
            # Ray Train's controller asking the autoscaler for resources the fixed cluster already has,
            # with a traceback, when the machine is busy ("safe to ignore" if transient, says Ray)
            r"Failed to (send|cancel) resource request for train-",
        ]
    )
)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return not DROPPED.search(record.getMessage())
        except Exception:  # noqa: BLE001 - a malformed record is not ours to judge
            return True


_FILTER = _DropNoise()
AUTOSCALING_CLIENT = "ray.train.v2._internal.execution.scaling_policy.autoscaling_coordinator_client"


class _ServeWarningsOnly(logging.Filter):
    """Ray Serve's INFO records (one access-log line per request, deployment progress) are dropped;
    its warnings and errors stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_SERVE_FILTER = _ServeWarningsOnly()


def _debug() -> bool:
    return os.environ.get("LAM_LOG_LEVEL", "").upper() == "DEBUG"


def ray_train_log_level() -> str:
    """Ray Train's console log level: WARNING, or INFO when lam-rl itself logs at DEBUG."""
    return "INFO" if _debug() else QUIET_RAY_TRAIN_LEVEL


def quiet_process() -> None:
    """Quiet this process's loggers and warnings (idempotent)."""
    # (a logger's filters see only the records logged to that very logger, so each source is named)
    for name in ("", "DeepSpeed", "ray.serve", AUTOSCALING_CLIENT):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    # a filter on the logger itself: Serve replaces the handlers of "ray.serve" when a component starts
    serve = logging.getLogger("ray.serve")
    if not _debug() and _SERVE_FILTER not in serve.filters:
        serve.addFilter(_SERVE_FILTER)
    warnings.filterwarnings(
        "ignore", message=r".*all_gather_into_tensor.*is deprecated", category=FutureWarning
    )
    # Ray's notice that the cluster it starts has token authentication on (the secure default).
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    # Ray Train's "Reporting training result ..." on every worker: its logger is named by file path,
    # so the level of Ray Train's LoggingConfig does not reach it
    context = sys.modules.get("ray.train.v2._internal.execution.context")
    if context is not None and getattr(context, "__file__", None):
        logging.getLogger(context.__file__).setLevel(logging.WARNING)


def apply(runtime_env: dict[str, Any]) -> dict[str, Any]:
    """Set the quiet environment for the driver and for the workers of ``runtime_env``; returns it."""
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    if not sys.stderr.isatty():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # the libraries already imported read the variable at import
        if "huggingface_hub" in sys.modules:
            from huggingface_hub.utils import disable_progress_bars

            disable_progress_bars()
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
    env_vars = runtime_env.setdefault("env_vars", {})
    for key, value in {**ENV, **WORKER_ENV}.items():
        env_vars.setdefault(key, os.environ.get(key, value))
    if "LAM_LOG_LEVEL" in os.environ:
        env_vars.setdefault("LAM_LOG_LEVEL", os.environ["LAM_LOG_LEVEL"])
    # every Ray worker of the job (Train workers, Serve replicas, rollout workers) runs it first
    runtime_env.setdefault("worker_process_setup_hook", "cluster.noise.quiet_process")
    quiet_process()
    return runtime_env


def ray_train_env() -> dict[str, str]:
    """For ``cluster.train.run_workers``: sets the driver's Ray Train settings (Ray Train hands them to
    its controller) and returns the environment of the Train workers."""
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    return {k: os.environ.get(k, v) for k, v in {**ENV, **WORKER_ENV}.items()}


def state_api_available() -> bool:
    """Whether the connected Ray cluster has a dashboard (the State API lives there)."""
    try:
        import ray._private.worker as ray_worker

        return bool(ray_worker.get_dashboard_url())
    except Exception:  # noqa: BLE001 - an unknown Ray: assume it has one, change nothing
        return True


def drop_placement_group_cleaner(callbacks: list[Any]) -> list[Any]:
    """Ray Train's default callbacks without its placement-group cleaner when there is no State API.

    The cleaner (a detached actor per training stage) asks the State API every second whether the
    Train controller is alive, to free its placement group if the controller dies. Without a
    dashboard the State API is not there: it warns every second, its thread dies when several Ray
    instances run on the machine, and when another cluster's dashboard answers on the default port it
    finds no such controller and removes this run's placement group. lam-rl's embedded Ray has no
    dashboard (``ray.include_dashboard``) and ends with its driver, so nothing is lost.
    """
    if state_api_available():
        return callbacks
    return [c for c in callbacks if type(c).__name__ != "PlacementGroupCleanerCallback"]
