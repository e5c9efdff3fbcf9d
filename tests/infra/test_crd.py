"""The manifest validator accepts KubeRay's own samples and rejects mutated ones, each problem naming
the path of the fault: unknown fields, wrong types, CEL rules, list types, formats, the operator's
rules and ObjectMeta."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from cluster.deploy.crd import format_path, load_yaml_docs, to_json_schema
from cluster.deploy.manifests import Manifest, read_manifests

from .conftest import FIXTURES

SAMPLES = sorted((FIXTURES / "kuberay").glob("*.yaml"))


def _doc(name: str, kind: str | None = None) -> dict[str, Any]:
    docs = load_yaml_docs((FIXTURES / "kuberay" / name).read_text())
    return copy.deepcopy(next(d for d in docs if kind is None or d["kind"] == kind))


def _problems(validator, doc) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in validator.validate([Manifest("mutated.yaml", doc)], policy=False)]


def test_fixtures_cover_every_kuberay_kind():
    kinds = {d["kind"] for f in SAMPLES for d in load_yaml_docs(f.read_text())}
    assert {"RayJob", "RayCluster", "RayService", "ConfigMap"} <= kinds


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_kuberay_samples_are_accepted(validator, sample):
    problems = validator.validate(read_manifests([sample]), policy=False)
    assert problems == [], "\n".join(map(str, problems))


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


def test_unknown_custom_kind_and_version_are_rejected(validator):
    doc = _doc("ray-job.sample.yaml", "RayJob")
    doc["apiVersion"] = "ray.io/v2"
    problems = validator.validate([Manifest("x.yaml", doc)], policy=False)
    assert len(problems) == 1 and "no CRD defines ray.io/v2 RayJob" in problems[0].message
    other = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    problems = validator.validate([Manifest("w.yaml", other)], policy=False)
    assert "unknown custom resource example.com/v1 Widget" in problems[0].message


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
