"""The operator's rules for a RayJob's spec (and a RayCronJob's template), a RayService and a
RayCronJob."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from lam_rl.deploy.kuberay.model import CronJob, Job, Service, _k8s_auth, _rule
from lam_rl.deploy.kuberay.values import (
    CLUSTER_SELECTOR_KEY,
    _int,
    _needs_gate,
    _negative,
    _obj,
    _set,
    _str,
    cron_error,
    time_zone_error,
)

# ---------------------------------------------------------------- RayJob spec (and a RayCronJob's template)


@_rule("rayjob/suspend-needs-shutdown", "a suspended RayJob has shutdownAfterJobFinishes true")
def _suspend_shutdown(j: Job) -> Iterator[tuple[str, str]]:
    if j.spec.get("suspend") is True and not j.shutdown:
        yield j.p("suspend"), "a RayJob with shutdownAfterJobFinishes false cannot be suspended"


@_rule("rayjob/ttl-negative", "ttlSecondsAfterFinished is not negative")
def _ttl_negative(j: Job) -> Iterator[tuple[str, str]]:
    if (n := _negative(j.spec.get("ttlSecondsAfterFinished"))) is not None:
        yield j.p("ttlSecondsAfterFinished"), f"must be non-negative, got {n}"


@_rule("rayjob/ttl-needs-shutdown", "ttlSecondsAfterFinished needs shutdownAfterJobFinishes")
def _ttl_shutdown(j: Job) -> Iterator[tuple[str, str]]:
    n = _int(j.spec.get("ttlSecondsAfterFinished"))
    if n is not None and n > 0 and not j.shutdown:
        yield j.p("ttlSecondsAfterFinished"), "needs shutdownAfterJobFinishes: true"


@_rule("rayjob/deletion-strategy-gate", "deletionStrategy needs the RayJobDeletionPolicy gate")
def _deletion_gate(j: Job) -> Iterator[tuple[str, str]]:
    if j.deletion is not None and not j.gates["RayJobDeletionPolicy"]:
        yield j.p("deletionStrategy"), "needs the operator's RayJobDeletionPolicy feature gate"


@_rule(
    "rayjob/deletion-strategy-shape",
    "deletionStrategy has deletionRules (without shutdownAfterJobFinishes) or both onSuccess and onFailure",
)
def _deletion_shape(j: Job) -> Iterator[tuple[str, str]]:
    if j.deletion is None:
        return
    if j.rules and j.shutdown:
        yield j.p("deletionStrategy.deletionRules"), "cannot be used with shutdownAfterJobFinishes: true"
    if j.rules and j.legacy:
        yield j.p("deletionStrategy"), "use deletionRules or the legacy onSuccess/onFailure, not both"
    if not j.rules and not j.legacy:
        yield (
            j.p("deletionStrategy"),
            "needs deletionRules (not empty) or both onSuccess and onFailure",
        )


def _policies(j: Job) -> Iterator[tuple[str, str]]:
    """(path, policy) of the legacy onSuccess/onFailure policies that are set."""
    for key in ("onSuccess", "onFailure"):
        policy = _obj(_obj(j.deletion).get(key)).get("policy")
        if isinstance(policy, str):
            yield j.p("deletionStrategy", key, "policy"), policy


def _legacy_mode(j: Job) -> bool:
    return j.deletion is not None and j.legacy and not j.rules


@_rule("rayjob/legacy-deletion-complete", "legacy deletion sets onSuccess.policy and onFailure.policy")
def _legacy_complete(j: Job) -> Iterator[tuple[str, str]]:
    if not _legacy_mode(j):
        return
    d = _obj(j.deletion)
    for key in ("onSuccess", "onFailure"):
        if d.get(key) is None:
            yield j.p("deletionStrategy", key), "onSuccess and onFailure must both be set"
        elif _obj(d.get(key)).get("policy") is None:
            yield j.p("deletionStrategy", key, "policy"), "must be set"


@_rule(
    "rayjob/legacy-deletion-policies",
    "legacy deletion policies fit the job: no DeleteCluster/DeleteWorkers with clusterSelector, no "
    "DeleteWorkers with the autoscaler, no DeleteNone with shutdownAfterJobFinishes",
)
def _legacy_policies(j: Job) -> Iterator[tuple[str, str]]:
    if not _legacy_mode(j):
        return
    for where, policy in _policies(j):
        if j.selector and policy in ("DeleteCluster", "DeleteWorkers"):
            yield where, f"{policy} is not supported with clusterSelector (an existing cluster)"
        if policy == "DeleteWorkers" and j.autoscaling:
            yield where, "DeleteWorkers is not supported with enableInTreeAutoscaling"
        if policy == "DeleteNone" and j.shutdown:
            yield where, "DeleteNone contradicts shutdownAfterJobFinishes: true"


def _rules_mode(j: Job) -> bool:
    return j.deletion is not None and bool(j.rules) and not j.legacy


@_rule(
    "rayjob/deletion-rule-condition",
    "a deletion rule's condition has exactly one of jobStatus and jobDeploymentStatus, and ttlSeconds >= 0",
)
def _rule_condition(j: Job) -> Iterator[tuple[str, str]]:
    if not _rules_mode(j):
        return
    for i, r in enumerate(j.rules):
        where = j.p(f"deletionStrategy.deletionRules[{i}].condition")
        cond = _obj(_obj(r).get("condition"))
        has_status, has_deploy = (
            cond.get("jobStatus") is not None,
            cond.get("jobDeploymentStatus") is not None,
        )
        if has_status and has_deploy:
            yield where, "set jobStatus or jobDeploymentStatus, not both"
        elif not has_status and not has_deploy:
            yield where, "one of jobStatus and jobDeploymentStatus must be set"
        if (n := _negative(cond.get("ttlSeconds"))) is not None:
            yield f"{where}.ttlSeconds", f"must be non-negative, got {n}"


def _valid_rules(j: Job) -> Iterator[tuple[int, str, tuple[str, str], int, list[str]]]:
    """(index, policy, (condition kind, value), ttl, problems) of each rule with a valid condition."""
    for i, r in enumerate(j.rules):
        r = _obj(r)
        cond = _obj(r.get("condition"))
        status, deploy = cond.get("jobStatus"), cond.get("jobDeploymentStatus")
        ttl = _int(cond.get("ttlSeconds")) or 0
        if (status is None) == (deploy is None) or ttl < 0:
            continue
        policy = _str(r.get("policy"))
        problems = []
        if j.selector and policy in ("DeleteCluster", "DeleteWorkers"):
            problems.append(f"{policy} is not supported with clusterSelector (an existing cluster)")
        elif j.autoscaling and policy == "DeleteWorkers":
            problems.append("DeleteWorkers is not supported with enableInTreeAutoscaling")
        key = ("jobStatus", status) if status is not None else ("jobDeploymentStatus", deploy)
        yield i, policy, key, ttl, problems


@_rule(
    "rayjob/deletion-rule-policy",
    "a deletion rule's policy fits the job: no DeleteCluster/DeleteWorkers with clusterSelector, no "
    "DeleteWorkers with the autoscaler",
)
def _rule_policy(j: Job) -> Iterator[tuple[str, str]]:
    if _rules_mode(j):
        for i, _policy, _key, _ttl, problems in _valid_rules(j):
            for problem in problems:
                yield j.p(f"deletionStrategy.deletionRules[{i}].policy"), problem


def _grouped_rules(j: Job) -> Iterator[tuple[int, str, tuple[str, str], int, bool]]:
    """The rules that pass the checks above, with whether each repeats an earlier (condition, policy)."""
    seen: set[tuple[Any, ...]] = set()
    for i, policy, key, ttl, problems in _valid_rules(j):
        if problems:
            continue
        yield i, policy, key, ttl, (key, policy) in seen
        seen.add((key, policy))


@_rule("rayjob/deletion-rule-unique", "no two deletion rules share a condition and a policy")
def _rule_unique(j: Job) -> Iterator[tuple[str, str]]:
    if _rules_mode(j):
        for i, policy, (kind, value), _ttl, duplicate in _grouped_rules(j):
            if duplicate:
                yield (
                    j.p(f"deletionStrategy.deletionRules[{i}]"),
                    f"duplicate rule for policy {policy} and {kind} {value}",
                )


@_rule(
    "rayjob/deletion-rule-ttl-order",
    "for one condition, TTLs grow from DeleteWorkers to DeleteCluster to DeleteSelf",
)
def _rule_ttl_order(j: Job) -> Iterator[tuple[str, str]]:
    if not _rules_mode(j):
        return
    by_condition: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    for i, policy, key, ttl, duplicate in _grouped_rules(j):
        if not duplicate:
            by_condition.setdefault(key, {})[policy] = (i, ttl)
    for (kind, value), ttls in by_condition.items():
        prev: tuple[str, int] | None = None
        for policy in ("DeleteWorkers", "DeleteCluster", "DeleteSelf"):
            if policy not in ttls:
                continue
            i, ttl = ttls[policy]
            if prev and ttl < prev[1]:
                yield (
                    j.p(f"deletionStrategy.deletionRules[{i}].condition.ttlSeconds"),
                    f"for {kind} {value}: the {policy} TTL ({ttl}) must be >= the {prev[0]} TTL ({prev[1]})",
                )
            prev = (policy, ttl)


@_rule("rayjob/cluster-or-selector", "a RayJob has rayClusterSpec or clusterSelector")
def _cluster_or_selector(j: Job) -> Iterator[tuple[str, str]]:
    if j.spec.get("rayClusterSpec") is None and not j.selector:
        yield j.at, "one of rayClusterSpec or clusterSelector must be set"


@_rule(
    "rayjob/cluster-selector",
    "with clusterSelector: ray.io/cluster names the cluster, no suspend, no SidecarMode, no backoffLimit",
)
def _cluster_selector(j: Job) -> Iterator[tuple[str, str]]:
    if not j.selector:
        return
    if not _set(j.selector.get(CLUSTER_SELECTOR_KEY)):
        yield j.p("clusterSelector"), f"the cluster's name (key {CLUSTER_SELECTOR_KEY}) must be set"
    if j.spec.get("suspend") is True:
        yield j.p("suspend"), "a RayJob on an existing cluster (clusterSelector) cannot be suspended"
    if j.mode == "SidecarMode":
        yield j.p("submissionMode"), "SidecarMode does not support clusterSelector"
    n = _int(j.spec.get("backoffLimit"))
    if n is not None and n > 0:
        yield j.p("backoffLimit"), "must be 0 with clusterSelector"


@_rule("rayjob/interactive-backoff", "InteractiveMode takes no backoffLimit")
def _interactive_backoff(j: Job) -> Iterator[tuple[str, str]]:
    n = _int(j.spec.get("backoffLimit"))
    if j.mode == "InteractiveMode" and n is not None and n > 0:
        yield j.p("backoffLimit"), "must be 0 in InteractiveMode"


@_rule(
    "rayjob/sidecar-mode",
    "SidecarMode takes no submitterPodTemplate or submitterConfig, and its head restarts Never (or unset)",
)
def _sidecar(j: Job) -> Iterator[tuple[str, str]]:
    if j.mode != "SidecarMode":
        return
    for key in ("submitterPodTemplate", "submitterConfig"):
        if j.spec.get(key) is not None:
            yield j.p(key), "not supported in SidecarMode"
    if j.cluster is not None:
        policy = _str(j.cluster.head_pod.get("restartPolicy"))
        if policy not in ("", "Never"):
            yield (
                j.cluster.p("headGroupSpec.template.spec.restartPolicy"),
                f"must be Never or unset in SidecarMode, got {policy!r}",
            )


@_rule("rayjob/k8s-token-auth", "a RayJob's cluster does not use enableK8sTokenAuth")
def _job_k8s_auth(j: Job) -> Iterator[tuple[str, str]]:
    if j.cluster is not None and _k8s_auth(j.cluster):
        yield (
            j.cluster.p("authOptions.enableK8sTokenAuth"),
            "Kubernetes token auth is not supported for RayJob",
        )


@_rule("rayjob/runtime-env-yaml", "runtimeEnvYAML is a YAML mapping")
def _runtime_env(j: Job) -> Iterator[tuple[str, str]]:
    text = _str(j.spec.get("runtimeEnvYAML"))
    if not text:
        return
    try:
        env = yaml.safe_load(text)
    except yaml.YAMLError as e:
        yield j.p("runtimeEnvYAML"), f"is not valid YAML: {str(e).splitlines()[0]}"
        return
    if env is not None and not isinstance(env, dict):
        yield j.p("runtimeEnvYAML"), f"must be a YAML mapping (a runtime_env), got a {type(env).__name__}"


@_rule("rayjob/deadlines", "activeDeadlineSeconds and preRunningDeadlineSeconds are positive")
def _deadlines(j: Job) -> Iterator[tuple[str, str]]:
    for key in ("activeDeadlineSeconds", "preRunningDeadlineSeconds"):
        n = _int(j.spec.get(key))
        if n is not None and n <= 0:
            yield j.p(key), f"must be a positive integer, got {n}"


@_rule("rayjob/backoff-negative", "backoffLimit is not negative")
def _backoff_negative(j: Job) -> Iterator[tuple[str, str]]:
    if (n := _negative(j.spec.get("backoffLimit"))) is not None:
        yield j.p("backoffLimit"), f"must not be negative, got {n}"


# ---------------------------------------------------------------- RayService


@_rule("rayservice/k8s-token-auth", "a RayService's cluster does not use enableK8sTokenAuth")
def _service_k8s_auth(s: Service) -> Iterator[tuple[str, str]]:
    if _k8s_auth(s.cluster):
        yield (
            s.cluster.p("authOptions.enableK8sTokenAuth"),
            "Kubernetes token auth is not supported for RayService",
        )


@_rule("rayservice/head-service-name", "a RayService's head Service gets its name from KubeRay")
def _head_service_name(s: Service) -> Iterator[tuple[str, str]]:
    head_svc = _obj(s.cluster.head.get("headService"))
    if _str(_obj(head_svc.get("metadata")).get("name")):
        yield s.cluster.p("headGroupSpec.headService.metadata.name"), "must not be set for a RayService"


@_rule(
    "rayservice/upgrade-type",
    "upgradeStrategy.type is NewClusterWithIncrementalUpgrade, NewCluster or None",
)
def _service_upgrade_type(s: Service) -> Iterator[tuple[str, str]]:
    kind = s.upgrade.get("type")
    if kind is not None and kind not in ("NewClusterWithIncrementalUpgrade", "NewCluster", "None"):
        yield (
            "spec.upgradeStrategy.type",
            f"{kind!r} is not NewClusterWithIncrementalUpgrade, NewCluster or None",
        )


@_rule("rayservice/deletion-delay", "rayClusterDeletionDelaySeconds is not negative")
def _deletion_delay(s: Service) -> Iterator[tuple[str, str]]:
    if (n := _negative(s.spec.get("rayClusterDeletionDelaySeconds"))) is not None:
        yield "spec.rayClusterDeletionDelaySeconds", f"must be non-negative, got {n}"


@_rule(
    "rayservice/incremental-upgrade",
    "NewClusterWithIncrementalUpgrade needs the autoscaler and clusterUpgradeOptions with maxSurgePercent and "
    "stepSizePercent in 0..100 (step <= surge), intervalSeconds > 0 and a gatewayClassName",
)
def _incremental(s: Service) -> Iterator[tuple[str, str]]:
    if not (
        s.gates["RayServiceIncrementalUpgrade"]
        and s.upgrade.get("type") == "NewClusterWithIncrementalUpgrade"
    ):
        return
    if not s.cluster.autoscaling:
        yield (
            "spec.rayClusterConfig.enableInTreeAutoscaling",
            "NewClusterWithIncrementalUpgrade needs the Ray autoscaler (enableInTreeAutoscaling: true)",
        )
    opts = s.upgrade.get("clusterUpgradeOptions")
    where = "spec.upgradeStrategy.clusterUpgradeOptions"
    if not isinstance(opts, dict):
        yield where, "must be set for NewClusterWithIncrementalUpgrade"
        return
    surge = _int(opts.get("maxSurgePercent"))
    surge = 100 if surge is None else surge
    step = _int(opts.get("stepSizePercent"))
    if not 0 <= surge <= 100:
        yield f"{where}.maxSurgePercent", f"must be between 0 and 100, got {surge}"
    if step is None or not 0 <= step <= 100:
        yield f"{where}.stepSizePercent", f"must be between 0 and 100, got {step}"
    elif step > surge:
        yield f"{where}.stepSizePercent", f"must be at most maxSurgePercent ({surge}), got {step}"
    interval = _int(opts.get("intervalSeconds"))
    if interval is None or interval <= 0:
        yield f"{where}.intervalSeconds", f"must be greater than 0, got {interval}"
    if not _str(opts.get("gatewayClassName")):
        yield f"{where}.gatewayClassName", "must be set for NewClusterWithIncrementalUpgrade"


# ---------------------------------------------------------------- RayCronJob


@_rule("raycronjob/controller-gate", "RayCronJobs are reconciled only with the RayCronJob gate")
def _cron_gate(cj: CronJob) -> Iterator[tuple[str, str]]:
    if not cj.gates["RayCronJob"]:
        yield (
            "kind",
            "nothing would reconcile it: the RayCronJob controller "
            + _needs_gate("RayCronJob").replace("the operator's ", "the "),
        )


@_rule("raycronjob/schedule", "schedule is a standard 5-field cron expression or a descriptor, without TZ")
def _cron_schedule(cj: CronJob) -> Iterator[tuple[str, str]]:
    schedule = _str(cj.spec.get("schedule"))
    if "TZ" in schedule:
        yield "spec.schedule", "cannot use TZ or CRON_TZ in the schedule; use spec.timeZone"
        return
    err = cron_error(schedule)
    if err:
        yield "spec.schedule", f"invalid cron schedule {schedule!r}: {err}"


@_rule("raycronjob/time-zone", "timeZone, when set, is a known IANA time zone")
def _cron_time_zone(cj: CronJob) -> Iterator[tuple[str, str]]:
    tz = cj.spec.get("timeZone")
    if not isinstance(tz, str):
        return
    if tz == "":
        yield "spec.timeZone", "must not be empty; omit it to use the operator's local time zone"
        return
    err = time_zone_error(tz)
    if err:
        yield "spec.timeZone", err
