"""The Windows VM agent: the lam-rl VM protocol over a real Word window (UI Automation + COM).

    agent = WindowsAgent(PywinautoDesktop(), WindowsAgentConfig(), name="vm-3")
    serve_one(agent, token=tok, host="0.0.0.0", port=8700).wait()      # lam-rl env serve --agent windows

- **reset(task)** builds the task's template document (the same content WordSim shows:
  ``initial_state(task)``), writes it as a .docx into the work folder (a fresh copy per episode) and
  opens it in Word. ``bad_task`` (HTTP 422) for a template the suite does not know.
- **observe()** lists the controls of Word's windows (``controls.collect``: UFO's control types,
  visible and enabled, labelled 1..n) and the canvas (the live document summarized as WordSim does).
- **step(action)** resolves the control (``controls.resolve``: label, name, fuzzy name) and runs the
  UFO function on it (``executor``). An impossible action answers ``ok=false`` with an error code;
  checks made before touching Word (unknown control/function, bad arguments, blocked by a dialog)
  change nothing, but a failure *inside* Word cannot be rolled back (unlike WordSim).
- **evaluate()** reads the live document (``Document.WordOpenXML``, no save) back into the model and
  runs the task's verifier against the document opened at reset, read the same way. Aspects that
  a .docx does not hold come from Word (view, zoom, panes) or from the files saved since the reset;
  a task that depends on something the agent cannot read (print jobs, or anything the desktop does
  not report) is judged ``unsure``, never ``yes``.
"""

from __future__ import annotations

import logging
import re
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lam_rl.env.agent import AgentError, VMAgent
from lam_rl.env.protocol import Action, Health, Observation, StepResult, TaskSpec, Verdict
from lam_rl.env.windows.config import WindowsAgentConfig
from lam_rl.env.windows.controls import Found, ResolveError, active_window, collect, resolve
from lam_rl.env.windows.desktop import Desktop, DesktopError
from lam_rl.env.windows.docx_read import read_docx
from lam_rl.env.windows.docx_write import docx_bytes
from lam_rl.env.windows.executor import ActionFailure, execute
from lam_rl.env.wordsim.state import AppState, SavedFile, UIState

log = logging.getLogger(__name__)

APP_ASPECTS = {
    "view:mode": ("view",),
    "view:zoom": ("zoom",),
    "view:panes": ("ruler", "gridlines", "nav_pane"),
}
"""Verifier aspects that live in Word's application state, and the app_state keys that carry each."""
NEVER_MAPPED = {"printed"}
"""Aspects no desktop reports (print jobs are not observable): tasks touching them are 'unsure'."""


