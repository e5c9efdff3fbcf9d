"""The operator's rules for an object's metadata and for a RayClusterSpec's core: containers, groups
and replicas, GCS fault tolerance, suspending groups, the autoscaler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lam_rl.deploy.kuberay.model import Cluster, Meta, _rule
from lam_rl.deploy.kuberay.values import (
    _DNS1035,
    _RESOURCE_PARAMS,
    AUTOSCALER_V2_ENV,
    FT_ANNOTATION,
    GCS_MOUNT_PATH,
    GCS_VOLUME,
    INIT_TIMEOUT_ANNOTATION,
    MAX_NAME,
    STORAGE_NS_ANNOTATION,
    _at_least,
    _env_index,
    _go_atoi,
    _int,
    _list,
    _needs_gate,
    _negative,
    _obj,
    _set,
    _str,
    go_duration,
    label_value_errors,
    qualified_name_errors,
)

# ---------------------------------------------------------------- metadata (webhook and reconcile)


def _name(meta: dict[str, Any]) -> tuple[str, str] | None:
    """(path, name) of the object's name; a generateName gets the API server's 5 random characters."""
    if isinstance(meta.get("name"), str):
        return "metadata.name", meta["name"]
    if isinstance(meta.get("generateName"), str):
        return "metadata.generateName", meta["generateName"][:58] + "xxxxx"
    return None


@_rule("metadata/name-length", "the name fits the names the operator derives from it")
def _name_length(m: Meta) -> Iterator[tuple[str, str]]:
    found = _name(m.meta)
    if found and len(found[1]) > MAX_NAME[m.kind]:
        yield found[0], f"{m.kind} name is {len(found[1])} characters long, more than {MAX_NAME[m.kind]}"


@_rule("metadata/name-dns1035", "a RayCluster's, RayJob's or RayService's name is a DNS-1035 label")
def _name_dns1035(m: Meta) -> Iterator[tuple[str, str]]:
    found = _name(m.meta)
    if m.kind != "RayCronJob" and found and not _DNS1035.match(found[1]):
        yield (
            found[0],
            f"{found[1]!r} is not a valid DNS-1035 label (lowercase letters, digits and '-', starting with a "
            "letter)",
        )


@_rule("metadata/initializing-timeout", "a RayService's ray.io/initializing-timeout is a positive duration")
def _initializing_timeout(m: Meta) -> Iterator[tuple[str, str]]:
    value = _obj(m.meta.get("annotations")).get(INIT_TIMEOUT_ANNOTATION)
    if m.kind != "RayService" or not isinstance(value, str) or value == "":
        return
    where = f"metadata.annotations.{INIT_TIMEOUT_ANNOTATION}"
    seconds = go_duration(value)
    if seconds is None:
        seconds = _go_atoi(value)
        if seconds is None:
            yield where, f"{value!r} is neither a Go duration ('5m', '1h') nor whole seconds"
            return
    if seconds <= 0:
        yield where, f"must be a positive duration, got {value!r}"


# ---------------------------------------------------------------- cluster spec


@_rule("cluster/head-container", "the head pod template has a container")
def _head_container(c: Cluster) -> Iterator[tuple[str, str]]:
    if not _list(c.head_pod.get("containers")):
        yield c.p("headGroupSpec.template.spec.containers"), "the head group needs at least one container"


@_rule("cluster/worker-container", "every worker pod template has a container")
def _worker_container(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        if not _list(_obj(_obj(g.get("template")).get("spec")).get("containers")):
            yield f"{where}.template.spec.containers", f"worker group {name!r} needs at least one container"


@_rule(
    "cluster/group-resources",
    "a group sets its resources in rayStartParams (num-cpus, num-gpus, memory, resources) or in resources, "
    "not both",
)
def _group_resources(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.groups():
        params = _obj(g.get("rayStartParams"))
        used = [k for k in _RESOURCE_PARAMS if _set(params.get(k))]
        if used and _obj(g.get("resources")):
            yield (
                f"{where}.resources",
                f"the {name} group sets resources both here and in rayStartParams ({', '.join(used)}); "
                "keep one",
            )


@_rule("cluster/group-labels-param", "Ray node labels go in a group's labels, not rayStartParams.labels")
def _group_labels_param(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.groups():
        if "labels" in _obj(g.get("rayStartParams")):
            yield f"{where}.rayStartParams.labels", f"not supported for the {name} group; use {where}.labels"


@_rule("cluster/group-labels-syntax", "a group's Ray labels are valid Kubernetes label keys and values")
def _group_labels_syntax(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.groups():
        for key, value in _obj(g.get("labels")).items():
            for err in qualified_name_errors(str(key)):
                yield f"{where}.labels.{key}", f"invalid label key for the {name} group: {err}"
            if isinstance(value, str):
                for err in label_value_errors(value):
                    yield (
                        f"{where}.labels.{key}",
                        f"invalid label value {value!r} for the {name} group: {err}",
                    )


@_rule(
    "cluster/worker-replicas-set",
    "without the autoscaler a worker group sets minReplicas and maxReplicas (the CRD defaults both)",
)
def _worker_replicas_set(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.autoscaling:
        return
    for where, name, g in c.workers():
        for key in ("minReplicas", "maxReplicas"):
            if g.get(key) is None:
                yield f"{where}.{key}", f"worker group {name!r} must set {key} when autoscaling is disabled"


def _worker_negative(c: Cluster, key: str) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        if (n := _negative(g.get(key))) is not None:
            yield f"{where}.{key}", f"worker group {name!r} has negative {key} {n}"


@_rule("cluster/worker-min-replicas-negative", "minReplicas is not negative")
def _worker_min_negative(c: Cluster) -> Iterator[tuple[str, str]]:
    yield from _worker_negative(c, "minReplicas")


@_rule("cluster/worker-max-replicas-negative", "maxReplicas is not negative")
def _worker_max_negative(c: Cluster) -> Iterator[tuple[str, str]]:
    yield from _worker_negative(c, "maxReplicas")


@_rule("cluster/worker-min-above-max", "minReplicas is at most maxReplicas")
def _worker_min_above_max(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        lo, hi = _int(g.get("minReplicas")), _int(g.get("maxReplicas"))
        if lo is not None and hi is not None and lo > hi:
            yield (
                f"{where}.minReplicas",
                f"worker group {name!r} has minReplicas {lo} greater than maxReplicas {hi}",
            )


@_rule("cluster/worker-idle-timeout-negative", "a worker group's idleTimeoutSeconds is not negative")
def _worker_idle_negative(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        if (n := _negative(g.get("idleTimeoutSeconds"))) is not None:
            yield f"{where}.idleTimeoutSeconds", f"worker group {name!r}: must be non-negative, got {n}"


@_rule("cluster/worker-idle-timeout-v2", "a worker group's idleTimeoutSeconds needs autoscaler v2")
def _worker_idle_v2(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.autoscaler_v2 or c.v2_env_on:
        return
    for where, name, g in c.workers():
        n = _int(g.get("idleTimeoutSeconds"))
        if n is not None and n >= 0:
            yield (
                f"{where}.idleTimeoutSeconds",
                f"worker group {name!r} sets idleTimeoutSeconds but autoscaler v2 is not enabled: set "
                f"{c.p('autoscalerOptions.version')} to 'v2'",
            )


def _priority_groups(c: Cluster) -> Iterator[tuple[str, str, int]]:
    for where, name, g in c.workers():
        n = _int(g.get("priority"))
        if n:
            yield where, name, n


@_rule("cluster/worker-priority-ray-version", "a worker group's priority needs rayVersion 2.56.0 or later")
def _worker_priority_version(c: Cluster) -> Iterator[tuple[str, str]]:
    raw = _str(c.spec.get("rayVersion"))
    version = c.version()
    for where, name, _ in _priority_groups(c):
        if not raw:
            problem = "rayVersion is not set"
        elif version is None:
            problem = f"rayVersion {raw!r} is not a version"
        elif not _at_least(version, (2, 56, 0)):
            problem = f"rayVersion is {raw}"
        else:
            continue
        yield (
            f"{where}.priority",
            f"worker group {name!r} sets priority, which needs Ray 2.56.0 or later: {problem}",
        )


@_rule("cluster/worker-priority-v2", "a worker group's priority needs autoscaler v2")
def _worker_priority_v2(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.autoscaler_v2 or c.v2_env_on:
        return
    for where, name, n in _priority_groups(c):
        yield (
            f"{where}.priority",
            f"worker group {name!r} sets priority {n} but autoscaler v2 is not enabled: set "
            f"{c.p('autoscalerOptions.version')} to 'v2'",
        )


@_rule(
    "cluster/ft-annotation-and-options",
    "GCS fault tolerance is set by the ray.io/ft-enabled annotation or by gcsFaultToleranceOptions, not both",
)
def _ft_annotation_and_options(c: Cluster) -> Iterator[tuple[str, str]]:
    if _set(c.annotations.get(FT_ANNOTATION)) and c.ft_options is not None:
        yield (
            f"metadata.annotations.{FT_ANNOTATION}",
            f"set together with {c.p('gcsFaultToleranceOptions')}: use only gcsFaultToleranceOptions",
        )


@_rule(
    "cluster/redis-address-without-ft",
    "RAY_REDIS_ADDRESS on the head needs GCS fault tolerance (gcsFaultToleranceOptions or the annotation)",
)
def _redis_address_without_ft(c: Cluster) -> Iterator[tuple[str, str]]:
    where = c.head_env_path("RAY_REDIS_ADDRESS")
    if where and not c.ft_enabled:
        yield (
            where,
            "RAY_REDIS_ADDRESS enables GCS fault tolerance implicitly; set "
            f"{c.p('gcsFaultToleranceOptions')} instead",
        )


@_rule(
    "cluster/ft-redis-settings-elsewhere",
    "with gcsFaultToleranceOptions, the Redis address, password and storage namespace are set there only",
)
def _ft_redis_settings(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.ft_options is None:
        return
    opts = c.p("gcsFaultToleranceOptions")
    if _set(_obj(c.head.get("rayStartParams")).get("redis-password")):
        yield c.p("headGroupSpec.rayStartParams.redis-password"), f"use {opts}.redisPassword instead"
    for env, instead in (("REDIS_PASSWORD", "redisPassword"), ("RAY_REDIS_ADDRESS", "redisAddress")):
        where = c.head_env_path(env)
        if where:
            yield where, f"{env} cannot be set with gcsFaultToleranceOptions; use {opts}.{instead} instead"
    if _set(c.annotations.get(STORAGE_NS_ANNOTATION)):
        yield (
            f"metadata.annotations.{STORAGE_NS_ANNOTATION}",
            f"cannot be set with gcsFaultToleranceOptions; use {opts}.externalStorageNamespace instead",
        )


def _rocksdb(c: Cluster) -> bool:
    return c.ft_options is not None and _str(c.ft_options.get("backend")) == "rocksdb"


@_rule("cluster/ft-rocksdb-gate", "the rocksdb GCS backend needs the GCSFaultToleranceEmbeddedStorage gate")
def _ft_rocksdb_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    if _rocksdb(c) and not c.gates["GCSFaultToleranceEmbeddedStorage"]:
        yield (
            c.p("gcsFaultToleranceOptions.backend"),
            f"'rocksdb' {_needs_gate('GCSFaultToleranceEmbeddedStorage')}",
        )


@_rule("cluster/ft-rocksdb-redis-fields", "the rocksdb GCS backend takes no Redis settings")
def _ft_rocksdb_redis(c: Cluster) -> Iterator[tuple[str, str]]:
    if not _rocksdb(c):
        return
    opts = _obj(c.ft_options)
    for key in ("redisAddress", "externalStorageNamespace"):
        if _str(opts.get(key)):
            yield c.p("gcsFaultToleranceOptions", key), "cannot be set when backend is 'rocksdb'"
    for key in ("redisUsername", "redisPassword"):
        if opts.get(key) is not None:
            yield c.p("gcsFaultToleranceOptions", key), "cannot be set when backend is 'rocksdb'"


@_rule(
    "cluster/ft-rocksdb-claim-exclusive",
    "rocksdb storage names an existing claim or describes a new one (size, storageClassName, accessModes)",
)
def _ft_rocksdb_claim(c: Cluster) -> Iterator[tuple[str, str]]:
    storage = _obj(_obj(c.ft_options).get("storage"))
    if _rocksdb(c) and _str(storage.get("claimName")):
        extra = [k for k in ("size", "storageClassName") if storage.get(k) is not None]
        extra += ["accessModes"] if _list(storage.get("accessModes")) else []
        if extra:
            yield (
                c.p("gcsFaultToleranceOptions.storage.claimName"),
                f"an existing claim excludes {', '.join(extra)}",
            )


@_rule(
    "cluster/ft-rocksdb-managed",
    "with the rocksdb GCS backend, KubeRay owns RAY_gcs_storage(_path), the gcs-storage volume and /data/gcs",
)
def _ft_rocksdb_managed(c: Cluster) -> Iterator[tuple[str, str]]:
    if not _rocksdb(c):
        return
    for env in ("RAY_gcs_storage", "RAY_gcs_storage_path"):
        where = c.head_env_path(env)
        if where:
            yield where, f"{env} is managed by KubeRay with the embedded GCS backend"
    for i, mount in enumerate(_list(c.head_ray.get("volumeMounts"))):
        mount = _obj(mount)
        if mount.get("mountPath") == GCS_MOUNT_PATH or mount.get("name") == GCS_VOLUME:
            yield (
                c.p("headGroupSpec.template.spec.containers[0].volumeMounts", i),
                f"a mount named {GCS_VOLUME!r} or at {GCS_MOUNT_PATH} is managed by KubeRay with the embedded "
                "GCS backend",
            )
    for i, vol in enumerate(_list(c.head_pod.get("volumes"))):
        if _obj(vol).get("name") == GCS_VOLUME:
            yield (
                c.p("headGroupSpec.template.spec.volumes", i),
                f"the volume {GCS_VOLUME!r} is managed by KubeRay with the embedded GCS backend",
            )


@_rule("cluster/ft-redis-storage", "gcsFaultToleranceOptions.storage applies to the rocksdb backend only")
def _ft_redis_storage(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.ft_options is not None and not _rocksdb(c) and c.ft_options.get("storage") is not None:
        yield c.p("gcsFaultToleranceOptions.storage"), "applies only to backend 'rocksdb', not 'redis'"


@_rule("cluster/redis-username", "the Redis username is set in gcsFaultToleranceOptions.redisUsername only")
def _redis_username(c: Cluster) -> Iterator[tuple[str, str]]:
    if _set(_obj(c.head.get("rayStartParams")).get("redis-username")):
        yield c.p("headGroupSpec.rayStartParams.redis-username"), "use gcsFaultToleranceOptions.redisUsername"
    where = c.head_env_path("REDIS_USERNAME")
    if where:
        yield where, "use gcsFaultToleranceOptions.redisUsername"


def _suspended(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        if g.get("suspend") is True:
            yield f"{where}.suspend", name


@_rule("cluster/worker-suspend-gate", "suspending a worker group needs the RayJobDeletionPolicy gate")
def _worker_suspend_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    if not c.gates["RayJobDeletionPolicy"]:
        for where, name in _suspended(c):
            yield (
                where,
                f"worker group {name!r} can be suspended only with the RayJobDeletionPolicy feature gate",
            )


@_rule("cluster/worker-suspend-autoscaling", "a worker group cannot be suspended with the autoscaler on")
def _worker_suspend_autoscaling(c: Cluster) -> Iterator[tuple[str, str]]:
    if c.autoscaling:
        for where, name in _suspended(c):
            yield where, f"worker group {name!r} cannot be suspended with enableInTreeAutoscaling"


@_rule(
    "cluster/autoscaler-v2-env-without-autoscaling",
    "RAY_enable_autoscaler_v2 on the head needs enableInTreeAutoscaling",
)
def _v2_env_without_autoscaling(c: Cluster) -> Iterator[tuple[str, str]]:
    if not c.autoscaling and c.v2_env_on:
        yield (
            c.head_env_path(AUTOSCALER_V2_ENV) or c.at,
            f"{AUTOSCALER_V2_ENV} is on but enableInTreeAutoscaling is not: set {c.p('enableInTreeAutoscaling')}",
        )


@_rule(
    "cluster/autoscaler-version-and-env",
    "autoscalerOptions.version and the head's RAY_enable_autoscaler_v2 are not both set",
)
def _autoscaler_version_and_env(c: Cluster) -> Iterator[tuple[str, str]]:
    where = c.head_env_path(AUTOSCALER_V2_ENV)
    if c.autoscaling and _obj(c.autoscaler).get("version") is not None and where:
        yield where, f"set together with {c.p('autoscalerOptions.version')}: use only the latter"


@_rule("cluster/autoscaler-v2-restart-policy", "with autoscaler v2, pod templates restart Never (or unset)")
def _v2_restart_policy(c: Cluster) -> Iterator[tuple[str, str]]:
    if not (c.autoscaling and c.autoscaler_v2):
        return
    for where, name, g in c.groups():
        policy = _str(_obj(_obj(g.get("template")).get("spec")).get("restartPolicy"))
        if policy not in ("", "Never"):
            yield (
                f"{where}.template.spec.restartPolicy",
                f"must be Never or unset with autoscaler v2 ({name} group), got {policy!r}",
            )


@_rule("cluster/autoscaler-idle-timeout-negative", "autoscalerOptions.idleTimeoutSeconds is not negative")
def _autoscaler_idle_negative(c: Cluster) -> Iterator[tuple[str, str]]:
    if (n := _negative(_obj(c.autoscaler).get("idleTimeoutSeconds"))) is not None:
        yield c.p("autoscalerOptions.idleTimeoutSeconds"), f"must be non-negative, got {n}"


@_rule(
    "cluster/autoscaler-env-start-cmd",
    "autoscalerOptions.env does not set KUBERAY_GEN_AUTOSCALER_START_CMD (KubeRay injects it)",
)
def _autoscaler_start_cmd(c: Cluster) -> Iterator[tuple[str, str]]:
    i = _env_index("KUBERAY_GEN_AUTOSCALER_START_CMD", _list(_obj(c.autoscaler).get("env")))
    if i is not None:
        yield (
            c.p("autoscalerOptions.env", i),
            "KUBERAY_GEN_AUTOSCALER_START_CMD is managed by KubeRay and injected into the autoscaler",
        )
