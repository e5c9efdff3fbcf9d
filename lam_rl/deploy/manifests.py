"""Validate Kubernetes manifests: custom resources as the API server would admit them (ObjectMeta, the
CRD schema after pruning and defaulting, CEL rules) and then as the KubeRay operator would reconcile
them (its own rules, with its feature gates), built-in kinds with kubernetes-validate (strict), and
every pod template against lam-rl's pod policy. Each problem names the file, the object and the path
of the fault. Objects of a kind no schema here covers (another project's custom resources, e.g. the
Gateway API's) are listed as not checked rather than passed silently."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lam_rl.deploy.crd import CRDRegistry, Problem, load_yaml_docs
from lam_rl.deploy.kuberay import feature_gates, operator_findings
from lam_rl.deploy.policy import policy_problems
from lam_rl.deploy.tools import REPO_ROOT, Tools

__all__ = [
    "Manifest",
    "ManifestValidator",
    "Report",
    "read_manifests",
    "BUILTIN_GROUPS",
    "KUBERNETES_VERSION",
    "CRD_DIR",
]

CRD_DIR = REPO_ROOT / "infra" / "k8s" / "crds"
# The AKS version infra/terraform deploys (variable kubernetes_version); built-in kinds are checked
# against its API.
KUBERNETES_VERSION = "1.33"
# The API groups Kubernetes itself serves (its core group is ""): their kinds are checked with
# kubernetes-validate, and a kind or version it has no schema for is an error. Any other group
# belongs to a CRD: ours (infra/k8s/crds) are checked, the rest are listed as not checked.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admission.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "extensions",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


@dataclass
class Manifest:
    source: str
    doc: Any

    @property
    def obj(self) -> str:
        if not isinstance(self.doc, dict):
            return "?"
        name = (
            (self.doc.get("metadata") or {}).get("name", "?")
            if isinstance(self.doc.get("metadata"), dict)
            else "?"
        )
        return f"{self.doc.get('kind', '?')}/{name}"


def read_manifests(paths: Iterable[Path], *, base: Path | None = None) -> Iterator[Manifest]:
    """Every YAML document in ``paths`` (files or folders, recursively); sources are 'file#n'."""
    for path in paths:
        files = (
            sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")) if path.is_dir() else [path]
        )
        for f in files:
            label = str(f.relative_to(base)) if base and f.is_relative_to(base) else str(f)
            try:
                docs = load_yaml_docs(f.read_text())
            except yaml.YAMLError as e:
                yield Manifest(f"{label}", {"__yaml_error__": str(e).replace("\n", " ")})
                continue
            for i, doc in enumerate(docs):
                yield Manifest(f"{label}#{i + 1}" if len(docs) > 1 else label, doc)


@dataclass
class Report:
    """What :meth:`ManifestValidator.check` found: problems, and the objects no schema covers."""

    problems: list[Problem]
    unchecked: list[Problem]
    objects: int = 0


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


class ManifestValidator:
    def __init__(
        self,
        crd_dir: Path = CRD_DIR,
        tools: Tools | None = None,
        kubernetes_version: str = KUBERNETES_VERSION,
        gates: str | dict[str, bool] | None = None,
    ):
        self.crds = CRDRegistry(crd_dir)
        self.tools = tools
        self.kubernetes_version = kubernetes_version
        self.gates = feature_gates(gates)  # the KubeRay operator's feature gates

    def validate(self, manifests: Iterable[Manifest], *, policy: bool = True) -> list[Problem]:
        """The problems of :meth:`check` (objects of kinds without a schema are not among them)."""
        return self.check(manifests, policy=policy).problems

    def check(self, manifests: Iterable[Manifest], *, policy: bool = True) -> Report:
        problems: list[Problem] = []
        unchecked: list[Problem] = []
        builtin: list[Manifest] = []
        count = 0
        for m in manifests:
            count += 1
            doc = m.doc
            if isinstance(doc, dict) and "__yaml_error__" in doc:
                problems.append(Problem(m.source, "?", "", f"not valid YAML: {doc['__yaml_error__']}"))
                continue
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                problems.append(
                    Problem(m.source, m.obj, "", "not a Kubernetes object (apiVersion and kind needed)")
                )
                continue
            found: list[tuple[str, str, str]] = []
            api, kind = str(doc["apiVersion"]), str(doc["kind"])
            group = _group(api)
            if self.crds.knows(api, kind):
                if not self.crds.served(api, kind):
                    found.append(("apiVersion", f"{api} {kind} is not served by its CRD", ""))
                stored, schema_problems = self.crds.admit(doc)
                found += [(p, msg, "") for p, msg in schema_problems]
                found += [(f.path, f.message, f.rule) for f in operator_findings(stored, self.gates)]
            elif group in self.crds.groups():
                known = ", ".join(f"{a} {k}" for a, k in self.crds.kinds())
                found.append(("apiVersion", f"no CRD defines {api} {kind}; known: {known}", ""))
            elif group in BUILTIN_GROUPS or "." not in group:
                builtin.append(m)
            else:
                unchecked.append(
                    Problem(
                        m.source,
                        m.obj,
                        "apiVersion",
                        f"not checked: no schema for {api} {kind} (its CRD is not among lam-rl's, infra/k8s/crds)",
                    )
                )
            if policy:
                found += [(p, msg, "") for p, msg in policy_problems(doc)]
            problems.extend(Problem(m.source, m.obj, p, msg, rule) for p, msg, rule in sorted(set(found)))
        if builtin:
            problems.extend(self._builtin(builtin))
        return Report(problems, unchecked, count)

    def _builtin(self, manifests: list[Manifest]) -> list[Problem]:
        """Built-in kinds through one kubernetes-validate run (strict: unknown fields are errors)."""
        if self.tools is None:
            self.tools = Tools.find()
        with tempfile.TemporaryDirectory(prefix="lam-rl-k8s-") as tmp:
            names = {}
            for i, m in enumerate(manifests):
                f = Path(tmp) / f"doc{i:04d}.yaml"
                f.write_text(yaml.safe_dump(m.doc, sort_keys=False))
                names[f.name] = m
            res = self.tools.run(
                "kubernetes-validate",
                [
                    "--strict",
                    "--quiet",
                    "-k",
                    self.kubernetes_version,
                    *sorted(str(Path(tmp) / n) for n in names),
                ],
                timeout=300,
            )
        problems = []
        matched = False
        for line in res.out.splitlines():
            if not line.startswith(("ERROR", "WARN")):
                continue
            for fname, m in names.items():
                if f"/{fname} " in line:
                    matched = True
                    detail = line.split(f"against version {self.kubernetes_version}:", 1)[-1].strip()
                    if line.startswith("ERROR"):
                        path, _, msg = detail.partition(": ")
                        problems.append(Problem(m.source, m.obj, path if msg else "", msg or detail))
                    elif "Couldn't find schema" in line:  # a built-in group without that kind or version
                        problems.append(
                            Problem(
                                m.source,
                                m.obj,
                                "apiVersion",
                                f"Kubernetes {self.kubernetes_version} has no {m.doc.get('kind')} in "
                                f"{m.doc.get('apiVersion')}",
                            )
                        )
                    break
        if res.rc != 0 and not problems and not matched:
            problems.append(
                Problem("kubernetes-validate", "?", "", f"failed (exit {res.rc}): {res.out[-2000:]}")
            )
        return problems
