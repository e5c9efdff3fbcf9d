"""``lam-rl store``: inspect, import, export and tag the trajectory store. Needs neither Ray nor torch.

    lam-rl store ls     --store URI
    lam-rl store show   --store URI [--table steps|outcomes|taskplans] [--tag T] [filters] [--limit N]
    lam-rl store stats  --store URI [--tag T] [filters] [--json]
    lam-rl store import --format ufo-dataflow|gui360 PATH --store URI [--phase P --policy NAME ...]
    lam-rl store export --store URI --table steps OUT.parquet|OUT.jsonl [--tag T] [filters]
    lam-rl store tag    NAME --store URI [filters] [--replace] [--note TEXT] | --delete | --list
    lam-rl store compact --store URI

``--store`` defaults to ``$LAM_RL_STORE``. Errors in what you asked for exit with status 2 and a
message that says what to run or change; so does a store that is missing, damaged or not a store at
all (one line, no traceback). Only ``import`` ever creates a store, and only once it has a
well-formed record to write.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from jobs.cli import UsageError, config_errors


def _open(uri: str, create: bool = False):
    from lam_rl.store import TrajectoryStore

    return TrajectoryStore(uri, create=create)


def storage_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Any Lance or file-system error the store did not already name becomes one line, exit 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from lam_rl.store.errors import corrupt, is_query_error, is_storage_error, query_error

        try:
            return fn(*args, **kwargs)
        except (OSError, ValueError, RuntimeError) as e:
            if is_query_error(e):
                raise query_error(e) from None
            if is_storage_error(e):
                raise corrupt(kwargs.get("uri", "?"), e) from None
            raise

    return wrapper


store_option = click.option(
    "--store", "uri", envvar="LAM_RL_STORE", required=True, metavar="URI",
    help="Store root: a local path or s3://, az://, gs:// URI (default: $LAM_RL_STORE).",
)  # fmt: skip


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Selection options shared by show/stats/export/tag."""
    opts = [
        click.option("--phase", multiple=True, help="Phase(s), e.g. collect, explore (repeatable)."),
        click.option("--policy", multiple=True, help="Policy name(s), e.g. expert, lam2 (repeatable)."),
        click.option(
            "--policy-version", "policy_version", type=int, multiple=True, help="Policy version(s)."
        ),
        click.option("--family", multiple=True, help="Task family(ies) (repeatable)."),
        click.option("--split", type=click.Choice(["train", "eval"]), help="Task split."),
        click.option(
            "--success/--failure", "success", default=None, help="Only successful / failed trajectories."
        ),
        click.option("--traj", "traj_id", multiple=True, help="Trajectory id(s)."),
        click.option("--task", "task_id", multiple=True, help="Task id(s)."),
        click.option(
            "--source", multiple=True, help="Task-plan source(s) (taskplans and task-plan tags only)."
        ),
    ]
    for o in reversed(opts):
        fn = o(fn)
    return fn


def _filters(kw: dict[str, Any], *, table: str) -> dict[str, Any]:
    from lam_rl.store import filters as F

    out = {}
    for key in (
        "phase",
        "policy",
        "policy_version",
        "family",
        "split",
        "success",
        "traj_id",
        "task_id",
        "source",
    ):
        v = kw.pop(key, None)
        if v is None or v == ():
            continue
        out[key] = list(v) if isinstance(v, tuple) else v
    allowed = F.KEYS.get(table, F.TRAJ_KEYS + F.TASKPLAN_KEYS)
    bad = [k for k in out if k not in allowed]
    if bad:
        raise UsageError(f"--{bad[0].replace('_', '-')} does not apply to {table}")
    return out


def _console():
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def _cell(v: Any, width: int = 60) -> str:
    if isinstance(v, list):
        v = json.dumps(v, default=str)
    s = "" if v is None else str(v)
    return s if len(s) <= width else s[: width - 1] + "…"


@click.group("store")
def store() -> None:
    """Inspect, import, export and tag the trajectory store (Lance datasets under one URI)."""


@store.command("ls")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_errors
@storage_errors
def ls_cmd(uri: str, as_json: bool) -> None:
    """Tables (version, rows, fragments) and tags of the store."""
    info = _open(uri).info()
    if as_json:
        click.echo(json.dumps(info, default=str, indent=2))
        return
    from rich.table import Table

    con = _console()
    t = Table(title=f"store {info['uri']} (schema v{info['schema_version']})")
    for c in ("table", "version", "rows", "fragments"):
        t.add_column(c, justify="left" if c == "table" else "right")
    for name, d in info["tables"].items():
        t.add_row(name, str(d["version"]), str(d["rows"]), str(d["fragments"]))
    con.print(t)
    tags = Table(title="tags")
    for c in ("tag", "trajectories", "steps", "taskplans", "selection", "created"):
        tags.add_column(c)
    for tag in info["tags"]:
        c = tag["counts"]
        sel = ", ".join(f"{k}={v}" for k, v in tag["selection"].items()) or "everything"
        tags.add_row(
            tag["name"],
            str(c.get("trajectories", 0)),
            str(c.get("steps", 0)),
            str(c.get("taskplans", 0)),
            sel,
            str(tag["created_at"] or "")[:19],
        )
    con.print(
        tags if info["tags"] else "no tags yet (create one with `lam-rl store tag NAME --store URI ...`)"
    )


