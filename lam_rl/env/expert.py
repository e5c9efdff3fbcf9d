"""The scripted expert: the stand-in for GPT-4o in phase 0b (task-action data).

It follows the task's reference actions but acts from the observation alone, as UFO's executor
does: each step's control is found in the live control list by its text (and type), preferring the
open dialog or menu, and the decision carries that control's current label. A seeded error model
makes it fail like a strong but fallible agent:

- near miss: clicks/edits the control next to the right one (Italic for Bold, Spacing Before for
  Spacing After, the neighbouring colour or tab);
- skipped step: leaves a step out (e.g. forgets to open the tab);
- wrong argument: a partial selection, a number off by one, a typo;
- premature FINISH: says FINISH one or more steps too early;
- give up: stops midway with a bare FINISH.

With ``ExpertConfig.noise`` off it solves every task; with the default rates about 60-70% of the
suite (docs/benchmarks.md). Decisions are deterministic in (seed, task).
"""

from __future__ import annotations

import random
import re

from lam_rl.env.config import ExpertConfig
from lam_rl.env.protocol import Control, Decision, Observation, TaskSpec

NEAR = {
    "Bold": "Italic",
    "Italic": "Underline",
    "Underline": "Italic",
    "Strikethrough": "Subscript",
    "Subscript": "Superscript",
    "Superscript": "Subscript",
    "Align Left": "Center",
    "Center": "Align Right",
    "Align Right": "Justify",
    "Justify": "Align Right",
    "Bullets": "Numbering",
    "Numbering": "Bullets",
    "Increase Indent": "Decrease Indent",
    "Increase Font Size": "Decrease Font Size",
    "Heading 1": "Heading 2",
    "Heading 2": "Heading 1",
    "Heading 3": "Heading 2",
    "Title": "Subtitle",
    "Replace All": "Replace",
    "Insert Below": "Insert Above",
    "Insert Right": "Insert Left",
    "Insert Footnote": "Insert Endnote",
    "Shape Fill": "Shape Outline",
    "Shape Outline": "Shape Fill",
    "Header": "Footer",
    "Footer": "Header",
    "Accept": "Reject",
    "Reject": "Accept",
    "Spacing After": "Spacing Before",
    "After": "Before",
    "Left": "Top",
    "Landscape": "Portrait",
    "Portrait": "Landscape",
}
GIVE_UP = "I cannot find how to finish this"
DONE = "The task is done"


def _words(text: str, n: int) -> str:
    return " ".join(text.split()[:n])


def find_control(obs: Observation, name: str | None, ctype: str | None) -> Control | None:
    """The control a step means: exact text (then case-insensitive), the type when given, the
    open dialog's or menu's control first (they sit on top of the window)."""
    if not name:
        return None
    cands = [c for c in obs.controls if c.text == name]
    if not cands:
        low = name.lower()
        cands = [c for c in obs.controls if c.text.lower() == low]
    if ctype:
        typed = [c for c in cands if c.type == ctype]
        cands = typed or cands
    if len(cands) > 1:
        on_top = [c for c in cands if c.window is not None and (obs.dialog is None or c.window == obs.dialog)]
        cands = on_top or cands
    return cands[0] if cands else None


