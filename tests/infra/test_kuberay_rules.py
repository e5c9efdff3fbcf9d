"""The KubeRay operator's rules (lam_rl/deploy/kuberay/), one table row per check of the operator's
v1.7.0 validation: a small valid object of the kind the rule applies to, the change that breaks the
rule, the path the problem must name and words its message must hold, and (where one exists) a
change that keeps the object valid. Every object goes through the whole validator (`--no-policy`),
so the CRD's defaults apply first, as in a cluster; every rule in RULES has at least one row."""

from __future__ import annotations

import copy
import re
from typing import Any, NamedTuple

import pytest

from lam_rl.deploy.kuberay import RULES, feature_gates, operator_findings
from lam_rl.deploy.kuberay.values import cron_error, go_duration, go_version
from lam_rl.deploy.manifests import Manifest, ManifestValidator

IMAGE = "rayproject/ray:2.52.0"


def _cluster_spec() -> dict[str, Any]:
    return {
        "rayVersion": "2.52.0",
        "headGroupSpec": {
            "rayStartParams": {},
            "template": {"spec": {"containers": [{"name": "ray-head", "image": IMAGE}]}},
        },
        "workerGroupSpecs": [
            {
                "groupName": "small",
                "replicas": 1,
                "minReplicas": 1,
                "maxReplicas": 3,
                "rayStartParams": {},
                "template": {"spec": {"containers": [{"name": "ray-worker", "image": IMAGE}]}},
            }
        ],
    }


BASES = {
    "RayCluster": lambda: {"metadata": {"name": "demo"}, "spec": _cluster_spec()},
    "RayJob": lambda: {
        "metadata": {"name": "job"},
        "spec": {"entrypoint": "python -c 'print(1)'", "rayClusterSpec": _cluster_spec()},
    },
    "RayService": lambda: {
        "metadata": {"name": "svc"},
        "spec": {"serveConfigV2": "applications: []\n", "rayClusterConfig": _cluster_spec()},
    },
    "RayCronJob": lambda: {
        "metadata": {"name": "cron"},
        "spec": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {"entrypoint": "python -c 'print(1)'", "rayClusterSpec": _cluster_spec()},
        },
    },
}
# where each kind holds its RayClusterSpec: '@' in a path below
CLUSTER_AT = {
    "RayCluster": "spec",
    "RayJob": "spec.rayClusterSpec",
    "RayService": "spec.rayClusterConfig",
    "RayCronJob": "spec.jobTemplate.rayClusterSpec",
}
DELETE = object()


def _tokens(path: str) -> list[Any]:
    """'a.b[0]["k.x/y"].c' -> ['a', 'b', 0, 'k.x/y', 'c']."""
    out: list[Any] = []
    for name, index, quoted in re.findall(r"\.?([A-Za-z0-9_$-]+)|\[(\d+)\]|\[\"([^\"]+)\"\]", path):
        out.append(int(index) if index else (quoted or name))
    return out


def _apply(doc: dict[str, Any], kind: str, changes: dict[str, Any]) -> None:
    for path, value in changes.items():
        parts = _tokens(path.replace("@", CLUSTER_AT[kind]))
        node = doc
        for p in parts[:-1]:
            if isinstance(p, str) and p not in node:
                node[p] = {}
            node = node[p]
        if value is DELETE:
            node.pop(parts[-1], None)
        elif isinstance(p := parts[-1], int) and p == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[p] = copy.deepcopy(value)


def make(kind: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = {"apiVersion": "ray.io/v1", "kind": kind, **BASES[kind]()}
    _apply(doc, kind, changes or {})
    return doc


class Case(NamedTuple):
    rule: str
    kind: str
    bad: dict[str, Any]
    path: str
    words: tuple[str, ...]
    good: dict[str, Any] | None = None  # a valid variant (the same base, these changes)
    gates: str = ""  # the operator's feature gates (over its defaults)
    good_gates: str | None = None  # those of the valid variant, if not the same


def C(rule, kind, bad, path, *words, good=None, gates="", good_gates=None):  # noqa: N802 - a table row
    return Case(rule, kind, bad, path, words, good, gates, good_gates)


V2 = {"@.enableInTreeAutoscaling": True, "@.autoscalerOptions": {"version": "v2"}}
HEAD_ENV = "@.headGroupSpec.template.spec.containers[0].env"
W0 = "@.workerGroupSpecs[0]"
FT = {"@.gcsFaultToleranceOptions": {"redisAddress": "redis:6379"}}
ROCKS = {"@.gcsFaultToleranceOptions": {"backend": "rocksdb"}}
ROCKS_GATE = "GCSFaultToleranceEmbeddedStorage=true"
S3 = [{"name": "STORAGE_BACKEND", "value": "S3"}, {"name": "S3_REGION", "value": "eu-west-1"}]
HISTORY = "@.historyServerOptions"
HIST_GATE = "RayClusterHistoryServer=true"
TOKEN = {"@.authOptions": {"mode": "token"}}
NETPOL_GATE = "RayClusterNetworkPolicy=true"
TLS = {"@.tlsOptions": {"enabled": True}}
TLS_GATE = "RayClusterMTLS=true"
CRON = "RayCronJob=true"
SELECTOR = {"spec.rayClusterSpec": DELETE, "spec.clusterSelector": {"ray.io/cluster": "shared"}}
RULE_SUCCEEDED = {"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED"}}
INCREMENTAL = {
    "@.enableInTreeAutoscaling": True,
    "spec.upgradeStrategy": {
        "type": "NewClusterWithIncrementalUpgrade",
        "clusterUpgradeOptions": {
            "maxSurgePercent": 50,
            "stepSizePercent": 25,
            "intervalSeconds": 30,
            "gatewayClassName": "istio",
        },
    },
}
OPTS = "spec.upgradeStrategy.clusterUpgradeOptions"


def _env(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in pairs]


