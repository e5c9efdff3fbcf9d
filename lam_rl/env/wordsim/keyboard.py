"""keyboard_input: typing and Word's common shortcuts, routed to the focused element."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lam_rl.env.wordsim import commands as cm
from lam_rl.env.wordsim import commands_insert as ins
from lam_rl.env.wordsim import dialog_ops as dlg_ops
from lam_rl.env.wordsim import editing as ed
from lam_rl.env.wordsim.keys import Key

if TYPE_CHECKING:
    from lam_rl.env.protocol import Control
    from lam_rl.env.wordsim.app import WordSim
    from lam_rl.env.wordsim.ui import Target

MOVES = ("LEFT", "RIGHT", "UP", "DOWN", "HOME", "END", "PGUP", "PGDN")
SHIFTED = dict(zip("1234567890-=[];',./`", '!@#$%^&*()_+{}:"<>?~', strict=True))

# ctrl(+shift/alt) shortcuts: combo -> (act, arg) run through Commands.run_act
SHORTCUTS: dict[str, tuple[str, Any]] = {
    "ctrl+b": ("toggle", "bold"),
    "ctrl+i": ("toggle", "italic"),
    "ctrl+u": ("toggle", "underline"),
    "ctrl+=": ("toggle", "sub"),
    "ctrl+shift+=": ("toggle", "sup"),
    "ctrl+shift++": ("toggle", "sup"),
    "ctrl+e": ("align", "center"),
    "ctrl+l": ("align", "left"),
    "ctrl+r": ("align", "right"),
    "ctrl+j": ("align", "justify"),
    "ctrl+c": ("cmd", "copy"),
    "ctrl+x": ("cmd", "cut"),
    "ctrl+v": ("cmd", "paste"),
    "ctrl+z": ("cmd", "undo"),
    "ctrl+y": ("cmd", "redo"),
    "ctrl+a": ("cmd", "select_all"),
    "ctrl+s": ("cmd", "save"),
    "ctrl+h": ("dialog", "replace"),
    "ctrl+d": ("dialog", "font"),
    "ctrl+k": ("dialog", "hyperlink"),
    "ctrl+]": ("cmd", "grow_1"),
    "ctrl+[": ("cmd", "shrink_1"),
    "ctrl+shift+.": ("cmd", "grow"),
    "ctrl+shift+>": ("cmd", "grow"),
    "ctrl+shift+,": ("cmd", "shrink"),
    "ctrl+shift+<": ("cmd", "shrink"),
    "ctrl+shift+l": ("cmd", "bullets"),
    "ctrl+1": ("line_spacing", 1.0),
    "ctrl+2": ("line_spacing", 2.0),
    "ctrl+5": ("line_spacing", 1.5),
    "ctrl+alt+1": ("style", "Heading 1"),
    "ctrl+alt+2": ("style", "Heading 2"),
    "ctrl+alt+3": ("style", "Heading 3"),
    "ctrl+shift+n": ("style", "Normal"),
    "ctrl+ ": ("cmd", "clear_char"),
    "ctrl+space": ("cmd", "clear_char"),
    "ctrl+m": ("cmd", "indent"),
    "ctrl+shift+m": ("cmd", "outdent"),
    "ctrl+enter": ("cmd", "page_break"),
    "ctrl+alt+m": ("cmd", "new_comment"),
    "ctrl+shift+e": ("cmd", "track_changes"),
    "ctrl+f": ("show_on", "nav_pane"),
    "ctrl+p": ("backstage", "Print"),
    "f12": ("dialog", "save_as"),
}


def press(sim: WordSim, keys: list[Key], hit: tuple[Control, Target] | None) -> Any:
    ui = sim.ui
    if ui.message is not None:
        if any(k.key in ("ENTER", "ESC", " ") for k in keys):
            ui.message = None
        return None
    if hit is not None:
        ctrl, tg = hit
        if ctrl.type in ("Edit", "ComboBox", "Spinner") and tg.area not in ("document",):
            return _type_into_field(sim, ctrl, tg, keys)
        if ctrl.type not in ("Document",) and tg.area in (
            "dialog",
            "menu",
            "ribbon",
            "qat",
            "status",
            "tab",
            "backstage",
            "shape",
            "pane",
        ):
            if any(k.key in ("ENTER", " ") and not (k.ctrl or k.alt) for k in keys):
                return cm.click(sim, ctrl, tg)
            if tg.area == "shape":
                cm.act_shape(sim, tg.index)
                return _doc_keys(sim, keys)
            if tg.area in ("dialog",):
                return _dialog_keys(sim, keys)
    elif ui.dialog is not None:
        return _dialog_keys(sim, keys)
    if ui.menus:
        if any(k.key == "ESC" for k in keys):
            ui.menus.pop()
            return None
        ui.menus.clear()
    if ui.backstage is not None:
        if any(k.key == "ESC" for k in keys):
            ui.backstage = None
        return None
    return _doc_keys(sim, keys)


# ------------------------------------------------------------------ fields and dialogs


def _type_into_field(sim: WordSim, ctrl: Control, tg: Target, keys: list[Key]) -> Any:
    text = None  # clicking into a ribbon/dialog box selects its content: typing replaces it
    commit = False
    for k in keys:
        if k.is_char:
            text = (text or "") + (k.key.upper() if k.shift and k.key.isalpha() else k.key)
        elif k.key == "BACKSPACE":
            text = (text if text is not None else cm.control_value(sim, ctrl, tg))[:-1]
        elif k.key == "ENTER" and not k.ctrl:
            commit = True
            break
        elif k.key == "ESC":
            if tg.area == "dialog":
                dlg_ops._close_dialog(sim)
            return None
    if text is not None:
        cm.set_text(sim, ctrl, tg, text)
    if commit and tg.area == "dialog" and sim.ui.dialog is not None:
        _dialog_default(sim)
    return None


def _dialog_default(sim: WordSim) -> None:
    from lam_rl.env.wordsim.dialogs import DIALOGS, visible_fields

    dlg = sim.ui.dialog
    fields = visible_fields(DIALOGS[dlg.id], dlg.page, dlg.values)
    default = next((f for f in fields if f.type == "Button" and f.key in ("ok", "find_next")), None)
    if default is not None:
        dlg_ops.dialog_click(sim, default)


def _dialog_keys(sim: WordSim, keys: list[Key]) -> Any:
    from lam_rl.env.wordsim.dialogs import DIALOGS, visible_fields

    dlg = sim.ui.dialog
    if dlg is None:
        return None
    if any(k.key == "ESC" for k in keys):
        dlg_ops._close_dialog(sim)
        return None
    chars = [k for k in keys if k.is_char]
    if chars:
        fields = visible_fields(DIALOGS[dlg.id], dlg.page, dlg.values)
        first = next((f for f in fields if f.type in ("Edit", "ComboBox", "Spinner")), None)
        if first is not None:
            from lam_rl.env.protocol import Control
            from lam_rl.env.wordsim.ui import Target

            c = Control.model_construct(
                label=0, text=first.name, type=first.type, rect=(0, 0, 0, 0), window=None
            )
            return _type_into_field(sim, c, Target("dialog", first, DIALOGS[dlg.id].title), keys)
    if any(k.key == "ENTER" for k in keys):
        _dialog_default(sim)
    return None


# ------------------------------------------------------------------ the document


def _doc_keys(sim: WordSim, keys: list[Key]) -> Any:
    buf: list[str] = []

    def flush() -> None:
        if buf:
            cm.type_text(sim, "".join(buf))
            buf.clear()

    for k in keys:
        if k.is_char:
            ch = k.key
            if k.shift:
                ch = ch.upper() if ch.isalpha() else SHIFTED.get(ch, ch)
            buf.append(ch)
            continue
        flush()
        if sim.ui.dialog is not None or sim.ui.message is not None or sim.ui.backstage is not None:
            continue  # a shortcut opened a modal view: the remaining keys go nowhere useful
        _doc_key(sim, k)
    flush()
    return None


def _doc_key(sim: WordSim, k: Key) -> None:
    ui, doc = sim.ui, sim.doc
    combo = k.combo
    if combo in SHORTCUTS:
        act, arg = SHORTCUTS[combo]
        if act == "cmd" and arg in KEY_COMMANDS:
            return KEY_COMMANDS[arg](sim)
        if act == "show_on":
            sim.state.nav_pane = True
            return None
        if act == "cmd" and arg == "page_break" and ui.comment is not None:
            return ins.cmd_post_comment(sim) if ui.comment.text.strip() else None
        if act == "backstage":
            ui.backstage = arg
            return None
        return cm.run_act(sim, act, arg)
    if k.ctrl or k.alt:
        if k.key in MOVES and not k.alt:
            ed.move(doc, k.key, ctrl=True, shift=k.shift)
        return None  # other shortcuts and Alt key tips are not simulated
    key = k.key
    if key == "ESC":
        if ui.comment is not None:
            ui.comment = None
        elif ui.hf is not None:
            ins.cmd_close_header(sim)
        ui.note = None
        return None
    if key in MOVES:
        ui.note = None
        if doc.sel.kind != "text" or ui.hf is not None or ui.comment is not None:
            if doc.sel.kind != "text":
                ed.move(doc, key, shift=k.shift)
            return None
        ed.move(doc, key, shift=k.shift)
        return None
    if key == "TAB":
        return cm.type_text(sim, "\t")
    if key == "ENTER":
        if ui.comment is not None or ui.hf is not None or ui.note is not None or doc.sel.kind == "shape":
            return cm.type_text(sim, "\n" if ui.hf is None and ui.comment is None else " ")
        sim.mutate()
        ed.split_paragraph(doc)
        return None
    if key in ("BACKSPACE", "DELETE"):
        return _erase(sim, forward=key == "DELETE")
    return None  # F-keys, Insert: nothing


def _erase(sim: WordSim, forward: bool) -> None:
    ui, doc = sim.ui, sim.doc
    if ui.comment is not None:
        ui.comment.text = ui.comment.text[:-1]
        return
    if ui.hf is not None:
        sim.mutate()
        setattr(doc, ui.hf, getattr(doc, ui.hf)[:-1])
        return
    if ui.note is not None:
        sim.mutate()
        doc.notes[ui.note].text = doc.notes[ui.note].text[:-1]
        return
    sim.mutate()
    if forward:
        ed.delete_forward(doc)
    else:
        ed.backspace(doc)


def key_grow_1(sim: WordSim) -> None:
    cur = ed.current_fmt(sim.doc).get("size") or 11.0
    sim.mutate()
    ed.apply_fmt(sim.doc, size=min(1638.0, cur + 1))


def key_shrink_1(sim: WordSim) -> None:
    cur = ed.current_fmt(sim.doc).get("size") or 11.0
    sim.mutate()
    ed.apply_fmt(sim.doc, size=max(1.0, cur - 1))


def key_clear_char(sim: WordSim) -> None:
    sim.mutate()
    ed.apply_fmt(
        sim.doc,
        bold=None,
        italic=None,
        underline=None,
        strike=None,
        sup=None,
        sub=None,
        font=None,
        size=None,
        color=None,
        highlight=None,
    )


# The shortcut-only commands (Ctrl+] / Ctrl+[ / Ctrl+Space), by the name SHORTCUTS gives them.
KEY_COMMANDS: dict[str, Callable[[WordSim], None]] = {
    "grow_1": key_grow_1,
    "shrink_1": key_shrink_1,
    "clear_char": key_clear_char,
}
