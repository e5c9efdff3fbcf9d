"""The executor of UFO's function set on a matched UI Automation element.

| function | arguments | element method (pywinauto) |
|---|---|---|
| ``click_input`` | ``button``, ``double`` | ``element.click_input(button=, double=)`` |
| ``set_edit_text`` | ``text`` | ``element.set_edit_text(text)`` (Edit, ComboBox, Spinner, Document) |
| ``keyboard_input`` | ``keys``, ``control_focus`` | ``element.set_focus(); element.type_keys(keys, ...)``, or ``Desktop.send_keys`` without a control / focus |
| ``wheel_mouse_input`` | ``wheel_dist`` | ``element.wheel_mouse_input(wheel_dist=)`` (the main window without a control) |
| ``texts`` | - | ``element.texts()`` |
| ``summary`` | ``text`` | none: the answer is recorded (question tasks) |
| ``select_text`` | ``text`` | Word COM: Find on the document (``Desktop.select_text``) |
| ``select_table`` | ``number`` | Word COM: ``Tables(n).Select()`` |
| ``insert_table`` | ``rows``, ``columns`` | Word COM: ``Tables.Add(Selection.Range, rows, columns)`` |

Arguments are checked as WordSim checks them (unexpected, missing or ill-typed ones are
``bad_args``; bad key syntax too) before anything touches the desktop. A click on a main-window
control while a modal dialog is open is refused (``blocked_by_dialog``): on Windows it would only
beep. Exceptions raised by the element become error codes: pywinauto's ``ElementNotEnabled`` ->
``disabled``, ``ElementNotVisible`` -> ``not_visible``, a ``DesktopError`` -> its code, anything else
(a COM error, a stale element) -> ``action_failed``.
"""

from __future__ import annotations

from typing import Any

from lam_rl.env.protocol import ARGS, EDITABLE, FUNCTIONS, MAX_TEXT, Action, bind_args
from lam_rl.env.windows.config import WindowsAgentConfig
from lam_rl.env.windows.controls import Found, active_window
from lam_rl.env.windows.desktop import Desktop, DesktopError

BODY_FUNCTIONS = ("select_text", "select_table", "insert_table")
_EXCEPTION_CODES = {
    "ElementNotEnabled": "disabled",
    "ElementNotVisible": "not_visible",
    "ElementNotFoundError": "unknown_control",
    "ElementNotAvailable": "unknown_control",
}


