"""Configuration of a deployment on Kubernetes (KubeRay): image, namespace, storage, secrets and the
resources of each Ray role. ``lam-rl infra render`` turns a job config plus this section into RayJob
and RayCluster manifests; Terraform's outputs give the values for a real cluster (docs/deploy.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lam_rl.config import ConfigError, opt

__all__ = ["DeployConfig", "PodResources", "WorkerGroupConfig", "OBJECT_STORE_SCHEMES"]

OBJECT_STORE_SCHEMES = ("az://", "abfs://", "abfss://", "s3://", "gs://")
_CPU = re.compile(r"^([0-9]+(\.[0-9]+)?|[0-9]+m)$")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_POOL = re.compile(r"^[a-z][a-z0-9]{0,11}$")


@dataclass
class PodResources:
    cpu: str = opt("2", "CPU of each pod (a Kubernetes quantity: 2, 500m); requests equal limits.")
    memory: str = opt("8Gi", "Memory of each pod (a Kubernetes quantity: 8Gi, 512Mi); requests equal limits.")
    gpu: int = opt(
        0,
        "NVIDIA GPUs of each pod (nvidia.com/gpu); pods with GPUs land on the tainted GPU pool.",
        ge=0,
    )
    shm: str = opt("2Gi", "Size of /dev/shm (memory-backed) for the object store and NCCL.")


@dataclass
class WorkerGroupConfig(PodResources):
    replicas: int = opt(1, "Worker pods at start.", ge=0)
    min_replicas: int = opt(0, "Fewest worker pods the Ray autoscaler keeps.", ge=0)
    max_replicas: int = opt(4, "Most worker pods the Ray autoscaler may start.", ge=0)


def _check_pod(section: str, res: PodResources) -> None:
    if not _CPU.match(str(res.cpu)) or str(res.cpu) in ("0", "0m"):
        raise ConfigError(
            f"config key '{section}.cpu' must be a positive CPU quantity like 2 or 500m, got {res.cpu!r}"
        )
    for name in ("memory", "shm"):
        value = str(getattr(res, name))
        if not _MEMORY.match(value):
            raise ConfigError(
                f"config key '{section}.{name}' must be a memory quantity like 8Gi, got {value!r}"
            )
    if res.gpu < 0:
        raise ConfigError(f"config key '{section}.gpu' must be >= 0, got {res.gpu}")
    if isinstance(res, WorkerGroupConfig) and not 0 <= res.min_replicas <= res.replicas <= res.max_replicas:
        raise ConfigError(
            f"config keys '{section}.min_replicas/replicas/max_replicas' must satisfy "
            f"0 <= min_replicas <= replicas <= max_replicas, got "
            f"{res.min_replicas}/{res.replicas}/{res.max_replicas}"
        )


@dataclass
class DeployConfig:
    image: str = opt(
        "lam-rl:0.1.0",
        "Container image with lam-rl installed (infra/docker/Dockerfile), e.g. <acr>.azurecr.io/lam-rl:0.1.0 "
        "(Terraform output acr_login_server).",
    )
    image_pull_policy: str = opt("IfNotPresent", "imagePullPolicy of every Ray container.")
    ray_version: str = opt("2.60.0", "Ray version in the image (KubeRay's rayVersion).")
    namespace: str = opt("lam-rl", "Kubernetes namespace of the Ray clusters and jobs.")
    service_account: str = opt(
        "lam-rl",
        "ServiceAccount of every Ray pod; the Helm chart infra/helm/lam-rl creates it with the Azure "
        "workload identity that may read and write the storage account.",
    )
    workload_identity: bool = opt(
        True, "Label pods for Azure workload identity (object-store access without keys)."
    )
    cluster_name: str = opt(
        "lam-rl",
        "Name of the long-lived RayCluster (`lam-rl infra render cluster`) that serves the policy "
        "and reward servers and takes `ray job submit`.",
    )
    store_uri: str | None = opt(
        None,
        "Object-store root for trajectory stores on the cluster (az://<container>/<prefix>, s3://, gs://): "
        "a job whose store.uri is unset gets <store_uri>/<run.name>/store. None: the store lives on the "
        "shared runs volume.",
    )
    storage_account: str | None = opt(
        None, "Azure storage account of store_uri (passed to Lance as store.storage_options.account_name)."
    )
    runs_volume: str = opt(
        "lam-rl-runs",
        "PersistentVolumeClaim (ReadWriteMany) shared by all Ray pods: run directories, checkpoints, W&B "
        "offline files. The Helm chart creates it.",
    )
    runs_mount: str = opt("/mnt/runs", "Where runs_volume is mounted; jobs get run.root=<runs_mount>.")
    wandb_secret: str = opt("lam-rl-wandb", "Secret whose key 'api-key' becomes WANDB_API_KEY (optional).")
    vm_token_secret: str = opt(
        "lam-rl-vm-token", "Secret whose key 'token' becomes LAM_VM_TOKEN, the VM agents' bearer token."
    )
    cpu_pool: str = opt("cpu", "Node pool (node label lam-rl.io/pool) of the head and rollout workers.")
    gpu_pool: str = opt(
        "gpu", "Node pool (node label lam-rl.io/pool) of GPU pods; it is tainted nvidia.com/gpu."
    )
    ttl_seconds_after_finished: int = opt(
        3600,
        "Seconds a finished RayJob keeps its Ray cluster (for logs) before KubeRay deletes it.",
        ge=0,
    )
    active_deadline_seconds: int = opt(
        0, "Seconds a RayJob may run before KubeRay stops it (0: no limit).", ge=0
    )
    head: PodResources = opt(PodResources(cpu="4", memory="16Gi"), "The Ray head (driver, dashboard, GCS).")
    rollout: WorkerGroupConfig = opt(
        WorkerGroupConfig(cpu="4", memory="8Gi", replicas=2, min_replicas=0, max_replicas=16),
        "Rollout workers (CPU): RolloutWorker actors, one per VM, and data jobs.",
    )
    learner: WorkerGroupConfig = opt(
        WorkerGroupConfig(
            cpu="8", memory="64Gi", gpu=1, shm="16Gi", replicas=1, min_replicas=0, max_replicas=8
        ),
        "Learners (GPU): Ray Train workers with DeepSpeed.",
    )
    serve: WorkerGroupConfig = opt(
        WorkerGroupConfig(
            cpu="4", memory="32Gi", gpu=1, shm="8Gi", replicas=1, min_replicas=0, max_replicas=4
        ),
        "Policy and reward servers (GPU): Ray Serve replicas.",
    )

    def __post_init__(self) -> None:
        if not self.image or any(c.isspace() for c in self.image):
            raise ConfigError(f"config key 'deploy.image' must be an image reference, got {self.image!r}")
        if (
            self.image.endswith(":latest")
            or ":" not in self.image.rsplit("/", 1)[-1]
            and "@" not in self.image
        ):
            raise ConfigError(
                f"config key 'deploy.image' ({self.image!r}) must carry an explicit tag or digest other than "
                "'latest', so every pod of a job runs the same code"
            )
        if self.image_pull_policy not in ("Always", "IfNotPresent", "Never"):
            raise ConfigError("config key 'deploy.image_pull_policy' must be Always, IfNotPresent or Never")
        if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", self.ray_version):
            raise ConfigError(
                f"config key 'deploy.ray_version' must look like 2.60.0, got {self.ray_version!r}"
            )
        for name in (
            "namespace",
            "service_account",
            "cluster_name",
            "runs_volume",
            "wandb_secret",
            "vm_token_secret",
        ):
            value = getattr(self, name)
            if not _DNS_LABEL.match(value) or len(value) > 63:
                raise ConfigError(
                    f"config key 'deploy.{name}' must be a DNS label (lower-case letters, digits and '-', "
                    f"starting with a letter, at most 63 characters), got {value!r}"
                )
        if len(self.cluster_name) > 53:
            raise ConfigError(
                "config key 'deploy.cluster_name' must be at most 53 characters (a KubeRay limit)"
            )
        for name in ("cpu_pool", "gpu_pool"):
            if not _POOL.match(getattr(self, name)):
                raise ConfigError(
                    f"config key 'deploy.{name}' must be an AKS node-pool name (lower-case letters and digits, "
                    f"at most 12, starting with a letter), got {getattr(self, name)!r}"
                )
        if self.store_uri is not None and not self.store_uri.startswith(OBJECT_STORE_SCHEMES):
            raise ConfigError(
                f"config key 'deploy.store_uri' must be an object-store URI ({', '.join(OBJECT_STORE_SCHEMES)}), "
                f"got {self.store_uri!r}; leave it unset to keep stores on the shared runs volume"
            )
        if not self.runs_mount.startswith("/") or self.runs_mount.rstrip("/") in ("", "/tmp"):
            raise ConfigError(
                f"config key 'deploy.runs_mount' must be an absolute path other than / and /tmp, got {self.runs_mount!r}"
            )
        if self.ttl_seconds_after_finished < 0 or self.active_deadline_seconds < 0:
            raise ConfigError(
                "config keys 'deploy.ttl_seconds_after_finished' and 'deploy.active_deadline_seconds' must be >= 0"
            )
        _check_pod("deploy.head", self.head)
        for role in ("rollout", "learner", "serve"):
            _check_pod(f"deploy.{role}", getattr(self, role))
