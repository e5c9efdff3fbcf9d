"""Render KubeRay manifests from a job config: a RayJob per phase and the long-lived RayCluster.

The config file and overrides are validated with the job's own typed config (``load_config``) before
anything is written, so a manifest never carries a key the code does not know. On the cluster a job
keeps its run directory on the shared runs volume and its trajectory store on object storage; the
renderer adds those overrides (``run.root``, ``store.uri``) from the ``deploy`` section.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from lam_rl.config import ConfigError, load_config, resolve_yaml
from lam_rl.deploy.config import OBJECT_STORE_SCHEMES, DeployConfig
from lam_rl.deploy.phases import GROUPS, PHASES, Phase, get_phase
from lam_rl.deploy.pods import (
    APP_LABELS,
    container_security_context,
    group_spec,
    ray_pod_template,
    submitter_pod_template,
)

__all__ = [
    "CONFIG_MOUNT",
    "RenderedJob",
    "render_phase",
    "render_cluster",
    "render_all",
    "dump_yaml",
]

CONFIG_MOUNT = "/etc/lam-rl"
MAX_RAYJOB_NAME = 47  # KubeRay: RayCluster names <= 53, minus the 6 characters a RayJob's cluster adds


@dataclass
class RenderedJob:
    phase: str
    name: str
    entrypoint: str
    config: Any  # the validated job config
    docs: list[dict[str, Any]]


def _schema(phase: Phase, schemas: Mapping[str, type]) -> type:
    """The config class of ``phase``'s job, from the caller's classes (``jobs.config.SCHEMAS`` for
    lam-rl's jobs: the job configs sit above this library, so the caller hands them down)."""
    try:
        return schemas[phase.schema]
    except KeyError:
        raise ConfigError(
            f"phase {phase.name!r} runs with config class {phase.schema!r}, which the caller's schemas "
            f"({', '.join(schemas) or 'none'}) lack: pass jobs.config.SCHEMAS"
        ) from None


def k8s_name(*parts: str, limit: int = MAX_RAYJOB_NAME) -> str:
    """A DNS-1035 label from ``parts`` (lower-case, '-', starts with a letter), at most ``limit`` long."""
    raw = "-".join(p for p in parts if p)
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name or not name[0].isalpha():
        name = f"lam-{name}".rstrip("-")
    if len(name) > limit:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:6]
        name = f"{name[: limit - 7].rstrip('-')}-{digest}"
    return name


def _under(path: str, root: str) -> bool:
    path, root = path.rstrip("/"), root.rstrip("/")
    return path == root or path.startswith(root + "/")


def cluster_overrides(cfg: Any) -> list[str]:
    """Overrides that place a job's outputs where every pod of the cluster can reach them."""
    deploy: DeployConfig = cfg.deploy
    out: list[str] = []
    root = str(cfg.run.root)
    if not root.startswith("/"):
        out.append(f"run.root={deploy.runs_mount}")
    elif not _under(root, deploy.runs_mount):
        raise ConfigError(
            f"config key 'run.root' ({root}) is not on the shared runs volume: on the cluster every pod must "
            f"see the run directory; leave run.root relative or put it under deploy.runs_mount ({deploy.runs_mount})"
        )
    store = cfg.store.uri
    if store is None and deploy.store_uri:
        store = f"{deploy.store_uri.rstrip('/')}/{cfg.run.name}/store"
        out.append(f"store.uri={store}")
    elif (
        store is not None
        and not store.startswith(OBJECT_STORE_SCHEMES)
        and not _under(store, deploy.runs_mount)
    ):
        raise ConfigError(
            f"config key 'store.uri' ({store}) is a local path off the shared runs volume, which pods do not "
            f"share; use an object store ({', '.join(OBJECT_STORE_SCHEMES)}), set deploy.store_uri, or a path "
            f"under deploy.runs_mount ({deploy.runs_mount})"
        )
    if (
        store
        and store.startswith(("az://", "abfs://", "abfss://"))
        and deploy.storage_account
        and "account_name" not in cfg.store.storage_options
    ):
        out.append(f"store.storage_options.account_name={deploy.storage_account}")
    if cfg.ray.address is not None:
        raise ConfigError(
            "config key 'ray.address' must be unset for a cluster job: `ray job submit` sets RAY_ADDRESS"
        )
    return out


def _check_overrides(overrides: Sequence[str]) -> None:
    for item in overrides:
        if item.startswith(("config=", "--config=")):
            raise ConfigError("pick the config file with --config, not as an override")


def _resolve(
    phase: Phase, config: str, overrides: Sequence[str], configs_dir: Path, schemas: Mapping[str, type]
) -> tuple[Any, list[str], Path, bool]:
    """Validate; return (config, entrypoint overrides, the YAML path, whether it is a stock config)."""
    _check_overrides(overrides)
    schema = _schema(phase, schemas)
    yaml_path = resolve_yaml(config, configs_dir)
    assert yaml_path is not None
    stock = yaml_path.resolve().parent == configs_dir.resolve()
    own = {f.name for f in fields(schema)}
    phase_args = [a for a in phase.args if a.split("=", 1)[0].split(".", 1)[0] in own]
    first = load_config(schema, [f"config={yaml_path}", *phase_args, *overrides], configs_dir=configs_dir)
    extra = cluster_overrides(first)
    cfg = load_config(
        schema, [f"config={yaml_path}", *phase_args, *overrides, *extra], configs_dir=configs_dir
    )
    return cfg, [*overrides, *extra], yaml_path, stock


def _meta(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}


