"""KubeRay's official v1.7.0 samples (fixtures/kuberay; README.md there) through the validator as
`lam-rl infra validate --no-policy` runs them, against the operator lam-rl deploys (v1.7.0, default
feature gates): every sample that operator accepts passes; the six that need an alpha feature gate
fail naming that gate, and pass with it on; the objects of other projects' kinds are listed as not
checked."""

from __future__ import annotations

from collections import Counter

import pytest
from click.testing import CliRunner

from jobs.cli import main
from lam_rl.deploy.crd import load_yaml_docs
from lam_rl.deploy.kuberay import feature_gates
from lam_rl.deploy.manifests import read_manifests

from .conftest import FIXTURES

SAMPLES_DIR = FIXTURES / "kuberay"
SAMPLES = sorted(SAMPLES_DIR.rglob("*.yaml"))
NAMES = [str(p.relative_to(SAMPLES_DIR)) for p in SAMPLES]
# sample -> (the rule that refuses it, the gate that admits it)
EXPECTED_FAILURES = {
    "ray-cluster.embedded-gcs-ft.yaml": ("cluster/ft-rocksdb-gate", "GCSFaultToleranceEmbeddedStorage"),
    "ray-cluster.historyserver.yaml": ("cluster/history-gate", "RayClusterHistoryServer"),
    "ray-cluster.mtls.yaml": ("cluster/tls-gate", "RayClusterMTLS"),
    "ray-cluster.network-policy-deny-all.yaml": ("cluster/network-policy-gate", "RayClusterNetworkPolicy"),
    "ray-cronjob.sample.yaml": ("raycronjob/controller-gate", "RayCronJob"),
    "ray-cronjob-timezone.sample.yaml": ("raycronjob/controller-gate", "RayCronJob"),
}
NOT_CHECKED = {
    "Gateway": 1,
    "GatewayClass": 1,
    "HTTPRoute": 1,
    "Queue": 6,
    "SandboxTemplate": 1,
    "SandboxWarmPool": 1,
}


@pytest.fixture(scope="module")
def report(validator):
    return validator.check(read_manifests(SAMPLES, base=SAMPLES_DIR), policy=False)


def _file(source: str) -> str:
    return source.split("#")[0]


def test_every_official_sample_is_vendored():
    kinds = Counter(d.get("kind") for p in SAMPLES for d in load_yaml_docs(p.read_text()))
    assert len(SAMPLES) == 94
    assert (kinds["RayCluster"], kinds["RayJob"], kinds["RayService"], kinds["RayCronJob"]) == (46, 25, 16, 2)
    assert (SAMPLES_DIR / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert "v1.7.0" in (SAMPLES_DIR / "README.md").read_text()
    assert set(EXPECTED_FAILURES) <= set(NAMES)


@pytest.mark.parametrize("sample", NAMES)
def test_official_sample(report, sample):
    problems = [p for p in report.problems if _file(p.source) == sample]
    if sample not in EXPECTED_FAILURES:
        assert problems == [], "\n".join(map(str, problems))
        return
    rule, gate = EXPECTED_FAILURES[sample]
    assert [p.rule for p in problems] == [rule], "\n".join(map(str, problems))
    assert gate in problems[0].message and "feature gate" in problems[0].message


def test_gated_samples_pass_with_their_gate(tools):
    from lam_rl.deploy.manifests import ManifestValidator

    validator = ManifestValidator(tools=tools)
    for sample, (_rule, gate) in EXPECTED_FAILURES.items():
        validator.gates = feature_gates(f"{gate}=true")
        problems = validator.validate(read_manifests([SAMPLES_DIR / sample]), policy=False)
        assert problems == [], "\n".join(map(str, problems))


def test_other_projects_kinds_are_listed_as_not_checked(report):
    assert report.objects == 171
    assert Counter(p.obj.split("/")[0] for p in report.unchecked) == NOT_CHECKED
    assert all("not checked: no schema for" in p.message for p in report.unchecked)


def test_cli_over_every_sample():
    """The reproducing command of docs/reliability.md: all samples, the five gates on -> exit 0."""
    gates = ",".join(sorted({f"{g}=true" for _, g in EXPECTED_FAILURES.values()}))
    res = CliRunner().invoke(
        main,
        ["infra", "validate", "--no-policy", "--feature-gates", gates, *map(str, SAMPLES)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    assert "0 problem(s) in 171 object(s) in 94 file(s); 11 object(s) not checked" in res.output
    assert "HTTPRoute/ray-cluster-http-route: apiVersion: not checked" in res.output
