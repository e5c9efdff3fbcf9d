"""Online evaluation metrics (docs/paper.md, "Metrics"; the paper's Table 4) from the trajectories a policy produced in VMs.

Task success rate by the verifier, completion time and steps per task, average step latency
(policy + VM time per step), invalid-action rate; overall and per task family. Infrastructure
failures (a VM that died, a policy server that did not answer) are reported apart and left out of
the rates: they say nothing about the policy.

Every failed episode gets one failure class (``failure_class``), by this rule: the model's steps
are walked beside the task's reference steps (the noiseless expert's path), a click on a ribbon tab
that is not the reference's next step and a repeat of the step just matched passing as navigation,
and the first departure names the class:

- ``invalid_answer``: an answer that did not parse, or named an argument label that is no candidate
  (also an episode ended by ``invalid_action``);
- ``wrong_status``: FINISH before the reference's last step (too early), or an action after the
  reference's last step instead of FINISH (never);
- ``wrong_control``: another control or function than the reference step's, or the reference's
  step refused because its control was not on screen (a tab or dialog missed on the way);
- ``wrong_argument``: the reference's control and function with other arguments
  (``offline.args_match``: labels resolved, text and measures normalised);
- ``step_limit``: the step limit came while the model was still on the reference path;
- ``infrastructure``: the VM or the policy server failed (not the model's; left out of the rates);
- ``unclassified``: no departure found (e.g. no reference: a task of no known family).
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lam_rl.eval.offline import args_match

log = logging.getLogger(__name__)

INFRA_FAILURES = {"vm_error", "timeout", "policy_error"}
FAILURE_CLASSES = (
    "wrong_control",
    "wrong_argument",
    "wrong_status",
    "invalid_answer",
    "step_limit",
    "infrastructure",
    "unclassified",
)
STEP_COLUMNS = (
    "traj_id",
    "step",
    "latency_ms",
    "step_ms",
    "valid",
    "control_text",
    "function",
    "args",
    "status",
)
"""The step columns ``online_report`` reads (the failure classes need the actions)."""


def _args(v: Any) -> dict[str, Any]:
    if isinstance(v, dict):
        return v
    try:
        out = json.loads(v) if isinstance(v, str) and v else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def reference_of(task: Any) -> list | None:
    """The reference steps (Decisions) of an outcome's task (a TaskSpec, its dict or JSON), or None."""
    from lam_rl.env.protocol import TaskSpec
    from lam_rl.env.tasks import reference_actions

    try:
        spec = (
            task
            if isinstance(task, TaskSpec)
            else TaskSpec.model_validate(json.loads(task) if isinstance(task, str) else task)
        )
        return reference_actions(spec)
    except Exception:  # noqa: BLE001 - a task of no known family (real Windows tasks): no reference
        log.debug("no reference actions for a task", exc_info=True)
        return None


def failure_class(
    outcome: dict[str, Any], steps: Sequence[dict[str, Any]], reference: list | None
) -> str | None:
    """The class of a failed episode (module docstring); None for a success."""
    if outcome.get("success"):
        return None
    kind = outcome.get("failure_kind")
    if kind in INFRA_FAILURES:
        return "infrastructure"
    rows = sorted(steps, key=lambda r: int(r.get("step") or 0))
    if reference is None:
        return "invalid_answer" if kind == "invalid_action" else "unclassified"
    j = 0
    last: tuple | None = None  # the last step that matched the reference
    for row in rows:
        if row.get("valid") is False:
            return "invalid_answer"
        fn = row.get("function") or ""
        if j >= len(reference):
            return "wrong_status"  # the reference is done and the model acts on instead of FINISH
        if not fn:
            return "wrong_status"  # a bare FINISH before the reference's last step
        ref = reference[j]
        same_control = (row.get("control_text") or "").strip().lower() == (
            ref.control_name or ""
        ).strip().lower()
        key = (
            (row.get("control_text") or "").strip().lower(),
            fn,
            json.dumps(_args(row.get("args")), sort_keys=True),
        )
        if key == last and row.get("status") != "FINISH":
            continue  # the step just matched, repeated (selecting the same text again)
        if fn == "click_input" and ref.control_type != "TabItem" and not same_control and _is_tab(row):
            continue  # navigation: a tab click changes no document
        if not same_control or fn != ref.function:
            return "wrong_control"
        if not args_match(fn, _args(row.get("args")), ref.args):
            return "wrong_argument"
        if row.get("ok") is False:
            return "wrong_control"  # the reference's step, refused: its control was not on screen
        last = key
        j += 1
        if row.get("status") == "FINISH" and j < len(reference):
            return "wrong_status"
    if kind == "invalid_action":
        return "invalid_answer"
    if j < len(reference):
        return "step_limit" if kind == "step_limit" else "wrong_status"
    return "unclassified"


