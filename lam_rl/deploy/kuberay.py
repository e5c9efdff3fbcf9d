"""The KubeRay operator's own rules (v1.7.0) for RayCluster, RayJob, RayService and RayCronJob.

The API server accepts any object that fits the CRD schema; the operator then checks it again when it
reconciles and marks it invalid (an event, nothing created) when one of its rules fails, and its
optional admission webhook rejects a few more. Each of those rules is one :class:`Rule` here, with
an id (``cluster/worker-min-replicas-negative``), a one-line summary and a check that yields
``(path, message)`` for every violation, so that they fail offline, before a deploy, naming the
field. The rules see the object as the API server stored it: CRD defaults applied
(:meth:`lam_rl.deploy.crd.CRDRegistry.admit`), which is what the operator reads. Where the operator
stops at its first error, these report every one.

Some rules depend on the operator's feature gates; :data:`FEATURE_GATES` holds the v1.7.0 defaults
(also its Helm chart's, which is how infra/terraform installs it), and ``feature_gates("A=true")``
overrides them. ``lam-rl infra rules`` lists every rule.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from lam_rl.config import ConfigError

__all__ = [
    "FEATURE_GATES",
    "MAX_NAME",
    "RULES",
    "Finding",
    "Rule",
    "feature_gates",
    "operator_findings",
    "operator_problems",
]

# The operator's feature gates and their defaults in v1.7.0 (alpha gates are off).
FEATURE_GATES: dict[str, bool] = {
    "RayClusterStatusConditions": True,
    "RayJobDeletionPolicy": True,
    "RayMultiHostIndexing": True,
    "RayServiceIncrementalUpgrade": True,
    "RayCronJob": False,
    "SidecarSubmitterRestart": False,
    "RayClusterNetworkPolicy": False,
    "GCSFaultToleranceEmbeddedStorage": False,
    "RayClusterMTLS": False,
    "RayClusterHistoryServer": False,
    "KubernetesWAS": False,
}

# A RayCluster's name makes its head Service's name (63 at most, minus "-head-svc" and the like); a
# RayJob's and a RayService's make their cluster's (6 characters more); a RayCronJob's its RayJobs'
# (11 more).
MAX_NAME = {"RayCluster": 53, "RayJob": 47, "RayService": 47, "RayCronJob": 36}

RAY_CONTAINER = 0  # the Ray container is the first of a pod template
FT_ANNOTATION = "ray.io/ft-enabled"
STORAGE_NS_ANNOTATION = "ray.io/external-storage-namespace"
INIT_TIMEOUT_ANNOTATION = "ray.io/initializing-timeout"
ORIGIN_LABEL = "ray.io/originated-from-crd"
CLUSTER_SELECTOR_KEY = "ray.io/cluster"
AUTOSCALER_V2_ENV = "RAY_enable_autoscaler_v2"
TLS_ENV = ("RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY", "RAY_TLS_CA_CERT")
TLS_VOLUME, TLS_MOUNT_PATH = "ray-tls", "/etc/ray/tls"
GCS_VOLUME, GCS_MOUNT_PATH = "gcs-storage", "/data/gcs"
COLLECTOR_CONTAINER = "ray-history-collector"
# env vars KubeRay injects into the history collector itself
COLLECTOR_MANAGED_ENV = (
    "POD_IP",
    "FQ_RAY_IP",
    "RAY_CLUSTER_NAME",
    "RAY_CLUSTER_NAMESPACE",
    "RAY_ROLE",
    "OWNER_KIND",
    "OWNER_NAME",
    "EVENTS_PORT",
)
_RESOURCE_PARAMS = ("num-cpus", "num-gpus", "memory", "resources")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


# --------------------------------------------------------------------------- value helpers


def _obj(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _str(x: Any) -> str:
    """A Go string field: absent (or of the wrong type, a schema fault reported elsewhere) is ''."""
    return x if isinstance(x, str) else ""


def _set(x: Any) -> bool:
    """A Go map value compared with '': present and not empty."""
    return x is not None and x != ""


def _env_index(name: str, env: list[Any]) -> int | None:
    for i, e in enumerate(env):
        if _obj(e).get("name") == name:
            return i
    return None


def go_version(text: str) -> tuple[int, ...] | None:
    """Kubernetes' generic version parse: 'v'? then two or more dot-separated numbers (the first without a
    leading zero), anything after them ignored; None when it does not parse."""
    m = re.match(r"^\s*v?([0-9]+(?:\.[0-9]+)+)", text)
    if not m:
        return None
    parts = m.group(1).split(".")
    if parts[0].startswith("0") and parts[0] != "0":
        return None
    return tuple(int(p) for p in parts)


def _at_least(version: tuple[int, ...], minimum: tuple[int, ...]) -> bool:
    n = max(len(version), len(minimum))
    return version + (0,) * (n - len(version)) >= minimum + (0,) * (n - len(minimum))


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION = re.compile(r"^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$")


def go_duration(text: str) -> float | None:
    """Seconds of a Go duration ('90s', '1h30m', '-2m', '0'); None when Go's time.ParseDuration fails."""
    m = _DURATION.match(text)
    if not m:
        return None
    total = sum(
        float(num) * _DURATION_UNITS[unit]
        for num, unit in re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)", m.group(2))
    )
    return -total if m.group(1) == "-" else total


