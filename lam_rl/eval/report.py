"""The pipeline's report: ``<run dir>/report/report.md`` plus PNG plots and trajectory pages.

    from lam_rl.eval.report import write_report
    write_report("runs/tiny")                # what jobs.pipeline runs last; `lam-rl report RUN_DIR`

Inputs, all under the run directory:

- ``eval/results.json`` (``jobs.evaluate``): offline metrics (the paper's Table 3 shape) and online
  metrics (Table 4 shape, per task family) of LAM1..LAM4 and the expert. Required.
- ``metrics/<phase>.jsonl`` and ``metrics/<phase>.summary.json`` (the Tracker's local mirror):
  training curves and the data phases' totals. A phase without them is a "not run" row.
- the trajectory store (its URI from ``configs/*.yaml``, else ``<run dir>/store``): a few online
  evaluation trajectories (tagged ``eval-<model>``) are replayed in WordSim, shown as before/after
  screens and linked to their step-by-step pages (:mod:`lam_rl.eval.viewer`).

The report is built in a temporary folder and swapped in whole, so a crash never leaves a half-written
report. See docs/report.md for how to read it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.config import ConfigError
from lam_rl.eval import viewer
from lam_rl.eval.figures import ReportError, bars, before_after, training_plot

log = logging.getLogger(__name__)

MODELS = ("lam1", "lam2", "lam3", "lam4", "expert")
MODEL_NAMES = {"lam1": "LAM1", "lam2": "LAM2", "lam3": "LAM3", "lam4": "LAM4", "expert": "Expert"}

# (key, header, format) -- formats: pct (0..1 shown as %), s2/f2 (two decimals), f1, int
OFFLINE_METRICS = [
    ("object_acc", "Object acc.", "pct"),
    ("operation_acc", "Operation acc.", "pct"),
    ("status_acc", "Status acc.", "pct"),
    ("ssr", "Step success rate (SSR)", "pct"),
    ("tsr", "Task success rate (TSR)", "pct"),
    ("arg_acc", "Argument acc.", "pct"),
    ("tsr_args", "TSR with arguments", "pct"),
    ("invalid_rate", "Invalid answers", "pct"),
]
FAILURE_TITLES = {
    "wrong_control": "Wrong control",
    "wrong_argument": "Wrong argument",
    "wrong_status": "Wrong status",
    "invalid_answer": "Invalid answer",
    "step_limit": "Step limit",
    "infrastructure": "Infrastructure",
    "unclassified": "Unclassified",
}
ONLINE_METRICS = [
    ("tsr", "TSR", "pct"),
    ("completion_s", "Completion time (s)", "f2"),
    ("steps_per_task", "Steps / task", "f2"),
    ("step_latency_ms", "Step latency (ms)", "f1"),
    ("invalid_rate", "Invalid-action rate", "pct"),
    ("tasks", "Tasks", "int"),
    ("infra_failures", "Infra failures", "int"),
]

# Training phases: metrics file (Tracker name) -> (title, the curves to plot: first found are drawn).
TRAIN_PHASES = [
    ("sft-plan", "Phase 1: task-plan pretraining (LAM1)", ["train/loss", "eval/loss"]),
    ("sft-imitate", "Phase 2: learning from the expert (LAM2)", ["train/loss", "eval/loss"]),
    ("sft-boost", "Phase 3: self-boosting (LAM3)", ["train/loss", "eval/loss"]),
    ("reward", "Phase 4: reward model", ["train/loss", "eval/loss", "eval/auc"]),
    ("ppo-offline", "Phase 4: PPO (LAM4)", ["ppo/policy_loss", "ppo/value_loss", "ppo/reward_mean"]),
    ("ppo-online", "Phase 4: online PPO (LAM4)", ["ppo/policy_loss", "ppo/value_loss", "ppo/reward_mean"]),
]
# Data phases: metrics name -> (title, summary keys shown).
DATA_PHASES = [
    ("taskplan", "Phase 0a: task-plan corpus", [("records", "records"), ("parameters", "base model parameters")]),
    ("collect", "Phase 0b: expert trajectories", [("trajectories", "trajectories"), ("steps", "steps"),
                                                  ("success_rate", "expert success rate")]),
    ("explore", "Phase 3: LAM2 retries expert failures", [("attempts", "attempts"), ("successes", "successes"),
                                                          ("success_rate", "success rate")]),
]  # fmt: skip
NOT_RUN = "not run"


@dataclass
class Report:
    path: Path
    images: dict[str, Path] = field(default_factory=dict)
    trajectories: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, tuple[list[str], list[list[Any]]]] = field(default_factory=dict)


# ---------------------------------------------------------------------- inputs


def load_results(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise ReportError(
            f"run directory {run_dir} does not exist; give the directory a job wrote "
            f"(<run.root>/<run.name>, e.g. runs/tiny) or run the pipeline first: python -m jobs.pipeline config=tiny"
        )
    path = run_dir / "eval" / "results.json"
    if not path.exists():
        raise ReportError(
            f"no evaluation results at {path}: run the evaluation first, "
            f"python -m jobs.evaluate run.root={run_dir.parent} run.name={run_dir.name} "
            f"(with the config= the run used), or the whole pipeline (python -m jobs.pipeline)"
        )
    try:
        results = json.loads(path.read_text())
    except ValueError as e:
        raise ReportError(f"{path} is not valid JSON ({e}); re-run jobs.evaluate to rewrite it") from None
    if not isinstance(results, dict):
        raise ReportError(f"{path} does not hold an evaluation result object; re-run jobs.evaluate")
    return results


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a Tracker mirror, from the last run of the phase (a run restarting at step 0 after
    a later step starts over; a resumed run continues), the last value winning for a repeated step."""
    rows: list[dict[str, Any]] = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a crash
    start, top = 0, -1
    for i, r in enumerate(rows):
        step = int(r.get("_step", 0))
        if step == 0 and top > 0:
            start = i
            top = 0
        top = max(top, step)
    by_step: dict[int, dict[str, Any]] = {}
    for r in rows[start:]:
        by_step.setdefault(int(r.get("_step", 0)), {}).update(r)
    return [by_step[s] for s in sorted(by_step)]


