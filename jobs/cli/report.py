"""``lam-rl report`` and ``lam-rl view``: the run's report and one trajectory's page. No Ray, no torch.

    lam-rl report RUN_DIR                                    # rewrite RUN_DIR/report/report.md + plots
    lam-rl view TRAJ_ID [--run-dir DIR | --store URI] [--out FILE]

Errors (no run directory, no evaluation results, an unknown trajectory id) exit with status 2 and
say what to run; files are written through a temporary file and a rename, never half.
"""

from __future__ import annotations

import click

from jobs.cli import config_errors


@click.command("report")
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--trajectories", default=3, show_default=True, type=click.IntRange(0, 20),
    help="Online evaluation trajectories to render into the report.",
)  # fmt: skip
@config_errors
def report(run_dir: str, trajectories: int) -> None:
    """(Re)write RUN_DIR/report/report.md: evaluation tables, training curves, per-family success and
    rendered trajectories, from RUN_DIR/eval/results.json (jobs.evaluate) and RUN_DIR/metrics/."""
    from lam_rl.eval.report import write_report

    path = write_report(run_dir, trajectories=trajectories)
    click.echo(str(path))


@click.command("view")
@click.argument("traj_id")
@click.option(
    "--run-dir", "run_dir", type=click.Path(file_okay=False), help="A run directory: use its store."
)
@click.option(
    "--store", "uri", envvar="LAM_RL_STORE", metavar="URI",
    help="Store root (default: $LAM_RL_STORE, or the store of --run-dir).",
)  # fmt: skip
@click.option(
    "--out", "out", type=click.Path(dir_okay=False),
    help="HTML file to write (default: RUN_DIR/report/trajectories/<id>.html with --run-dir, else ./<id>.html).",
)  # fmt: skip
@config_errors
def view(traj_id: str, run_dir: str | None, uri: str | None, out: str | None) -> None:
    """Write a static HTML page for trajectory TRAJ_ID: each step's screen (replayed in WordSim),
    controls, thought and action, and the verifier's verdict. Prints the page's path."""
    from pathlib import Path

    from lam_rl.eval.viewer import ViewerError, run_store, safe_name, write_trajectory_html
    from lam_rl.store import TrajectoryStore

    options: dict[str, str] = {}
    if run_dir is not None and not Path(run_dir).is_dir():
        raise ViewerError(f"run directory {run_dir} does not exist")
    if uri is None:
        if run_dir is None:
            raise ViewerError(
                "which store? give --run-dir DIR (a run directory), --store URI, or set $LAM_RL_STORE"
            )
        uri, options = run_store(run_dir)
    store = TrajectoryStore(uri, options, create=False)
    if out is None:
        name = f"{safe_name(traj_id)}.html"
        out = str(Path(run_dir) / "report" / "trajectories" / name) if run_dir else name
    click.echo(str(write_trajectory_html(store, traj_id, out)))
