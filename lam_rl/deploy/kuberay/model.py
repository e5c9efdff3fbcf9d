"""The rule registry (:data:`RULES`, the ``_rule`` decorator) and the views the rules read: an object's
metadata, a RayClusterSpec where it is written, a RayJob, a RayService, a RayCronJob."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lam_rl.deploy.kuberay.values import (
    AUTOSCALER_V2_ENV,
    FT_ANNOTATION,
    RAY_CONTAINER,
    _env_index,
    _list,
    _obj,
    _obj_or_none,
    _str,
    go_version,
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
        return _obj_or_none(self.spec.get("autoscalerOptions"))

    @property
    def autoscaler_v2(self) -> bool:
        return _obj(self.autoscaler).get("version") == "v2"

    @property
    def v2_env_on(self) -> bool:
        i = _env_index(AUTOSCALER_V2_ENV, self.head_env)
        return i is not None and _obj(self.head_env[i]).get("value") in ("1", "true")

    @property
    def ft_options(self) -> dict[str, Any] | None:
        return _obj_or_none(self.spec.get("gcsFaultToleranceOptions"))

    @property
    def ft_enabled(self) -> bool:
        v = self.annotations.get(FT_ANNOTATION)
        return (isinstance(v, str) and v.lower() == "true") or self.ft_options is not None

    @property
    def tls_enabled(self) -> bool:
        return self.gates["RayClusterMTLS"] and _obj(self.spec.get("tlsOptions")).get("enabled") is True

    def version(self) -> tuple[int, ...] | None:
        return go_version(_str(self.spec.get("rayVersion")))


# what the auth rules of a cluster and of the RayJob/RayService holding it read


def _auth(c: Cluster) -> dict[str, Any]:
    return _obj(c.spec.get("authOptions"))


def _k8s_auth(c: Cluster) -> bool:
    return _auth(c).get("enableK8sTokenAuth") is True


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
        return _obj_or_none(self.spec.get("deletionStrategy"))

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
