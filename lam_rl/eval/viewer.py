"""A static, self-contained HTML page per trajectory: each step's screen, controls, thought, action.

    from lam_rl.eval.viewer import write_trajectory_html
    write_trajectory_html(TrajectoryStore("runs/tiny/store"), "eval:lam4@v6:bold_text-123", "traj.html")

Screens are not stored with trajectories: the page replays the recorded actions in an in-process
WordSim from the task spec kept in the outcome row (WordSim is deterministic), takes a screenshot
before every step and after the last, and checks each replayed observation against the recorded
one (canvas and control list). Where they differ (a trajectory recorded on a real Windows VM, or a
WordSim that changed since) the page says from which step on the screens are a reconstruction.
Images are embedded as base64 PNG, so the file can be mailed or attached to an issue as is.
"""

from __future__ import annotations

import base64
import difflib
import html
import io
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.config import ConfigError

# Outcome columns the page shows (the rest stay in the store).
OUTCOME_COLUMNS = [
    "traj_id",
    "task_id",
    "family",
    "app",
    "template",
    "split",
    "phase",
    "policy",
    "policy_version",
    "attempt",
    "success",
    "complete",
    "reason",
    "sub_scores",
    "failure_kind",
    "num_steps",
    "num_invalid",
    "duration_s",
    "task",
    "worker",
    "vm",
]


class ViewerError(ConfigError):
    """A trajectory that cannot be shown (unknown id, no store); the message says what to run."""


@dataclass
class Replay:
    """Screens of a trajectory replayed in WordSim: ``frames[i]`` is the screen the policy saw before
    step ``i`` (row order), ``frames[-1]`` the screen after the last step. ``None`` frames: no replay."""

    frames: list[bytes | None]
    diverged_at: int | None = None
    note: str = ""


@dataclass
class TrajectoryView:
    outcome: dict[str, Any]
    steps: list[dict[str, Any]]
    replay: Replay
    store_uri: str = ""
    task: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------- store access


def run_store(run_dir: str | os.PathLike) -> tuple[str, dict[str, str]]:
    """The store URI (and storage options) a run used: its saved job configs say, else ``<run>/store``."""
    from omegaconf import OmegaConf

    run = Path(run_dir)
    configs = sorted(
        (run / "configs").glob("*.yaml"), key=lambda p: (p.stem not in ("evaluate", "pipeline"), p)
    )
    for path in configs:
        try:
            store = OmegaConf.to_container(OmegaConf.load(path)).get("store") or {}
        except Exception:  # an unreadable config says nothing about the store
            continue
        if store.get("uri"):
            return str(store["uri"]), dict(store.get("storage_options") or {})
    return str(run / "store"), {}


def _ids_hint(uri: str) -> str:
    return (
        f"List trajectory ids with `lam-rl store show --store {uri} --table outcomes --limit 20` "
        f"(add --tag eval-lam4, --policy expert, --success/--failure ... to narrow it; "
        f"`lam-rl store tag --list --store {uri}` lists the tags)"
    )


