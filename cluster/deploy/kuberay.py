"""Rules the KubeRay operator (v1.7) enforces when it reconciles, not at admission: a RayJob the API
server accepts can still be marked invalid by the operator. Ported from its
``ray-operator/controllers/ray/utils/validation.go`` so that they fail here, before a deploy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from cluster.deploy.crd import check_metadata

__all__ = ["operator_problems", "MAX_NAME"]

# RayCluster names <= 53 (63 minus "-serve-svc"); RayJob/RayService names add 6 characters.
MAX_NAME = {"RayCluster": 53, "RayJob": 47, "RayService": 47}
_RESOURCE_PARAMS = ("num-cpus", "num-gpus", "memory", "resources")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _version(text: str) -> tuple[int, ...] | None:
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    return tuple(int(x or 0) for x in m.groups()) if m else None


def _containers(group: dict[str, Any]) -> list[Any]:
    return (((group.get("template") or {}).get("spec") or {}).get("containers")) or []


def _env_names(container: Any) -> set[str]:
    return {e.get("name") for e in (container.get("env") or []) if isinstance(e, dict)}


def _group_problems(where: str, name: str, group: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if not _containers(group):
        yield f"{where}.template.spec.containers", f"{name} group must have at least one container"
    params = group.get("rayStartParams") or {}
    if any(params.get(k) for k in _RESOURCE_PARAMS) and group.get("resources"):
        yield (
            f"{where}.resources",
            f"set resources in rayStartParams or in resources for {name} group, not both",
        )
    if "labels" in params:
        yield (
            f"{where}.rayStartParams.labels",
            f"not supported for {name} group; use the top-level labels field",
        )
    for key, value in (group.get("labels") or {}).items():
        if not _QUALIFIED.match(str(key).rpartition("/")[2]):
            yield f"{where}.labels.{key}", f"invalid label key for {name} group"
        if not isinstance(value, str) or not _LABEL_VALUE.match(value) or len(value) > 63:
            yield f"{where}.labels.{key}", f"invalid label value {value!r} for {name} group"


def _cluster_spec_problems(where: str, spec: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(spec, dict):
        return
    head = spec.get("headGroupSpec") or {}
    yield from _group_problems(f"{where}.headGroupSpec", "head", head)
    names: dict[str, int] = {}
    autoscaling = bool(spec.get("enableInTreeAutoscaling"))
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        gwhere = f"{where}.workerGroupSpecs[{i}]"
        gname = str(group.get("groupName", ""))
        if gname in names:
            yield f"{gwhere}.groupName", f"duplicate worker group {gname!r} (also at index {names[gname]})"
        names.setdefault(gname, i)
        yield from _group_problems(gwhere, gname, group)
        lo, hi, n = group.get("minReplicas"), group.get("maxReplicas"), group.get("replicas")
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            yield f"{gwhere}.minReplicas", f"minReplicas ({lo}) is greater than maxReplicas ({hi})"
        if isinstance(n, int) and isinstance(lo, int) and isinstance(hi, int) and not lo <= n <= hi:
            yield f"{gwhere}.replicas", f"replicas ({n}) is outside [minReplicas, maxReplicas] = [{lo}, {hi}]"
        if autoscaling and group.get("suspend"):
            yield f"{gwhere}.suspend", f"worker group {gname} cannot be suspended with the autoscaler enabled"
    head_containers = _containers(head)
    head_env = _env_names(head_containers[0]) if head_containers else set()
    if not spec.get("gcsFaultToleranceOptions") and "RAY_REDIS_ADDRESS" in head_env:
        yield f"{where}.headGroupSpec", "RAY_REDIS_ADDRESS is set but gcsFaultToleranceOptions is not"
    if (spec.get("authOptions") or {}).get("mode") == "token":
        version = _version(spec.get("rayVersion", ""))
        if version is None:
            yield f"{where}.rayVersion", "authOptions.mode is 'token' but rayVersion is missing or malformed"
        elif version < (2, 52, 0):
            yield (
                f"{where}.rayVersion",
                f"authOptions.mode 'token' needs Ray 2.52.0 or later, got {spec['rayVersion']}",
            )


def _rayjob_problems(spec: dict[str, Any]) -> Iterator[tuple[str, str]]:
    selector = spec.get("clusterSelector") or {}
    mode = spec.get("submissionMode", "K8sJobMode")
    if spec.get("suspend") and not spec.get("shutdownAfterJobFinishes"):
        yield "spec.suspend", "a RayJob with shutdownAfterJobFinishes false cannot be suspended"
    if isinstance(spec.get("ttlSecondsAfterFinished"), int) and spec["ttlSecondsAfterFinished"] < 0:
        yield "spec.ttlSecondsAfterFinished", "must be a non-negative integer"
    if spec.get("suspend") and selector:
        yield "spec.suspend", "the clusterSelector mode does not support suspend"
    if not spec.get("rayClusterSpec") and not selector:
        yield "spec", "one of rayClusterSpec or clusterSelector must be set"
    if selector:
        if not selector.get("ray.io/cluster"):
            yield "spec.clusterSelector", "the cluster name (key ray.io/cluster) must not be empty"
        if mode == "SidecarMode":
            yield "spec.clusterSelector", "clusterSelector is not supported in SidecarMode"
    if mode == "InteractiveMode" and isinstance(spec.get("backoffLimit"), int) and spec["backoffLimit"] > 0:
        yield "spec.backoffLimit", "backoffLimit is incompatible with InteractiveMode"
    if mode == "SidecarMode" and spec.get("submitterPodTemplate"):
        yield "spec.submitterPodTemplate", "SidecarMode does not support submitterPodTemplate"
    if not spec.get("entrypoint") and mode != "InteractiveMode":
        yield "spec.entrypoint", "a RayJob needs an entrypoint (except in InteractiveMode)"
    if spec.get("runtimeEnvYAML"):
        try:
            env = yaml.safe_load(spec["runtimeEnvYAML"])
        except yaml.YAMLError as e:
            yield "spec.runtimeEnvYAML", f"is not valid YAML: {str(e).splitlines()[0]}"
        else:
            if env is not None and not isinstance(env, dict):
                yield "spec.runtimeEnvYAML", "must be a YAML mapping (a runtime_env)"
    if isinstance(spec.get("activeDeadlineSeconds"), int) and spec["activeDeadlineSeconds"] <= 0:
        yield "spec.activeDeadlineSeconds", "must be a positive integer"
    if isinstance(spec.get("backoffLimit"), int) and spec["backoffLimit"] < 0:
        yield "spec.backoffLimit", "must not be negative"
    yield from _cluster_spec_problems("spec.rayClusterSpec", spec.get("rayClusterSpec"))


def operator_problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, message) for the operator's rules on a RayCluster, RayJob or RayService."""
    kind = doc.get("kind")
    if kind not in MAX_NAME:
        return []
    out = list(check_metadata(doc.get("metadata"), name_rule="dns1035", max_name=MAX_NAME[kind]))
    spec = doc.get("spec") or {}
    if not isinstance(spec, dict):
        return out
    if kind == "RayCluster":
        out.extend(_cluster_spec_problems("spec", spec))
    elif kind == "RayJob":
        out.extend(_rayjob_problems(spec))
    else:
        cluster = spec.get("rayClusterConfig") or {}
        out.extend(_cluster_spec_problems("spec.rayClusterConfig", cluster))
        head_svc = ((cluster.get("headGroupSpec") or {}).get("headService") or {}).get("metadata") or {}
        if head_svc.get("name"):
            yield_path = "spec.rayClusterConfig.headGroupSpec.headService.metadata.name"
            out.append((yield_path, "must not be set for a RayService"))
    return sorted(set(out))