DEFAULT_COLUMNS = {
    "steps": ["traj_id", "step", "phase", "policy", "function", "control_text", "args", "status", "ok", "valid",
              "reward"],
    "outcomes": ["traj_id", "task_id", "family", "phase", "policy", "policy_version", "success", "complete",
                 "failure_kind", "num_steps"],
    "taskplans": ["task_id", "app", "family", "source", "task", "plan", "split"],
}  # fmt: skip


@store.command("show")
@store_option
@click.option(
    "--table", type=click.Choice(["steps", "outcomes", "taskplans"]), default="outcomes", show_default=True
)
@click.option("--tag", help="Read a tag's pinned data.")
@click.option("--columns", help="Comma-separated columns (default: a readable subset).")
@click.option("--where", help="Raw Lance SQL predicate on the table's columns.")
@click.option("--limit", type=int, default=20, show_default=True, help="Rows to print.")
@click.option("--json", "as_json", is_flag=True, help="Print rows as JSON lines.")
@filter_options
@config_errors
@storage_errors
def show_cmd(
    uri: str,
    table: str,
    tag: str | None,
    columns: str | None,
    where: str | None,
    limit: int,
    as_json: bool,
    **kw: Any,
) -> None:
    """Print rows of a table (a readable table, or JSON lines with --json)."""
    filters = _filters(kw, table=table)
    cols = [c.strip() for c in columns.split(",")] if columns else DEFAULT_COLUMNS[table]
    s = _open(uri)
    rows: list[dict[str, Any]] = []
    for b in s.iter_batches(table, columns=cols, tag=tag, where=where, allow_empty=True, **filters):
        rows.extend(b.to_pylist()[: limit - len(rows)])
        if len(rows) >= limit:
            break
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, default=str))
        return
    from rich.table import Table

    t = Table(title=f"{table} ({len(rows)} shown)")
    for c in cols:
        t.add_column(c, overflow="ellipsis", no_wrap=True, max_width=60)
    for r in rows:
        t.add_row(*[_cell(r[c]) for c in cols])
    _console().print(t if rows else f"no {table} match")


@store.command("stats")
@store_option
@click.option("--tag", help="Statistics of a tag's pinned selection.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (top-level 'trajectories' and 'steps').")
@filter_options
@config_errors
@storage_errors
def stats_cmd(uri: str, tag: str | None, as_json: bool, **kw: Any) -> None:
    """Counts by phase/success/family/policy/split, and the step-length distribution."""
    st = _open(uri).stats(tag=tag, **_filters(kw, table="any"))
    if as_json:
        click.echo(json.dumps(st, default=str))
        return
    from rich.table import Table

    con = _console()
    con.print(f"[bold]{st['uri']}[/bold]{' tag ' + tag if tag else ''}: {st['trajectories']} trajectories, "
              f"{st['steps']} steps, success rate {st['success_rate']:.1%}, {st['invalid_steps']} invalid steps, "
              f"{st['taskplans']} task plans")  # fmt: skip
    for key in ("by_phase", "by_policy", "by_family", "by_success", "by_split", "by_failure_kind"):
        if not st[key]:
            continue
        t = Table(title=key.replace("_", " "))
        for c in (key[3:], "trajectories", "steps", "successes", "success rate"):
            t.add_column(c, justify="left" if c == key[3:] else "right")
        for name, d in st[key].items():
            t.add_row(
                name, str(d["trajectories"]), str(d["steps"]), str(d["successes"]), f"{d['success_rate']:.1%}"
            )
        con.print(t)
    sl = st["step_lengths"]
    con.print(f"steps per trajectory: min {sl['min']}, median {sl['median']}, mean {sl['mean']}, "
              f"p90 {sl['p90']}, max {sl['max']}")  # fmt: skip
    if sl["histogram"]:
        top = max(sl["histogram"].values())
        for n, c in sorted(sl["histogram"].items(), key=lambda kv: int(kv[0])):
            con.print(f"  {int(n):>3} | {'#' * max(1, round(40 * c / top))} {c}")