# fmt: off
CASES = [
    # ---------------------------------------------------------------- metadata
    C("metadata/name-length", "RayCluster", {"metadata.name": "a" * 54}, "metadata.name", "more than 53",
      good={"metadata.name": "a" * 53}),
    C("metadata/name-length", "RayJob", {"metadata.name": "j" * 48}, "metadata.name", "more than 47",
      good={"metadata.name": "j" * 47}),
    C("metadata/name-length", "RayService", {"metadata.name": "s" * 48}, "metadata.name", "more than 47",
      good={"metadata.name": "s" * 47}),
    C("metadata/name-length", "RayCronJob", {"metadata.name": "c" * 37}, "metadata.name", "more than 36",
      good={"metadata.name": "c" * 36}, gates=CRON),
    C("metadata/name-dns1035", "RayService", {"metadata.name": "1fruit"}, "metadata.name", "DNS-1035",
      good={"metadata.name": "fruit1"}),
    C("metadata/name-dns1035", "RayJob", {"metadata.name": DELETE, "metadata.generateName": "1job-"},
      "metadata.generateName", "DNS-1035", good={"metadata.name": DELETE, "metadata.generateName": "job-"}),
    C("metadata/initializing-timeout", "RayService",
      {'metadata.annotations["ray.io/initializing-timeout"]': "0s"},
      "metadata.annotations.ray.io/initializing-timeout", "positive",
      good={'metadata.annotations["ray.io/initializing-timeout"]': "5m"}),
    C("metadata/initializing-timeout", "RayService",
      {'metadata.annotations["ray.io/initializing-timeout"]': "-300"},
      "metadata.annotations.ray.io/initializing-timeout", "positive",
      good={'metadata.annotations["ray.io/initializing-timeout"]': "300"}),
    C("metadata/initializing-timeout", "RayService",
      {'metadata.annotations["ray.io/initializing-timeout"]': "soon"},
      "metadata.annotations.ray.io/initializing-timeout", "neither a Go duration"),
    # ---------------------------------------------------------------- cluster: groups
    C("cluster/head-container", "RayCluster", {"@.headGroupSpec.template.spec.containers": []},
      "spec.headGroupSpec.template.spec.containers", "at least one container"),
    C("cluster/worker-container", "RayJob", {f"{W0}.template.spec.containers": []},
      "spec.rayClusterSpec.workerGroupSpecs[0].template.spec.containers", "'small'", "at least one"),
    C("cluster/group-resources", "RayCluster",
      {"@.headGroupSpec.rayStartParams.num-cpus": "1", "@.headGroupSpec.resources": {"CPU": "1"}},
      "spec.headGroupSpec.resources", "Head", "num-cpus", good={"@.headGroupSpec.resources": {"CPU": "1"}}),
    C("cluster/group-resources", "RayCluster",
      {f"{W0}.rayStartParams.num-gpus": "1", f"{W0}.resources": {"GPU": "1"}},
      "spec.workerGroupSpecs[0].resources", "small", good={f"{W0}.rayStartParams.num-gpus": "1"}),
    C("cluster/group-labels-param", "RayCluster", {f"{W0}.rayStartParams.labels": "zone=a"},
      "spec.workerGroupSpecs[0].rayStartParams.labels", "use spec.workerGroupSpecs[0].labels",
      good={f"{W0}.labels": {"zone": "a"}}),
    C("cluster/group-labels-syntax", "RayCluster", {f"{W0}.labels": {"bad key": "a"}},
      "spec.workerGroupSpecs[0].labels.bad key", "invalid label key",
      good={f"{W0}.labels": {"example.com/zone": "a"}}),
    C("cluster/group-labels-syntax", "RayCluster", {"@.headGroupSpec.labels": {"zone": "a b"}},
      "spec.headGroupSpec.labels.zone", "invalid label value"),
    C("cluster/group-labels-syntax", "RayCluster", {f"{W0}.labels": {"Bad_Prefix/zone": "a"}},
      "spec.workerGroupSpecs[0].labels.Bad_Prefix/zone", "DNS subdomain"),
    # ---------------------------------------------------------------- cluster: replicas
    C("cluster/worker-min-replicas-negative", "RayCluster", {f"{W0}.minReplicas": -1},
      "spec.workerGroupSpecs[0].minReplicas", "negative minReplicas -1", good={f"{W0}.minReplicas": 0}),
    C("cluster/worker-min-replicas-negative", "RayCronJob", {f"{W0}.minReplicas": -2},
      "spec.jobTemplate.rayClusterSpec.workerGroupSpecs[0].minReplicas", "negative", gates=CRON),
    C("cluster/worker-max-replicas-negative", "RayService", {f"{W0}.maxReplicas": -1},
      "spec.rayClusterConfig.workerGroupSpecs[0].maxReplicas", "negative maxReplicas -1"),
    C("cluster/worker-min-above-max", "RayCluster", {f"{W0}.minReplicas": 4},
      "spec.workerGroupSpecs[0].minReplicas", "minReplicas 4 greater than maxReplicas 3",
      good={f"{W0}.minReplicas": 3}),
    C("cluster/worker-idle-timeout-negative", "RayCluster", {**V2, f"{W0}.idleTimeoutSeconds": -1},
      "spec.workerGroupSpecs[0].idleTimeoutSeconds", "non-negative"),
    C("cluster/worker-idle-timeout-v2", "RayCluster", {f"{W0}.idleTimeoutSeconds": 60},
      "spec.workerGroupSpecs[0].idleTimeoutSeconds", "autoscaler v2 is not enabled",
      good={**V2, f"{W0}.idleTimeoutSeconds": 60}),
    C("cluster/worker-idle-timeout-v2", "RayCluster",
      {f"{W0}.idleTimeoutSeconds": 60, HEAD_ENV: _env(("RAY_enable_autoscaler_v2", "false"))},
      "spec.workerGroupSpecs[0].idleTimeoutSeconds", "autoscaler v2",
      good={"@.enableInTreeAutoscaling": True, f"{W0}.idleTimeoutSeconds": 60,
            HEAD_ENV: _env(("RAY_enable_autoscaler_v2", "true"))}),
    C("cluster/worker-priority-ray-version", "RayCluster", {**V2, f"{W0}.priority": 5},
      "spec.workerGroupSpecs[0].priority", "2.56.0", "rayVersion is 2.52.0",
      good={**V2, f"{W0}.priority": 5, "@.rayVersion": "2.56.0"}),
    C("cluster/worker-priority-ray-version", "RayCluster", {**V2, f"{W0}.priority": 5, "@.rayVersion": DELETE},
      "spec.workerGroupSpecs[0].priority", "rayVersion is not set"),
    C("cluster/worker-priority-ray-version", "RayCluster", {**V2, f"{W0}.priority": 5, "@.rayVersion": "nightly"},
      "spec.workerGroupSpecs[0].priority", "is not a version"),
    C("cluster/worker-priority-v2", "RayCluster", {f"{W0}.priority": 5, "@.rayVersion": "2.56.0"},
      "spec.workerGroupSpecs[0].priority", "priority 5", "autoscaler v2 is not enabled",
      good={f"{W0}.priority": 0}),
    # ---------------------------------------------------------------- cluster: GCS fault tolerance
    C("cluster/ft-annotation-and-options", "RayCluster", {'metadata.annotations["ray.io/ft-enabled"]': "true", **FT},
      "metadata.annotations.ray.io/ft-enabled", "use only gcsFaultToleranceOptions",
      good={'metadata.annotations["ray.io/ft-enabled"]': "true",
            HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "redis:6379"))}),
    C("cluster/redis-address-without-ft", "RayCluster", {HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "redis:6379"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "gcsFaultToleranceOptions",
      good={'metadata.annotations["ray.io/ft-enabled"]': "TRUE",
            HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "redis:6379"))}),
    C("cluster/redis-address-without-ft", "RayJob", {HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "redis:6379"))},
      "spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].env[0]", "RAY_REDIS_ADDRESS",
      good={'metadata.annotations["ray.io/ft-enabled"]': "true",
            HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "redis:6379"))}),
    # a RayCronJob's template is checked without the RayCronJob's annotations
    C("cluster/redis-address-without-ft", "RayCronJob",
      {'metadata.annotations["ray.io/ft-enabled"]': "true", HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "redis:6379"))},
      "spec.jobTemplate.rayClusterSpec.headGroupSpec.template.spec.containers[0].env[0]", "RAY_REDIS_ADDRESS",
      gates=CRON),
    C("cluster/ft-redis-settings-elsewhere", "RayCluster", {**FT, "@.headGroupSpec.rayStartParams.redis-password": "pw"},
      "spec.headGroupSpec.rayStartParams.redis-password", "redisPassword",
      good={**FT, "@.gcsFaultToleranceOptions.redisPassword": {"value": "pw"}}),
    C("cluster/ft-redis-settings-elsewhere", "RayCluster", {**FT, HEAD_ENV: _env(("REDIS_PASSWORD", "pw"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "REDIS_PASSWORD", "redisPassword"),
    C("cluster/ft-redis-settings-elsewhere", "RayCluster", {**FT, HEAD_ENV: _env(("RAY_REDIS_ADDRESS", "r:6379"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "redisAddress"),
    C("cluster/ft-redis-settings-elsewhere", "RayCluster",
      {**FT, 'metadata.annotations["ray.io/external-storage-namespace"]': "ns"},
      "metadata.annotations.ray.io/external-storage-namespace", "externalStorageNamespace",
      good={**FT, "@.gcsFaultToleranceOptions.externalStorageNamespace": "ns"}),
    C("cluster/ft-rocksdb-gate", "RayCluster", ROCKS, "spec.gcsFaultToleranceOptions.backend",
      "GCSFaultToleranceEmbeddedStorage", good=ROCKS, good_gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-redis-fields", "RayCluster", {**ROCKS, "@.gcsFaultToleranceOptions.redisAddress": "r:1"},
      "spec.gcsFaultToleranceOptions.redisAddress", "'rocksdb'", good=ROCKS, gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-redis-fields", "RayCluster",
      {**ROCKS, "@.gcsFaultToleranceOptions.redisUsername": {"value": "u"}},
      "spec.gcsFaultToleranceOptions.redisUsername", "'rocksdb'", gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-redis-fields", "RayCluster",
      {**ROCKS, "@.gcsFaultToleranceOptions.redisPassword": {"value": "p"}},
      "spec.gcsFaultToleranceOptions.redisPassword", "'rocksdb'", gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-redis-fields", "RayCluster",
      {**ROCKS, "@.gcsFaultToleranceOptions.externalStorageNamespace": "ns"},
      "spec.gcsFaultToleranceOptions.externalStorageNamespace", "'rocksdb'", gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-claim-exclusive", "RayCluster",
      {**ROCKS, "@.gcsFaultToleranceOptions.storage": {"claimName": "gcs", "size": "1Gi"}},
      "spec.gcsFaultToleranceOptions.storage.claimName", "excludes size",
      good={**ROCKS, "@.gcsFaultToleranceOptions.storage": {"claimName": "gcs"}}, gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-claim-exclusive", "RayCluster",
      {**ROCKS, "@.gcsFaultToleranceOptions.storage": {"claimName": "gcs", "accessModes": ["ReadWriteOnce"]}},
      "spec.gcsFaultToleranceOptions.storage.claimName", "accessModes",
      good={**ROCKS, "@.gcsFaultToleranceOptions.storage": {"size": "1Gi", "accessModes": ["ReadWriteOnce"]}},
      gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-managed", "RayCluster", {**ROCKS, HEAD_ENV: _env(("RAY_gcs_storage", "rocksdb"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "managed by KubeRay", gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-managed", "RayCluster",
      {**ROCKS, "@.headGroupSpec.template.spec.containers[0].volumeMounts": [{"name": "x", "mountPath": "/data/gcs"}]},
      "spec.headGroupSpec.template.spec.containers[0].volumeMounts[0]", "/data/gcs", gates=ROCKS_GATE),
    C("cluster/ft-rocksdb-managed", "RayCluster",
      {**ROCKS, "@.headGroupSpec.template.spec.volumes": [{"name": "gcs-storage", "emptyDir": {}}]},
      "spec.headGroupSpec.template.spec.volumes[0]", "gcs-storage", gates=ROCKS_GATE),
    C("cluster/ft-redis-storage", "RayCluster", {**FT, "@.gcsFaultToleranceOptions.storage": {"size": "1Gi"}},
      "spec.gcsFaultToleranceOptions.storage", "only to backend 'rocksdb'",
      good={**ROCKS, "@.gcsFaultToleranceOptions.storage": {"size": "1Gi"}}, good_gates=ROCKS_GATE),
    C("cluster/redis-username", "RayCluster", {"@.headGroupSpec.rayStartParams.redis-username": "u"},
      "spec.headGroupSpec.rayStartParams.redis-username", "redisUsername",
      good={**FT, "@.gcsFaultToleranceOptions.redisUsername": {"value": "u"}}),
    C("cluster/redis-username", "RayCluster", {HEAD_ENV: _env(("REDIS_USERNAME", "u"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "redisUsername"),
    # ---------------------------------------------------------------- cluster: suspend, autoscaler
    C("cluster/worker-suspend-gate", "RayCluster", {f"{W0}.suspend": True}, "spec.workerGroupSpecs[0].suspend",
      "RayJobDeletionPolicy", good={f"{W0}.suspend": True}, gates="RayJobDeletionPolicy=false", good_gates=""),
    C("cluster/worker-suspend-autoscaling", "RayCluster", {"@.enableInTreeAutoscaling": True, f"{W0}.suspend": True},
      "spec.workerGroupSpecs[0].suspend", "cannot be suspended",
      good={"@.enableInTreeAutoscaling": True, f"{W0}.suspend": False}),
    C("cluster/autoscaler-v2-env-without-autoscaling", "RayCluster", {HEAD_ENV: _env(("RAY_enable_autoscaler_v2", "1"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "enableInTreeAutoscaling",
      good={HEAD_ENV: _env(("RAY_enable_autoscaler_v2", "0"))}),
    C("cluster/autoscaler-version-and-env", "RayCluster", {**V2, HEAD_ENV: _env(("RAY_enable_autoscaler_v2", "true"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "autoscalerOptions.version"),
    C("cluster/autoscaler-v2-restart-policy", "RayCluster",
      {**V2, "@.headGroupSpec.template.spec.restartPolicy": "Always"},
      "spec.headGroupSpec.template.spec.restartPolicy", "Never or unset",
      good={**V2, "@.headGroupSpec.template.spec.restartPolicy": "Never"}),
    C("cluster/autoscaler-v2-restart-policy", "RayCluster", {**V2, f"{W0}.template.spec.restartPolicy": "OnFailure"},
      "spec.workerGroupSpecs[0].template.spec.restartPolicy", "small"),
    C("cluster/autoscaler-idle-timeout-negative", "RayCluster",
      {"@.enableInTreeAutoscaling": True, "@.autoscalerOptions.idleTimeoutSeconds": -5},
      "spec.autoscalerOptions.idleTimeoutSeconds", "non-negative",
      good={"@.enableInTreeAutoscaling": True, "@.autoscalerOptions.idleTimeoutSeconds": 60}),
    C("cluster/autoscaler-env-start-cmd", "RayCluster",
      {"@.autoscalerOptions.env": _env(("KUBERAY_GEN_AUTOSCALER_START_CMD", "x"))},
      "spec.autoscalerOptions.env[0]", "managed by KubeRay",
      good={"@.autoscalerOptions.env": _env(("AUTOSCALER_LOG_LEVEL", "DEBUG"))}),
    # ---------------------------------------------------------------- cluster: history server
    C("cluster/history-gate", "RayCluster", {HISTORY: {"collectorOptions": {"image": "c:1", "env": S3}}},
      "spec.historyServerOptions", "RayClusterHistoryServer",
      good={HISTORY: {"collectorOptions": {"image": "c:1", "env": S3}}}, good_gates=HIST_GATE),
    C("cluster/history-collector", "RayCluster", {HISTORY: {}}, "spec.historyServerOptions.collectorOptions",
      "must be set", gates=HIST_GATE),
    C("cluster/history-collector", "RayCluster", {HISTORY: {"collectorOptions": {"env": S3}}},
      "spec.historyServerOptions.collectorOptions.image", "must be set", gates=HIST_GATE),
    C("cluster/history-collector-managed-env", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": [*S3, {"name": "POD_IP", "value": "x"}]}}},
      "spec.historyServerOptions.collectorOptions.env[2]", "POD_IP", gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster", {HISTORY: {"collectorOptions": {"image": "c:1"}}},
      "spec.historyServerOptions.collectorOptions.env", "STORAGE_BACKEND must be set", gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": S3[:1]}}},
      "spec.historyServerOptions.collectorOptions.env", "S3_REGION",
      good={HISTORY: {"collectorOptions": {"image": "c:1", "env": [S3[0], {"name": "S3_REGION", "valueFrom": {
          "configMapKeyRef": {"name": "cfg", "key": "region"}}}]}}}, gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": _env(("STORAGE_BACKEND", "gcs"))}}},
      "spec.historyServerOptions.collectorOptions.env", "GCS_BUCKET", gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": _env(
          ("STORAGE_BACKEND", "AZUREBLOB"), ("AZURE_STORAGE_AUTH_MODE", "connection_string"),
          ("AZURE_STORAGE_ACCOUNT_URL", "https://a"))}}},
      "spec.historyServerOptions.collectorOptions.env", "AZURE_STORAGE_CONNECTION_STRING", gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": _env(
          ("STORAGE_BACKEND", "AZUREBLOB"), ("AZURE_STORAGE_AUTH_MODE", " Workload_Identity "))}}},
      "spec.historyServerOptions.collectorOptions.env", "AZURE_STORAGE_ACCOUNT_URL",
      good={HISTORY: {"collectorOptions": {"image": "c:1", "env": _env(
          ("STORAGE_BACKEND", "AZUREBLOB"), ("AZURE_STORAGE_AUTH_MODE", "workload_identity"),
          ("AZURE_STORAGE_ACCOUNT_URL", "https://a"))}}}, gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": _env(("STORAGE_BACKEND", "AZUREBLOB"))}}},
      "spec.historyServerOptions.collectorOptions.env", "AZURE_STORAGE_CONNECTION_STRING or", gates=HIST_GATE),
    C("cluster/history-storage-backend", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": _env(
          ("STORAGE_BACKEND", "AliyunOSS"), ("OSS_BUCKET", "b"), ("OSS_REGION", "r"))}}},
      "spec.historyServerOptions.collectorOptions.env", "OSS_ENDPOINT", gates=HIST_GATE),
    C("cluster/history-collector-container-name", "RayCluster",
      {HISTORY: {"collectorOptions": {"image": "c:1", "env": S3}},
       "@.headGroupSpec.template.spec.containers[1]": {"name": "ray-history-collector", "image": "c:1"}},
      "spec.headGroupSpec.template.spec.containers[1].name", "ray-history-collector", gates=HIST_GATE),
    # ---------------------------------------------------------------- cluster: auth
    C("cluster/auth-ray-version", "RayCluster", {**TOKEN, "@.rayVersion": "2.51.2"}, "spec.rayVersion",
      "2.52.0 or later, got 2.51.2", good={**TOKEN, "@.rayVersion": "2.52"}),
    C("cluster/auth-ray-version", "RayCluster", {**TOKEN, "@.rayVersion": DELETE}, "spec.rayVersion", "not set"),
    C("cluster/auth-ray-version", "RayCluster", {**TOKEN, "@.rayVersion": "2"}, "spec.rayVersion",
      "is not a version", good={**TOKEN, "@.rayVersion": "v2.60.0-rc1"}),
    C("cluster/auth-k8s-token", "RayCluster", {"@.authOptions": {"mode": "disabled", "enableK8sTokenAuth": True}},
      "spec.authOptions.enableK8sTokenAuth", "needs authOptions.mode 'token'",
      good={"@.authOptions": {"mode": "token", "enableK8sTokenAuth": True}, "@.rayVersion": "2.55.0"}),
    C("cluster/auth-k8s-token", "RayCluster", {"@.authOptions": {"mode": "token", "enableK8sTokenAuth": True}},
      "spec.authOptions.enableK8sTokenAuth", "2.55.0"),
    C("cluster/auth-k8s-token", "RayCluster",
      {"@.authOptions": {"mode": "token", "enableK8sTokenAuth": True, "secretName": "s"}, "@.rayVersion": "2.55.0"},
      "spec.authOptions.secretName", "cannot be set",
      good={"@.authOptions": {"mode": "token", "secretName": "s"}}),
    # ---------------------------------------------------------------- cluster: network policy, TLS
    C("cluster/network-policy-gate", "RayCluster", {"@.networkPolicy": {}}, "spec.networkPolicy",
      "RayClusterNetworkPolicy", good={"@.networkPolicy": {}}, good_gates=NETPOL_GATE),
    C("cluster/network-policy-rules-mode", "RayCluster",
      {"@.networkPolicy": {"mode": "DenyAllEgress", "head": {"ingressRules": [{}]}}},
      "spec.networkPolicy.head.ingressRules", "DenyAllEgress",
      good={"@.networkPolicy": {"mode": "DenyAllEgress", "head": {"egressRules": [{}]}}}, gates=NETPOL_GATE),
    C("cluster/network-policy-rules-mode", "RayCluster",
      {"@.networkPolicy": {"mode": "DenyAllIngress", "worker": {"egressRules": [{}]}}},
      "spec.networkPolicy.worker.egressRules", "DenyAllIngress", gates=NETPOL_GATE),
    C("cluster/network-policy-rules-mode", "RayCluster",
      {"@.networkPolicy": {"mode": "DenyAllEgress", "workerGroups": [{"groupName": "small", "ingressRules": [{}]}]}},
      "spec.networkPolicy.workerGroups[0].ingressRules", "ingress is not restricted",
      good={"@.networkPolicy": {"workerGroups": [{"groupName": "small", "ingressRules": [{}]}]}}, gates=NETPOL_GATE),
    C("cluster/network-policy-groups", "RayCluster", {"@.networkPolicy": {}, f"{W0}.groupName": "Small"},
      "spec.workerGroupSpecs[0].groupName", "DNS-1123", good={f"{W0}.groupName": "Small"}, gates=NETPOL_GATE),
    C("cluster/network-policy-groups", "RayCluster", {"@.networkPolicy": {"workerGroups": [{"groupName": "gpu"}]}},
      "spec.networkPolicy.workerGroups[0].groupName", "'gpu' is not a worker group", gates=NETPOL_GATE),
    C("cluster/tls-gate", "RayCluster", TLS, "spec.tlsOptions", "RayClusterMTLS", good=TLS, good_gates=TLS_GATE),
    C("cluster/tls-managed", "RayCluster", {**TLS, HEAD_ENV: _env(("RAY_USE_TLS", "1"))},
      "spec.headGroupSpec.template.spec.containers[0].env[0]", "RAY_USE_TLS",
      good={"@.tlsOptions": {"enabled": False}, HEAD_ENV: _env(("RAY_USE_TLS", "1"))}, gates=TLS_GATE),
    C("cluster/tls-managed", "RayCluster",
      {**TLS, f"{W0}.template.spec.containers[0].volumeMounts": [{"name": "ray-tls", "mountPath": "/tls"}]},
      "spec.workerGroupSpecs[0].template.spec.containers[0].volumeMounts[0]", "ray-tls", gates=TLS_GATE),
    C("cluster/tls-managed", "RayCluster",
      {**TLS, "@.headGroupSpec.template.spec.containers[0].volumeMounts": [{"name": "c", "mountPath": "/etc/ray/tls"}]},
      "spec.headGroupSpec.template.spec.containers[0].volumeMounts[0]", "/etc/ray/tls", gates=TLS_GATE),
    C("cluster/tls-managed", "RayCluster", {**TLS, "@.autoscalerOptions.env": _env(("RAY_TLS_CA_CERT", "x"))},
      "spec.autoscalerOptions.env[0]", "RAY_TLS_CA_CERT", gates=TLS_GATE),
    C("cluster/tls-managed", "RayCluster",
      {**TLS, "@.autoscalerOptions.volumeMounts": [{"name": "ray-tls", "mountPath": "/x"}]},
      "spec.autoscalerOptions.volumeMounts[0]", "ray-tls", gates=TLS_GATE),
    # ---------------------------------------------------------------- cluster: upgrade strategy, webhook
    C("cluster/upgrade-strategy-type", "RayCluster", {"@.upgradeStrategy": {"type": "Rolling"}},
      "spec.upgradeStrategy.type", "not Recreate or None", good={"@.upgradeStrategy": {"type": "Recreate"}}),
    C("cluster/upgrade-strategy-owner", "RayCluster",
      {'metadata.labels["ray.io/originated-from-crd"]': "RayJob", "@.upgradeStrategy": {"type": "Recreate"}},
      "spec.upgradeStrategy", "created by a RayJob",
      good={'metadata.labels["ray.io/originated-from-crd"]': "RayCluster", "@.upgradeStrategy": {"type": "None"}}),
    C("cluster/upgrade-strategy-owner", "RayJob", {"@.upgradeStrategy": {"type": "Recreate"}},
      "spec.rayClusterSpec.upgradeStrategy", "created by a RayJob"),
    C("cluster/upgrade-strategy-owner", "RayService", {"@.upgradeStrategy": {"type": "None"}},
      "spec.rayClusterConfig.upgradeStrategy", "created by a RayService"),
    C("cluster/worker-group-names-unique", "RayCluster",
      {"@.workerGroupSpecs[1]": _cluster_spec()["workerGroupSpecs"][0]},
      "spec.workerGroupSpecs[1].groupName", "duplicate worker group 'small'",
      good={"@.workerGroupSpecs[1]": {**_cluster_spec()["workerGroupSpecs"][0], "groupName": "large"}}),
    # ---------------------------------------------------------------- RayJob
    C("rayjob/suspend-needs-shutdown", "RayJob", {"spec.suspend": True}, "spec.suspend",
      "shutdownAfterJobFinishes false", good={"spec.suspend": True, "spec.shutdownAfterJobFinishes": True}),
    C("rayjob/ttl-negative", "RayJob", {"spec.shutdownAfterJobFinishes": True, "spec.ttlSecondsAfterFinished": -1},
      "spec.ttlSecondsAfterFinished", "non-negative"),
    C("rayjob/ttl-needs-shutdown", "RayJob", {"spec.ttlSecondsAfterFinished": 60}, "spec.ttlSecondsAfterFinished",
      "shutdownAfterJobFinishes", good={"spec.ttlSecondsAfterFinished": 60, "spec.shutdownAfterJobFinishes": True}),
    C("rayjob/deletion-strategy-gate", "RayJob",
      {"spec.deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteSelf"}}},
      "spec.deletionStrategy", "RayJobDeletionPolicy",
      good={"spec.deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteSelf"}}},
      gates="RayJobDeletionPolicy=false", good_gates=""),
    C("rayjob/deletion-strategy-shape", "RayJob",
      {"spec.shutdownAfterJobFinishes": True, "spec.deletionStrategy": {"deletionRules": [RULE_SUCCEEDED]}},
      "spec.deletionStrategy.deletionRules", "shutdownAfterJobFinishes",
      good={"spec.deletionStrategy": {"deletionRules": [RULE_SUCCEEDED]}}),
    C("rayjob/deletion-strategy-shape", "RayJob",
      {"spec.deletionStrategy": {"deletionRules": [RULE_SUCCEEDED], "onSuccess": {"policy": "DeleteCluster"}}},
      "spec.deletionStrategy", "not both"),
    C("rayjob/deletion-strategy-shape", "RayJob", {"spec.deletionStrategy": {}}, "spec.deletionStrategy",
      "needs deletionRules"),
    C("rayjob/legacy-deletion-complete", "RayJob", {"spec.deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}}},
      "spec.deletionStrategy.onFailure", "must both be set"),
    C("rayjob/legacy-deletion-complete", "RayJob",
      {"spec.deletionStrategy": {"onSuccess": {}, "onFailure": {"policy": "DeleteCluster"}}},
      "spec.deletionStrategy.onSuccess.policy", "must be set"),
    C("rayjob/legacy-deletion-policies", "RayJob",
      {**SELECTOR, "spec.deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteNone"}}},
      "spec.deletionStrategy.onSuccess.policy", "clusterSelector",
      good={**SELECTOR, "spec.deletionStrategy": {"onSuccess": {"policy": "DeleteSelf"}, "onFailure": {"policy": "DeleteNone"}}}),
    C("rayjob/legacy-deletion-policies", "RayJob",
      {"@.enableInTreeAutoscaling": True,
       "spec.deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteWorkers"}}},
      "spec.deletionStrategy.onFailure.policy", "enableInTreeAutoscaling"),
    C("rayjob/legacy-deletion-policies", "RayJob",
      {"spec.shutdownAfterJobFinishes": True,
       "spec.deletionStrategy": {"onSuccess": {"policy": "DeleteNone"}, "onFailure": {"policy": "DeleteCluster"}}},
      "spec.deletionStrategy.onSuccess.policy", "DeleteNone contradicts"),
    C("rayjob/deletion-rule-condition", "RayJob",
      {"spec.deletionStrategy": {"deletionRules": [{"policy": "DeleteCluster", "condition": {
          "jobStatus": "FAILED", "jobDeploymentStatus": "Failed"}}]}},
      "spec.deletionStrategy.deletionRules[0].condition", "not both"),
    C("rayjob/deletion-rule-condition", "RayJob",
      {"spec.deletionStrategy": {"deletionRules": [{"policy": "DeleteCluster", "condition": {"ttlSeconds": 5}}]}},
      "spec.deletionStrategy.deletionRules[0].condition", "one of jobStatus and jobDeploymentStatus"),
    C("rayjob/deletion-rule-condition", "RayJob",
      {"spec.deletionStrategy": {"deletionRules": [{"policy": "DeleteCluster", "condition": {
          "jobStatus": "FAILED", "ttlSeconds": -1}}]}},
      "spec.deletionStrategy.deletionRules[0].condition.ttlSeconds", "non-negative"),
    C("rayjob/deletion-rule-policy", "RayJob", {**SELECTOR, "spec.deletionStrategy": {"deletionRules": [RULE_SUCCEEDED]}},
      "spec.deletionStrategy.deletionRules[0].policy", "clusterSelector",
      good={**SELECTOR, "spec.deletionStrategy": {"deletionRules": [{**RULE_SUCCEEDED, "policy": "DeleteSelf"}]}}),
    C("rayjob/deletion-rule-policy", "RayJob",
      {"@.enableInTreeAutoscaling": True,
       "spec.deletionStrategy": {"deletionRules": [{**RULE_SUCCEEDED, "policy": "DeleteWorkers"}]}},
      "spec.deletionStrategy.deletionRules[0].policy", "enableInTreeAutoscaling"),
    C("rayjob/deletion-rule-unique", "RayJob",
      {"spec.deletionStrategy": {"deletionRules": [RULE_SUCCEEDED, RULE_SUCCEEDED]}},
      "spec.deletionStrategy.deletionRules[1]", "duplicate rule", "SUCCEEDED",
      good={"spec.deletionStrategy": {"deletionRules": [
          RULE_SUCCEEDED, {**RULE_SUCCEEDED, "condition": {"jobStatus": "FAILED"}}]}}),
    C("rayjob/deletion-rule-ttl-order", "RayJob",
      {"spec.deletionStrategy": {"deletionRules": [
          {"policy": "DeleteWorkers", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 20}},
          {"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 10}}]}},
      "spec.deletionStrategy.deletionRules[1].condition.ttlSeconds", "DeleteCluster TTL (10) must be >=",
      good={"spec.deletionStrategy": {"deletionRules": [
          {"policy": "DeleteWorkers", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 10}},
          {"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 20}},
          {"policy": "DeleteSelf", "condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 30}}]}}),
    C("rayjob/cluster-or-selector", "RayJob", {"spec.rayClusterSpec": DELETE}, "spec",
      "rayClusterSpec or clusterSelector", good=SELECTOR),
    C("rayjob/cluster-selector", "RayJob", {**SELECTOR, "spec.clusterSelector": {"app": "x"}}, "spec.clusterSelector",
      "ray.io/cluster"),
    C("rayjob/cluster-selector", "RayJob", {**SELECTOR, "spec.suspend": True, "spec.shutdownAfterJobFinishes": True},
      "spec.suspend", "cannot be suspended"),
    C("rayjob/cluster-selector", "RayJob", {**SELECTOR, "spec.submissionMode": "SidecarMode"}, "spec.submissionMode",
      "SidecarMode", good={**SELECTOR, "spec.submissionMode": "HTTPMode"}),
    C("rayjob/cluster-selector", "RayJob", {**SELECTOR, "spec.backoffLimit": 2}, "spec.backoffLimit",
      "clusterSelector", good={**SELECTOR, "spec.backoffLimit": 0}),
    C("rayjob/interactive-backoff", "RayJob", {"spec.submissionMode": "InteractiveMode", "spec.backoffLimit": 1},
      "spec.backoffLimit", "InteractiveMode",
      good={"spec.submissionMode": "InteractiveMode", "spec.entrypoint": DELETE}),
    C("rayjob/sidecar-mode", "RayJob",
      {"spec.submissionMode": "SidecarMode", "spec.submitterPodTemplate": {"spec": {"containers": [
          {"name": "submit", "image": IMAGE}]}}},
      "spec.submitterPodTemplate", "SidecarMode", good={"spec.submissionMode": "SidecarMode"}),
    C("rayjob/sidecar-mode", "RayJob", {"spec.submissionMode": "SidecarMode", "spec.submitterConfig": {"backoffLimit": 1}},
      "spec.submitterConfig", "SidecarMode"),
    C("rayjob/sidecar-mode", "RayJob",
      {"spec.submissionMode": "SidecarMode", "@.headGroupSpec.template.spec.restartPolicy": "Always"},
      "spec.rayClusterSpec.headGroupSpec.template.spec.restartPolicy", "SidecarMode"),
    C("rayjob/k8s-token-auth", "RayJob",
      {"@.authOptions": {"mode": "token", "enableK8sTokenAuth": True}, "@.rayVersion": "2.55.0"},
      "spec.rayClusterSpec.authOptions.enableK8sTokenAuth", "not supported for RayJob",
      good={"@.authOptions": {"mode": "token"}, "@.rayVersion": "2.55.0"}),
    C("rayjob/runtime-env-yaml", "RayJob", {"spec.runtimeEnvYAML": "pip: [requests\n"}, "spec.runtimeEnvYAML",
      "not valid YAML", good={"spec.runtimeEnvYAML": "pip: [requests]\nenv_vars: {A: '1'}\n"}),
    C("rayjob/runtime-env-yaml", "RayJob", {"spec.runtimeEnvYAML": "- requests\n"}, "spec.runtimeEnvYAML",
      "YAML mapping"),
    C("rayjob/deadlines", "RayJob", {"spec.activeDeadlineSeconds": 0}, "spec.activeDeadlineSeconds", "positive",
      good={"spec.activeDeadlineSeconds": 600, "spec.preRunningDeadlineSeconds": 60}),
    C("rayjob/deadlines", "RayJob", {"spec.preRunningDeadlineSeconds": 0}, "spec.preRunningDeadlineSeconds",
      "positive"),
    C("rayjob/backoff-negative", "RayJob", {"spec.backoffLimit": -1}, "spec.backoffLimit", "must not be negative",
      good={"spec.backoffLimit": 3}),
    # the operator has no entrypoint rule: a RayJob may bring its own submitter, or none (InteractiveMode)
    C("rayjob/backoff-negative", "RayJob", {"spec.entrypoint": DELETE, "spec.backoffLimit": -3}, "spec.backoffLimit",
      "negative", good={"spec.entrypoint": DELETE, "spec.submitterPodTemplate": {"spec": {
          "restartPolicy": "Never", "containers": [{"name": "submit", "image": IMAGE}]}}}),
    # ---------------------------------------------------------------- RayService
    C("rayservice/k8s-token-auth", "RayService",
      {"@.authOptions": {"mode": "token", "enableK8sTokenAuth": True}, "@.rayVersion": "2.55.0"},
      "spec.rayClusterConfig.authOptions.enableK8sTokenAuth", "not supported for RayService"),
    C("rayservice/head-service-name", "RayService", {"@.headGroupSpec.headService": {"metadata": {"name": "head"}}},
      "spec.rayClusterConfig.headGroupSpec.headService.metadata.name", "must not be set",
      good={"@.headGroupSpec.headService": {"metadata": {"labels": {"a": "b"}}}}),
    C("rayservice/upgrade-type", "RayService", {"spec.upgradeStrategy": {"type": "Recreate"}},
      "spec.upgradeStrategy.type", "not NewClusterWithIncrementalUpgrade",
      good={"spec.upgradeStrategy": {"type": "NewCluster"}}),
    C("rayservice/deletion-delay", "RayService", {"spec.rayClusterDeletionDelaySeconds": -1},
      "spec.rayClusterDeletionDelaySeconds", "non-negative", good={"spec.rayClusterDeletionDelaySeconds": 0}),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, "@.enableInTreeAutoscaling": False},
      "spec.rayClusterConfig.enableInTreeAutoscaling", "autoscaler", good=INCREMENTAL),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, OPTS: DELETE}, OPTS, "must be set",
      good={**INCREMENTAL, OPTS: DELETE}, good_gates="RayServiceIncrementalUpgrade=false"),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, f"{OPTS}.maxSurgePercent": 101},
      f"{OPTS}.maxSurgePercent", "between 0 and 100", good={**INCREMENTAL, f"{OPTS}.maxSurgePercent": DELETE}),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, f"{OPTS}.stepSizePercent": -1},
      f"{OPTS}.stepSizePercent", "between 0 and 100"),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, f"{OPTS}.stepSizePercent": 60},
      f"{OPTS}.stepSizePercent", "at most maxSurgePercent (50)"),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, f"{OPTS}.intervalSeconds": 0},
      f"{OPTS}.intervalSeconds", "greater than 0"),
    C("rayservice/incremental-upgrade", "RayService", {**INCREMENTAL, f"{OPTS}.gatewayClassName": ""},
      f"{OPTS}.gatewayClassName", "must be set"),
    # ---------------------------------------------------------------- RayCronJob
    C("raycronjob/controller-gate", "RayCronJob", {}, "kind", "RayCronJob feature gate", good={}, good_gates=CRON),
    C("raycronjob/schedule", "RayCronJob", {"spec.schedule": "TZ=UTC 0 * * * *"}, "spec.schedule", "spec.timeZone",
      good={"spec.schedule": "@hourly"}, gates=CRON),
    C("raycronjob/schedule", "RayCronJob", {"spec.schedule": "0 * * *"}, "spec.schedule", "exactly 5 fields",
      good={"spec.schedule": "0 9 * * MON-FRI"}, gates=CRON),
    C("raycronjob/schedule", "RayCronJob", {"spec.schedule": "60 * * * *"}, "spec.schedule", "above maximum",
      good={"spec.schedule": "*/15 0-6 1,15 JAN-JUN ?"}, gates=CRON),
    C("raycronjob/schedule", "RayCronJob", {"spec.schedule": "@every tomorrow"}, "spec.schedule", "duration",
      good={"spec.schedule": "@every 1h30m"}, gates=CRON),
    C("raycronjob/time-zone", "RayCronJob", {"spec.timeZone": "Mars/Olympus_Mons"}, "spec.timeZone",
      "unknown time zone", good={"spec.timeZone": "America/New_York"}, gates=CRON),
    C("raycronjob/time-zone", "RayCronJob", {"spec.timeZone": ""}, "spec.timeZone", "must not be empty",
      good={"spec.timeZone": "UTC"}, gates=CRON),
]
# fmt: on


