"""The interface between the Windows VM agent and a desktop: UI Automation elements and Word.

Everything above this interface (labelling, filtering, matching, the executor of UFO's function set,
resetting and evaluating tasks) is plain Python shared with tests. Implementations:

- ``pywinauto_desktop.PywinautoDesktop``: the real Windows desktop (pywinauto's UIA backend and
  Word's COM object). The only module that touches Windows-only libraries.
- ``waa.WAADesktop``: a Windows Agent Arena / OSWorld VM driven through its in-VM HTTP server.
- ``simulated``: pywinauto and Word COM look-alikes over WordSim, for tests and demos off Windows.

``UIElement`` is the part of pywinauto's ``UIAWrapper`` the agent uses, with pywinauto's names and
signatures, so a real wrapper *is* a ``UIElement``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


class DesktopError(Exception):
    """A desktop operation failed. ``code`` is a VM protocol error code (``not_found``,
    ``action_failed``, ``unavailable``, ...); the agent reports it as a failed step."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DesktopUnavailable(DesktopError):
    """The desktop cannot be driven at all (not on Windows, pywinauto missing, Word not installed,
    the WAA server unreachable)."""

    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message)


class ElementInfo(Protocol):
    control_type: str
    name: str
    automation_id: str
    class_name: str


class Rect(Protocol):
    left: int
    top: int
    right: int
    bottom: int


@runtime_checkable
class UIElement(Protocol):
    """pywinauto's ``UIAWrapper`` methods the agent calls (same names and keyword arguments)."""

    element_info: Any

    def window_text(self) -> str: ...

    def rectangle(self) -> Any: ...

    def is_enabled(self) -> bool: ...

    def is_visible(self) -> bool: ...

    def children(self) -> list[Any]: ...

    def click_input(self, button: str = "left", double: bool = False) -> Any: ...

    def set_edit_text(self, text: str) -> Any: ...

    def type_keys(
        self,
        keys: str,
        pause: float | None = None,
        with_spaces: bool = False,
        with_tabs: bool = False,
        with_newlines: bool = False,
    ) -> Any: ...

    def wheel_mouse_input(self, wheel_dist: int = 1) -> Any: ...

    def texts(self) -> list[str]: ...

    def set_focus(self) -> Any: ...


@dataclass(frozen=True)
class SavedFile:
    """A file the task saved or exported (the model's ``SavedFile`` with a path)."""

    folder: str  # Desktop | Documents | Downloads | Pictures | This PC (as Word's Save As lists them)
    name: str  # without extension
    format: str  # docx | pdf | ...
    path: str = ""


class Desktop(abc.ABC):
    """One Windows desktop with Word on it. Calls block (UI Automation, COM or HTTP)."""

    kind: str = "desktop"

    @abc.abstractmethod
    def windows(self) -> list[UIElement]:
        """The application's windows: Word's main window first, then its other top-level windows
        (open menus/galleries that UI Automation lists outside the main window)."""

    @abc.abstractmethod
    def send_keys(self, keys: str) -> None:
        """Type pywinauto key syntax into the focused window (no control)."""

    @abc.abstractmethod
    def open_document(self, path: str) -> None:
        """Close open documents without saving, open ``path`` in Word, bring its window forward."""

    @abc.abstractmethod
    def export_document(self) -> bytes:
        """The open document as .docx bytes, without saving it (Word: ``Document.WordOpenXML``)."""

    @abc.abstractmethod
    def select_text(self, text: str) -> None:
        """Select the first occurrence of ``text`` (case-sensitive first); DesktopError not_found."""

    @abc.abstractmethod
    def select_table(self, number: int) -> None:
        """Select table ``number`` (1-based); DesktopError not_found."""

    @abc.abstractmethod
    def insert_table(self, rows: int, columns: int) -> None:
        """Insert an empty table at the selection (UFO's Word API)."""

    @abc.abstractmethod
    def screenshot(self) -> bytes:
        """The application window (or the screen) as PNG bytes."""

    def app_state(self) -> dict[str, Any]:
        """Word's application state a verifier may judge: ``view`` (Print Layout, ...), ``zoom``
        (percent), ``ruler``, ``gridlines``, ``nav_pane``, ``file_name``. Keys it cannot read are
        left out (their aspects are then judged 'unsure')."""
        return {}

    def selection_text(self) -> str | None:
        """The selected text (Word: ``Selection.Text``); None if it cannot tell."""
        return None

    def saved_files(self, since: float) -> list[SavedFile] | None:
        """Files saved or exported since ``since`` (a time.time()); None if it cannot tell."""
        return None

    def thread_init(self) -> None:  # noqa: B027 - optional
        """Called once on the thread that will make every call (COM needs CoInitialize there)."""

    def close_document(self) -> None:  # noqa: B027 - optional
        """Close the document without saving (end of an episode)."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release resources."""