@store.command("import")
@click.option(
    "--format", "fmt", type=click.Choice(["ufo-dataflow", "gui360"]), required=True, help="Input format."
)
@click.argument("path", type=click.Path(exists=True))
@store_option
@click.option("--phase", default="collect", show_default=True, help="Phase recorded on the trajectories.")
@click.option("--policy", default=None, help="Policy name recorded (default: the format name).")
@click.option("--policy-version", type=int, default=0, show_default=True, help="Policy version recorded.")
@click.option("--family", default="", help="Task family recorded (the formats have none).")
@click.option("--split", type=click.Choice(["train", "eval"]), default="train", show_default=True)
@click.option("--strict", is_flag=True, help="Abort without writing anything if any record is malformed.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@config_errors
@storage_errors
def import_cmd(
    fmt: str,
    path: str,
    uri: str,
    phase: str,
    policy: str | None,
    policy_version: int,
    family: str,
    split: str,
    strict: bool,
    as_json: bool,
) -> None:
    """Import UFO dataflow results (a folder of JSON) or GUI-360 step JSONL into the store."""
    from lam_rl.store.importers import import_path

    report = import_path(
        _open(uri, create=True),  # opening creates nothing: the first well-formed record does
        fmt,
        path,
        phase=phase,
        policy=policy,
        policy_version=policy_version,
        family=family,
        split=split,
        strict=strict,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(f"imported {report.trajectories} trajectories ({report.steps} steps) and {report.taskplans} "
                   f"task plans from {report.files} file(s); {report.duplicates} already present")  # fmt: skip
    for issue in report.issues:
        click.echo(f"skipped malformed record: {issue}", err=True)
    if report.issues:
        click.echo(
            f"{len(report.issues)} malformed record(s) skipped (use --strict to import nothing instead)",
            err=True,
        )


@store.command("export")
@store_option
@click.argument("out", type=click.Path(dir_okay=False))
@click.option(
    "--table",
    type=click.Choice(["steps", "outcomes", "taskplans", "trajectories"]),
    default="steps",
    show_default=True,
    help="What to export (trajectories: nested JSONL, one line per trajectory).",
)
@click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl"]), help="Default: from OUT's suffix.")
@click.option("--tag", help="Export a tag's pinned selection.")
@click.option("--columns", help="Comma-separated columns.")
@click.option("--where", help="Raw Lance SQL predicate.")
@filter_options
@config_errors
@storage_errors
def export_cmd(
    uri: str,
    out: str,
    table: str,
    fmt: str | None,
    tag: str | None,
    columns: str | None,
    where: str | None,
    **kw: Any,
) -> None:
    """Export a table (filtered) to Parquet or JSONL."""
    from lam_rl.store.export import export

    cols = [c.strip() for c in columns.split(",")] if columns else None
    base = "outcomes" if table == "trajectories" else table
    res = export(
        _open(uri), out, table=table, fmt=fmt, columns=cols, tag=tag, where=where, **_filters(kw, table=base)
    )
    click.echo(f"wrote {res.rows} {table} rows to {res.path} ({res.format})")


@store.command("tag")
@click.argument("name", required=False)
@store_option
@click.option("--list", "list_", is_flag=True, help="List the tags.")
@click.option("--delete", is_flag=True, help="Delete tag NAME (the data stays).")
@click.option("--replace", is_flag=True, help="Move an existing tag to the current data.")
@click.option("--note", default="", help="A note stored with the tag.")
@click.option("--reward-model", help="Reads of this tag fill 'reward' from this reward model.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@filter_options
@config_errors
@storage_errors
def tag_cmd(
    name: str | None,
    uri: str,
    list_: bool,
    delete: bool,
    replace: bool,
    note: str,
    reward_model: str | None,
    as_json: bool,
    **kw: Any,
) -> None:
    """Tag the current data (plus a selection) as NAME, e.g. collect-expert --phase collect --policy expert."""
    s = _open(uri)
    if list_:
        tags = [t.to_dict() for t in s.tags()]
        click.echo(json.dumps(tags, default=str, indent=2) if as_json else "\n".join(t["name"] for t in tags))
        return
    if not name:
        raise UsageError("give a tag NAME (or --list)")
    if delete:
        s.delete_tag(name)
        click.echo(f"deleted tag {name}")
        return
    info = s.tag(name, replace=replace, note=note, reward_model=reward_model, **_filters(kw, table="tag"))
    if as_json:
        click.echo(json.dumps(info.to_dict(), default=str))
    else:
        c = info.counts
        click.echo(f"tagged {name}: {c['trajectories']} trajectories, {c['steps']} steps, {c['taskplans']} task plans "
                   f"at versions {info.versions}")  # fmt: skip


@store.command("compact")
@store_option
@click.option(
    "--grace-s",
    type=float,
    default=3600.0,
    show_default=True,
    help="Only delete invisible rows older than this (a live writer may be between its two commits).",
)
@config_errors
@storage_errors
def compact_cmd(uri: str, grace_s: float) -> None:
    """Delete invisible rows (crashed or losing writes) and merge small fragments."""
    click.echo(json.dumps(_open(uri).compact(grace_s=grace_s), default=str))