@pytest.fixture(scope="module")
def gated(tools) -> ManifestValidator:
    """A validator whose feature gates each test sets."""
    return ManifestValidator(tools=tools)


def _check(validator: ManifestValidator, doc: dict[str, Any], gates: str):
    validator.gates = feature_gates(gates)
    try:
        return validator.validate([Manifest("rule.yaml", doc)], policy=False)
    finally:
        validator.gates = feature_gates()


def _case_id(case: Case) -> str:
    return f"{case.rule}:{case.path}:{case.words[0]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_rule_rejects_with_the_field(gated, case):
    base = make(case.kind)
    assert _check(gated, base, case.gates) == [] or case.rule == "raycronjob/controller-gate"
    problems = _check(gated, make(case.kind, case.bad), case.gates)
    mine = [p for p in problems if p.rule == case.rule]
    assert mine, f"{case.rule} did not fire; got {[str(p) for p in problems]}"
    at = [p.message for p in mine if p.path == case.path]
    assert at, f"{case.rule} fired at {[p.path for p in mine]}, not {case.path}"
    text = " ".join(at)
    for w in case.words:
        assert w in text, f"{w!r} not in {at}"


GOOD = [c for c in CASES if c.good is not None]


@pytest.mark.parametrize("case", GOOD, ids=[_case_id(c) for c in GOOD])
def test_valid_counterpart_passes(gated, case):
    gates = case.gates if case.good_gates is None else case.good_gates
    problems = _check(gated, make(case.kind, case.good), gates)
    assert problems == [], "\n".join(map(str, problems))


