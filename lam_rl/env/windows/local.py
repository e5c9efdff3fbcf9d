"""``PywinautoDesktop``: the ``Desktop`` of the Windows machine this process runs on (the VM agent
inside each rollout VM). A thin adapter over ``uia.WordUIA``: it converts its errors to
``DesktopError`` and Word's Flat OPC to .docx bytes; it imports nothing Windows-only itself."""

from __future__ import annotations

from typing import Any

from lam_rl.env.windows.desktop import Desktop, DesktopError, DesktopUnavailable, SavedFile, UIElement
from lam_rl.env.windows.opc import flat_opc_to_docx
from lam_rl.env.windows.uia import UIAError, WordUIA


def _wrap(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except UIAError as e:
        if e.code == "unavailable":
            raise DesktopUnavailable(e.message) from None
        raise DesktopError(e.code, e.message) from None


class PywinautoDesktop(Desktop):
    """Word on this machine through pywinauto (UIA) and COM. ``modules`` swaps the Windows
    libraries for look-alikes (``simulated.simulated_modules``)."""

    kind = "pywinauto"

    def __init__(
        self,
        *,
        modules: dict[str, Any] | None = None,
        title_re: str = r" - Word$",
        profile_dir: str | None = None,
        work_dir: str | None = None,
        key_pause: float = 0.02,
    ) -> None:
        self.ui = WordUIA(modules, title_re, profile_dir, work_dir)
        self.key_pause = key_pause

    def thread_init(self) -> None:
        self.ui.thread_init()

    def windows(self) -> list[UIElement]:
        return _wrap(self.ui.windows)

    def send_keys(self, keys: str) -> None:
        _wrap(self.ui.send_keys, keys, self.key_pause)

    def open_document(self, path: str) -> None:
        _wrap(self.ui.open_document, path)

    def export_document(self) -> bytes:
        flat = _wrap(self.ui.word_open_xml)
        try:
            return flat_opc_to_docx(flat)
        except ValueError as e:
            raise DesktopError("action_failed", f"Word returned an unreadable document: {e}") from None

    def select_text(self, text: str) -> None:
        _wrap(self.ui.select_text, text)

    def select_table(self, number: int) -> None:
        _wrap(self.ui.select_table, number)

    def insert_table(self, rows: int, columns: int) -> None:
        _wrap(self.ui.insert_table, rows, columns)

    def screenshot(self) -> bytes:
        return _wrap(self.ui.capture_png)

    def app_state(self) -> dict[str, Any]:
        return _wrap(self.ui.app_state)

    def selection_text(self) -> str | None:
        return _wrap(self.ui.selection_text)

    def saved_files(self, since: float) -> list[SavedFile] | None:
        return [SavedFile(**f) for f in _wrap(self.ui.saved_files, since)]

    def close_document(self) -> None:
        _wrap(self.ui.close_documents)