def _cluster_spec(
    deploy: DeployConfig, groups: Sequence[str], serve_port: int, config_map: str | None = None
) -> dict[str, Any]:
    head_params = {"dashboard-host": "0.0.0.0", "num-cpus": "0"}
    head = {
        "serviceType": "ClusterIP",
        "rayStartParams": head_params,
        "template": ray_pod_template(
            deploy,
            "head",
            deploy.head,
            head=True,
            config_map=config_map,
            config_mount=CONFIG_MOUNT,
            serve_port=serve_port,
        ),
    }
    return {
        "rayVersion": deploy.ray_version,
        "enableInTreeAutoscaling": True,
        "autoscalerOptions": {
            "upscalingMode": "Default",
            "idleTimeoutSeconds": 300,
            "resources": {
                "requests": {"cpu": "500m", "memory": "512Mi"},
                "limits": {"cpu": "500m", "memory": "512Mi"},
            },
            "securityContext": container_security_context(),
        },
        "authOptions": {"mode": "token"},
        "headGroupSpec": head,
        "workerGroupSpecs": [group_spec(deploy, g, getattr(deploy, g)) for g in GROUPS if g in groups],
    }


def render_phase(
    phase_name: str,
    config: str = "tiny",
    overrides: Sequence[str] = (),
    *,
    configs_dir: Path,
    schemas: Mapping[str, type],
    on_cluster: str | None = None,
) -> RenderedJob:
    """A RayJob for one phase (plus a ConfigMap when the config file is not one of ``configs_dir``'s,
    the stock configs the image carries: the caller passes them, ``jobs.CONFIGS_DIR`` for lam-rl's,
    with the jobs' config classes by name, ``jobs.config.SCHEMAS``).

    With ``on_cluster`` the job runs on that existing RayCluster (``clusterSelector``) instead of a
    cluster of its own.
    """
    phase = get_phase(phase_name)
    cfg, entry_overrides, yaml_path, stock = _resolve(phase, config, overrides, configs_dir, schemas)
    deploy: DeployConfig = cfg.deploy
    name = k8s_name(cfg.run.name, phase.name)
    text = yaml_path.read_text()
    config_map = None
    if stock:
        config_ref = yaml_path.stem
    elif on_cluster:
        raise ConfigError(
            f"config file {yaml_path} is not one of jobs/configs and a job on an existing cluster cannot mount it: "
            "add it to jobs/configs (and the image), or render without --on-cluster"
        )
    else:
        config_map = k8s_name(name, "config", limit=63)
        config_ref = f"{CONFIG_MOUNT}/config.yaml"
    argv = [*phase.argv, f"config={config_ref}", *entry_overrides]
    entrypoint = " ".join(shlex.quote(a) for a in argv)
    labels = {
        **APP_LABELS,
        "app.kubernetes.io/component": phase.name,
        "lam-rl.io/run": k8s_name(cfg.run.name, limit=63),
        "lam-rl.io/phase": phase.name,
    }
    annotations = {
        "lam-rl.io/config": config_ref if stock else str(yaml_path.name),
        "lam-rl.io/config-sha256": hashlib.sha256(text.encode()).hexdigest(),
        "lam-rl.io/description": phase.description,
    }
    spec: dict[str, Any] = {
        "entrypoint": entrypoint,
        "submissionMode": "K8sJobMode",
        "backoffLimit": 0,
        "submitterPodTemplate": submitter_pod_template(deploy),
    }
    if on_cluster:
        spec["clusterSelector"] = {"ray.io/cluster": on_cluster}
    else:
        spec["shutdownAfterJobFinishes"] = True
        spec["ttlSecondsAfterFinished"] = deploy.ttl_seconds_after_finished
        spec["rayClusterSpec"] = _cluster_spec(deploy, phase.groups, cfg.serve.http_port, config_map)
    if deploy.active_deadline_seconds:
        spec["activeDeadlineSeconds"] = deploy.active_deadline_seconds
    docs: list[dict[str, Any]] = []
    if config_map:
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta(config_map, deploy.namespace, labels, {}),
                "data": {"config.yaml": text},
            }
        )
    docs.append(
        {
            "apiVersion": "ray.io/v1",
            "kind": "RayJob",
            "metadata": _meta(name, deploy.namespace, labels, annotations),
            "spec": spec,
        }
    )
    return RenderedJob(phase.name, name, entrypoint, cfg, docs)


def render_cluster(
    config: str = "tiny",
    overrides: Sequence[str] = (),
    *,
    configs_dir: Path,
    schemas: Mapping[str, type],
) -> list[dict[str, Any]]:
    """The long-lived RayCluster: head plus every worker group; jobs are submitted to it with
    ``ray job submit`` or RayJobs rendered ``--on-cluster``, and the Serve apps they start (policy and
    reward servers) live on it."""
    cfg, _, _, _ = _resolve(PHASES["pipeline"], config, overrides, configs_dir, schemas)
    deploy: DeployConfig = cfg.deploy
    labels = {**APP_LABELS, "app.kubernetes.io/component": "ray-cluster"}
    return [
        {
            "apiVersion": "ray.io/v1",
            "kind": "RayCluster",
            "metadata": _meta(deploy.cluster_name, deploy.namespace, labels, {}),
            "spec": _cluster_spec(deploy, GROUPS, cfg.serve.http_port),
        }
    ]


def render_all(
    config: str = "tiny",
    overrides: Sequence[str] = (),
    *,
    configs_dir: Path,
    schemas: Mapping[str, type],
) -> dict[str, list[dict[str, Any]]]:
    """Every phase's manifests plus the long-lived cluster, keyed by file stem."""
    where = {"configs_dir": configs_dir, "schemas": schemas}
    out = {name: render_phase(name, config, overrides, **where).docs for name in PHASES}
    out["cluster"] = render_cluster(config, overrides, **where)
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(docs: Sequence[dict[str, Any]]) -> str:
    return yaml.dump_all(list(docs), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=110)
