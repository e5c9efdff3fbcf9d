"""The operator's rules for a RayClusterSpec's optional features: the history server, token
authentication, network policy, mTLS, the upgrade strategy; and unique worker-group names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lam_rl.deploy.kuberay.model import Cluster, _auth, _k8s_auth, _rule
from lam_rl.deploy.kuberay.values import (
    _DNS1123_LABEL,
    COLLECTOR_CONTAINER,
    COLLECTOR_MANAGED_ENV,
    TLS_ENV,
    TLS_MOUNT_PATH,
    TLS_VOLUME,
    _at_least,
    _env_index,
    _list,
    _needs_gate,
    _obj,
    _obj_or_none,
    _set,
    _str,
)


def _gated(c: Cluster, key: str, gate: str) -> Iterator[tuple[str, str]]:
    """spec.<key> (an object) set while the operator's feature gate for it is off."""
    if _obj_or_none(c.spec.get(key)) is not None and not c.gates[gate]:
        yield c.p(key), _needs_gate(gate)


def _history(c: Cluster) -> dict[str, Any] | None:
    return _obj_or_none(c.spec.get("historyServerOptions"))


@_rule("cluster/history-gate", "historyServerOptions needs the RayClusterHistoryServer gate")
def _history_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    yield from _gated(c, "historyServerOptions", "RayClusterHistoryServer")


@_rule("cluster/history-collector", "historyServerOptions has collectorOptions with an image")
def _history_collector(c: Cluster) -> Iterator[tuple[str, str]]:
    h = _history(c)
    if h is None:
        return
    collector = h.get("collectorOptions")
    if not isinstance(collector, dict):
        yield c.p("historyServerOptions.collectorOptions"), "must be set"
    elif not _str(collector.get("image")):
        yield c.p("historyServerOptions.collectorOptions.image"), "must be set"


def _collector_env(c: Cluster) -> tuple[str, dict[str, tuple[int, dict[str, Any]]]] | None:
    collector = _obj(_history(c)).get("collectorOptions")
    if _history(c) is None or not isinstance(collector, dict):
        return None
    envs: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, e in enumerate(_list(collector.get("env"))):
        envs[_str(_obj(e).get("name"))] = (i, _obj(e))  # a later entry wins, as in the operator's map
    return c.p("historyServerOptions.collectorOptions.env"), envs


@_rule("cluster/history-collector-managed-env", "the collector's env does not set what KubeRay injects")
def _history_managed_env(c: Cluster) -> Iterator[tuple[str, str]]:
    found = _collector_env(c)
    if found:
        where, envs = found
        for name in COLLECTOR_MANAGED_ENV:
            if name in envs:
                yield f"{where}[{envs[name][0]}]", f"{name} is managed by KubeRay in the collector container"


_BACKEND_NEEDS = {
    "GCS": [("GCS_BUCKET",)],
    "S3": [("S3_REGION",)],
    "ALIYUNOSS": [("OSS_BUCKET",), ("OSS_ENDPOINT",), ("OSS_REGION",)],
}


@_rule(
    "cluster/history-storage-backend",
    "the collector's env sets STORAGE_BACKEND and what that backend needs (bucket, region, account)",
)
def _history_backend(c: Cluster) -> Iterator[tuple[str, str]]:
    found = _collector_env(c)
    if not found:
        return
    where, envs = found

    def has(name: str) -> bool:
        e = envs.get(name, (0, {}))[1]
        return name in envs and (_set(e.get("value")) or e.get("valueFrom") is not None)

    backend_env = envs.get("STORAGE_BACKEND", (0, {}))[1]
    backend = _str(backend_env.get("value"))
    if not backend:
        yield where, "STORAGE_BACKEND must be set with a literal value (GCS, S3, AZUREBLOB or ALIYUNOSS)"
        return
    backend = backend.upper()
    needs = _BACKEND_NEEDS.get(backend, [])
    if backend == "AZUREBLOB":
        mode = _str(envs.get("AZURE_STORAGE_AUTH_MODE", (0, {}))[1].get("value")).strip().lower()
        if mode == "connection_string":
            needs = [("AZURE_STORAGE_CONNECTION_STRING",)]
        elif mode in ("workload_identity", "default"):
            needs = [("AZURE_STORAGE_ACCOUNT_URL",)]
        else:
            needs = [("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_URL")]
    for alternatives in needs:
        if not any(has(name) for name in alternatives):
            yield where, f"{' or '.join(alternatives)} must be set when STORAGE_BACKEND is {backend}"