def test_every_rule_has_a_case():
    assert {c.rule for c in CASES} | {"cluster/worker-replicas-set"} == set(RULES)
    assert len(RULES) >= 70


def test_replicas_bounds_are_defaulted_before_the_operator_sees_them(gated):
    """Without the autoscaler the operator wants minReplicas and maxReplicas, but the CRD defaults them
    (0 and 2^31-1): a group without them is valid, and the rule only fires on an object the API server
    never stores."""
    doc = make("RayCluster", {f"{W0}.minReplicas": DELETE, f"{W0}.maxReplicas": DELETE})
    assert _check(gated, doc, "") == []
    raw = [f for f in operator_findings(doc) if f.rule == "cluster/worker-replicas-set"]
    assert {f.path for f in raw} == {
        "spec.workerGroupSpecs[0].minReplicas",
        "spec.workerGroupSpecs[0].maxReplicas",
    }
    stored, _ = gated.crds.admit(doc)
    assert stored["spec"]["workerGroupSpecs"][0]["minReplicas"] == 0
    assert stored["spec"]["workerGroupSpecs"][0]["maxReplicas"] == 2**31 - 1
    assert operator_findings(stored) == []


def test_replicas_outside_the_bounds_are_the_operators_business(gated):
    """The operator clamps replicas into [minReplicas, maxReplicas] rather than rejecting them."""
    assert _check(gated, make("RayCluster", {f"{W0}.replicas": 7}), "") == []


