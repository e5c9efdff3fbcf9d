"""Pod templates of the Ray roles (head, rollout, learner, serve) under the restricted Pod Security
Standard: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp,
requests equal to limits, secrets only by reference."""

from __future__ import annotations

from typing import Any

from lam_rl.deploy.config import DeployConfig, PodResources, WorkerGroupConfig

__all__ = [
    "APP_LABELS",
    "ROLE_LABEL",
    "POOL_LABEL",
    "GPU_TAINT_KEY",
    "GPU_TAINT_VALUE",
    "RAY_UID",
    "IMAGE_WORKDIR",
    "container_security_context",
    "pod_security_context",
    "ray_pod_template",
    "group_spec",
    "submitter_pod_template",
]

APP_LABELS = {"app.kubernetes.io/name": "lam-rl", "app.kubernetes.io/part-of": "lam-rl"}
ROLE_LABEL = "lam-rl.io/role"
POOL_LABEL = "lam-rl.io/pool"
# The GPU pool's taint (infra/terraform/modules/node_pools); GPU pods tolerate it.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
# The Ray images' user (ray, uid 1000, group users 100); infra/docker/Dockerfile keeps it.
RAY_UID = 1000
RAY_GID = 100
IMAGE_WORKDIR = "/home/ray/lam-rl"
# Ray's own ports on the head; Serve's HTTP proxy adds the job config's serve.http_port ("serve").
HEAD_PORTS = [("gcs-server", 6379), ("dashboard", 8265), ("client", 10001)]


def container_security_context() -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "runAsUser": RAY_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RAY_UID,
        "runAsGroup": RAY_GID,
        "fsGroup": RAY_GID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _resources(res: PodResources) -> dict[str, Any]:
    amounts: dict[str, Any] = {"cpu": str(res.cpu), "memory": str(res.memory)}
    if res.gpu:
        amounts["nvidia.com/gpu"] = str(res.gpu)
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    # optional: a missing W&B key means offline tracking, a missing VM token fails the rollout
    # client with a clear error; neither should keep a pod from starting.
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": True}}}


def _env(deploy: DeployConfig) -> list[dict[str, Any]]:
    return [
        _secret_env("WANDB_API_KEY", deploy.wandb_secret, "api-key"),
        _secret_env("LAM_VM_TOKEN", deploy.vm_token_secret, "token"),
        {"name": "LAM_PROGRESS", "value": "0"},
        {"name": "RAY_DISABLE_DOCKER_CPU_WARNING", "value": "1"},
    ]


def _labels(deploy: DeployConfig, role: str, extra: dict[str, str] | None) -> dict[str, str]:
    labels = {**APP_LABELS, ROLE_LABEL: role, **(extra or {})}
    if deploy.workload_identity:
        labels["azure.workload.identity/use"] = "true"
    return labels


def ray_pod_template(
    deploy: DeployConfig,
    role: str,
    res: PodResources,
    *,
    head: bool,
    labels: dict[str, str] | None = None,
    config_map: str | None = None,
    config_mount: str | None = None,
    serve_port: int | None = None,
) -> dict[str, Any]:
    """The pod template of one Ray group; ``config_map`` mounts a custom config file and
    ``serve_port`` (the job config's ``serve.http_port``) names Serve's HTTP proxy port (head only)."""
    mounts: list[dict[str, Any]] = [
        {"name": "runs", "mountPath": deploy.runs_mount},
        {"name": "dshm", "mountPath": "/dev/shm"},
        {"name": "ray-logs", "mountPath": "/tmp/ray"},
    ]
    volumes: list[dict[str, Any]] = [
        {"name": "runs", "persistentVolumeClaim": {"claimName": deploy.runs_volume}},
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": str(res.shm)}},
        {"name": "ray-logs", "emptyDir": {}},
    ]
    if config_map:
        mounts.append({"name": "job-config", "mountPath": config_mount, "readOnly": True})
        volumes.append({"name": "job-config", "configMap": {"name": config_map}})
    container: dict[str, Any] = {
        "name": "ray-head" if head else "ray-worker",
        "image": deploy.image,
        "imagePullPolicy": deploy.image_pull_policy,
        "workingDir": IMAGE_WORKDIR,
        "env": _env(deploy),
        "resources": _resources(res),
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
        "lifecycle": {"preStop": {"exec": {"command": ["/bin/sh", "-c", "ray stop"]}}},
    }
    if head:
        ports = HEAD_PORTS + ([("serve", serve_port)] if serve_port is not None else [])
        container["ports"] = [{"name": n, "containerPort": p} for n, p in ports]
    spec: dict[str, Any] = {
        "serviceAccountName": deploy.service_account,
        # the head's autoscaler sidecar talks to the Kubernetes API; workers need no API token (the
        # workload identity webhook projects its own token)
        "automountServiceAccountToken": head,
        "securityContext": pod_security_context(),
        "nodeSelector": {POOL_LABEL: deploy.gpu_pool if res.gpu else deploy.cpu_pool},
        "containers": [container],
        "volumes": volumes,
    }
    if res.gpu:
        spec["tolerations"] = [
            {"key": GPU_TAINT_KEY, "operator": "Equal", "value": GPU_TAINT_VALUE, "effect": "NoSchedule"}
        ]
    return {"metadata": {"labels": _labels(deploy, role, labels)}, "spec": spec}


def group_spec(deploy: DeployConfig, role: str, group: WorkerGroupConfig) -> dict[str, Any]:
    return {
        "groupName": role,
        "replicas": group.replicas,
        "minReplicas": group.min_replicas,
        "maxReplicas": group.max_replicas,
        "rayStartParams": {},
        "template": ray_pod_template(deploy, role, group, head=False),
    }


def submitter_pod_template(deploy: DeployConfig) -> dict[str, Any]:
    """The K8sJobMode submitter: KubeRay fills in the `ray job submit` command."""
    return {
        "metadata": {"labels": {**APP_LABELS, ROLE_LABEL: "submitter"}},
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": deploy.service_account,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "nodeSelector": {POOL_LABEL: deploy.cpu_pool},
            "containers": [
                {
                    "name": "ray-job-submitter",
                    "image": deploy.image,
                    "imagePullPolicy": deploy.image_pull_policy,
                    "resources": _resources(PodResources(cpu="500m", memory="1Gi")),
                    "securityContext": container_security_context(),
                }
            ],
        },
    }