@_rule(
    "cluster/history-collector-container-name",
    "with the history collector, no pod template has a container named ray-history-collector",
)
def _history_container_name(c: Cluster) -> Iterator[tuple[str, str]]:
    if _history(c) is None:
        return
    for where, name, g in c.groups():
        containers = _list(_obj(_obj(g.get("template")).get("spec")).get("containers"))
        for i, container in enumerate(containers):
            if _obj(container).get("name") == COLLECTOR_CONTAINER:
                yield (
                    f"{where}.template.spec.containers[{i}].name",
                    f"{COLLECTOR_CONTAINER!r} is the name of the collector KubeRay adds ({name} group)",
                )


@_rule("cluster/auth-ray-version", "token authentication needs rayVersion 2.52.0 or later")
def _auth_version(c: Cluster) -> Iterator[tuple[str, str]]:
    if _auth(c).get("mode") != "token":
        return
    raw = _str(c.spec.get("rayVersion"))
    version = c.version()
    if not raw:
        yield (
            c.p("rayVersion"),
            "authOptions.mode is 'token' but rayVersion is not set (2.52.0 or later needed)",
        )
    elif version is None:
        yield c.p("rayVersion"), f"authOptions.mode is 'token' but rayVersion {raw!r} is not a version"
    elif not _at_least(version, (2, 52, 0)):
        yield c.p("rayVersion"), f"authOptions.mode 'token' needs Ray 2.52.0 or later, got {raw}"


@_rule(
    "cluster/auth-k8s-token",
    "enableK8sTokenAuth needs mode 'token', Ray 2.55.0 or later and no secretName",
)
def _auth_k8s(c: Cluster) -> Iterator[tuple[str, str]]:
    if not _k8s_auth(c):
        return
    where = c.p("authOptions.enableK8sTokenAuth")
    if _auth(c).get("mode") != "token":
        yield where, "needs authOptions.mode 'token'"
        return
    version = c.version()
    if version is not None and not _at_least(version, (2, 55, 0)):
        yield where, f"needs Ray 2.55.0 or later, got {c.spec.get('rayVersion')}"
    if _str(_auth(c).get("secretName")):
        yield c.p("authOptions.secretName"), "cannot be set with enableK8sTokenAuth"


def _netpol(c: Cluster) -> dict[str, Any] | None:
    return _obj_or_none(c.spec.get("networkPolicy"))


@_rule("cluster/network-policy-gate", "networkPolicy needs the RayClusterNetworkPolicy gate")
def _netpol_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    yield from _gated(c, "networkPolicy", "RayClusterNetworkPolicy")


@_rule(
    "cluster/network-policy-rules-mode",
    "networkPolicy has ingress rules only when ingress is denied, egress rules only when egress is",
)
def _netpol_rules_mode(c: Cluster) -> Iterator[tuple[str, str]]:
    np = _netpol(c)
    if np is None:
        return
    mode = _str(np.get("mode")) or "DenyAll"
    blocks = [(c.p("networkPolicy.head"), np.get("head")), (c.p("networkPolicy.worker"), np.get("worker"))]
    blocks += [(c.p("networkPolicy.workerGroups", i), g) for i, g in enumerate(_list(np.get("workerGroups")))]
    for where, block in blocks:
        block = _obj(block)
        for rules, only, free in (
            ("ingressRules", "DenyAllEgress", "ingress"),
            ("egressRules", "DenyAllIngress", "egress"),
        ):
            if mode == only and _list(block.get(rules)):
                yield f"{where}.{rules}", f"cannot be set when mode is {only!r} ({free} is not restricted)"