def test_feature_gates_parse_and_reject_unknown_names():
    assert feature_gates("RayCronJob=true, RayClusterMTLS=false")["RayCronJob"] is True
    assert feature_gates()["RayJobDeletionPolicy"] is True and feature_gates()["RayCronJob"] is False
    from lam_rl.config import ConfigError

    with pytest.raises(ConfigError, match="unknown KubeRay feature gate 'RayCronJobs'"):
        feature_gates("RayCronJobs=true")
    with pytest.raises(ConfigError, match="Name=true or Name=false"):
        feature_gates("RayCronJob")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("1.5s", 1.5), (".5h", 1800), ("-2m", -120), ("0", 0), ("300ms", 0.3)],
)
def test_go_durations(text, seconds):
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "1d", "m", "1h 30m", "+", "1.2.3s"])
def test_go_durations_rejected(text):
    assert go_duration(text) is None


def test_versions_parse_as_kubernetes_does():
    assert go_version("2.52.0") == (2, 52, 0) and go_version("v2.60.0-rc1") == (2, 60, 0)
    assert go_version("2.52") == (2, 52) and go_version(" 2.52.1+build") == (2, 52, 1)
    assert go_version("2") is None and go_version("nightly") is None and go_version("02.1") is None


@pytest.mark.parametrize(
    "spec",
    [
        "* * * * *",
        "0 0 1 1 *",
        "@daily",
        "@every 90s",
        "5-10/2 */3 ? * sun,SAT",
        "0 0 31 dec 6",
        "59 23 * * 0-6",
    ],
)
def test_cron_accepts(spec):
    assert cron_error(spec) is None


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("* * * * * *", "exactly 5 fields"),
        ("* * 0 * *", "below minimum"),
        ("* 24 * * *", "above maximum"),
        ("* * * 13 *", "above maximum"),
        ("* * * * 7", "above maximum"),
        ("5-1 * * * *", "beyond end"),
        ("*/0 * * * *", "positive"),
        ("1-2-3 * * * *", "hyphens"),
        ("1/2/3 * * * *", "slashes"),
        ("L * * * *", "parse int"),
        ("@fortnightly", "unrecognized descriptor"),
        ("", "empty"),
    ],
)
def test_cron_rejects(spec, why):
    err = cron_error(spec)
    assert err is not None and why in err, err