class ExpertPolicy:
    """``reset(task)`` then ``act(obs)`` once per step; a FINISH ends the episode."""

    def __init__(self, cfg: ExpertConfig | None = None, seed: int = 0) -> None:
        self.cfg = cfg or ExpertConfig()
        self.seed = seed
        self.task: TaskSpec | None = None
        self.steps: list[Decision] = []
        self.i = 0
        self.done = False
        self.errors: list[str] = []  # what went wrong this episode (for analysis)

    def reset(self, task: TaskSpec) -> None:
        from lam_rl.env.tasks import reference_actions

        self.task = task
        self.steps = reference_actions(task)
        self.i = 0
        self.done = False
        self.errors = []
        self.rng = random.Random(f"expert:{self.seed}:{task.task_id}:{task.request}")
        n = len(self.steps)
        cfg = self.cfg
        noisy = cfg.noise
        self.finish_early_at = (
            self.rng.randrange(n - 1)
            if noisy and n >= 2 and self.rng.random() < cfg.premature_finish_rate
            else None
        )
        self.give_up_at = self.rng.randrange(n) if noisy and self.rng.random() < cfg.give_up_rate else None

    # ------------------------------------------------------------------ acting

    def act(self, obs: Observation) -> Decision:
        if self.task is None:
            raise RuntimeError("ExpertPolicy.act before reset(task)")
        if self.done:
            return Decision(thought=DONE, status="FINISH")
        cfg, rng = self.cfg, self.rng
        if self.give_up_at is not None and self.i >= self.give_up_at:
            self.done = True
            self.errors.append("give_up")
            return Decision(thought=GIVE_UP, status="FINISH")
        while cfg.noise and self.i < len(self.steps) and rng.random() < cfg.skip_rate:
            self.errors.append(f"skip:{self.steps[self.i].control_name or self.steps[self.i].function}")
            self.i += 1
        if self.i >= len(self.steps):
            self.done = True
            return Decision(thought=DONE, status="FINISH")
        ref = self.steps[self.i]
        name, ctype, args = ref.control_name, ref.control_type, dict(ref.args)
        control = find_control(obs, name, ctype)
        if cfg.noise:
            if ref.function in ("click_input", "set_edit_text") and rng.random() < cfg.near_miss_rate:
                miss = self._near_miss(obs, control, name)
                if miss is not None:
                    self.errors.append(f"near_miss:{name}->{miss.text}")
                    control, name, ctype = miss, miss.text, miss.type
            if rng.random() < cfg.wrong_arg_rate:
                wrong = self._wrong_args(ref.function, args)
                if wrong is not None:
                    self.errors.append(f"wrong_arg:{ref.function}")
                    args = wrong
        self.i += 1
        last = self.i >= len(self.steps)
        early = self.finish_early_at is not None and self.i - 1 >= self.finish_early_at
        if early and not last:
            self.errors.append("premature_finish")
        finish = last or early
        self.done = finish
        return Decision(
            thought=_words(ref.thought, cfg.thought_words),
            control_label=control.label if control is not None else None,
            control_name=control.text if control is not None else name,
            control_type=control.type if control is not None else ctype,
            function=ref.function,
            args=args,
            status="FINISH" if finish else "CONTINUE",
            plan=list(self.task.plan[self.i :]),
        )

    # ------------------------------------------------------------------ the error model

    def _near_miss(self, obs: Observation, control: Control | None, name: str | None) -> Control | None:
        if control is None:
            return None
        if name in NEAR:
            alt = find_control(obs, NEAR[name], None)
            if alt is not None and alt.type == control.type:
                return alt
        by_label = {c.label: c for c in obs.controls}
        options = [by_label.get(control.label + d) for d in (1, -1)]
        options = [c for c in options if c is not None and c.type == control.type and c.text != control.text]
        return self.rng.choice(options) if options else None

    def _wrong_args(self, function: str, args: dict) -> dict | None:
        rng = self.rng
        if function in ("select_text", "set_edit_text", "summary") or (
            function == "keyboard_input" and not any(ch in args.get("keys", "") for ch in "{^%~")
        ):
            key = "keys" if function == "keyboard_input" else "text"
            text = str(args.get(key, ""))
            nums = re.findall(r"\d+(?:\.\d+)?", text)
            if nums and function != "select_text":
                n = nums[0]
                bumped = str(int(float(n)) + rng.choice((1, 2))) if "." not in n else f"{float(n) + 0.5:g}"
                new = text.replace(n, bumped, 1)
            elif " " in text.strip():
                new = text.rsplit(" ", 1)[0]
            elif len(text) > 2:
                new = text[:-1]
            else:
                return None
            return {**args, key: new}
        if function == "insert_table":
            return {**args, "rows": int(args["rows"]) + 1}
        return None