def _go_atoi(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[-+]?\d+", text) else None


def qualified_name_errors(key: str) -> list[str]:
    """Kubernetes' IsQualifiedName: an optional DNS subdomain prefix and '/', then a name of at most 63
    alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric."""
    parts = key.split("/")
    if len(parts) > 2:
        return ["a qualified name has at most one '/' (an optional DNS subdomain prefix, then the name)"]
    errs = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("the prefix before '/' must not be empty")
        elif len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix):
            errs.append(f"the prefix {prefix!r} must be a DNS subdomain (lowercase, at most 253 characters)")
    if not name:
        errs.append("the name part must not be empty")
    elif len(name) > 63:
        errs.append(f"the name part is {len(name)} characters long, more than 63")
    if name and not _QUALIFIED.match(name):
        errs.append("the name part must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric")
    return errs


def label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(f"{len(value)} characters long, more than 63")
    if not _LABEL_VALUE.match(value):
        errs.append("must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric")
    return errs


# --------------------------------------------------------------------------- cron (robfig/cron v3)

_CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    ),
    ("day of week", 0, 6, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
)
_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _cron_number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    n = _go_atoi(text)
    if n is None:
        raise ValueError(f"failed to parse int from {text!r}")
    if n < 0:
        raise ValueError(f"negative number ({n}) not allowed: {text!r}")
    return n


def cron_error(spec: str) -> str | None:
    """Why the operator's cron parser (standard 5 fields or a descriptor such as '@hourly' or '@every
    1h') rejects ``spec``; None when it accepts it."""
    if not spec:
        return "empty spec string"
    if spec.startswith("@"):
        if spec in _CRON_DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            every = spec[len("@every ") :]
            return None if go_duration(every) is not None else f"failed to parse duration {every!r}"
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields (minute hour day-of-month month day-of-week), found {len(fields)}"
    for text, (what, lo, hi, names) in zip(fields, _CRON_FIELDS, strict=True):
        for expr in text.split(","):
            try:
                range_step = expr.split("/")
                low_high = range_step[0].split("-")
                if low_high[0] in ("*", "?"):
                    start, end = lo, hi
                else:
                    start = _cron_number(low_high[0], names)
                    if len(low_high) == 1:
                        end = start
                    elif len(low_high) == 2:
                        end = _cron_number(low_high[1], names)
                    else:
                        raise ValueError(f"too many hyphens: {expr!r}")
                step = 1
                if len(range_step) == 2:
                    step = _cron_number(range_step[1], {})
                    if len(low_high) == 1:
                        end = hi
                elif len(range_step) > 2:
                    raise ValueError(f"too many slashes: {expr!r}")
                if start < lo:
                    raise ValueError(f"beginning of range ({start}) below minimum ({lo}): {expr!r}")
                if end > hi:
                    raise ValueError(f"end of range ({end}) above maximum ({hi}): {expr!r}")
                if start > end:
                    raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr!r}")
                if step == 0:
                    raise ValueError(f"step of range should be a positive number: {expr!r}")
            except ValueError as e:
                return f"{what} field: {e}"
    return None


def time_zone_error(name: str) -> str | None:
    """Why Go's time.LoadLocation (with its embedded zone database) rejects ``name``; None if it loads."""
    if name in ("UTC", "Local"):
        return None
    if name.startswith(("/", "\\")) or ".." in name:
        return f"invalid time zone {name!r}"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if not _tz_database():  # no zone database here (no system one, no tzdata package): cannot tell
            return None
        return f"unknown time zone {name!r} (an IANA name such as 'America/New_York' or 'UTC')"
    return None