@_rule(
    "cluster/network-policy-groups",
    "with networkPolicy, worker group names are DNS-1123 labels and networkPolicy.workerGroups name real groups",
)
def _netpol_groups(c: Cluster) -> Iterator[tuple[str, str]]:
    np = _netpol(c)
    if np is None:
        return
    names = set()
    for where, name, _ in c.workers():
        names.add(name)
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            yield (
                f"{where}.groupName",
                f"{name!r} must be a DNS-1123 label with networkPolicy (it is part of a NetworkPolicy's name)",
            )
    for i, g in enumerate(_list(np.get("workerGroups"))):
        name = _str(_obj(g).get("groupName"))
        if name not in names:
            yield c.p("networkPolicy.workerGroups", i, "groupName"), f"{name!r} is not a worker group"


@_rule("cluster/tls-gate", "tlsOptions needs the RayClusterMTLS gate")
def _tls_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.spec.get("tlsOptions") is not None and not c.gates["RayClusterMTLS"]:
        yield c.p("tlsOptions"), _needs_gate("RayClusterMTLS")


@_rule(
    "cluster/tls-managed",
    "with TLS on, KubeRay owns the RAY_USE_TLS/RAY_TLS_* env vars and the ray-tls mount (/etc/ray/tls)",
)
def _tls_managed(c: Cluster) -> Iterator[tuple[str, str]]:
    if not c.tls_enabled:
        return
    places: list[tuple[str, dict[str, Any]]] = []
    for where, _name, g in c.groups():
        containers = _list(_obj(_obj(g.get("template")).get("spec")).get("containers"))
        if containers:
            places.append((f"{where}.template.spec.containers[0]", _obj(containers[0])))
    if c.autoscaler is not None:
        places.append((c.p("autoscalerOptions"), c.autoscaler))
    for where, holder in places:
        env = _list(holder.get("env"))
        for name in TLS_ENV:
            i = _env_index(name, env)
            if i is not None:
                yield f"{where}.env[{i}]", f"{name} is managed by KubeRay when tlsOptions is set"
        for i, mount in enumerate(_list(holder.get("volumeMounts"))):
            mount = _obj(mount)
            if mount.get("name") == TLS_VOLUME or mount.get("mountPath") == TLS_MOUNT_PATH:
                yield (
                    f"{where}.volumeMounts[{i}]",
                    f"a mount named {TLS_VOLUME!r} or at {TLS_MOUNT_PATH} is managed by KubeRay when tlsOptions "
                    "is set",
                )


@_rule("cluster/upgrade-strategy-type", "a RayCluster's upgradeStrategy.type is Recreate or None")
def _upgrade_type(c: Cluster) -> Iterator[tuple[str, str]]:
    kind = _obj(c.spec.get("upgradeStrategy")).get("type")
    if kind is not None and kind not in ("Recreate", "None"):
        yield c.p("upgradeStrategy.type"), f"{kind!r} is not Recreate or None"


@_rule(
    "cluster/upgrade-strategy-owner",
    "upgradeStrategy is for RayClusters written directly, not ones a RayJob or RayService creates",
)
def _upgrade_owner(c: Cluster) -> Iterator[tuple[str, str]]:
    if _obj(c.spec.get("upgradeStrategy")).get("type") is not None and c.creator in ("RayJob", "RayService"):
        yield c.p("upgradeStrategy"), f"cannot be set on a RayCluster created by a {c.creator}"


@_rule("cluster/worker-group-names-unique", "worker group names are unique (the admission webhook)")
def _unique_groups(c: Cluster) -> Iterator[tuple[str, str]]:
    seen: dict[str, str] = {}
    for where, name, _ in c.workers():
        if name in seen:
            yield f"{where}.groupName", f"duplicate worker group {name!r} (also at {seen[name]})"
        seen.setdefault(name, where)
