"""The whole infra check passes on the repository and fails, naming the fault, on deliberately broken
copies: a badly formatted .tf file, a failing terraform test, broken module wiring, a broken Helm
template or values, an invalid RayJob, a privileged pod (lam-rl's policy and checkov)."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from jobs.config import SCHEMAS
from lam_rl.deploy.checks import CHECKS, InfraCheck, copy_tree_for_check
from lam_rl.deploy.hcl import HclError, parse
from lam_rl.deploy.tfcheck import module_problems, wiring_problems
from lam_rl.deploy.tfschema import ProviderSchemas, schema_problems

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broken_root(tmp_path):
    return copy_tree_for_check(ROOT, tmp_path / "repo")


@pytest.mark.slow
def test_whole_infra_check_passes_on_the_repository(tools):
    results = InfraCheck(ROOT, tools, schemas=SCHEMAS).run()
    assert [r.name for r in results] == list(CHECKS)
    failed = {r.name: r.problems for r in results if not r.ok}
    assert not failed, failed
    notes = {r.name: " ".join(r.notes) for r in results}
    modules = [p for p in (ROOT / "infra/terraform/modules").iterdir() if p.is_dir()]
    assert notes["terraform"].count("init, validate, test") == len(modules) >= 5
    assert re.search(r"rendered: \d+ objects", notes["manifests"]) and "chart: " in notes["manifests"]
    assert "terraform:" in notes["checkov"] and "dockerfile:" in notes["checkov"]


@pytest.mark.slow
def test_badly_formatted_tf_fails_the_cli(tools, broken_root, subprocess_env):
    tf = broken_root / "infra/terraform/modules/network/main.tf"
    tf.write_text(tf.read_text() + '\nlocals {\nbadly   =    "formatted"\n}\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "infra",
            "validate",
            "--only",
            "terraform",
            "--root",
            str(broken_root),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "terraform fmt: not formatted: modules/network/main.tf" in proc.stdout
    assert "infra check: FAILED: terraform" in proc.stdout


def test_failing_terraform_test_is_reported(tools, broken_root):
    naming = broken_root / "infra/terraform/modules/naming/main.tf"
    text, n = re.subn(r'westeurope\s*= "weu"', 'westeurope = "we"', naming.read_text())
    assert n == 1
    naming.write_text(text)
    problems = module_problems(tools, broken_root / "infra/terraform/modules/naming")
    assert problems and "terraform test failed in naming" in problems[0]
    assert 'run "standard_names"... fail' in problems[0]


def test_broken_module_wiring_is_reported(broken_root):
    main = broken_root / "infra/terraform/main.tf"
    text = main.read_text().replace(
        "  address_space = var.address_space\n", "  address_spaces = var.address_space\n"
    )
    text += '\noutput "oops" {\n  value = module.node_pools.no_such_output\n}\n'
    main.write_text(text)
    problems = "\n".join(wiring_problems(broken_root / "infra/terraform"))
    assert "module 'network': argument 'address_spaces' is not a variable of ./modules/network" in problems
    assert "module 'network': required variable 'address_space' of ./modules/network is not set" in problems
    assert (
        "module.node_pools.no_such_output is used but ./modules/node_pools has no output 'no_such_output'"
        in problems
    )


def test_wiring_sees_references_after_a_hash_inside_an_interpolation(broken_root):
    """A '#' inside a string nested in an interpolation is not a comment: the references after it are
    checked (the hand-written scanner took it for one and missed them)."""
    main = broken_root / "infra/terraform/main.tf"
    main.write_text(
        main.read_text()
        + '\nlocals {\n  slug = "${replace(var.project, "#", "-")}-${var.no_such_suffix}"\n}\n'
        + 'output "tag" {\n  value = "${replace(local.slug, "{", "")}${module.naming.no_such_output}"\n}\n'
    )
    problems = "\n".join(wiring_problems(broken_root / "infra/terraform"))
    assert "var.no_such_suffix is used but no variable 'no_such_suffix' is declared" in problems
    assert (
        "module.naming.no_such_output is used but ./modules/naming has no output 'no_such_output'" in problems
    )


@pytest.mark.parametrize(
    "bad, line, column",
    [
        ('resource "azurerm_resource_group" "x" {\n  name =\n}\n', 2, 9),  # a value missing
        ('locals {\n  a = "unterminated\n}\n', 2, 8),
        ("locals {\n  a = 1\n", 3, 1),  # a block not closed
        ("locals {\n  a = [1, 2\n}\n", 3, 1),
    ],
)
def test_malformed_hcl_names_file_and_line(broken_root, bad, line, column):
    main = broken_root / "infra/terraform/main.tf"
    start = main.read_text().count("\n")
    main.write_text(main.read_text() + bad)
    where = f"{main}:{start + line}:{column}: not valid HCL"
    for check in (
        lambda: wiring_problems(broken_root / "infra/terraform"),
        lambda: schema_problems(broken_root / "infra/terraform", ProviderSchemas(broken_root)),
    ):
        with pytest.raises(HclError) as err:
            check()
        assert str(err.value).startswith(where), str(err.value)


def test_malformed_hcl_is_a_problem_of_the_terraform_check(tools, broken_root):
    """The whole terraform check reports the file and line (no traceback); fmt names the file too."""
    tf = broken_root / "infra/terraform/modules/network/main.tf"
    lines = tf.read_text().count("\n")
    tf.write_text(tf.read_text() + "locals {\n  a = \n}\n")
    result = InfraCheck(broken_root, tools, schemas=SCHEMAS).terraform()
    assert not result.ok
    assert any(p.startswith(f"{tf}:{lines + 2}:7: not valid HCL") for p in result.problems), result.problems
    assert any(p.startswith("terraform fmt: not formatted") for p in result.problems), result.problems


def test_damaged_terraform_files_fail_with_file_and_line():
    """Every .tf file of infra/terraform cut short, with a character deleted or a bracket, quote or '#'
    inserted at seeded random places: each either parses or raises HclError naming the file and a line
    inside it, never another exception. LAM_HCL_MUTATIONS=50 tries 50 of each per file (2400 in all)."""
    rng = random.Random(18)
    per_kind = int(os.environ.get("LAM_HCL_MUTATIONS", "3"))
    files = sorted((ROOT / "infra/terraform").glob("**/*.tf"))
    files = [f for f in files if ".terraform" not in f.parts]
    assert len(files) >= 10
    outcomes: Counter[tuple[str, str]] = Counter()
    for f in files:
        text = f.read_text()
        for kind in ("truncate", "delete", "insert"):
            for _ in range(per_kind):
                i = rng.randrange(len(text))
                damaged = {
                    "truncate": text[:i],
                    "delete": text[:i] + text[i + 1 :],
                    "insert": text[:i] + rng.choice('{}"=#[]()$,') + text[i:],
                }[kind]
                try:
                    parse(damaged, f)
                    outcomes[kind, "parsed"] += 1
                except HclError as e:
                    m = re.match(rf"{re.escape(str(f))}:(\d+):(\d+): not valid HCL: unexpected ", str(e))
                    assert m and 1 <= int(m.group(1)) <= damaged.count("\n") + 2, str(e)
                    outcomes[kind, "HclError"] += 1
    print(len(files), "files:", dict(sorted(outcomes.items())))  # docs/reliability.md, with -s
    assert outcomes["truncate", "HclError"] >= len(files), outcomes  # most cuts break a file


def test_hcl_items_lines_labels_and_literals():
    text = (
        '# a comment with a { brace\nmodule "m" { /* } */\n  source = "./x" // c\n  n = "${var.a}#"\n'
        '  tags = { a = 1, "b.c" = 2 }\n  dynamic "d" {\n    for_each = []\n  }\n}\n'
    )
    f = parse(text, "t.tf")
    (m,) = f.blocks("module")
    assert (m.labels, m.line) == (("m",), 2)
    assert [(i.name, i.kind, i.line, i.value) for i in m.items] == [
        ("source", "attr", 3, "./x"),
        ("n", "attr", 4, None),
        ("tags", "object", 5, None),
        ("dynamic", "block", 6, None),
    ]
    assert [i.name for i in m.get("tags").items] == ["a", "b.c"]
    assert "comment" not in f.text and "/*" not in f.text and "// c" not in f.text
    assert '"${var.a}#"' in f.text and len(f.text) == len(text)


def test_broken_helm_template_fails(tools, broken_root):
    tpl = broken_root / "infra/helm/lam-rl/templates/serviceaccount.yaml"
    tpl.write_text(
        tpl.read_text().replace("{{ .Values.serviceAccount.name }}", "{{ .Values.serviceAccount.name")
    )
    result = InfraCheck(broken_root, tools, schemas=SCHEMAS).helm()
    assert not result.ok
    text = "\n".join(result.problems)
    assert "helm lint --strict lam-rl failed" in text and "serviceaccount.yaml" in text


def test_chart_values_are_checked_against_the_schema(tools, broken_root):
    values = broken_root / "infra/helm/lam-rl/values.yaml"
    data = yaml.safe_load(values.read_text())
    data["network"]["vmAgentPort"] = 80
    data["network"]["vmAgentPrt"] = 8700
    values.write_text(yaml.safe_dump(data))
    text = "\n".join(InfraCheck(broken_root, tools, schemas=SCHEMAS).helm().problems)
    assert "vmAgentPort" in text and "vmAgentPrt" in text


def test_invalid_rayjob_fails_with_its_path(tools, broken_root):
    smoke = broken_root / "infra/k8s/examples/smoke-rayjob.yaml"
    doc = yaml.safe_load(smoke.read_text())
    doc["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] = "two"
    doc["spec"]["shutdownAfterJobFinish"] = True
    smoke.write_text(yaml.safe_dump(doc))
    result = InfraCheck(broken_root, tools, schemas=SCHEMAS).manifests()
    text = "\n".join(result.problems)
    where = "infra/k8s/examples/smoke-rayjob.yaml: RayJob/lam-rl-smoke:"
    assert f"{where} spec.rayClusterSpec.workerGroupSpecs[0].replicas: wrong type" in text
    assert f'{where} spec.shutdownAfterJobFinish: unknown field "shutdownAfterJobFinish"' in text


@pytest.mark.slow
def test_privileged_pod_fails_policy_and_checkov(tools, broken_root):
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "debug", "namespace": "lam-rl"},
        "spec": {
            "selector": {"matchLabels": {"app": "debug"}},
            "template": {
                "metadata": {"labels": {"app": "debug"}},
                "spec": {
                    "hostNetwork": True,
                    "containers": [
                        {"name": "sh", "image": "busybox:1.36", "securityContext": {"privileged": True}}
                    ],
                },
            },
        },
    }
    (broken_root / "infra/k8s/examples/debug.yaml").write_text(yaml.safe_dump(bad))
    check = InfraCheck(broken_root, tools, schemas=SCHEMAS)
    policy = "\n".join(check.manifests().problems)
    assert "Deployment/debug: spec.template.spec.containers[0].securityContext.privileged" in policy
    assert "Deployment/debug: spec.template.spec.hostNetwork: host namespaces are not allowed" in policy
    checkov = "\n".join(check.checkov().problems)
    assert "CKV_K8S_16" in checkov and "Deployment.lam-rl.debug" in checkov  # privileged container


def test_every_checkov_skip_has_a_reason():
    text = (ROOT / "infra/checkov.yaml").read_text()
    skips = re.findall(r"^\s*-\s*(CKV\w+)(.*)$", text, re.M)
    assert len(skips) >= 5
    for check_id, rest in skips:
        assert re.match(r"\s+#\s+\S.{20,}", rest), f"{check_id} is skipped without a reason"


def test_root_module_is_checked_against_the_provider_schemas(tools, broken_root):
    """The root module needs cloud providers (no `terraform validate` offline); its blocks are checked
    against the providers' schemas instead: unknown and misspelt arguments in nested blocks, missing
    required ones, unknown resource types, attributes a resource does not export, version constraints."""
    tf = broken_root / "infra/terraform"
    aks = tf / "aks.tf"
    text = aks.read_text()
    text, n1 = re.subn(r"(\n  sku_tier\s+= )", r"\n  sku_tierr = ", text, count=1)
    text, n2 = re.subn(r'(\n\s+max_surge = "33%")', r"\1\n      max_unavailable_pct = 1", text, count=1)
    assert n1 == n2 == 1
    aks.write_text(text + '\nresource "azurerm_kubernetes_clustr" "x" {\n  name = "x"\n}\n')
    main = tf / "main.tf"
    main.write_text(
        re.sub(
            r"\n  name     = local.names.resource_group", "\n  location_name = 1", main.read_text(), count=1
        )
    )
    (tf / "extra.tf").write_text(
        'output "issuer" {\n  value = azurerm_kubernetes_cluster.aks.oidc_issuer\n}\n'
    )
    versions = tf / "versions.tf"
    versions.write_text(versions.read_text().replace('version = "~> 4.40"', 'version = "~> 3.100"'))
    problems, _ = schema_problems(tf, ProviderSchemas(tools.provider_schemas))
    text = "\n".join(problems)
    assert (
        "azurerm_kubernetes_cluster.aks: unsupported argument or block 'sku_tierr'" in text
        and "did you mean 'sku_tier'" in text
    )
    assert (
        "aks.default_node_pool.upgrade_settings: unsupported argument or block 'max_unavailable_pct'" in text
    )
    assert "azurerm_resource_group.main: missing required argument 'name'" in text
    assert "has no resource 'azurerm_kubernetes_clustr'" in text
    assert (
        "azurerm_kubernetes_cluster.aks.oidc_issuer: azurerm_kubernetes_cluster exports no attribute 'oidc_issuer'"
        in text
    )
    assert "provider azurerm schema 4.55.0 does not satisfy the constraint '~> 3.100'" in text


def test_hcl_body_parser_and_version_constraints():
    from lam_rl.deploy.hcl import parse_body
    from lam_rl.deploy.tfschema import _version_ok

    body = 'a = 1\nb = {\n  c = "x"\n}\nblk "l1" {\n  d = [1,\n 2]\n}\ne = <<-EOT\n  f = 2\n  EOT\ng = "}"\n'
    items = [(i.name, i.kind) for i in parse_body(body)]
    assert items == [("a", "attr"), ("b", "object"), ("blk", "block"), ("e", "attr"), ("g", "attr")]
    assert _version_ok("4.55.0", "~> 4.40") and not _version_ok("5.0.0", "~> 4.40")
    assert _version_ok("0.13.5", "~> 0.13.1") and not _version_ok("0.14.0", "~> 0.13.1")
    assert _version_ok("1.5.0", ">= 1.0, < 2") and not _version_ok("2.0.0", ">= 1.0, < 2")


def test_bad_dockerfile_fails_hadolint(tools, broken_root):
    dockerfile = broken_root / "infra/docker/Dockerfile"
    text = dockerfile.read_text().replace(
        "FROM rayproject/ray:2.60.0-py311-gpu", "FROM rayproject/ray:latest"
    )
    dockerfile.write_text(text + "RUN sudo apt-get install -y curl\n")
    text = "\n".join(InfraCheck(broken_root, tools, schemas=SCHEMAS).docker().problems)
    assert "infra/docker/Dockerfile:" in text
    assert "DL3007" in text  # the latest tag
    assert "DL3004" in text  # sudo
