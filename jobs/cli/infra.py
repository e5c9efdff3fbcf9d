"""``lam-rl infra``: render KubeRay manifests from job configs, and validate all of infra/."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

from lam_rl.config import ConfigError


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _read_overrides_file(path: str) -> list[str]:
    """A JSON list (``terraform output -json lam_rl_overrides``) or one override per line."""
    text = Path(path).read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return [
            line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        ]
    if isinstance(data, dict) and "value" in data:  # `terraform output -json` of the whole set
        data = data["value"]
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise ConfigError(f"{path}: expected a JSON list of key=value strings or one override per line")
    return data


@click.group("infra")
def infra() -> None:
    """Deployment on Kubernetes (KubeRay): render manifests from job configs, validate infra/."""


@infra.command("phases")
def phases_cmd() -> None:
    """List the phases that `render` knows, with their entry points and worker groups."""
    from lam_rl.deploy.phases import PHASES

    for p in PHASES.values():
        click.echo(f"{p.name:12s} {' '.join(p.argv):40s} groups={','.join(p.groups):22s} {p.description}")


@infra.command("render")
@click.argument("phase")
@click.argument("overrides", nargs=-1)
@click.option(
    "--config",
    "config",
    default="tiny",
    show_default=True,
    help="Config name in jobs/configs or a YAML path.",
)
@click.option(
    "--overrides-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Overrides from a file: a JSON list (terraform output -json lam_rl_overrides) or one per line.",
)
@click.option(
    "--on-cluster", help="Submit to this existing RayCluster (clusterSelector) instead of a new one."
)
@click.option("--out", type=click.Path(), help="Write here instead of stdout (a folder for PHASE 'all').")
@click.option(
    "--entrypoint",
    "entrypoint_only",
    is_flag=True,
    help='Print only the validated entrypoint (for `ray job submit -- "$(...)"` against a running cluster).',
)
@click.option(
    "--configs-dir",
    type=click.Path(file_okay=False),
    help="Folder of config YAML files (default: jobs/configs).",
)
def render_cmd(
    phase: str,
    overrides: tuple[str, ...],
    config: str,
    overrides_file: str | None,
    on_cluster: str | None,
    out: str | None,
    entrypoint_only: bool,
    configs_dir: str | None,
) -> None:
    """Render PHASE's RayJob from a job config (validated first), 'cluster' for the long-lived RayCluster,
    or 'all' for every phase plus the cluster. OVERRIDES are key=value config overrides.

    \b
    lam-rl infra render sft-plan --config small --overrides-file deploy.json | kubectl apply -f -
    lam-rl infra render all --config small --out build/k8s
    ray job submit --address http://localhost:8265 -- "$(lam-rl infra render sft-plan --config small --entrypoint)"
    """
    from jobs import CONFIGS_DIR
    from jobs.config import SCHEMAS
    from lam_rl.deploy.render import dump_yaml, render_all, render_cluster, render_phase

    where = {"configs_dir": Path(configs_dir) if configs_dir else CONFIGS_DIR, "schemas": SCHEMAS}
    try:
        items = [*(_read_overrides_file(overrides_file) if overrides_file else []), *overrides]
        if phase == "all":
            if not out:
                raise ConfigError("render all needs --out FOLDER (one file per phase)")
            if on_cluster:
                raise ConfigError("--on-cluster applies to one phase, not to 'all'")
            rendered = render_all(config, items, **where)
            texts = {Path(out) / f"{name}.yaml": dump_yaml(docs) for name, docs in rendered.items()}
        else:
            if phase == "cluster":
                if entrypoint_only:
                    raise ConfigError("--entrypoint needs a phase, not 'cluster'")
                text = dump_yaml(render_cluster(config, items, **where))
            else:
                job = render_phase(phase, config, items, **where, on_cluster=on_cluster)
                text = job.entrypoint + "\n" if entrypoint_only else dump_yaml(job.docs)
            texts = {Path(out) if out else None: text}
    except ConfigError as e:
        _fail(str(e))
    for path, text in texts.items():
        if path is None:
            click.echo(text, nl=False)
        else:
            _write_atomic(path, text)
            click.echo(f"wrote {path}", err=True)


@infra.command("validate")
@click.argument("files", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--only",
    multiple=True,
    type=click.Choice(["terraform", "helm", "manifests", "docker", "checkov"]),
    help="Run only these checks (repeatable). Default: all.",
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, exists=True),
    help="Repository root to check (default: this one).",
)
@click.option(
    "--tools",
    "tools_dir",
    type=click.Path(file_okay=False),
    help="Infra tools folder (default: infra/.tools).",
)
@click.option(
    "--no-policy",
    is_flag=True,
    help="With FILES: check what the API server and the KubeRay operator check, not lam-rl's pod policy.",
)
@click.option(
    "--feature-gates",
    "gates",
    metavar="NAME=BOOL,...",
    help="The KubeRay operator's feature gates, if not its v1.7.0 defaults (lam-rl's deployment uses the "
    "defaults), e.g. RayCronJob=true,RayClusterMTLS=true. `lam-rl infra rules` lists them.",
)
def validate_cmd(
    files: tuple[str, ...],
    only: tuple[str, ...],
    root: str | None,
    tools_dir: str | None,
    no_policy: bool,
    gates: str | None,
) -> None:
    """Validate infra/: terraform fmt/validate/test, helm lint/template, every manifest (hand-written,
    rendered from every config for every phase, from the chart) as the API server (KubeRay CRDs,
    kubernetes-validate) and the KubeRay operator would, and checkov. With FILES, validate just those
    manifests; objects of kinds without a schema here (e.g. the Gateway API's) are listed as not
    checked, on stderr, and do not fail."""
    from jobs.config import SCHEMAS
    from lam_rl.deploy.checks import CHECKS, InfraCheck
    from lam_rl.deploy.manifests import ManifestValidator, read_manifests
    from lam_rl.deploy.tools import Tools

    tools = Tools.find(tools_dir)
    try:
        if files:
            report = ManifestValidator(tools=tools, gates=gates).check(
                read_manifests(Path(f) for f in files), policy=not no_policy
            )
            for p in report.problems:
                click.echo(str(p))
            for p in report.unchecked:
                click.echo(str(p), err=True)
            unchecked = f"; {len(report.unchecked)} object(s) not checked" if report.unchecked else ""
            click.echo(
                f"{len(report.problems)} problem(s) in {report.objects} object(s) in {len(files)} file(s)"
                f"{unchecked}",
                err=True,
            )
            sys.exit(1 if report.problems else 0)

        def show(r) -> None:
            status = "ok" if r.ok else f"FAILED ({len(r.problems)})"
            notes = f"  [{'; '.join(r.notes)}]" if r.notes else ""
            click.echo(f"{r.name:10s} {status:12s} {r.seconds:6.1f}s{notes}")
            for p in r.problems:
                click.echo("    " + p.replace("\n", "\n    "))

        if root is None:
            # this checkout, or the current folder when lam-rl is installed as a package
            here = Path(__file__).resolve().parents[2]
            root = str(here if (here / "infra").is_dir() else Path.cwd())
        results = InfraCheck(Path(root), tools, gates=gates, schemas=SCHEMAS).run(
            only or CHECKS, progress=show
        )
    except ConfigError as e:
        _fail(str(e))
    failed = [r.name for r in results if not r.ok]
    click.echo(f"infra check: {'FAILED: ' + ', '.join(failed) if failed else 'all passed'}")
    sys.exit(1 if failed else 0)


@infra.command("rules")
def rules_cmd() -> None:
    """List the KubeRay operator's rules that `validate` checks (v1.7.0), and its feature gates."""
    from lam_rl.deploy.kuberay import FEATURE_GATES, RULES

    for r in RULES.values():
        click.echo(f"{r.id:46s} {r.summary}")
    click.echo("")
    click.echo(
        "feature gates (v1.7.0 defaults): "
        + ", ".join(f"{k}={str(v).lower()}" for k, v in FEATURE_GATES.items())
    )
