"""The API server's side of the manifest validator (lam_rl/deploy/crd.py): mutated KubeRay samples are
rejected, each problem naming the path of the fault (unknown fields, wrong types, CEL rules, list
types, formats, ObjectMeta, some of the operator's rules), and the object is first pruned and
defaulted as the API server does (defaults before required fields, nulls on non-nullable fields
dropped, the status of a CRD with a status subresource ignored). Kinds without a schema are listed as
not checked. The official samples themselves: test_samples.py."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from lam_rl.deploy.crd import format_path, load_yaml_docs, to_json_schema
from lam_rl.deploy.manifests import Manifest, read_manifests

from .conftest import FIXTURES


def _doc(name: str, kind: str | None = None) -> dict[str, Any]:
    docs = load_yaml_docs((FIXTURES / "kuberay" / name).read_text())
    return copy.deepcopy(next(d for d in docs if kind is None or d["kind"] == kind))


def _problems(validator, doc) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in validator.validate([Manifest("mutated.yaml", doc)], policy=False)]


def _set(path: list[Any], value: Any) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value

    return mutate


HEAD = ["spec", "rayClusterSpec", "headGroupSpec"]
WORKER0 = ["spec", "rayClusterSpec", "workerGroupSpecs", 0]
HEAD_C0 = [*HEAD, "template", "spec", "containers", 0]

MUTATIONS = [
    # (id, sample, kind, mutation, expected path, expected words in the message)
    (
        "unknown-field",
        "ray-job.sample.yaml",
        "RayJob",
        _set([*WORKER0, "replica"], 2),
        "spec.rayClusterSpec.workerGroupSpecs[0].replica",
        ['unknown field "replica"', "replicas"],
    ),
    (
        "unknown-top-field",
        "ray-job.sample.yaml",
        "RayJob",
        _set(["spec", "entryPoint"], "x"),
        "spec.entryPoint",
        ['unknown field "entryPoint"', "entrypoint"],
    ),
    (
        "unknown-pod-field",
        "ray-job.sample.yaml",
        "RayJob",
        _set([*HEAD_C0, "imagePolicy"], "Always"),
        "spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].imagePolicy",
        ["unknown field"],
    ),
    (
        "wrong-type-int",
        "ray-job.sample.yaml",
        "RayJob",
        _set([*WORKER0, "replicas"], "one"),
        "spec.rayClusterSpec.workerGroupSpecs[0].replicas",
        ["wrong type", "integer"],
    ),
    (
        "wrong-type-string",
        "ray-job.sample.yaml",
        "RayJob",
        _set(["spec", "entrypoint"], 42),
        "spec.entrypoint",
        ["wrong type", "string"],
    ),
    (
        "wrong-type-bool",
        "ray-cluster.autoscaler.yaml",
        "RayCluster",
        _set(["spec", "enableInTreeAutoscaling"], "yes"),
        "spec.enableInTreeAutoscaling",
        ["wrong type", "boolean"],
    ),
    (
        "int-or-string",
        "ray-job.sample.yaml",
        "RayJob",
        _set([*HEAD_C0, "resources", "limits", "cpu"], [1]),
        "spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].resources.limits.cpu",
        ["integer or a string"],
    ),
    (
        "enum",
        "ray-cluster.auth.yaml",
        "RayCluster",
        _set(["spec", "authOptions", "mode"], "password"),
        "spec.authOptions.mode",
        ["disabled", "token"],
    ),
    (
        "int32-range",
        "ray-job.sample.yaml",
        "RayJob",
        _set([*WORKER0, "maxReplicas"], 2**40),
        "spec.rayClusterSpec.workerGroupSpecs[0].maxReplicas",
        ["out of range", "int32"],
    ),
    (
        "required",
        "ray-job.sample.yaml",
        "RayJob",
        lambda d: d["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0].pop(
            "name"
        ),
        "spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].name",
        ["missing required field"],
    ),
    (
        "list-map-duplicate",
        "ray-job.sample.yaml",
        "RayJob",
        lambda d: d["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0][
            "ports"
        ].append({"containerPort": 8265, "name": "again"}),
        "spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].ports[3]",
        ["duplicate entry", "containerPort=8265"],
    ),
    (
        "cel-deletion-strategy",
        "ray-job.sample.yaml",
        "RayJob",
        _set(
            ["spec", "deletionStrategy"],
            {
                "onSuccess": {"policy": "DeleteCluster"},
                "deletionRules": [{"policy": "DeleteCluster", "condition": {"jobStatus": "SUCCEEDED"}}],
            },
        ),
        "spec.deletionStrategy",
        ["legacy policies", "CEL rule"],
    ),
    (
        "cel-nested-rule",
        "ray-job.sample.yaml",
        "RayJob",
        _set(
            ["spec", "deletionStrategy"],
            {
                "deletionRules": [
                    {
                        "policy": "DeleteCluster",
                        "condition": {"jobStatus": "SUCCEEDED", "jobDeploymentStatus": "Failed"},
                    }
                ]
            },
        ),
        "spec.deletionStrategy.deletionRules[0].condition",
        ["cannot be used together", "CEL rule"],
    ),
    (
        "cel-managed-by",
        "ray-cluster.autoscaler.yaml",
        "RayCluster",
        _set(["spec", "managedBy"], "someone-else"),
        "spec.managedBy",
        ["must be either", "CEL rule"],
    ),
    (
        "operator-name-length",
        "ray-job.sample.yaml",
        "RayJob",
        _set(["metadata", "name"], "r" * 48),
        "metadata.name",
        ["more than 47"],
    ),
    (
        "operator-dns1035",
        "ray-service.sample.yaml",
        "RayService",
        _set(["metadata", "name"], "1fruit"),
        "metadata.name",
        ["DNS-1035"],
    ),
    (
        "operator-replicas",
        "ray-cluster.autoscaler.yaml",
        "RayCluster",
        _set(["spec", "workerGroupSpecs", 0, "minReplicas"], 11),
        "spec.workerGroupSpecs[0].minReplicas",
        ["greater than maxReplicas"],
    ),
    (
        "operator-duplicate-group",
        "ray-cluster.auth.yaml",
        "RayCluster",
        lambda d: d["spec"]["workerGroupSpecs"].append(copy.deepcopy(d["spec"]["workerGroupSpecs"][0])),
        "spec.workerGroupSpecs[1].groupName",
        ["duplicate worker group"],
    ),
    (
        "operator-auth-version",
        "ray-cluster.auth.yaml",
        "RayCluster",
        _set(["spec", "rayVersion"], "2.40.0"),
        "spec.rayVersion",
        ["2.52.0"],
    ),
    (
        "operator-no-cluster",
        "ray-job.sample.yaml",
        "RayJob",
        lambda d: d["spec"].pop("rayClusterSpec"),
        "spec",
        ["rayClusterSpec or clusterSelector"],
    ),
    (
        "operator-runtime-env",
        "ray-job.sample.yaml",
        "RayJob",
        _set(["spec", "runtimeEnvYAML"], "pip: [a\n"),
        "spec.runtimeEnvYAML",
        ["not valid YAML"],
    ),
    (
        "metadata-label",
        "ray-service.sample.yaml",
        "RayService",
        _set(["metadata", "labels"], {"team": "a b"}),
        "metadata.labels.team",
        ["invalid label value"],
    ),
    (
        "metadata-unknown",
        "ray-service.sample.yaml",
        "RayService",
        _set(["metadata", "label"], {}),
        "metadata.label",
        ['unknown field "label"', "labels"],
    ),
]


@pytest.mark.parametrize(
    ("sample", "kind", "mutate", "path", "words"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS]
)
def test_mutated_samples_are_rejected_with_the_path(validator, sample, kind, mutate, path, words):
    doc = _doc(sample, kind)
    assert _problems(validator, doc) == []
    mutate(doc)
    problems = _problems(validator, doc)
    at_path = [msg for p, msg in problems if p == path]
    assert at_path, f"no problem at {path}; got {problems}"
    text = " ".join(at_path)
    for w in words:
        assert w in text, f"{w!r} not in {at_path}"


def test_transition_rules_are_skipped_on_create(validator):
    doc = _doc("ray-cluster.autoscaler.yaml")
    doc["spec"]["managedBy"] = "ray.io/kuberay-operator"  # also has `self == oldSelf` (update only)
    assert _problems(validator, doc) == []


def test_builtin_kinds_go_through_kubernetes_validate(validator):
    wrong_type = _doc("ray-job.sample.yaml", "ConfigMap")
    wrong_type["data"]["count"] = 3
    unknown = _doc("ray-job.sample.yaml", "ConfigMap")
    unknown["metadata"]["name"] = "other"
    unknown["immutible"] = True
    problems = validator.validate([Manifest("a.yaml", wrong_type), Manifest("b.yaml", unknown)], policy=False)
    text = "\n".join(str(p) for p in problems)
    assert "a.yaml: ConfigMap/ray-job-code-sample: data.count:" in text, text
    assert "b.yaml: ConfigMap/other:" in text and "'immutible' was unexpected" in text, text


def test_unknown_kinds_are_errors_or_listed_as_not_checked(validator):
    """A kind or version our CRDs or Kubernetes itself should know is an error; another project's kind
    (no schema here) is listed as not checked, never passed silently."""
    job = _doc("ray-job.sample.yaml", "RayJob")
    job["apiVersion"] = "ray.io/v2"
    deployment = {
        "apiVersion": "apps/v2",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"selector": {}, "template": {}},
    }
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    route = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}
    report = validator.check(
        [
            Manifest("x.yaml", job),
            Manifest("d.yaml", deployment),
            Manifest("w.yaml", widget),
            Manifest("r.yaml", route),
        ],
        policy=False,
    )
    by_source = {p.source: p.message for p in report.problems}
    assert set(by_source) == {"x.yaml", "d.yaml"}, report.problems
    assert "no CRD defines ray.io/v2 RayJob" in by_source["x.yaml"]
    assert "Kubernetes 1.33 has no Deployment in apps/v2" in by_source["d.yaml"]
    unchecked = {p.source: p.message for p in report.unchecked}
    assert set(unchecked) == {"w.yaml", "r.yaml"} and report.objects == 4
    assert "not checked: no schema for gateway.networking.k8s.io/v1 HTTPRoute" in unchecked["r.yaml"]
    assert validator.validate([Manifest("w.yaml", widget)], policy=False) == []


def _at(doc: dict[str, Any], *path: Any) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def test_defaults_apply_before_required_fields(validator):
    """minReplicas and maxReplicas are required with CRD defaults: leaving them out is valid (the
    operator's own v1.7.0 samples do), and the stored object carries the defaults."""
    doc = _doc("ray-job.sample.yaml", "RayJob")
    worker = _at(doc, *WORKER0)
    del worker["minReplicas"], worker["maxReplicas"], worker["replicas"]
    del doc["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]
    assert _problems(validator, doc) == []
    stored, problems = validator.crds.admit(doc)
    assert problems == [] and "minReplicas" not in worker  # the input is left alone
    group = _at(stored, *WORKER0)
    assert (group["minReplicas"], group["maxReplicas"], group["replicas"], group["numOfHosts"]) == (
        0,
        2**31 - 1,
        0,
        1,
    )
    assert stored["spec"]["submissionMode"] == "K8sJobMode" and stored["spec"]["backoffLimit"] == 0
    # a default inside list items: a port's protocol (TCP) is part of the list-map key
    ports = _at(stored, *HEAD_C0, "ports")
    assert all(p["protocol"] == "TCP" for p in ports)
    _at(doc, *HEAD_C0, "ports").append({"containerPort": 8265, "protocol": "TCP", "name": "again"})
    paths = [p for p, _ in _problems(validator, doc)]
    assert paths == ["spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].ports[3]"]


def test_nulls_are_pruned_or_defaulted_like_the_api_server(validator):
    doc = _doc("ray-service.sample.yaml")
    cluster = doc["spec"]["rayClusterConfig"]
    cluster["workerGroupSpecs"][0]["template"]["metadata"] = None  # non-nullable, optional: dropped
    cluster["workerGroupSpecs"][0]["minReplicas"] = None  # non-nullable with a default: defaulted
    cluster["headGroupSpec"]["rayStartParams"] = {"num-cpus": None}  # a map value: dropped
    cluster["enableInTreeAutoscaling"] = None
    assert _problems(validator, doc) == []
    stored, _ = validator.crds.admit(doc)
    group = stored["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    assert "metadata" not in group["template"] and group["minReplicas"] == 0
    assert stored["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParams"] == {}
    # null on a required field without a default is a missing field; a null list item is kept, and fails
    containers = cluster["headGroupSpec"]["template"]["spec"]["containers"]
    containers[0]["name"] = None
    containers.append(None)
    found = dict(_problems(validator, doc))
    where = "spec.rayClusterConfig.headGroupSpec.template.spec.containers"
    assert found[f"{where}[0].name"] == "missing required field"
    assert "wrong type: expected object, got NoneType" in found[f"{where}[1]"]


def test_the_status_is_ignored_on_create(validator):
    doc = _doc("ray-cluster.autoscaler.yaml")
    doc["status"] = {"state": 42, "bogus": True}
    assert _problems(validator, doc) == []


def test_server_set_metadata_fields_are_accepted(validator):
    doc = _doc("ray-cluster.autoscaler.yaml")
    doc["metadata"].update({"creationTimestamp": None, "resourceVersion": "1", "uid": "u", "generation": 2})
    doc["metadata"]["labels"] = None
    assert _problems(validator, doc) == []


def test_raycronjob_is_checked_against_its_crd(validator):
    doc = _doc("ray-cronjob.sample.yaml", "RayCronJob")
    del doc["spec"]["schedule"]
    doc["spec"]["jobTemplate"]["rayClusterSpec"]["workerGroupSpecs"][0]["minReplicas"] = -1
    doc["spec"]["jobTemplate"]["entrypointNumCpu"] = 1
    found = dict(_problems(validator, doc))
    assert found["spec.schedule"] == "missing required field"
    assert 'unknown field "entrypointNumCpu"' in found["spec.jobTemplate.entrypointNumCpu"]
    assert (
        "negative minReplicas -1" in found["spec.jobTemplate.rayClusterSpec.workerGroupSpecs[0].minReplicas"]
    )


def test_structural_pruning_defaulting_and_cel_on_a_synthetic_schema():
    """prune_nulls/apply_defaults/to_json_schema on a schema with every feature the KubeRay CRDs do not
    all use: nullable, defaults in items and map values, an object without properties, CEL rules with
    fieldPath and messageExpression, evaluated on the defaulted object."""
    from lam_rl.deploy.crd import _validator_class, apply_defaults, prune_nulls

    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "string", "nullable": True},
            "d": {"type": "integer", "default": 3},
            "items": {
                "type": "array",
                "items": {"type": "object", "default": {"k": 1}, "properties": {"k": {"type": "integer"}}},
            },
            "m": {"type": "object", "additionalProperties": {"type": "integer", "default": 7}},
            "closed": {"type": "object"},
            "spec": {
                "type": "object",
                "properties": {"lo": {"type": "integer", "default": 5}, "hi": {"type": "integer"}},
                "x-kubernetes-validations": [
                    {
                        "rule": "self.lo <= self.hi",
                        "messageExpression": "'lo ' + string(self.lo) + ' above hi'",
                        "fieldPath": ".lo",
                    }
                ],
            },
        },
    }
    doc = {"n": None, "d": None, "items": [None, {}], "m": {"a": None}, "spec": {"hi": 4}}
    prune_nulls(doc, schema)
    apply_defaults(doc, schema)
    assert doc == {"n": None, "d": 3, "items": [{"k": 1}, {}], "m": {"a": 7}, "spec": {"lo": 5, "hi": 4}}
    validator = _validator_class()(to_json_schema(schema))
    errors = {
        format_path(e.absolute_path): e.message for e in validator.iter_errors({**doc, "closed": {"x": 1}})
    }
    assert errors["spec.lo"].startswith("lo 5 above hi")
    assert "closed" in errors  # an object schema without properties keeps no fields
    assert not list(validator.iter_errors({**doc, "spec": {"lo": 5, "hi": 9}}))


def test_broken_yaml_and_non_objects_are_reported(validator, tmp_path):
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: [ConfigMap\n")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    problems = validator.validate(read_manifests([tmp_path], base=tmp_path), policy=False)
    text = "\n".join(map(str, problems))
    assert (
        "broken.yaml: ?: not valid YAML" in text and "list.yaml" in text and "not a Kubernetes object" in text
    )


def test_schema_conversion_semantics():
    schema = to_json_schema(
        {
            "type": "object",
            "description": "dropped",
            "properties": {
                "q": {"x-kubernetes-int-or-string": True, "pattern": "^[0-9]+m?$"},
                "n": {"type": "string", "nullable": True},
                "free": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "properties": {"a": {}},
                },
            },
        }
    )
    assert schema["additionalProperties"] is False and "description" not in schema
    assert schema["properties"]["q"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert schema["properties"]["n"]["type"] == ["string", "null"]
    assert "additionalProperties" not in schema["properties"]["free"]
    assert format_path(["spec", "groups", 0, "name"]) == "spec.groups[0].name"