def load_trajectory(store, traj_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The outcome row (``task`` and ``sub_scores`` decoded) and the step rows in order."""
    outs = store.outcomes(traj_id=[traj_id], columns=OUTCOME_COLUMNS, allow_empty=True).to_pylist()
    if not outs:
        known = store.outcomes(columns=["traj_id"], allow_empty=True).column("traj_id").to_pylist()
        close = difflib.get_close_matches(traj_id, known, n=3, cutoff=0.6)
        maybe = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ViewerError(
            f"no trajectory '{traj_id}' in the store at {store.uri} ({len(known)} trajectories there).{maybe} "
            + _ids_hint(store.uri)
        )
    outcome = outs[0]
    for key in ("task", "sub_scores"):
        try:
            outcome[key] = json.loads(outcome[key]) if outcome.get(key) else {}
        except (TypeError, ValueError):
            outcome[key] = {}
    steps = store.steps(traj_id=[traj_id], allow_empty=True).to_pylist()
    steps.sort(key=lambda r: r["step"])
    return outcome, steps


# ---------------------------------------------------------------------- replay


def applied(row: Mapping[str, Any]) -> bool:
    """Whether the episode runner sent this step's action to the VM (see lam_rl/agent/episode.py):
    valid output, a function, and a control that grounded."""
    return (
        bool(row.get("valid", True))
        and bool(row.get("function"))
        and not (row.get("error") or "").startswith("grounding:")
    )


def _matches(obs, row: Mapping[str, Any]) -> bool:
    if row.get("canvas") and obs.canvas != row["canvas"]:
        return False
    recorded = [c.get("text") for c in row.get("controls") or []]
    return not recorded or recorded == [c.text for c in obs.controls]


def replay_screens(task: Mapping[str, Any], steps: list[Mapping[str, Any]]) -> Replay:
    """Replay ``steps`` from ``task`` (a TaskSpec dict) in an in-process WordSim, screenshotting."""
    from lam_rl.env.agent import AgentError
    from lam_rl.env.protocol import Action, TaskSpec
    from lam_rl.env.wordsim import WordSim

    none: list[bytes | None] = [None] * (len(steps) + 1)
    if not task:
        return Replay(none, note="no task spec in the outcome row: screens cannot be replayed")
    try:
        spec = TaskSpec.model_validate(task)
        sim = WordSim("viewer", max_steps=0)
        obs = sim.reset(spec)
    except (AgentError, ValueError, KeyError) as e:
        return Replay(none, note=f"WordSim cannot set up this task ({e}): no screens")
    frames: list[bytes | None] = []
    diverged: int | None = None
    for i, row in enumerate(steps):
        if diverged is None and not _matches(obs, row):
            diverged = i
        frames.append(sim.screenshot())
        if applied(row):
            args = row.get("args")
            if isinstance(args, str):
                args = json.loads(args) if args else {}
            try:
                action = Action(
                    control_label=row.get("control_label"),
                    control_name=row.get("control_text"),
                    function=row["function"],
                    args=dict(args or {}),
                )
            except ValueError:
                diverged = i if diverged is None else diverged
                continue
            obs = sim.step(action).observation
    frames.append(sim.screenshot())
    note = ""
    if diverged is not None:
        note = (
            f"the WordSim replay differs from the recorded observation from step {diverged} on: "
            "screens from there are a reconstruction, not what the policy saw"
        )
    return Replay(frames, diverged, note)


def highlight(png: bytes, rect: Any, color: tuple[int, int, int] = (220, 30, 30)) -> bytes:
    """``png`` with a box drawn around ``rect`` (left, top, right, bottom): the control acted on."""
    from PIL import Image, ImageDraw

    if not rect or len(rect) != 4:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB")
    left, top, right, bottom = (int(v) for v in rect)
    ImageDraw.Draw(img).rectangle((left - 2, top - 2, right + 2, bottom + 2), outline=color, width=3)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def load_view(store, traj_id: str, *, screens: bool = True) -> TrajectoryView:
    outcome, steps = load_trajectory(store, traj_id)
    task = outcome.get("task") or {}
    if screens:
        replay = replay_screens(task, steps)
    else:
        replay = Replay([None] * (len(steps) + 1), note="screens not rendered")
    return TrajectoryView(outcome, steps, replay, store_uri=store.uri, task=task)


# ---------------------------------------------------------------------- HTML

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:20px;margin-bottom:4px} h2{font-size:16px;margin:0 0 8px}
.meta td{padding:2px 10px 2px 0;vertical-align:top} .meta td:first-child{color:#666}
.ok{color:#17692c;font-weight:600} .bad{color:#b3261e;font-weight:600}
.step{border:1px solid #ddd;border-radius:6px;padding:12px;margin:16px 0;display:flex;gap:16px}
.step.failed{border-color:#e3a5a0;background:#fff8f7}
.step img{width:720px;max-width:55vw;border:1px solid #ccc;flex:none}
.info{flex:1;min-width:0} .info dt{color:#666;font-size:12px;margin-top:6px} .info dd{margin:0}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;word-break:break-word;max-height:360px;overflow:auto}
table.controls{border-collapse:collapse;font-size:12px} table.controls td,table.controls th{border:1px solid #e2e2e2;padding:1px 6px}
tr.acted{background:#ffe9a8} .note{background:#fff4d6;border:1px solid #f0d68a;padding:8px;border-radius:4px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _img(png: bytes | None, alt: str) -> str:
    if png is None:
        return f'<div class="noimg">({_e(alt)}: no screen)</div>'
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _args(row: Mapping[str, Any]) -> dict[str, Any]:
    args = row.get("args")
    if isinstance(args, str):
        try:
            return json.loads(args) if args else {}
        except ValueError:
            return {"_raw": args}
    return dict(args or {})


def arg_labels(row: Mapping[str, Any]) -> dict[str, str]:
    """Argument -> the label the answer gave for it (``agent.arg_labels``; empty when literal)."""
    extra = row.get("extra")
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra else {}
        except ValueError:
            extra = {}
    labels = (extra or {}).get("arg_labels") if isinstance(extra, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def action_text(row: Mapping[str, Any]) -> str:
    """``click_input(button='left') on [37] Bold``, or what the policy did instead (plain text). An
    argument given as a label shows the text it resolved to and the label: ``text="Results" (@1)``."""
    if not row.get("valid", True):
        return "invalid output"
    if not row.get("function"):
        return "no action"
    labels = arg_labels(row)
    args = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False)}" + (f" ({labels[k]})" if k in labels else "")
        for k, v in _args(row).items()
    )
    target = ""
    if row.get("control_label") is not None or row.get("control_text"):
        label = row.get("control_label")
        target = f" on [{label if label is not None else '?'}] {row.get('control_text') or ''}".rstrip()
    return f"{row['function']}({args}){target}"


def _controls_table(row: Mapping[str, Any]) -> str:
    controls = row.get("controls") or []
    acted = row.get("control_label")
    lines = ["<table class=controls><tr><th>label</th><th>text</th><th>type</th><th>window</th></tr>"]
    for c in controls:
        cls = ' class="acted"' if acted is not None and c.get("label") == acted else ""
        lines.append(
            f"<tr{cls}><td>{_e(c.get('label'))}</td><td>{_e(c.get('text'))}</td>"
            f"<td>{_e(c.get('type'))}</td><td>{_e(c.get('window') or '')}</td></tr>"
        )
    lines.append("</table>")
    return f"<details><summary>Controls ({len(controls)})</summary>{''.join(lines)}</details>"


def _step_html(i: int, row: Mapping[str, Any], png: bytes | None) -> str:
    if png is not None and applied(row):
        rect = next(
            (c.get("rect") for c in row.get("controls") or [] if c.get("label") == row.get("control_label")),
            None,
        )
        png = highlight(png, rect)
    failed = not row.get("valid", True) or not row.get("ok", True)
    result = '<span class="ok">applied</span>' if applied(row) and row.get("ok", True) else ""
    if row.get("error"):
        result = f'<span class="bad">{_e(row["error"])}</span>'
    elif not applied(row):
        result = "not sent to the VM" if row.get("valid", True) else '<span class="bad">invalid output</span>'
    items = [
        ("Thought", _e(row.get("thought")) or "<i>none</i>"),
        ("Action", f"<code>{_e(action_text(row))}</code>"),
        ("Function / args / control", f"<code>{_e(row.get('function'))}</code> <code>{_e(json.dumps(_args(row), ensure_ascii=False))}</code> "
         f"<code>[{_e(row.get('control_label'))}] {_e(row.get('control_text'))}</code>"),
        ("Status", _e(row.get("status"))),
        ("Result", result),
        ("Latency", f"policy {float(row.get('latency_ms') or 0):.1f} ms, VM {float(row.get('step_ms') or 0):.1f} ms"),
    ]  # fmt: skip
    if row.get("reward") is not None:
        items.append(("Reward", _e(f"{row['reward']:.3f}")))
    if row.get("plan"):
        items.append(("Plan", "<br>".join(_e(p) for p in row["plan"])))
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items)
    extra = _controls_table(row)
    extra += f"<details><summary>Canvas</summary><pre>{_e(row.get('canvas'))}</pre></details>"
    if row.get("raw"):
        extra += f"<details><summary>Raw model output</summary><pre>{_e(row['raw'])}</pre></details>"
    alt = f"screen before step {row.get('step', i)}"
    return (
        f'<section class="step{" failed" if failed else ""}" id="step-{i}">{_img(png, alt)}'
        f'<div class="info"><h2>Step {_e(row.get("step", i))}: {_e(action_text(row))}</h2><dl>{dl}</dl>{extra}</div>'
        "</section>"
    )


def render_html(view: TrajectoryView) -> str:
    o, task = view.outcome, view.task
    verdict = '<span class="ok">success</span>' if o.get("success") else '<span class="bad">failure</span>'
    sub = ", ".join(f"{k}={v}" for k, v in (o.get("sub_scores") or {}).items())
    rows = [
        ("Request", _e(task.get("request") or (view.steps[0].get("request") if view.steps else ""))),
        ("Outcome", f"{verdict} (complete: {_e(o.get('complete'))})"),
        ("Verifier", _e(o.get("reason"))),
        ("Sub-scores", _e(sub) or "-"),
        ("Failure kind", _e(o.get("failure_kind")) or "-"),
        ("Task", f"{_e(o.get('task_id'))} (family {_e(o.get('family'))}, template {_e(o.get('template'))}, split {_e(o.get('split'))})"),
        ("Policy", f"{_e(o.get('policy'))} v{_e(o.get('policy_version'))}, phase {_e(o.get('phase'))}, attempt {_e(o.get('attempt'))}"),
        ("Steps", f"{_e(o.get('num_steps'))} ({_e(o.get('num_invalid'))} invalid) in {float(o.get('duration_s') or 0):.2f} s"),
        ("VM", f"{_e(o.get('vm'))} (worker {_e(o.get('worker'))})"),
        ("Store", _e(view.store_uri)),
    ]  # fmt: skip
    if task.get("plan"):
        rows.append(("Reference plan", "<br>".join(_e(p) for p in task["plan"])))
    meta = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
    note = f'<p class="note">{_e(view.replay.note)}</p>' if view.replay.note else ""
    frames = view.replay.frames
    steps = "".join(
        _step_html(i, r, frames[i] if i < len(frames) else None) for i, r in enumerate(view.steps)
    )
    if not view.steps:
        steps = "<p>This trajectory has no steps (the VM or the policy failed before the first one).</p>"
    final = frames[-1] if frames else None
    end = (
        f'<section class="step" id="final">{_img(final, "screen after the last step")}'
        f'<div class="info"><h2>After the last step: {verdict}</h2><p>{_e(o.get("reason"))}</p></div></section>'
    )
    title = f"Trajectory {o.get('traj_id')}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1><table class=meta>{meta}</table>{note}"
        f"{steps}{end}</body></html>\n"
    )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def write_trajectory_html(store, traj_id: str, out_path: str | os.PathLike) -> Path:
    """Write the page of ``traj_id`` (from ``store``, a TrajectoryStore) to ``out_path``; return it."""
    return atomic_write(out_path, render_html(load_view(store, traj_id)))


def safe_name(traj_id: str) -> str:
    """A file name for a trajectory id (ids hold ':' and '/')."""
    import hashlib

    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in traj_id).strip("._")[:120]
    return f"{keep or 'trajectory'}-{hashlib.sha1(traj_id.encode()).hexdigest()[:8]}"