def curve(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[int], list[float]]:
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            xs.append(int(r["_step"]))
            ys.append(float(v))
    return xs, ys


def _summary(run_dir: Path, name: str) -> dict[str, Any]:
    p = run_dir / "metrics" / f"{name}.summary.json"
    try:
        return json.loads(p.read_text()) if p.exists() else {}
    except ValueError:
        return {}


def fmt(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "pct":
        return f"{100 * float(value):.1f}%"
    if kind == "f2":
        return f"{float(value):.2f}"
    if kind == "f1":
        return f"{float(value):.1f}"
    if kind == "int":
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _models(results: Mapping[str, Any]) -> list[str]:
    """LAM1..LAM4 and the expert always (absent ones become "not run"), then any other model evaluated."""
    extra = {m for kind in ("offline", "online") for m in (results.get(kind) or {})} - set(MODELS)
    return [*MODELS, *sorted(extra)]


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(x: str) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------- sections


def _offline_section(results: Mapping[str, Any], out: Path, rep: Report) -> list[str]:
    off = results.get("offline")
    models = _models(results)
    lines = ["## Offline evaluation (the paper's Table 3 shape)", ""]
    if off is None:
        lines += [f"Offline evaluation: {NOT_RUN} (eval.offline=false).", ""]
        off = {}
    ref = results.get("reference") or {}
    lines += [
        f"Teacher-forced on {ref.get('tasks', '?')} held-out reference tasks ({ref.get('steps', '?')} steps). "
        "Object/operation/status accuracy and SSR are per step; TSR counts tasks with every step right.",
        "",
    ]
    header = ["Metric", *(MODEL_NAMES.get(m, m) for m in models)]
    rows = [
        [title, *(fmt(off[m].get(key), kind) if m in off else NOT_RUN for m in models)]
        for key, title, kind in OFFLINE_METRICS
    ]
    lines += [_md_table(header, rows), ""]
    rep.tables["report/offline"] = (header, rows)
    ran = [m for m in models if m in off]
    if ran:
        series = {
            MODEL_NAMES.get(m, m): [float(off[m].get(k) or 0) for k, _, _ in OFFLINE_METRICS[:5]] for m in ran
        }
        rep.images["offline"] = bars(
            out / "offline.png", "Offline metrics", [t.split(" (")[0] for _, t, _ in OFFLINE_METRICS[:5]],
            series, "%", pct=True,
        )  # fmt: skip
        lines += ["![Offline metrics](offline.png)", ""]
    return lines


def _failure_lines(on: Mapping[str, Any], ran: Sequence[str], rep: Report) -> list[str]:
    """Failed episodes per failure class and model (lam_rl/eval/online.py states the rule)."""
    have = [m for m in ran if on[m].get("failures")]
    if not have:
        return []
    header = ["Failure class", *(MODEL_NAMES.get(m, m) for m in have)]
    rows = [
        [title, *(fmt(on[m]["failures"].get(key, 0), "int") for m in have)]
        for key, title in FAILURE_TITLES.items()
    ]
    rep.tables["report/online_failures"] = (header, rows)
    return [
        "### Why episodes failed (online)",
        "",
        "Each failed episode's first departure from the task's reference steps (docs/report.md).",
        "",
        _md_table(header, rows),
        "",
    ]


def _online_section(results: Mapping[str, Any], out: Path, rep: Report) -> list[str]:
    on = results.get("online")
    models = _models(results)
    lines = ["## Online evaluation in WordSim VMs (the paper's Table 4 shape)", ""]
    if on is None:
        lines += [f"Online evaluation: {NOT_RUN} (eval.online=false).", ""]
        on = {}
    lines += [
        "Each model acts in VMs on the held-out tasks; success is the verifier's verdict. Completion "
        "time is per task, step latency is policy + VM time per step; infrastructure failures are "
        "counted apart and left out of the rates.",
        "",
    ]
    header = ["Model", *(t for _, t, _ in ONLINE_METRICS)]
    rows = [
        [
            MODEL_NAMES.get(m, m),
            *(fmt(on[m].get(k), kind) if m in on else NOT_RUN for k, _, kind in ONLINE_METRICS),
        ]
        for m in models
    ]
    lines += [_md_table(header, rows), ""]
    rep.tables["report/online"] = (header, rows)
    ran = [m for m in models if m in on]
    if ran:
        names = [MODEL_NAMES.get(m, m) for m in ran]
        rep.images["online"] = bars(
            out / "online.png", "Online task success rate", names,
            {"TSR": [float(on[m].get("tsr") or 0) for m in ran]}, "%", pct=True,
        )  # fmt: skip
        lines += ["![Online task success](online.png)", ""]
    lines += _failure_lines(on, ran, rep)
    fams = sorted({f for m in ran for f in (on[m].get("by_family") or {})})
    lines += ["### Success by task family (online)", ""]
    if not fams:
        lines += [f"Per-family success: {NOT_RUN}.", ""]
        return lines
    fheader = ["Family", *(MODEL_NAMES.get(m, m) for m in ran)]
    frows = []
    for f in fams:
        cells = []
        for m in ran:
            d = (on[m].get("by_family") or {}).get(f)
            cells.append(f"{fmt(d.get('tsr'), 'pct')} ({fmt(d.get('tasks'), 'int')})" if d else "-")
        frows.append([f, *cells])
    lines += ["TSR per family (tasks in parentheses).", "", _md_table(fheader, frows), ""]
    rep.tables["report/online_by_family"] = (fheader, frows)
    series = {
        MODEL_NAMES.get(m, m): [
            float(((on[m].get("by_family") or {}).get(f) or {}).get("tsr") or 0) for f in fams
        ]
        for m in ran
    }
    rep.images["family_success"] = bars(
        out / "family_success.png", "Online success by task family", fams, series, "TSR (%)", pct=True
    )
    lines += ["![Success by family](family_success.png)", ""]
    return lines


def _training_section(run_dir: Path, out: Path, rep: Report) -> list[str]:
    lines = ["## Training", ""]
    header = ["Phase", "Metrics file", "Steps", "First loss", "Last loss", "Last eval loss", "Other"]
    rows, curves = [], []
    for name, title, keys in TRAIN_PHASES:
        path = run_dir / "metrics" / f"{name}.jsonl"
        data = read_metrics(path)
        series = {k: curve(data, k) for k in keys}
        series = {k: v for k, v in series.items() if v[0]}
        if not series:
            if name != "ppo-online":  # online PPO is an option, not a pipeline stage: no row when absent
                rows.append([title, f"metrics/{name}.jsonl", NOT_RUN, "-", "-", "-", "-"])
            continue
        loss_key = keys[0]
        xs, ys = series.get(loss_key, ([], []))
        ex, ey = series.get("eval/loss", ([], []))
        other = ""
        if name.startswith("ppo"):
            rx, ry = series.get("ppo/reward_mean", ([], []))
            other = f"reward {ry[0]:.3f} -> {ry[-1]:.3f}" if ry else ""
        elif "eval/auc" in series:
            other = f"eval AUC {series['eval/auc'][1][-1]:.3f}"
        steps = max((max(v[0]) for v in series.values()), default=0)
        rows.append([
            title, f"metrics/{name}.jsonl", str(steps), fmt(ys[0] if ys else None, "g"),
            fmt(ys[-1] if ys else None, "g"), fmt(ey[-1] if ey else None, "g"), other or "-",
        ])  # fmt: skip
        curves.append((title, series))
    lines += [_md_table(header, rows), ""]
    rep.tables["report/training"] = (header, rows)
    if curves:
        rep.images["training_curves"] = training_plot(out / "training_curves.png", curves)
        lines += ["![Training curves](training_curves.png)", ""]
    lines += ["### Data phases", ""]
    drows = []
    for name, title, keys in DATA_PHASES:
        s = _summary(run_dir, name)
        if not s:
            drows.append([title, NOT_RUN])
            continue
        parts = [
            f"{label} {fmt(s.get(k), 'pct' if k == 'success_rate' else 'g')}" for k, label in keys if k in s
        ]
        drows.append([title, ", ".join(parts) or "ran"])
    lines += [_md_table(["Phase", "Totals"], drows), ""]
    rep.tables["report/data"] = (["Phase", "Totals"], drows)
    return lines


def _splits_section(results: Mapping[str, Any], rep: Report) -> list[str]:
    """Online task success per request wording (eval.splits): plain vs paraphrase, and the gap."""
    splits = results.get("online_splits") or {}
    lines = ["### Requests in other words: plain vs paraphrase split (online)", ""]
    if not splits:
        return [*lines, "Only one request wording was evaluated (eval.splits); no paraphrase gap.", ""]
    cols = [c for c in next(iter(splits.values())) if c != "gap"]
    header = ["Model", *(f"TSR {c}" for c in cols), "Gap (paraphrase - plain)"]
    rows = [
        [
            MODEL_NAMES.get(m, m),
            *(fmt(r.get(c), "pct") for c in cols),
            f"{100 * r['gap']:+.1f} pts" if r.get("gap") is not None else "-",
        ]
        for m, r in splits.items()
    ]
    rep.tables["report/online_splits"] = (header, rows)
    return [
        *lines,
        "The same held-out task instances; the paraphrase split rewords each request with rules and "
        "words training never uses (docs/report.md). A small gap: the model follows the request, "
        "not its template.",
        "",
        _md_table(header, rows),
        "",
    ]


def _paired_section(results: Mapping[str, Any], rep: Report) -> list[str]:
    """Paired comparisons on the same held-out tasks (lam_rl/eval/paired.py): per split, each phase
    against the one before and LAM4 against the expert, with McNemar's p and a bootstrap interval."""
    from lam_rl.eval.paired import HEADER, table_rows

    paired = results.get("paired") or {}
    lines = ["### Paired comparisons (online, same tasks)", ""]
    if not paired:
        return [
            *lines,
            f"Paired comparisons: {NOT_RUN} (no online evaluation, or results.json predates them).",
            "",
        ]
    rows = table_rows(paired, MODEL_NAMES)
    rep.tables["report/paired"] = (HEADER, rows)
    return [
        *lines,
        "B against A on the held-out tasks both played (infrastructure failures left out of both sides). "
        "b: tasks A solved and B did not; c: the reverse. p: the exact McNemar test on b and c; 95% CI: "
        "a paired bootstrap interval of B's task success minus A's. *better*/*worse* (B against A) when "
        "p < 0.05 (docs/report.md).",
        "",
        _md_table(HEADER, rows),
        "",
    ]


def pick_trajectories(store, online: Mapping[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """Up to ``n`` online evaluation trajectories with steps: a success and a failure of the best
    model first, then others from different models (deterministic)."""
    cands: list[tuple[str, dict[str, Any]]] = []
    order = sorted(
        online, key=lambda m: (-(online[m].get("tsr") or 0), MODELS.index(m) if m in MODELS else 9, m)
    )
    for m in order:
        tag = online[m].get("tag") or f"eval-{m}"
        try:
            if not store.has_tag(tag):
                continue
            outs = store.outcomes(
                tag=tag, columns=["traj_id", "success", "num_steps", "family"], allow_empty=True
            ).to_pylist()
        except ConfigError as e:
            log.warning("report: cannot read trajectories of tag %s: %s", tag, e)
            continue
        outs = sorted((o for o in outs if (o["num_steps"] or 0) > 0), key=lambda o: o["traj_id"])
        cands += [(m, o | {"model": m}) for o in outs]
    picked: list[dict[str, Any]] = []
    for want in (True, False):  # a success, then a failure
        hit = next((o for _, o in cands if bool(o["success"]) == want and o not in picked), None)
        if hit:
            picked.append(hit)
    models_seen = {o["model"] for o in picked}
    for m, o in cands:
        if len(picked) >= n:
            break
        if o not in picked and m not in models_seen:
            picked.append(o)
            models_seen.add(m)
    for _, o in cands:
        if len(picked) >= n:
            break
        if o not in picked:
            picked.append(o)
    return picked[:n]


def _trajectory_section(
    run_dir: Path, results: Mapping[str, Any], out: Path, rep: Report, n: int
) -> list[str]:
    from lam_rl.store import TrajectoryStore

    lines = ["## Rendered trajectories", ""]
    online = results.get("online") or {}
    if not online:
        return [*lines, f"No online evaluation trajectories ({NOT_RUN}).", ""]
    if n <= 0:
        return [*lines, "Not rendered (trajectories=0).", ""]
    uri, options = viewer.run_store(run_dir)
    try:
        store = TrajectoryStore(uri, options, create=False)
        picked = pick_trajectories(store, online, n)
    except ConfigError as e:
        return [*lines, f"Trajectories not available: {e}", ""]
    if not picked:
        return [*lines, f"No online evaluation trajectories with steps in the store at {uri}.", ""]
    lines += [
        "Replayed in WordSim from the recorded actions: the screen before the first step and after the "
        "last; each links to a page with every step's screen, controls, thought and action "
        f"(`lam-rl view TRAJ_ID --run-dir {run_dir}` writes the same page for any trajectory).",
        "",
    ]
    (out / "trajectories").mkdir(exist_ok=True)
    for k, o in enumerate(picked, 1):
        view = viewer.load_view(store, o["traj_id"])
        name = viewer.safe_name(o["traj_id"])
        page = f"trajectories/{name}.html"
        viewer.atomic_write(out / page, viewer.render_html(view))
        request = view.task.get("request") or (view.steps[0].get("request") if view.steps else "")
        verdict = "success" if view.outcome.get("success") else "failure"
        lines += [
            f"### {k}. {MODEL_NAMES.get(o['model'], o['model'])}: {verdict} ({o.get('family')}, "
            f"{view.outcome.get('num_steps')} steps)",
            "",
            f"Request: {request}  ",
            f"Verifier: {view.outcome.get('reason') or '-'}  ",
            f"Trajectory `{o['traj_id']}`: [step-by-step page]({page})",
            "",
        ]
        frames = [f for f in (view.replay.frames[0], view.replay.frames[-1]) if f is not None]
        if frames:
            img = f"trajectories/{name}.png"
            rep.images[f"trajectory_{k}"] = before_after(frames, out / img)
            lines += [f"[![before / after]({img})]({page})", ""]
        if view.replay.note:
            lines += [f"Note: {view.replay.note}.", ""]
        rep.trajectories.append({"traj_id": o["traj_id"], "model": o["model"], "page": page})
    return lines


# ---------------------------------------------------------------------- the report


def build_report(run_dir: Path, out: Path, trajectories: int = 3) -> Report:
    """Write the report's files into ``out`` (an empty folder); the caller moves it in place."""
    results = load_results(run_dir)
    rep = Report(out / "report.md")
    created = results.get("created_at")
    when = (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(created)) if isinstance(created, int | float) else "?"
    )
    models = results.get("models") or {}
    lines = [
        f"# lam-rl report: {run_dir.name}",
        "",
        f"Run directory `{run_dir}`; evaluation of {when}; report written "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "Checkpoints evaluated: "
        + (", ".join(f"{MODEL_NAMES.get(m, m)} v{d.get('version')} (`{d.get('path')}`)" for m, d in models.items()) or "none")
        + ". A model without a checkpoint shows as \"not run\".",
        "",
    ]  # fmt: skip
    lines += _offline_section(results, out, rep)
    lines += _online_section(results, out, rep)
    lines += _splits_section(results, rep)
    lines += _paired_section(results, rep)
    lines += _training_section(run_dir, out, rep)
    lines += _trajectory_section(run_dir, results, out, rep, trajectories)
    lines += [
        "---",
        f"Regenerate with `lam-rl report {run_dir}`; view any trajectory with "
        f"`lam-rl view TRAJ_ID --run-dir {run_dir}`. See docs/report.md.",
        "",
    ]
    rep.path.write_text("\n".join(lines))
    return rep


def _swap_in(tmp: Path, dest: Path) -> None:
    old = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def log_to_tracker(tracker, rep: Report) -> None:
    for key, (header, rows) in rep.tables.items():
        tracker.table(key, header, rows)
    for key, path in rep.images.items():
        tracker.image(f"report/{key}", path, caption=key.replace("_", " "))


def write_report(run_dir: str | os.PathLike, tracker=None, *, trajectories: int = 3) -> Path:
    """Write ``<run_dir>/report/`` (report.md, PNG plots, trajectory pages); return report.md's path.

    Raises :class:`ReportError` when the run directory or ``eval/results.json`` is missing. With a
    ``tracker`` (:class:`lam_rl.tracking.Tracker`) the tables and images also go to W&B.
    """
    run = Path(run_dir)
    load_results(run)  # fail before creating anything
    dest = run / "report"
    tmp = run / f".report-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        rep = build_report(run, tmp, trajectories)
        _swap_in(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final = Report(
        dest / "report.md",
        {k: dest / p.relative_to(tmp) for k, p in rep.images.items()},
        rep.trajectories,
        rep.tables,
    )
    if tracker is not None:
        log_to_tracker(tracker, final)
    log.info("report written to %s", final.path)
    return final.path
