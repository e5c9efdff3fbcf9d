"""Synthetic, Word-shaped trajectories for the store's tests and benchmarks (``bench/store.py``).

Deterministic for a seed: the same ``(seed, index)`` always gives the same trajectory, so a test can
re-create exactly what a killed writer was sending.
"""

from __future__ import annotations

import random

from lam_rl.store.records import Outcome, StepRecord, Trajectory

FAMILIES = ("bold_text", "font_size", "insert_table", "add_comment", "page_border", "bullets")
CONTROL_NAMES = (
    "Home",
    "Insert",
    "Design",
    "Layout",
    "References",
    "Review",
    "View",
    "Bold",
    "Italic",
    "Underline",
    "Font Size",
    "Font",
    "Bullets",
    "Numbering",
    "Align Left",
    "Center",
    "Align Right",
    "Justify",
    "Table",
    "Page Borders",
    "New Comment",
    "Styles",
    "Find",
    "Replace",
    "Copy",
    "Paste",
    "Cut",
)
TYPES = ("Button", "TabItem", "ComboBox", "Edit", "MenuItem", "ListItem")
FUNCTIONS = ("click_input", "set_edit_text", "select_text", "keyboard_input", "insert_table")


def make_trajectory(
    index: int,
    *,
    seed: int = 0,
    steps: int | None = None,
    controls: int = 24,
    phase: str = "collect",
    policy: str = "expert",
    policy_version: int = 0,
    prefix: str = "syn",
) -> Trajectory:
    """Trajectory ``index`` of a synthetic run: 0-12 steps (``steps`` fixes it), ``controls`` controls a step."""
    rng = random.Random(seed * 1_000_003 + index)
    n = rng.randint(0, 12) if steps is None else steps
    family = FAMILIES[index % len(FAMILIES)]
    success = rng.random() < 0.6
    task_id = f"{family}-{seed}-{index % 97}"
    request = f"Apply {family.replace('_', ' ')} to the {rng.choice(['first', 'second', 'last'])} paragraph"
    outcome = Outcome(
        traj_id=f"{prefix}-{seed}-{index}",
        task_id=task_id,
        family=family,
        template=rng.choice(["blank", "table", "comments"]),
        split="eval" if index % 10 == 0 else "train",
        phase=phase,
        policy=policy,
        policy_version=policy_version,
        attempt=0,
        success=success,
        complete="yes" if success else "no",
        reason="the document matches the request" if success else "the text is not formatted",
        sub_scores={"format": 1.0 if success else 0.0},
        failure_kind=None if success else rng.choice(["step_limit", "invalid_action", "gave_up", "vm_error"]),
        duration_s=round(rng.uniform(1, 30), 2),
        task={"task_id": task_id, "family": family, "request": request, "params": {"i": index}},
        worker=f"worker-{index % 4}",
        vm=f"vm-{index % 6}",
    )
    ctrls = [
        {
            "label": i + 1,
            "text": CONTROL_NAMES[(i + index) % len(CONTROL_NAMES)],
            "type": TYPES[i % len(TYPES)],
            "rect": [10 * i, 20, 10 * i + 40, 60],
            "window": None,
        }
        for i in range(controls)
    ]
    plan = [f"{k + 1}. step {k + 1} of {family}" for k in range(3)]
    records = []
    for s in range(n):
        label = rng.randint(1, max(controls, 1))
        valid = rng.random() > 0.05
        records.append(
            StepRecord(
                step=s,
                request=request,
                controls=ctrls,
                canvas=f"Paragraph 1: Lorem ipsum dolor sit amet {index}. Paragraph 2: consectetur adipiscing {s}.",
                thought=f"Step {s}: I open the tab and apply {family}.",
                control_label=label if valid else None,
                control_text=ctrls[label - 1]["text"] if (valid and controls) else None,
                function=rng.choice(FUNCTIONS) if valid else "",
                args={"button": "left", "double": False} if valid else {},
                status="FINISH" if s == n - 1 else "CONTINUE",
                plan=plan[s % 3 :],
                ok=valid and rng.random() > 0.05,
                error=None if valid else "unparseable output",
                valid=valid,
                raw=None if policy == "expert" else '{"function": "click_input"}',
                latency_ms=round(rng.uniform(5, 50), 2),
                step_ms=round(rng.uniform(1, 20), 2),
            )
        )
    return Trajectory(outcome, records)
