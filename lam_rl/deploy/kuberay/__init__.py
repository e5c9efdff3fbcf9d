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

from collections.abc import Iterator, Mapping
from typing import Any

from lam_rl.config import ConfigError
from lam_rl.deploy.kuberay.model import RULES, Cluster, CronJob, Finding, Job, Meta, Rule, Service
from lam_rl.deploy.kuberay.values import FEATURE_GATES, MAX_NAME, ORIGIN_LABEL, _obj

# The rule modules register their rules in RULES when imported, in the order `lam-rl infra rules`
# lists them (metadata and cluster core, cluster features, RayJob/RayService/RayCronJob).
# isort: off
from lam_rl.deploy.kuberay import cluster_rules  # noqa: F401
from lam_rl.deploy.kuberay import cluster_features  # noqa: F401
from lam_rl.deploy.kuberay import job_rules  # noqa: F401

# isort: on

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