def _is_tab(row: dict[str, Any]) -> bool:
    """A click on a ribbon tab (by the step's controls when the row has them, else by Word's tab names)."""
    from lam_rl.env.tasks import TAB_ORDER

    name = row.get("control_text")
    for c in row.get("controls") or []:
        if isinstance(c, dict) and c.get("text") == name:
            return c.get("type") == "TabItem"
    return name in TAB_ORDER


@dataclass
class OnlineReport:
    tasks: int = 0
    infra_failures: int = 0
    tsr: float = 0.0
    completion_s: float = 0.0
    steps_per_task: float = 0.0
    step_latency_ms: float = 0.0
    invalid_rate: float = 0.0
    by_family: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    """Failed episodes per failure class (every class, zeros included; infrastructure too)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def failure_counts(outcomes: Sequence[dict[str, Any]], steps: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Failed episodes per class; an outcome's reference comes from its ``task`` column when given."""
    by_traj: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in steps:
        by_traj[s["traj_id"]].append(s)
    counts = dict.fromkeys(FAILURE_CLASSES, 0)
    for o in outcomes:
        if o.get("success"):
            continue
        ref = reference_of(o["task"]) if o.get("task") else None
        counts[failure_class(o, by_traj.get(o["traj_id"], []), ref) or "unclassified"] += 1
    return counts


def online_report(outcomes: Iterable[dict[str, Any]], steps: Iterable[dict[str, Any]]) -> OnlineReport:
    """``outcomes``: rows with success, family, num_steps, num_invalid, duration_s, failure_kind
    (and ``task``, the task spec, for the failure classes); ``steps``: rows with traj_id,
    latency_ms, step_ms (and the ``STEP_COLUMNS`` actions, for the failure classes)."""
    outs = list(outcomes)
    steps = list(steps)
    real = [o for o in outs if o.get("failure_kind") not in INFRA_FAILURES]
    rep = OnlineReport(tasks=len(real), infra_failures=len(outs) - len(real))
    rep.failures = failure_counts(outs, steps)
    if not real:
        return rep
    keep = {o["traj_id"] for o in real}
    lat = [
        float(s.get("latency_ms") or 0) + float(s.get("step_ms") or 0) for s in steps if s["traj_id"] in keep
    ]
    n_steps = sum(int(o["num_steps"]) for o in real)
    rep.tsr = sum(bool(o["success"]) for o in real) / len(real)
    rep.completion_s = sum(float(o["duration_s"]) for o in real) / len(real)
    rep.steps_per_task = n_steps / len(real)
    rep.step_latency_ms = sum(lat) / len(lat) if lat else 0.0
    rep.invalid_rate = sum(int(o["num_invalid"]) for o in real) / max(n_steps, 1)
    fams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in real:
        fams[o["family"]].append(o)
    rep.by_family = {
        f: {
            "tasks": float(len(g)),
            "tsr": sum(bool(o["success"]) for o in g) / len(g),
            "steps_per_task": sum(int(o["num_steps"]) for o in g) / len(g),
        }
        for f, g in sorted(fams.items())
    }
    return rep
