"""lam-rl's own rules for every pod a manifest would create, custom resources included (checkov and
kubernetes-validate do not look inside a RayJob's pod templates): the restricted Pod Security
Standard, requests and limits on every container, secrets only by reference, GPU pods that tolerate
the GPU pool's taint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lam_rl.deploy.crd import label_problems
from lam_rl.deploy.pods import GPU_TAINT_KEY

__all__ = ["pod_specs", "pod_templates", "policy_problems"]

_SECRETISH = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.I)
_WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}


def _cluster_pods(where: str, spec: Any) -> Iterator[tuple[str, Any]]:
    if not isinstance(spec, dict):
        return
    yield f"{where}.headGroupSpec.template", (spec.get("headGroupSpec") or {}).get("template")
    for i, g in enumerate(spec.get("workerGroupSpecs") or []):
        yield f"{where}.workerGroupSpecs[{i}].template", g.get("template")


def pod_templates(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, {metadata, spec}) of every pod (template) in a manifest, custom resources included."""
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    found: list[tuple[str, Any]] = []
    if kind == "Pod":
        found.append(("", doc))
    elif kind in _WORKLOADS:
        found.append(("spec.template", spec.get("template")))
    elif kind == "CronJob":
        found.append(
            (
                "spec.jobTemplate.spec.template",
                ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template"),
            )
        )
    elif kind == "RayCluster":
        found.extend(_cluster_pods("spec", spec))
    elif kind == "RayJob":
        found.extend(_cluster_pods("spec.rayClusterSpec", spec.get("rayClusterSpec")))
        found.append(("spec.submitterPodTemplate", spec.get("submitterPodTemplate")))
    elif kind == "RayService":
        found.extend(_cluster_pods("spec.rayClusterConfig", spec.get("rayClusterConfig")))
    for path, tmpl in found:
        if isinstance(tmpl, dict) and isinstance(tmpl.get("spec"), dict):
            yield path, tmpl


def pod_specs(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, pod spec) of every pod template in a manifest."""
    for path, tmpl in pod_templates(doc):
        yield (f"{path}.spec" if path else "spec"), tmpl["spec"]


def _container_problems(where: str, c: dict[str, Any], pod_sc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    sc = c.get("securityContext") or {}
    if sc.get("privileged"):
        yield f"{where}.securityContext.privileged", "privileged containers are not allowed"
    if sc.get("allowPrivilegeEscalation") is not False:
        yield f"{where}.securityContext.allowPrivilegeEscalation", "must be false"
    drop = [str(x).upper() for x in ((sc.get("capabilities") or {}).get("drop") or [])]
    if "ALL" not in drop:
        yield f"{where}.securityContext.capabilities.drop", "must drop ALL capabilities"
    added = [str(x).upper() for x in ((sc.get("capabilities") or {}).get("add") or [])]
    if any(a != "NET_BIND_SERVICE" for a in added):
        yield f"{where}.securityContext.capabilities.add", f"only NET_BIND_SERVICE may be added, got {added}"
    if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
        yield f"{where}.securityContext.runAsNonRoot", "must be true (here or in the pod's securityContext)"
    if sc.get("runAsUser") == 0 or (sc.get("runAsUser") is None and pod_sc.get("runAsUser") == 0):
        yield f"{where}.securityContext.runAsUser", "must not be 0 (root)"
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp not in ("RuntimeDefault", "Localhost"):
        yield f"{where}.securityContext.seccompProfile", "must be RuntimeDefault or Localhost"
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if r not in (res.get(kind) or {}):
                yield f"{where}.resources.{kind}.{r}", f"every container needs {kind}.{r}"
    for i, env in enumerate(c.get("env") or []):
        if isinstance(env, dict) and _SECRETISH.search(str(env.get("name", ""))) and "value" in env:
            yield (
                f"{where}.env[{i}].value",
                f"{env.get('name')} must come from a Secret (valueFrom.secretKeyRef)",
            )


def policy_problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for where, tmpl in pod_templates(doc):
        labels = (tmpl.get("metadata") or {}).get("labels")
        if labels is not None:
            prefix = f"{where}.metadata.labels" if where else "metadata.labels"
            out.extend(label_problems(prefix, labels))
    for where, pod in pod_specs(doc):
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(flag):
                out.append((f"{where}.{flag}", "host namespaces are not allowed"))
        for i, vol in enumerate(pod.get("volumes") or []):
            if isinstance(vol, dict) and "hostPath" in vol:
                out.append((f"{where}.volumes[{i}].hostPath", "hostPath volumes are not allowed"))
        pod_sc = pod.get("securityContext") or {}
        gpus = 0
        for key in ("initContainers", "containers"):
            for i, c in enumerate(pod.get(key) or []):
                if isinstance(c, dict):
                    out.extend(_container_problems(f"{where}.{key}[{i}]", c, pod_sc))
                    limits = (c.get("resources") or {}).get("limits") or {}
                    gpus += int(str(limits.get("nvidia.com/gpu", 0)) or 0)
        if gpus and not any(t.get("key") == GPU_TAINT_KEY for t in pod.get("tolerations") or []):
            out.append(
                (f"{where}.tolerations", f"a GPU pod must tolerate the GPU pool's taint {GPU_TAINT_KEY}")
            )
    return out
