"""The protocol's functions on WordSim (``click_input``, ``set_edit_text``, ...): each checks its
arguments and the target control, then hands over to the command, dialog or keyboard handlers.
``dispatch.FUNCTIONS`` maps a function name to its handler here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lam_rl.env.protocol import ARGS, EDITABLE, MAX_TEXT, bind_args
from lam_rl.env.wordsim import commands as cm
from lam_rl.env.wordsim import commands_insert as ins
from lam_rl.env.wordsim import keyboard as kb
from lam_rl.env.wordsim.document import Selection, find_text
from lam_rl.env.wordsim.state import ActionError
from lam_rl.env.wordsim.ui import Target

if TYPE_CHECKING:
    from lam_rl.env.protocol import Control
    from lam_rl.env.wordsim.app import WordSim


def parse_args(args: dict[str, Any], spec: dict[str, tuple[tuple[type, ...], Any]]) -> dict[str, Any]:
    """Validate ``args`` against {name: (types, default)} (an entry of ARGS); a default of ... means required."""
    return bind_args(args, spec, ActionError)


def _check_modal(sim: WordSim, tg: Target | None) -> None:
    area = tg.area if tg else None
    if sim.ui.message is not None and area != "message":
        raise ActionError("blocked_by_dialog", "a message box is open: click its OK button first")
    if sim.ui.dialog is not None and area not in ("dialog", "message"):
        from lam_rl.env.wordsim.dialogs import DIALOGS

        title = DIALOGS[sim.ui.dialog.id].title
        raise ActionError("blocked_by_dialog", f"the '{title}' dialog is open: finish or cancel it first")


def _leave_menus(sim: WordSim, tg: Target | None) -> None:
    if not sim.ui.menus:
        return
    if tg is not None and tg.area == "menu":
        del sim.ui.menus[tg.index + 1 :]
    else:
        sim.ui.menus.clear()


def click_input(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    a = parse_args(args, ARGS["click_input"])
    if a["button"] not in ("left", "right", "middle"):
        raise ActionError("bad_args", f"button must be left, right or middle, got {a['button']!r}")
    if hit is None:
        raise ActionError("unknown_control", "click_input needs a control (control_label or control_name)")
    ctrl, tg = hit
    _check_modal(sim, tg)
    _leave_menus(sim, tg)
    return cm.click(sim, ctrl, tg, double=a["double"], button=a["button"])


def set_edit_text(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    text = parse_args(args, ARGS["set_edit_text"])["text"]
    if len(text) > MAX_TEXT:
        raise ActionError("bad_args", f"text longer than {MAX_TEXT} characters")
    if hit is None:
        raise ActionError("unknown_control", "set_edit_text needs a control")
    ctrl, tg = hit
    if ctrl.type not in EDITABLE:
        raise ActionError("bad_function", f"set_edit_text does not apply to a {ctrl.type} ('{ctrl.text}')")
    _check_modal(sim, tg)
    _leave_menus(sim, tg)
    return cm.set_text(sim, ctrl, tg, text)


def keyboard_input(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    from lam_rl.env.wordsim.keys import KeySyntaxError, parse_keys

    a = parse_args(args, ARGS["keyboard_input"])
    try:
        keys = parse_keys(a["keys"])
    except KeySyntaxError as e:
        raise ActionError("bad_args", f"bad key sequence {a['keys']!r}: {e}") from None
    if hit is not None:
        _check_modal(sim, hit[1])
        _leave_menus(sim, hit[1])
    return kb.press(sim, keys, hit if a["control_focus"] else None)


def _body_target(sim: WordSim, hit: tuple[Control, Target] | None, fn: str) -> None:
    if hit is not None and hit[0].type != "Document":
        raise ActionError(
            "bad_function", f"{fn} applies to the Document, not a {hit[0].type} ('{hit[0].text}')"
        )
    _check_modal(sim, hit[1] if hit else Target("document", None))
    sim.ui.menus.clear()
    if sim.ui.backstage is not None:
        raise ActionError("blocked_by_dialog", "the File (backstage) view is open: go Back first")


def select_text(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    text = parse_args(args, ARGS["select_text"])["text"]
    _body_target(sim, hit, "select_text")
    if not text.strip():
        raise ActionError("bad_args", "select_text needs non-empty text")
    found = find_text(sim.doc, text, match_case=True) or find_text(sim.doc, text)
    if found is None:
        raise ActionError("not_found", f"text {text[:60]!r} is not in the document")
    sim.doc.sel = Selection("text", found[0], found[1])
    sim.ui.note = None
    return None


def select_table(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    n = parse_args(args, ARGS["select_table"])["number"]
    _body_target(sim, hit, "select_table")
    tables = sim.doc.tables()
    if not 1 <= n <= len(tables):
        raise ActionError("not_found", f"there is no table {n} (the document has {len(tables)})")
    sim.doc.sel = Selection("table", index=n - 1)
    sim.ui.note = None
    return None


def insert_table(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    a = parse_args(args, ARGS["insert_table"])
    _body_target(sim, hit, "insert_table")
    ins.insert_table(sim, a["rows"], a["columns"])
    return None


def wheel_mouse_input(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    d = parse_args(args, ARGS["wheel_mouse_input"])["wheel_dist"]
    if abs(d) > 1000:
        raise ActionError("bad_args", "wheel_dist must be between -1000 and 1000")
    if hit is not None:
        _check_modal(sim, hit[1])
    sim.ui.scroll = max(0, min(2000, sim.ui.scroll - d * 40))
    return None


def texts(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    parse_args(args, ARGS["texts"])
    if hit is None or hit[0].type == "Document":
        return [sim.doc.text()]
    return [cm.control_value(sim, *hit)]


def summary(sim: WordSim, hit: tuple[Control, Target] | None, args: dict[str, Any]) -> Any:
    text = parse_args(args, ARGS["summary"])["text"]
    if len(text) > MAX_TEXT:
        raise ActionError("bad_args", f"text longer than {MAX_TEXT} characters")
    sim.state.summaries.append(text)
    return text


# The protocol's functions (``lam_rl.env.protocol.FUNCTIONS``), by name; ``WordSim.step`` calls these.
HANDLERS: dict[str, Callable[[WordSim, tuple[Control, Target] | None, dict[str, Any]], Any]] = {
    "click_input": click_input,
    "set_edit_text": set_edit_text,
    "keyboard_input": keyboard_input,
    "select_text": select_text,
    "select_table": select_table,
    "insert_table": insert_table,
    "wheel_mouse_input": wheel_mouse_input,
    "texts": texts,
    "summary": summary,
}
