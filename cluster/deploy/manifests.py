"""Validate Kubernetes manifests: custom resources against the KubeRay CRDs (schema, CEL rules and
the operator's own rules), built-in kinds with kubernetes-validate (strict), and every pod template
against lam-rl's pod policy. Each problem names the file, the object and the path of the fault."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cluster.deploy.crd import CRDRegistry, Problem, load_yaml_docs
from cluster.deploy.kuberay import operator_problems
from cluster.deploy.policy import policy_problems
from cluster.deploy.tools import REPO_ROOT, Tools

__all__ = ["Manifest", "ManifestValidator", "read_manifests", "KUBERNETES_VERSION", "CRD_DIR"]

CRD_DIR = REPO_ROOT / "infra" / "k8s" / "crds"
# The AKS version infra/terraform deploys (variable kubernetes_version); built-in kinds are checked
# against its API.
KUBERNETES_VERSION = "1.33"


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


class ManifestValidator:
    def __init__(
        self,
        crd_dir: Path = CRD_DIR,
        tools: Tools | None = None,
        kubernetes_version: str = KUBERNETES_VERSION,
    ):
        self.crds = CRDRegistry(crd_dir)
        self.tools = tools
        self.kubernetes_version = kubernetes_version

    def validate(self, manifests: Iterable[Manifest], *, policy: bool = True) -> list[Problem]:
        problems: list[Problem] = []
        builtin: list[Manifest] = []
        for m in manifests:
            doc = m.doc
            if isinstance(doc, dict) and "__yaml_error__" in doc:
                problems.append(Problem(m.source, "?", "", f"not valid YAML: {doc['__yaml_error__']}"))
                continue
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                problems.append(
                    Problem(m.source, m.obj, "", "not a Kubernetes object (apiVersion and kind needed)")
                )
                continue
            found: list[tuple[str, str]] = []
            api, kind = str(doc["apiVersion"]), str(doc["kind"])
            if self.crds.knows(api, kind):
                found += self.crds.validate(doc)
                found += operator_problems(doc)
            elif api.split("/")[0] in self.crds.groups():
                known = ", ".join(f"{a} {k}" for a, k in self.crds.kinds())
                found.append(("apiVersion", f"no CRD defines {api} {kind}; known: {known}"))
            elif "." in api.split("/")[0] and not api.split("/")[0].endswith(".k8s.io"):
                found.append(
                    ("apiVersion", f"unknown custom resource {api} {kind}: add its CRD to {CRD_DIR.name}/")
                )
            else:
                builtin.append(m)
            if policy:
                found += policy_problems(doc)
            problems.extend(Problem(m.source, m.obj, p, msg) for p, msg in sorted(set(found)))
        if builtin:
            problems.extend(self._builtin(builtin))
        return problems

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
                    break
        if res.rc != 0 and not problems and not matched:
            problems.append(
                Problem("kubernetes-validate", "?", "", f"failed (exit {res.rc}): {res.out[-2000:]}")
            )
        return problems