class WindowsAgent(VMAgent):
    """A VM agent over a ``Desktop`` (see the module docstring). Blocking: served from a worker thread."""

    kind = "windows-uia"
    blocking = True

    def __init__(
        self, desktop: Desktop, cfg: WindowsAgentConfig | None = None, *, name: str = "windows"
    ) -> None:
        self.desktop = desktop
        self.cfg = cfg or WindowsAgentConfig()
        self.name = name
        self.kind = f"windows-{desktop.kind}" if desktop.kind != "pywinauto" else "windows-uia"
        self.started = time.monotonic()
        self.task: TaskSpec | None = None
        self.before: AppState | None = None
        self.steps = 0
        self.summaries: list[str] = []
        self.reset_at = 0.0
        self._lock = threading.RLock()
        self._found: list[Found] | None = None
        self._canvas: tuple[int, str] | None = None
        self.work_dir = Path(self.cfg.work_dir or Path(tempfile.gettempdir()) / "lam-rl")
        self._thread: threading.Thread | None = None

        def init() -> None:
            self._thread = threading.current_thread()
            desktop.thread_init()

        self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"lam-{name}", initializer=init)

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
        return self._on_thread(self._reset, task)

    def _reset(self, task: TaskSpec) -> Observation:
        from lam_rl.env.tasks import initial_state

        with self._lock:
            try:
                state = initial_state(task)
            except (KeyError, ValueError) as e:
                raise AgentError("bad_task", f"cannot set up task {task.task_id}: {e}", 422) from None
            data = docx_bytes(state.doc)
            self.work_dir.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", task.task_id)[:80] or "task"
            path = self.work_dir / f"{safe}.docx"
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            self.reset_at = time.time()
            try:
                self.desktop.open_document(str(path))
            except DesktopError as e:
                raise AgentError(
                    e.code, f"{self.name}: cannot open {path.name} in Word: {e.message}", 503
                ) from None
            self.task = task
            self.steps = 0
            self.summaries = []
            self._found = None
            self._canvas = None
            self.before = self._state(read_docx(data).doc, self._app_state())
            self.before.saved = []
            return self._observe()

    def observe(self) -> Observation:
        return self._on_thread(self._observe)

    def _observe(self) -> Observation:
        with self._lock:
            found = self._controls()
            title, _ = active_window(found)
            modal = any(f.modal for f in found if f.control.window == title) if title else False
            return Observation.model_construct(
                task_id=self.task.task_id if self.task else None,
                step=self.steps,
                window=self._window_title(),
                dialog=title if modal else None,
                controls=[f.control for f in found],
                canvas=self._canvas_text(),
            )

    def step(self, action: Action) -> StepResult:
        return self._on_thread(self._step, action)

    def _step(self, action: Action) -> StepResult:
        with self._lock:
            if self.cfg.max_steps and self.steps >= self.cfg.max_steps:
                return StepResult(
                    ok=False,
                    error=f"step limit of {self.cfg.max_steps} reached; reset the VM",
                    error_code="step_limit",
                    observation=self._observe(),
                )
            found = self._controls()
            hit: Found | None = None
            touched = False
            try:
                hit = resolve(action, found, self.cfg)
                result = execute(self.desktop, action, hit, found, self.cfg, self.summaries)
                ok, err, code = True, None, None
                touched = action.function not in ("texts", "summary")
            except ResolveError as e:
                ok, err, code, result = False, e.message, e.code, None
            except ActionFailure as e:
                ok, err, code, result = False, e.message, e.code, None
                touched = e.touched
            self.steps += 1
            if touched:
                self._found = None
                if self.cfg.settle_s:
                    time.sleep(self.cfg.settle_s)
            return StepResult.model_construct(
                ok=ok,
                error=err,
                error_code=code,
                result=result,
                observation=self._observe(),
                control=hit.control if hit else None,
            )

    def evaluate(self) -> Verdict:
        return self._on_thread(self._evaluate)

    def _evaluate(self) -> Verdict:
        from lam_rl.env.tasks import verify

        with self._lock:
            if self.task is None or self.before is None:
                raise AgentError("not_reset", "no task: reset the VM to a task before evaluating")
            try:
                read = read_docx(self.desktop.export_document())
            except (DesktopError, ValueError) as e:
                return Verdict(complete="unsure", reason=f"cannot read the document back from Word: {e}")
            app = self._app_state()
            after = self._state(read.doc, app)
            saved = self.desktop.saved_files(self.reset_at)
            if saved is not None:
                after.saved = [SavedFile(f.folder, f.name, f.format) for f in saved]
            verdict = verify(self.task, self.before, after)
            missing = self._unmapped(app, saved is not None)
            if missing and verdict.complete != "unsure":
                return Verdict(
                    complete="unsure",
                    reason=f"the task depends on {', '.join(sorted(missing))}, which this VM cannot read back "
                    f"(the verifier alone said {verdict.complete}: {verdict.reason})",
                    sub_scores=verdict.sub_scores,
                )
            if verdict.complete == "yes" and read.notes:
                log.info("%s: document read with notes: %s", self.name, "; ".join(read.notes[:5]))
            return verdict

    def screenshot(self) -> bytes:
        return self._on_thread(self._screenshot)

    def _screenshot(self) -> bytes:
        with self._lock:
            try:
                return self.desktop.screenshot()
            except DesktopError as e:
                raise AgentError(e.code, f"{self.name}: screenshot failed: {e.message}", 503) from None

    def close(self) -> None:
        def shut() -> None:
            try:
                self.desktop.close_document()
            finally:
                self.desktop.close()

        try:
            self._on_thread(shut)
        finally:
            self._pool.shutdown(wait=False)

    def _on_thread(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on the agent's own thread: COM objects (Word, UI Automation) belong to the
        thread that created them, while the server calls from a pool of worker threads."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        return self._pool.submit(fn, *args).result()

    # ------------------------------------------------------------------ helpers

    def _controls(self) -> list[Found]:
        if self._found is None:
            try:
                roots = self.desktop.windows()
            except DesktopError as e:
                raise AgentError(
                    e.code, f"{self.name}: cannot list Word's windows: {e.message}", 503
                ) from None
            self._found = collect(roots, self.cfg)
        return self._found

    def _window_title(self) -> str:
        try:
            roots = self.desktop.windows()
            return roots[0].window_text() if roots else ""
        except Exception:
            return ""

    def _canvas_text(self) -> str:
        if self.cfg.canvas == "none" or self.task is None:
            return ""
        key = self.steps
        if self._canvas is not None and self._canvas[0] == key:
            return self._canvas[1]
        text = ""
        try:
            if self.cfg.canvas == "text":
                docs = [f for f in self._controls() if f.control.type == "Document"]
                text = "\n".join(str(t) for t in docs[0].element.texts()) if docs else ""
            else:
                from lam_rl.env.wordsim.canvas import summarize

                state = self._state(read_docx(self.desktop.export_document()).doc, self._app_state())
                state.summaries = list(self.summaries)
                lines = summarize(SimpleNamespace(doc=state.doc, ui=UIState(), state=state)).split("\n")  # type: ignore[arg-type]
                sel = self.desktop.selection_text()  # a file has no selection: ask Word
                lines[0] = f'sel: "{_clip(sel.replace(chr(10), " / "), 60)}"' if sel else ""
                text = "\n".join(x for x in lines if x)
        except Exception as e:  # the canvas is advisory: never fail an observation for it
            log.warning("%s: canvas unavailable: %s", self.name, e)
        self._canvas = (key, text)
        return text

    def _app_state(self) -> dict[str, Any]:
        try:
            return dict(self.desktop.app_state())
        except DesktopError as e:
            log.warning("%s: Word's application state unavailable: %s", self.name, e)
            return {}

    def _state(self, doc: Any, app: dict[str, Any]) -> AppState:
        st = AppState(doc)
        for key in ("view", "zoom", "ruler", "gridlines", "nav_pane", "file_name"):
            if app.get(key) is not None:
                setattr(st, key, app[key])
        st.summaries = list(self.summaries)
        return st

    def _unmapped(self, app: dict[str, Any], files: bool) -> set[str]:
        from lam_rl.env.tasks.base import REGISTRY
        from lam_rl.env.tasks.composite import COMPOSITE

        task = self.task
        assert task is not None
        if task.family == COMPOSITE:
            fams = [REGISTRY.get(p.get("family")) for p in task.params.get("parts", [])]
        else:
            fams = [REGISTRY.get(task.family)]
        aspects: set[str] = set()
        for fam in fams:
            if fam is not None:
                aspects |= fam.touches | fam.guards
        missing = aspects & NEVER_MAPPED
        missing |= {
            a for a, keys in APP_ASPECTS.items() if a in aspects and any(app.get(k) is None for k in keys)
        }
        if "file" in aspects and not files:
            missing.add("file")
        return missing


def _clip(s: str, n: int) -> str:
    return s if len(s) <= n else s[:n] + "..."
