"""Mutations of KubeRay's official samples, generated from their CRD schemas: each mutation the API
server or the operator rejects (a wrong type, a negative count, a missing required field without a
default, an unknown field, a value outside an enum) is rejected naming the mutated field, and the
transformations the API server takes in its stride (null on a non-nullable field, an omitted field
that has a default) are accepted as the API server would: null is the same as absent, and an omitted
defaulted field is valid.

The candidate sites are every field (present, or for counts and enums also absent under a present
object) of the 89 custom resources in the samples; a fixed stride picks a deterministic spread of
them (counts in docs/reliability.md, "Manifest validator"). ``LAM_MUTATIONS=all`` tries every
candidate (a few minutes)."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest

from lam_rl.deploy.crd import format_path, load_yaml_docs
from lam_rl.deploy.kuberay import feature_gates
from lam_rl.deploy.manifests import Manifest, ManifestValidator

from .conftest import FIXTURES

SAMPLES_DIR = FIXTURES / "kuberay"
# ints the operator wants non-negative (positive for the deadlines) although the CRD has no minimum
OPERATOR_COUNTS = re.compile(
    r"(workerGroupSpecs\[\d+\]\.(minReplicas|maxReplicas|idleTimeoutSeconds)"
    r"|autoscalerOptions\.idleTimeoutSeconds"
    r"|^spec(\.jobTemplate)?\.(ttlSecondsAfterFinished|backoffLimit|activeDeadlineSeconds|preRunningDeadlineSeconds)"
    r"|^spec\.rayClusterDeletionDelaySeconds)$"
)
# how many of each class are tried: every `stride`-th candidate site (all when there are fewer)
EVERY_SITE = os.environ.get("LAM_MUTATIONS") == "all"
TRIED = {
    "type": 60,
    "unknown": 50,
    "required": 50,
    "enum": 40,
    "negative": 60,
    "null": 40,
    "omit-default": 40,
}


class Site(NamedTuple):
    kind: str  # the class of mutation
    source: str
    path: list[Any]  # where the change is made
    value: Any  # the new value (DELETE to remove the field)
    expect_at: str  # the path a rejection must name


DELETE = object()
TOP_LEVEL = ("apiVersion", "kind", "metadata", "status")  # not schema-driven (or ignored on create)


def _wrong_value(value: Any, schema: dict[str, Any]) -> Any:
    if schema.get("x-kubernetes-int-or-string"):
        return {"not": "an int or a string"}
    return {
        "integer": "not-a-number",
        "number": "not-a-number",
        "string": 12345,
        "boolean": "yes",
        "object": ["not", "an", "object"],
        "array": {"not": "a list"},
    }.get(schema.get("type"), ["unexpected"])


def _sites(source: str, doc: dict[str, Any], schema: dict[str, Any]) -> Iterator[Site]:
    def walk(value: Any, s: dict[str, Any], path: list[Any]) -> Iterator[Site]:
        where = format_path(path)
        if path and s.get("type"):
            yield Site("type", source, path, _wrong_value(value, s), where)
        if isinstance(value, dict):
            props = s.get("properties") or {}
            extra = s.get("additionalProperties") if isinstance(s.get("additionalProperties"), dict) else None
            if props:
                yield Site("unknown", source, [*path, "bogusField"], 1, format_path([*path, "bogusField"]))
            required = set(s.get("required") or [])
            for key, sub in props.items():
                if not path and key in TOP_LEVEL:
                    continue
                here = [*path, key]
                if sub.get("type") == "integer" and (
                    (sub.get("minimum") is not None and sub["minimum"] >= 0)
                    or OPERATOR_COUNTS.search(format_path(here))
                ):
                    yield Site("negative", source, here, -1, format_path(here))
                if sub.get("enum"):
                    yield Site("enum", source, here, "NotOneOfTheEnum", format_path(here))
                if key not in value:
                    continue
                if key in required and sub.get("default") is None:
                    yield Site("required", source, here, DELETE, format_path(here))
                if sub.get("default") is not None:
                    yield Site("omit-default", source, here, DELETE, "")
                if not sub.get("nullable"):
                    yield Site("null", source, here, None, "")
            for key, item in value.items():
                sub = props.get(key, extra)
                if sub is not None and not (not path and key in TOP_LEVEL):
                    yield from walk(item, sub, [*path, key])
        elif isinstance(value, list) and isinstance(s.get("items"), dict):
            for i, item in enumerate(value):
                yield from walk(item, s["items"], [*path, i])

    yield from walk(doc, schema, [])


def _apply(doc: dict[str, Any], site: Site) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node = out
    for p in site.path[:-1]:
        node = node[p]
    if site.value is DELETE:
        del node[site.path[-1]]
    else:
        node[site.path[-1]] = copy.deepcopy(site.value)
    return out


@pytest.fixture(scope="module")
def gated(tools) -> ManifestValidator:
    """Every alpha gate the samples need is on, so that each unmutated sample is valid."""
    return ManifestValidator(
        tools=tools,
        gates="RayCronJob=true,RayClusterMTLS=true,RayClusterNetworkPolicy=true,"
        "RayClusterHistoryServer=true,GCSFaultToleranceEmbeddedStorage=true",
    )


@pytest.fixture(scope="module")
def corpus(gated) -> tuple[dict[str, dict[str, Any]], dict[str, list[Site]], dict[str, int]]:
    docs: dict[str, dict[str, Any]] = {}
    for f in sorted(SAMPLES_DIR.rglob("*.yaml")):
        for i, d in enumerate(load_yaml_docs(f.read_text())):
            if isinstance(d, dict) and gated.crds.knows(d.get("apiVersion", ""), d.get("kind", "")):
                docs[f"{f.relative_to(SAMPLES_DIR)}#{i + 1}"] = d
    every: dict[str, list[Site]] = {k: [] for k in TRIED}
    for source, doc in docs.items():
        for site in _sites(source, doc, gated.crds.schema(doc["apiVersion"], doc["kind"])):
            every[site.kind].append(site)
    candidates = {k: len(v) for k, v in every.items()}
    chosen = (
        every if EVERY_SITE else {k: v[:: max(1, len(v) // TRIED[k])][: TRIED[k]] for k, v in every.items()}
    )
    return docs, chosen, candidates


def _problems(validator: ManifestValidator, doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in validator.validate([Manifest("m.yaml", doc)], policy=False)]


def test_the_corpus(corpus):
    docs, chosen, candidates = corpus
    assert len(docs) == 89
    # the figures in docs/reliability.md
    assert candidates == {
        "type": 4907,
        "unknown": 1784,
        "required": 1333,
        "enum": 37,
        "negative": 371,
        "null": 3967,
        "omit-default": 300,
    }
    if not EVERY_SITE:
        assert {k: len(v) for k, v in chosen.items()} == {**TRIED, "enum": 37}


@pytest.mark.parametrize("kind", ["type", "unknown", "required", "enum", "negative"])
def test_rejected_mutations_name_the_field(gated, corpus, kind):
    docs, chosen, _ = corpus
    missed = []
    for site in chosen[kind]:
        problems = _problems(gated, _apply(docs[site.source], site))
        if not any(path == site.expect_at for path, _ in problems):
            missed.append(f"{site.source}: {site.expect_at} = {site.value!r}: got {problems}")
    assert not missed, (
        f"{len(missed)}/{len(chosen[kind])} {kind} mutations not rejected at their field:\n"
        + "\n".join(missed[:10])
    )


def test_null_is_the_same_as_absent(gated, corpus):
    """The API server drops null on a non-nullable field without a default and defaults one with a
    default: the result must be exactly what leaving the field out gives."""
    docs, chosen, _ = corpus
    passed = 0
    for site in chosen["null"]:
        with_null = _problems(gated, _apply(docs[site.source], site))
        absent = _problems(gated, _apply(docs[site.source], site._replace(value=DELETE)))
        assert with_null == absent, (
            f"{site.source}: {format_path(site.path)}: null gives {with_null}, absent {absent}"
        )
        passed += not with_null
    print(f"null: {passed} of {len(chosen['null'])} valid, the rest rejected exactly as when absent")
    assert passed >= 20  # not vacuous: most of these fields are optional


def test_omitted_defaulted_fields_take_their_default(gated, corpus):
    """Leaving out a field that has a default is the same as writing the default: never a missing
    required field, and valid unless the default itself breaks one of the operator's rules (a deletion
    rule's ttlSeconds of 0 below a DeleteWorkers TTL, in one sample)."""
    docs, chosen, _ = corpus
    passed = 0
    for site in chosen["omit-default"]:
        omitted = _problems(gated, _apply(docs[site.source], site))
        schema = gated.crds.schema(docs[site.source]["apiVersion"], docs[site.source]["kind"])
        node = schema
        for p in site.path:
            node = node["items"] if isinstance(p, int) else node["properties"][p]
        explicit = _problems(gated, _apply(docs[site.source], site._replace(value=node["default"])))
        assert omitted == explicit, (
            f"{site.source}: {format_path(site.path)}: omitted {omitted}, default {explicit}"
        )
        assert all("missing required field" not in msg for _, msg in omitted), omitted
        passed += not omitted
    print(f"omit-default: {passed} of {len(chosen['omit-default'])} valid")
    assert passed >= len(chosen["omit-default"]) * 0.95


def test_the_gates_are_the_operators_defaults_otherwise():
    assert feature_gates()["RayClusterMTLS"] is False
