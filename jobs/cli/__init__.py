"""The ``lam-rl`` command line. Subcommands import what they need only when they run, so
``lam-rl env serve`` and ``lam-rl store stats`` start without Ray or torch."""

from __future__ import annotations

import importlib

import click

import jobs as _jobs

# name -> "module:attribute" of a click command or group, loaded on first use.
SUBCOMMANDS: dict[str, str] = {
    "act": "jobs.cli.act:act",
    "config": "jobs.cli:config_cmd",
    "env": "jobs.cli.env:env",
    "infra": "jobs.cli.infra:infra",
    "report": "jobs.cli.report:report",
    "store": "jobs.cli.store:store",
    "view": "jobs.cli.report:view",
}


class UsageError(click.ClickException):
    """Bad input named by a ``ConfigError``: the message, exit status 2, nothing half-written."""

    exit_code = 2


def config_errors(fn):
    """Turn a ``ConfigError`` raised by a subcommand into :class:`UsageError` (exit 2)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from lam_rl.config import ConfigError

        try:
            return fn(*args, **kwargs)
        except ConfigError as e:
            raise UsageError(str(e)) from None

    return wrapper


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lam-rl", prog_name="lam-rl")
def main() -> None:
    """lam-rl: train Large Action Models on Windows apps with Ray, DeepSpeed and W&B."""
    from lam_rl.logs import setup_logging

    setup_logging("INFO")


# job name -> "module:Class" of its config, for every job module (jobs/ is one package with the CLI)
JOBS: dict[str, str] = _jobs.JOBS


@click.command("config")
@click.argument("job", type=click.Choice(sorted(JOBS)))
@click.argument("overrides", nargs=-1)
@click.option(
    "--configs-dir",
    default=None,
    help="A folder of config YAML files for config=NAME (default: the configs packaged with lam-rl).",
)
@config_errors
def config_cmd(job: str, overrides: tuple[str, ...], configs_dir: str | None) -> None:
    """Print JOB's resolved config (YAML + OVERRIDES such as config=tiny model.hidden=64)."""
    from pathlib import Path

    from lam_rl.config import load_config, to_yaml

    module, attr = JOBS[job].split(":")
    schema = getattr(importlib.import_module(module), attr)
    cfg = load_config(schema, overrides, configs_dir=Path(configs_dir) if configs_dir else _jobs.CONFIGS_DIR)
    click.echo(to_yaml(cfg))