class ActionFailure(Exception):
    def __init__(self, code: str, message: str, touched: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.touched = touched  # the desktop may have changed before the failure


def check_args(function: str, args: Any) -> dict[str, Any]:
    if function not in FUNCTIONS:
        raise ActionFailure(
            "unknown_function", f"unknown function {function!r}; use one of {', '.join(FUNCTIONS)}"
        )
    if not isinstance(args, dict):
        raise ActionFailure("bad_args", "args must be an object")
    out = bind_args(args, ARGS[function], ActionFailure)
    if function == "click_input" and out["button"] not in ("left", "right", "middle"):
        raise ActionFailure("bad_args", f"button must be left, right or middle, got {out['button']!r}")
    if "text" in out and len(out["text"]) > MAX_TEXT:
        raise ActionFailure("bad_args", f"text longer than {MAX_TEXT} characters")
    if function == "keyboard_input":
        from lam_rl.env.wordsim.keys import KeySyntaxError, parse_keys

        try:
            parse_keys(out["keys"])
        except KeySyntaxError as e:
            raise ActionFailure("bad_args", f"bad key sequence {out['keys']!r}: {e}") from None
    if function == "wheel_mouse_input" and abs(out["wheel_dist"]) > 1000:
        raise ActionFailure("bad_args", "wheel_dist must be between -1000 and 1000")
    if function == "select_text" and not out["text"].strip():
        raise ActionFailure("bad_args", "select_text needs non-empty text")
    if function == "insert_table" and not (1 <= out["rows"] <= 100 and 1 <= out["columns"] <= 63):
        raise ActionFailure(
            "bad_args", f"a table must have 1-100 rows and 1-63 columns, got {out['rows']}x{out['columns']}"
        )
    if function == "select_table" and out["number"] < 1:
        raise ActionFailure("not_found", f"there is no table {out['number']}")
    return out


def execute(
    desktop: Desktop,
    action: Action,
    hit: Found | None,
    found: list[Found],
    cfg: WindowsAgentConfig,
    summaries: list[str],
) -> Any:
    """Apply ``action`` to ``hit``; returns the function's result (texts, summary) or raises ActionFailure."""
    fn = action.function
    a = check_args(fn, action.args)
    if fn in ("click_input", "set_edit_text") and hit is None:
        raise ActionFailure("unknown_control", f"{fn} needs a control (control_label or control_name)")
    if fn == "set_edit_text" and hit is not None and hit.control.type not in EDITABLE:
        raise ActionFailure(
            "bad_function", f"set_edit_text does not apply to a {hit.control.type} ('{hit.control.text}')"
        )
    if fn in BODY_FUNCTIONS and hit is not None and hit.control.type != "Document":
        raise ActionFailure(
            "bad_function", f"{fn} applies to the Document, not a {hit.control.type} ('{hit.control.text}')"
        )
    if fn == "summary":
        summaries.append(a["text"])
        return a["text"]
    title, modal = active_window(found)
    if hit is not None and modal and hit.control.window != title and fn != "texts":
        raise ActionFailure("blocked_by_dialog", f"the '{title}' dialog is open: finish or cancel it first")
    if fn in BODY_FUNCTIONS and hit is None and modal:
        raise ActionFailure("blocked_by_dialog", f"the '{title}' dialog is open: finish or cancel it first")
    if hit is not None and not hit.enabled and fn not in ("texts",):
        raise ActionFailure("disabled", f"'{hit.control.text}' is disabled")
    try:
        return _dispatch(desktop, fn, a, hit, cfg)
    except ActionFailure:
        raise
    except DesktopError as e:
        raise ActionFailure(e.code, e.message, touched=True) from None
    except Exception as e:  # pywinauto / COM / a stale element
        code = _EXCEPTION_CODES.get(type(e).__name__, "action_failed")
        what = f"'{hit.control.text}' ({hit.control.type})" if hit else "the window"
        raise ActionFailure(code, f"{fn} on {what} failed: {type(e).__name__}: {e}", touched=True) from None


def _dispatch(
    desktop: Desktop, fn: str, a: dict[str, Any], hit: Found | None, cfg: WindowsAgentConfig
) -> Any:
    el = hit.element if hit is not None else None
    if fn == "click_input":
        el.click_input(button=a["button"], double=a["double"])
        return None
    if fn == "set_edit_text":
        el.set_edit_text(a["text"])
        return None
    if fn == "keyboard_input":
        if el is not None and a["control_focus"]:
            el.set_focus()
            el.type_keys(
                a["keys"], pause=cfg.type_keys_pause, with_spaces=True, with_tabs=True, with_newlines=True
            )
        else:
            desktop.send_keys(a["keys"])
        return None
    if fn == "wheel_mouse_input":
        target = el if el is not None else (desktop.windows() or [None])[0]
        if target is None:
            raise ActionFailure("unknown_control", "no window to scroll")
        target.wheel_mouse_input(wheel_dist=a["wheel_dist"])
        return None
    if fn == "texts":
        if el is None:
            return [_document_text(desktop)]
        return [str(t) for t in el.texts()]
    if fn == "select_text":
        desktop.select_text(a["text"])
        return None
    if fn == "select_table":
        desktop.select_table(a["number"])
        return None
    if fn == "insert_table":
        desktop.insert_table(a["rows"], a["columns"])
        return None
    raise ActionFailure("unknown_function", f"unknown function {fn!r}")  # pragma: no cover - checked above


def _document_text(desktop: Desktop) -> str:
    from lam_rl.env.windows.docx_read import read_docx

    return read_docx(desktop.export_document()).doc.text()
