"""WordSim: a simulated Word window that implements the VM agent interface.

``step`` resolves the action's control (label against the current observation, else name and
type), checks the function fits the control type and its arguments, and dispatches it. Every step
is a transaction: if the action is impossible the whole state is restored and the result carries
``ok=False`` with an error code.

Dispatch is by explicit tables, each built once beside its handlers (plain functions taking the
``WordSim``): the protocol's functions in ``functions.HANDLERS``; what a control does in
``commands.ACTS`` and ``commands.COMMANDS``; dialogs' initial values and buttons in
``dialog_ops.DIALOG_INIT``/``DIALOG_OK``/``DIALOG_BUTTONS``; shortcut-only commands in
``keyboard.KEY_COMMANDS``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lam_rl.env.agent import AgentError, VMAgent
from lam_rl.env.protocol import FUNCTIONS, Action, Control, Health, Observation, StepResult, TaskSpec, Verdict
from lam_rl.env.wordsim.canvas import summarize
from lam_rl.env.wordsim.document import Document
from lam_rl.env.wordsim.functions import HANDLERS
from lam_rl.env.wordsim.state import ActionError, AppState, UIState
from lam_rl.env.wordsim.ui import Target, build_controls, construct, contextual_visible

UNDO_DEPTH = 50


def _norm(s: str) -> str:
    return " ".join(s.split()).lower()


class WordSim(VMAgent):
    """A simulated Word. Not thread-safe by itself; the server serializes calls (and so does a lock)."""

    kind = "wordsim"

    def __init__(self, name: str = "wordsim", *, max_steps: int = 100) -> None:
        from lam_rl.env.wordsim.templates import blank_document

        self.name = name
        self.max_steps = max_steps
        self.started = time.monotonic()
        self.task: TaskSpec | None = None
        self.state = AppState(blank_document())
        self.before: AppState | None = None
        self.ui = UIState()
        self.steps = 0
        self.undo_stack: list[Document] = []
        self.redo_stack: list[Document] = []
        self._live: list[tuple[Control, Target]] | None = None
        self._by_name: tuple[list[tuple[Control, Target]], dict[str, list[int]]] | None = None
        self.version = 0  # bumped on every document change (caches key on it)
        self._undo_step = -1  # the step that last pushed an undo snapshot
        self._stats: tuple[tuple[int, int], tuple[int, int]] | None = None
        self._lock = threading.RLock()

    @property
    def doc(self) -> Document:
        return self.state.doc

    # ------------------------------------------------------------------ VMAgent

    def health(self) -> Health:
        return Health(
            ok=True,
            agent=self.kind,
            name=self.name,
            task_id=self.task.task_id if self.task else None,
            uptime_s=round(time.monotonic() - self.started, 3),
        )

    def reset(self, task: TaskSpec) -> Observation:
        from lam_rl.env.tasks import initial_state

        with self._lock:
            try:
                state = initial_state(task)
            except (KeyError, ValueError) as e:
                raise AgentError("bad_task", f"cannot set up task {task.task_id}: {e}", 422) from None
            self.task = task
            self.state = state
            self.version += 1
            self.before = state.clone()
            self.ui = UIState()
            self.steps = 0
            self.undo_stack, self.redo_stack = [], []
            self._undo_step = -1
            self._live = None
            return self.observe()

    def observe(self) -> Observation:
        with self._lock:
            controls = [c for c, _ in self._controls()]
            ui = self.ui
            dialog = "Microsoft Word" if ui.message is not None else None
            if dialog is None and ui.dialog is not None:
                from lam_rl.env.wordsim.dialogs import DIALOGS

                dialog = DIALOGS[ui.dialog.id].title
            return construct(
                Observation,
                task_id=self.task.task_id if self.task else None,
                step=self.steps,
                window=f"{self.state.file_name} - Word",
                dialog=dialog,
                controls=controls,
                canvas=summarize(self),
            )

    def step(self, action: Action) -> StepResult:
        with self._lock:
            if self.max_steps and self.steps >= self.max_steps:
                return StepResult(
                    ok=False,
                    error=f"step limit of {self.max_steps} reached; reset the VM",
                    error_code="step_limit",
                    observation=self.observe(),
                )
            saved = (
                self.state.clone(),
                self.ui.clone(),
                list(self.undo_stack),
                list(self.redo_stack),
                self._undo_step,
            )
            live = self._controls()
            control: Control | None = None
            try:
                hit = self._resolve(action, live)
                control = hit[0] if hit else None
                result = self._dispatch(action, hit)
                ok, err, code = True, None, None
            except ActionError as e:
                self.state, self.ui, self.undo_stack, self.redo_stack, self._undo_step = saved
                ok, err, code, result = False, e.message, e.code, None
            self.steps += 1
            if ok:
                self._settle_ui()
                self._live = None
            else:
                self.version += 1
            obs = self.observe()
            return construct(
                StepResult, ok=ok, error=err, error_code=code, result=result, observation=obs, control=control
            )

    def evaluate(self) -> Verdict:
        from lam_rl.env.tasks import verify

        with self._lock:
            if self.task is None or self.before is None:
                raise AgentError("not_reset", "no task: reset the VM to a task before evaluating")
            return verify(self.task, self.before, self.state)

    def screenshot(self) -> bytes:
        from lam_rl.env.wordsim.render import render_png

        with self._lock:
            return render_png(self)

    # ------------------------------------------------------------------ helpers

    def _controls(self) -> list[tuple[Control, Target]]:
        if self._live is None:
            self._live = build_controls(self)
        return self._live

    def _settle_ui(self) -> None:
        """Contextual tabs vanish with their selection; Word then shows Home."""
        if not contextual_visible(self, self.ui.tab):
            self.ui.tab = "Home"

    def word_count(self) -> int:
        return self._doc_stats()[0]

    def text_length(self) -> int:
        return self._doc_stats()[1]

    def _doc_stats(self) -> tuple[int, int]:
        key = (id(self.state.doc), self.version)
        if self._stats is None or self._stats[0] != key:
            text = self.doc.text()
            self._stats = (key, (len(text.split()), len(text)))
        return self._stats[1]

    def mutate(self) -> None:
        """Call before changing the document: pushes an undo snapshot (one per step, so Undo takes
        back a whole action such as a typed key sequence)."""
        self.version += 1
        if self._undo_step == self.steps:
            return
        self._undo_step = self.steps
        self.undo_stack.append(self.doc.clone())
        if len(self.undo_stack) > UNDO_DEPTH:
            del self.undo_stack[0]
        self.redo_stack.clear()

    def check_invariants(self) -> None:
        """Raise AssertionError if the app state is inconsistent (used by the property tests)."""
        from lam_rl.env.wordsim.dialogs import DIALOGS
        from lam_rl.env.wordsim.document import check_invariants
        from lam_rl.env.wordsim.menus import MENUS

        check_invariants(self.doc)
        ui = self.ui
        assert contextual_visible(self, ui.tab), f"tab {ui.tab!r} is not visible"
        assert all(m in MENUS for m in ui.menus), f"unknown menu in {ui.menus}"
        assert not (ui.menus and ui.dialog), "a menu and a dialog are open together"
        assert ui.dialog is None or ui.dialog.id in DIALOGS, "unknown dialog"
        assert ui.comment is None or self.doc.para_index(ui.comment.pid) is not None, (
            "comment draft anchor lost"
        )
        assert ui.note is None or 0 <= ui.note < len(self.doc.notes), "note being edited does not exist"
        controls = [c for c, _ in self._controls()]
        assert [c.label for c in controls] == list(range(1, len(controls) + 1)), "labels are not 1..n"

    def fingerprint(self) -> tuple[Any, ...]:
        """A comparable snapshot of everything observable (tests: a failed step changes nothing)."""
        st = self.state
        return (
            repr(st.doc),
            st.view,
            st.zoom,
            st.ruler,
            st.gridlines,
            st.nav_pane,
            st.file_name,
            repr(st.saved),
            tuple(st.printed),
            tuple(st.summaries),
            repr(self.ui),
        )

    # ------------------------------------------------------------------ resolution

    def _resolve(self, a: Action, live: list[tuple[Control, Target]]) -> tuple[Control, Target] | None:
        label = a.control_label
        if label is not None and 1 <= label <= len(live):
            return live[label - 1]
        name = a.control_name
        if name:
            ctype = getattr(a, "control_type", None)
            exact = [x for x in live if x[0].text == name]
            if len(exact) == 1 and (not ctype or exact[0][0].type == ctype):
                return exact[0]
            if self._by_name is None or self._by_name[0] is not live:
                index: dict[str, list[int]] = {}
                for i, (c, _) in enumerate(live):
                    index.setdefault(_norm(c.text), []).append(i)
                self._by_name = (live, index)
            cands = [live[i] for i in self._by_name[1].get(_norm(name), ())]
            hits = [x for x in cands if x[0].type == ctype] if ctype else cands
            if not hits:
                hits = cands
            if hits:
                active = self._active_window()
                top = [x for x in hits if active and x[0].window == active]
                return (top or hits)[0]
            raise ActionError("unknown_control", f"no control named {name!r} in the current window")
        if label is not None:
            raise ActionError("unknown_control", f"label {label} is out of range 1..{len(live)}")
        return None

    def _active_window(self) -> str | None:
        from lam_rl.env.wordsim.dialogs import DIALOGS
        from lam_rl.env.wordsim.menus import MENUS

        if self.ui.message is not None:
            return "Microsoft Word"
        if self.ui.dialog is not None:
            return DIALOGS[self.ui.dialog.id].title
        if self.ui.menus:
            return MENUS[self.ui.menus[-1]].title
        return None

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, a: Action, hit: tuple[Control, Target] | None) -> Any:
        if a.function not in FUNCTIONS:
            raise ActionError(
                "unknown_function", f"unknown function {a.function!r}; use one of {', '.join(FUNCTIONS)}"
            )
        if not isinstance(a.args, dict):
            raise ActionError("bad_args", "args must be an object")
        return HANDLERS[a.function](self, hit, a.args)