@functools.lru_cache(maxsize=1)
def _tz_database() -> bool:
    return bool(zoneinfo.available_timezones())


def _needs_gate(name: str) -> str:
    return (
        f"needs the operator's {name} feature gate (alpha, off by default; pass --feature-gates {name}=true "
        "if your operator runs with it)"
    )


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Finding:
    rule: str
    path: str
    message: str


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    check: Callable[[Any], Iterator[tuple[str, str]]]

    @property
    def scope(self) -> str:
        return self.id.split("/")[0]


RULES: dict[str, Rule] = {}


def _rule(rule_id: str, summary: str) -> Callable[[Callable], Callable]:
    def register(fn: Callable) -> Callable:
        assert rule_id not in RULES, rule_id
        RULES[rule_id] = Rule(rule_id, summary, fn)
        return fn

    return register


@dataclass
class Meta:
    """A custom resource's kind and metadata (scope 'metadata')."""

    kind: str
    meta: dict[str, Any]


@dataclass
class Cluster:
    """A RayClusterSpec where it is written (scope 'cluster'): a RayCluster's spec, a RayJob's
    rayClusterSpec, a RayService's rayClusterConfig, a RayCronJob's jobTemplate.rayClusterSpec."""

    spec: dict[str, Any]
    at: str
    annotations: dict[str, Any]  # of the object that holds it (none for a RayCronJob's template)
    creator: str  # who creates the RayCluster: 'RayCluster' (the user), 'RayJob' or 'RayService'
    gates: dict[str, bool]

    def p(self, *parts: Any) -> str:
        out = self.at
        for part in parts:
            out += f"[{part}]" if isinstance(part, int) else f".{part}"
        return out

    @property
    def head(self) -> dict[str, Any]:
        return _obj(self.spec.get("headGroupSpec"))

    @property
    def head_pod(self) -> dict[str, Any]:
        return _obj(_obj(self.head.get("template")).get("spec"))

    @property
    def head_ray(self) -> dict[str, Any]:
        """The head's Ray container (the first)."""
        containers = _list(self.head_pod.get("containers"))
        return _obj(containers[RAY_CONTAINER]) if containers else {}

    @property
    def head_env(self) -> list[Any]:
        return _list(self.head_ray.get("env"))

    def head_env_path(self, name: str) -> str | None:
        i = _env_index(name, self.head_env)
        return None if i is None else self.p("headGroupSpec.template.spec.containers[0].env", i)

    def workers(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(path, groupName, group) of every worker group."""
        for i, g in enumerate(_list(self.spec.get("workerGroupSpecs"))):
            g = _obj(g)
            yield self.p("workerGroupSpecs", i), _str(g.get("groupName")), g

    def groups(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """The head ('Head') and every worker group."""
        yield self.p("headGroupSpec"), "Head", self.head
        yield from self.workers()

    @property
    def autoscaling(self) -> bool:
        return self.spec.get("enableInTreeAutoscaling") is True

    @property
    def autoscaler(self) -> dict[str, Any] | None:
        opts = self.spec.get("autoscalerOptions")
        return opts if isinstance(opts, dict) else None

    @property
    def autoscaler_v2(self) -> bool:
        return _obj(self.autoscaler).get("version") == "v2"

    @property
    def v2_env_on(self) -> bool:
        i = _env_index(AUTOSCALER_V2_ENV, self.head_env)
        return i is not None and _obj(self.head_env[i]).get("value") in ("1", "true")

    @property
    def ft_options(self) -> dict[str, Any] | None:
        opts = self.spec.get("gcsFaultToleranceOptions")
        return opts if isinstance(opts, dict) else None

    @property
    def ft_enabled(self) -> bool:
        v = self.annotations.get(FT_ANNOTATION)
        return (isinstance(v, str) and v.lower() == "true") or self.ft_options is not None

    @property
    def tls_enabled(self) -> bool:
        return self.gates["RayClusterMTLS"] and _obj(self.spec.get("tlsOptions")).get("enabled") is True

    def version(self) -> tuple[int, ...] | None:
        return go_version(_str(self.spec.get("rayVersion")))


@dataclass
class Job:
    """A RayJobSpec (scope 'rayjob'): a RayJob's spec or a RayCronJob's jobTemplate."""

    spec: dict[str, Any]
    at: str
    annotations: dict[str, Any]
    gates: dict[str, bool]
    cluster: Cluster | None = field(init=False)

    def __post_init__(self) -> None:
        rc = self.spec.get("rayClusterSpec")
        self.cluster = (
            Cluster(rc, f"{self.at}.rayClusterSpec", self.annotations, "RayJob", self.gates)
            if isinstance(rc, dict)
            else None
        )

    def p(self, *parts: str) -> str:
        return ".".join([self.at, *parts])

    @property
    def mode(self) -> str:
        return _str(self.spec.get("submissionMode"))

    @property
    def selector(self) -> dict[str, Any]:
        return _obj(self.spec.get("clusterSelector"))

    @property
    def shutdown(self) -> bool:
        return self.spec.get("shutdownAfterJobFinishes") is True

    @property
    def autoscaling(self) -> bool:
        return self.cluster is not None and self.cluster.autoscaling

    @property
    def deletion(self) -> dict[str, Any] | None:
        d = self.spec.get("deletionStrategy")
        return d if isinstance(d, dict) else None

    @property
    def legacy(self) -> bool:
        d = _obj(self.deletion)
        return d.get("onSuccess") is not None or d.get("onFailure") is not None

    @property
    def rules(self) -> list[Any]:
        return _list(_obj(self.deletion).get("deletionRules"))


@dataclass
class Service:
    """A RayService (scope 'rayservice')."""

    spec: dict[str, Any]
    annotations: dict[str, Any]
    gates: dict[str, bool]
    cluster: Cluster = field(init=False)

    def __post_init__(self) -> None:
        rc = _obj(self.spec.get("rayClusterConfig"))
        self.cluster = Cluster(rc, "spec.rayClusterConfig", self.annotations, "RayService", self.gates)

    @property
    def upgrade(self) -> dict[str, Any]:
        return _obj(self.spec.get("upgradeStrategy"))


@dataclass
class CronJob:
    """A RayCronJob (scope 'raycronjob')."""

    spec: dict[str, Any]
    gates: dict[str, bool]


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


@_rule("cluster/worker-min-replicas-negative", "minReplicas is not negative")
def _worker_min_negative(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        n = _int(g.get("minReplicas"))
        if n is not None and n < 0:
            yield f"{where}.minReplicas", f"worker group {name!r} has negative minReplicas {n}"


@_rule("cluster/worker-max-replicas-negative", "maxReplicas is not negative")
def _worker_max_negative(c: Cluster) -> Iterator[tuple[str, str]]:
    for where, name, g in c.workers():
        n = _int(g.get("maxReplicas"))
        if n is not None and n < 0:
            yield f"{where}.maxReplicas", f"worker group {name!r} has negative maxReplicas {n}"


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
        n = _int(g.get("idleTimeoutSeconds"))
        if n is not None and n < 0:
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
    n = _int(_obj(c.autoscaler).get("idleTimeoutSeconds"))
    if n is not None and n < 0:
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


def _history(c: Cluster) -> dict[str, Any] | None:
    h = c.spec.get("historyServerOptions")
    return h if isinstance(h, dict) else None


@_rule("cluster/history-gate", "historyServerOptions needs the RayClusterHistoryServer gate")
def _history_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    if _history(c) is not None and not c.gates["RayClusterHistoryServer"]:
        yield (
            c.p("historyServerOptions"),
            _needs_gate("RayClusterHistoryServer"),
        )


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


def _auth(c: Cluster) -> dict[str, Any]:
    return _obj(c.spec.get("authOptions"))


def _k8s_auth(c: Cluster) -> bool:
    return _auth(c).get("enableK8sTokenAuth") is True


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
    np = c.spec.get("networkPolicy")
    return np if isinstance(np, dict) else None


@_rule("cluster/network-policy-gate", "networkPolicy needs the RayClusterNetworkPolicy gate")
def _netpol_gate(c: Cluster) -> Iterator[tuple[str, str]]:
    if _netpol(c) is not None and not c.gates["RayClusterNetworkPolicy"]:
        yield (
            c.p("networkPolicy"),
            _needs_gate("RayClusterNetworkPolicy"),
        )


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
        if mode == "DenyAllEgress" and _list(block.get("ingressRules")):
            yield (
                f"{where}.ingressRules",
                "cannot be set when mode is 'DenyAllEgress' (ingress is not restricted)",
            )
        if mode == "DenyAllIngress" and _list(block.get("egressRules")):
            yield (
                f"{where}.egressRules",
                "cannot be set when mode is 'DenyAllIngress' (egress is not restricted)",
            )


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


# ---------------------------------------------------------------- RayJob spec (and a RayCronJob's template)


@_rule("rayjob/suspend-needs-shutdown", "a suspended RayJob has shutdownAfterJobFinishes true")
def _suspend_shutdown(j: Job) -> Iterator[tuple[str, str]]:
    if j.spec.get("suspend") is True and not j.shutdown:
        yield j.p("suspend"), "a RayJob with shutdownAfterJobFinishes false cannot be suspended"


@_rule("rayjob/ttl-negative", "ttlSecondsAfterFinished is not negative")
def _ttl_negative(j: Job) -> Iterator[tuple[str, str]]:
    n = _int(j.spec.get("ttlSecondsAfterFinished"))
    if n is not None and n < 0:
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
        n = _int(cond.get("ttlSeconds"))
        if n is not None and n < 0:
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
    n = _int(j.spec.get("backoffLimit"))
    if n is not None and n < 0:
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
    n = _int(s.spec.get("rayClusterDeletionDelaySeconds"))
    if n is not None and n < 0:
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


# --------------------------------------------------------------------------- entry points


def feature_gates(overrides: str | Mapping[str, bool] | None = None) -> dict[str, bool]:
    """The operator's gates: v1.7.0's defaults, then ``overrides`` ('A=true,B=false' or a mapping)."""
    gates = dict(FEATURE_GATES)
    if not overrides:
        return gates
    items: list[tuple[str, Any]]
    if isinstance(overrides, str):
        items = []
        for part in filter(None, (p.strip() for p in overrides.split(","))):
            name, sep, value = part.partition("=")
            if not sep or value.strip().lower() not in ("true", "false"):
                raise ConfigError(f"feature gate {part!r}: expected Name=true or Name=false")
            items.append((name.strip(), value.strip().lower() == "true"))
    else:
        items = list(overrides.items())
    for name, value in items:
        if name not in FEATURE_GATES:
            raise ConfigError(
                f"unknown KubeRay feature gate {name!r}; the operator (v1.7.0) has: {', '.join(FEATURE_GATES)}"
            )
        gates[name] = bool(value)
    return gates


def _run(scope: str, ctx: Any) -> Iterator[Finding]:
    for r in RULES.values():
        if r.scope == scope:
            for path, message in r.check(ctx):
                yield Finding(r.id, path, message)


def _job(j: Job) -> Iterator[Finding]:
    yield from _run("rayjob", j)
    if j.cluster is not None:
        yield from _run("cluster", j.cluster)


def operator_findings(doc: dict[str, Any], gates: Mapping[str, bool] | None = None) -> list[Finding]:
    """Every rule the operator would fail ``doc`` (a RayCluster, RayJob, RayService or RayCronJob, as
    stored: defaults applied) on; [] for other kinds."""
    kind = doc.get("kind")
    if kind not in MAX_NAME:
        return []
    gates = {**FEATURE_GATES, **(gates or {})}
    meta = _obj(doc.get("metadata"))
    annotations = _obj(meta.get("annotations"))
    spec = _obj(doc.get("spec"))
    out = list(_run("metadata", Meta(kind, meta)))
    if kind == "RayCluster":
        origin = _obj(meta.get("labels")).get(ORIGIN_LABEL)
        creator = origin if origin in ("RayJob", "RayService") else "RayCluster"
        out += _run("cluster", Cluster(spec, "spec", annotations, creator, gates))
    elif kind == "RayJob":
        out += _job(Job(spec, "spec", annotations, gates))
    elif kind == "RayService":
        service = Service(spec, annotations, gates)
        out += _run("rayservice", service)
        out += _run("cluster", service.cluster)
    else:
        out += _run("raycronjob", CronJob(spec, gates))
        # the template is checked as a RayJob of its own: without the RayCronJob's annotations
        out += _job(Job(_obj(spec.get("jobTemplate")), "spec.jobTemplate", {}, gates))
    return sorted(set(out), key=lambda f: (f.path, f.rule, f.message))


def operator_problems(doc: dict[str, Any], gates: Mapping[str, bool] | None = None) -> list[tuple[str, str]]:
    """(path, message) of :func:`operator_findings`."""
    return [(f.path, f.message) for f in operator_findings(doc, gates)]
