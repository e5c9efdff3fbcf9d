"""The whole infra check behind ``lam-rl infra validate`` (and tests/infra): Terraform formatting, the
provider-free modules' ``terraform test``, the root module's wiring, ``helm lint --strict`` and
``helm template``, every manifest (hand-written, rendered from every config in jobs/configs for every
phase, and the chart's output) against the CRDs, kubernetes-validate and lam-rl's pod policy, and
checkov (skip list in infra/checkov.yaml) over Terraform, the Dockerfile and the manifests.

``root`` is a folder laid out like the repository (infra/, jobs/configs/), so a test can run the same
checks on a deliberately broken copy."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.config import ConfigError
from lam_rl.deploy.crd import Problem
from lam_rl.deploy.hcl import HclError
from lam_rl.deploy.manifests import CRD_DIR, Manifest, ManifestValidator, read_manifests
from lam_rl.deploy.render import dump_yaml, render_all
from lam_rl.deploy.tfcheck import fmt_problems, module_problems, provider_free_modules, wiring_problems
from lam_rl.deploy.tfschema import ProviderSchemas, schema_problems
from lam_rl.deploy.tools import REPO_ROOT, Tools

__all__ = ["CheckResult", "InfraCheck", "CHECKS"]

CHECKS = ("terraform", "helm", "manifests", "docker", "checkov")
# values the chart is also rendered with: what Terraform sets on a real deployment
CHART_CI_VALUES = [
    "serviceAccount.workloadIdentityClient=00000000-0000-0000-0000-000000000000",
    "network.vmSubnetCidr=10.40.4.0/24",
    "network.storageCidr=10.40.5.0/27",
]


@dataclass
class CheckResult:
    name: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class InfraCheck:
    def __init__(
        self,
        root: Path = REPO_ROOT,
        tools: Tools | None = None,
        gates: str | None = None,
        *,
        schemas: Mapping[str, type],
    ):
        """``schemas``: the jobs' config classes by name (``jobs.config.SCHEMAS``), which the rendered
        manifests are validated with; the CLI passes them (this library never imports ``jobs``)."""
        self.root = Path(root).resolve()
        self.schemas = schemas
        self.tools = tools or Tools.find()
        self.infra = self.root / "infra"
        self.terraform_dir = self.infra / "terraform"
        self.chart_dir = self.infra / "helm" / "lam-rl"
        self.k8s_dir = self.infra / "k8s"
        crd_dir = self.k8s_dir / "crds"
        self.validator = ManifestValidator(crd_dir if crd_dir.is_dir() else CRD_DIR, self.tools, gates=gates)
        self._chart_docs: list[Manifest] | None = None
        self._rendered: list[Manifest] | None = None

    # ------------------------------------------------------------------ terraform

    def terraform(self) -> CheckResult:
        res = CheckResult("terraform")
        if not self.terraform_dir.is_dir():
            return res
        res.problems += fmt_problems(self.tools, self.terraform_dir)
        try:  # a file that is not valid HCL stops the checks that read it, naming file and line
            for module in provider_free_modules(self.terraform_dir):
                res.problems += module_problems(self.tools, module)
                res.notes.append(f"module {module.name}: init, validate, test")
            res.problems += [f"root module: {p}" for p in wiring_problems(self.terraform_dir)]
            problems, versions = schema_problems(
                self.terraform_dir, ProviderSchemas(self.tools.provider_schemas)
            )
        except HclError as e:
            res.problems.append(str(e))
            return res
        res.problems += [f"root module: {p}" for p in problems]
        res.notes.append(f"root module against provider schemas ({', '.join(versions)})")
        return res

    # ------------------------------------------------------------------ helm

    def _helm_template(self, extra: Sequence[str]) -> tuple[str, str | None]:
        args = ["template", "lam-rl", str(self.chart_dir), "--namespace", "lam-rl"]
        for item in extra:
            args += ["--set", item]
        out = self.tools.run("helm", args, timeout=120)
        return out.out, (None if out.ok else out.out.strip()[-2000:])

    def chart_manifests(self) -> list[Manifest]:
        if self._chart_docs is None:
            docs: list[Manifest] = []
            for label, values in (("defaults", []), ("terraform-values", CHART_CI_VALUES)):
                text, err = self._helm_template(values)
                if err is None:
                    with tempfile.TemporaryDirectory() as tmp:
                        f = Path(tmp) / f"chart-{label}.yaml"
                        f.write_text(text)
                        docs += [
                            Manifest(f"helm template ({label}) {m.source.split('#')[-1]}", m.doc)
                            for m in read_manifests([f])
                        ]
            self._chart_docs = docs
        return self._chart_docs

    def helm(self) -> CheckResult:
        res = CheckResult("helm")
        if not self.chart_dir.is_dir():
            return res
        lint = self.tools.run("helm", ["lint", "--strict", str(self.chart_dir)], timeout=120)
        if not lint.ok:
            res.problems.append(
                f"helm lint --strict {self.chart_dir.name} failed:\n{lint.out.strip()[-2000:]}"
            )
        for label, values in (("defaults", []), ("terraform-values", CHART_CI_VALUES)):
            _, err = self._helm_template(values)
            if err:
                res.problems.append(f"helm template ({label}) failed:\n{err}")
        return res

    # ------------------------------------------------------------------ manifests

    def rendered_manifests(self) -> list[Manifest]:
        """Every phase (and the long-lived cluster) rendered from every config in jobs/configs."""
        if self._rendered is None:
            out: list[Manifest] = []
            configs_dir = self.root / "jobs" / "configs"
            for cfg in sorted(configs_dir.glob("*.yaml")):
                for name, docs in render_all(cfg.stem, configs_dir=configs_dir, schemas=self.schemas).items():
                    out += [Manifest(f"rendered {cfg.stem}/{name} #{i + 1}", d) for i, d in enumerate(docs)]
            self._rendered = out
        return self._rendered

    def hand_written(self) -> list[Manifest]:
        if not self.k8s_dir.is_dir():
            return []
        dirs = [p for p in sorted(self.k8s_dir.iterdir()) if p.name != "crds"]
        return list(read_manifests(dirs, base=self.root))

    def manifests(self) -> CheckResult:
        res = CheckResult("manifests")
        try:
            rendered = self.rendered_manifests()
        except ConfigError as e:
            res.problems.append(f"rendering from jobs/configs failed: {e}")
            rendered = []
        groups = {"hand-written": self.hand_written(), "rendered": rendered, "chart": self.chart_manifests()}
        report = self.validator.check([m for ms in groups.values() for m in ms])
        problems: list[Problem] = report.problems
        res.problems += [str(p) for p in problems]
        # lam-rl's own manifests are all checkable: a kind without a schema needs its CRD added
        res.problems += [f"{p}: add its CRD to infra/k8s/crds/" for p in report.unchecked]
        res.notes += [f"{k}: {len(v)} objects" for k, v in groups.items()]
        return res

    # ------------------------------------------------------------------ docker

    def docker(self) -> CheckResult:
        """hadolint on every Dockerfile under infra/docker (warnings fail; ignores are inline, with reasons)."""
        res = CheckResult("docker")
        for dockerfile in sorted((self.infra / "docker").glob("*Dockerfile")):
            run = self.tools.run(
                "hadolint", ["--no-color", "--failure-threshold", "warning", str(dockerfile)]
            )
            if not run.ok:
                lines = [line for line in run.out.splitlines() if line.strip()]
                res.problems += [line.replace(str(self.root) + "/", "") for line in lines] or [
                    run.out[-1000:]
                ]
            res.notes.append(f"hadolint {dockerfile.relative_to(self.root)}")
        return res

    # ------------------------------------------------------------------ checkov

    def checkov(self) -> CheckResult:
        res = CheckResult("checkov")
        with tempfile.TemporaryDirectory(prefix="lam-rl-checkov-") as tmp:
            k8s = Path(tmp) / "k8s"
            k8s.mkdir()
            for i, m in enumerate(
                [*self.hand_written(), *self.rendered_manifests(), *self.chart_manifests()]
            ):
                (k8s / f"m{i:04d}.yaml").write_text(dump_yaml([m.doc]))
            dirs = [d for d in (self.terraform_dir, self.infra / "docker", k8s) if d.is_dir()]
            args = [
                "--config-file",
                str(self.infra / "checkov.yaml"),
                "-o",
                "json",
                "--output-file-path",
                tmp,
            ]
            for d in dirs:
                args += ["-d", str(d)]
            args += ["--framework", "terraform", "dockerfile", "kubernetes"]
            run = self.tools.run("checkov", args, timeout=600)
            report = Path(tmp) / "results_json.json"
            if not report.exists():
                res.problems.append(f"checkov did not run (exit {run.rc}):\n{run.out.strip()[-2000:]}")
                return res
            data: Any = json.loads(report.read_text())
        for section in data if isinstance(data, list) else [data]:
            summary = section.get("summary", {})
            res.notes.append(f"{section.get('check_type')}: {summary.get('passed', 0)} passed")
            for f in section.get("results", {}).get("failed_checks", []):
                where = f.get("file_path", "?")
                res.problems.append(
                    f"{f['check_id']} {f.get('check_name', '')}: {f.get('resource')} ({where})"
                )
            if summary.get("parsing_errors"):
                res.problems.append(
                    f"checkov could not parse {summary['parsing_errors']} {section.get('check_type')} file(s)"
                )
        return res

    # ------------------------------------------------------------------ all

    def run(
        self, only: Sequence[str] = CHECKS, progress: Callable[[CheckResult], None] | None = None
    ) -> list[CheckResult]:
        if not self.terraform_dir.is_dir() or not self.chart_dir.is_dir() or not self.k8s_dir.is_dir():
            raise ConfigError(
                f"{self.root} has no infra/terraform, infra/helm/lam-rl and infra/k8s: run from a lam-rl "
                "checkout or pass --root"
            )
        if not any((self.root / "jobs" / "configs").glob("*.yaml")):
            raise ConfigError(f"{self.root} has no jobs/configs/*.yaml to render manifests from")
        missing = self.tools.missing()
        if missing:
            from lam_rl.deploy.tools import INSTALL_HINT, ToolMissing

            raise ToolMissing(
                f"infra tools missing under {self.tools.home}: {', '.join(missing)}; {INSTALL_HINT}"
            )
        results = []
        for name in only:
            if name not in CHECKS:
                raise ConfigError(f"unknown check {name!r}; checks: {', '.join(CHECKS)}")
            t0 = time.time()
            result = getattr(self, name)()
            result.seconds = time.time() - t0
            results.append(result)
            if progress:
                progress(result)
        return results


def copy_tree_for_check(src_root: Path, dst_root: Path) -> Path:
    """A copy of the parts of a repository the infra check reads (without tool or Terraform caches)."""
    ignore = shutil.ignore_patterns(".tools", ".terraform", ".terraform.lock.hcl", "__pycache__")
    shutil.copytree(src_root / "infra", dst_root / "infra", ignore=ignore)
    shutil.copytree(src_root / "jobs" / "configs", dst_root / "jobs" / "configs")
    return dst_root
