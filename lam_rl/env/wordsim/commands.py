"""What WordSim's ribbon, menu, status-bar and backstage controls do (the ``act`` of a control spec)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from lam_rl.env.wordsim import commands_insert as ins
from lam_rl.env.wordsim import dialog_ops as dlg_ops
from lam_rl.env.wordsim import editing as ed
from lam_rl.env.wordsim.dialogs import Field, parse_measure
from lam_rl.env.wordsim.document import (
    Selection,
    first_position,
    word_at,
)
from lam_rl.env.wordsim.ribbon import FONT_SIZES
from lam_rl.env.wordsim.state import ActionError, SavedFile

if TYPE_CHECKING:
    from lam_rl.env.protocol import Control
    from lam_rl.env.wordsim.app import WordSim
    from lam_rl.env.wordsim.ui import Target

from lam_rl.env.wordsim.commands_insert import HEADER_PLACEHOLDER, TEXTBOX_PLACEHOLDER

RIBBON_FIELDS = {
    "size": Field("Font Size", "ComboBox", unit="pt", lo=1, hi=1638),
    "indent_left": Field("Indent Left", "Spinner", unit="in", lo=-11, hi=22),
    "indent_right": Field("Indent Right", "Spinner", unit="in", lo=-11, hi=22),
    "space_before": Field("Spacing Before", "Spinner", unit="pt", lo=0, hi=1584),
    "space_after": Field("Spacing After", "Spinner", unit="pt", lo=0, hi=1584),
    "shape_height": Field("Shape Height", "Spinner", unit="in", lo=0.1, hi=22),
    "shape_width": Field("Shape Width", "Spinner", unit="in", lo=0.1, hi=22),
    "copies": Field("Copies", "Spinner", unit="", lo=1, hi=999),
}

# ------------------------------------------------------------------ entry points


def click(sim: WordSim, ctrl: Control, tg: Target, *, double: bool = False, button: str = "left") -> Any:
    area = tg.area
    if area == "dialog":
        return dlg_ops.dialog_click(sim, tg.spec)
    if area == "message":
        sim.ui.message = None
        return None
    if area == "tab":
        return act_tab(sim, tg.spec.arg)
    if area == "document":
        return _click_document(sim, double)
    if ctrl.type in ("Edit", "ComboBox", "Spinner") and area != "hf":
        return None  # clicking a field only focuses it
    if area == "hf":
        sim.ui.hf = tg.spec.arg
        return None
    result = run_act(sim, tg.spec.act, tg.spec.arg, tg)
    if area == "menu" and tg.spec.act != "menu":
        sim.ui.menus.clear()
    return result


def run_act(sim: WordSim, act: str, arg: Any, tg: Target | None = None) -> Any:
    """Run what a control spec's ``act`` does (``ACTS``; a menu item also gets its target)."""
    if act == "menu":
        return act_menu(sim, arg, tg)
    handler = ACTS.get(act)
    if handler is None:  # pragma: no cover - a spec names a missing handler
        raise ActionError("bad_function", f"'{act}' is not implemented")
    return handler(sim, arg)


def set_text(sim: WordSim, ctrl: Control, tg: Target, text: str) -> Any:
    area, spec = tg.area, tg.spec
    if area == "dialog":
        return dlg_ops.dialog_set(sim, spec, text)
    if area == "document":
        return type_text(sim, text)
    if area == "hf":
        sim.mutate()
        setattr(sim.doc, spec.arg, text)
        sim.ui.hf = spec.arg
        return None
    if area == "pane":
        if sim.ui.comment is None:
            raise ActionError("disabled", "no comment is being written")
        sim.ui.comment.text = text
        return None
    if area == "search":
        return None
    if spec.act == "prop":
        sim.mutate()
        sim.doc.properties[spec.arg] = text
        return None
    if spec.act == "field":
        return act_field_set(sim, spec.arg, text)
    return None  # a display-only combo box (Style, Display for Review, Printer): accepts and ignores


def control_value(sim: WordSim, ctrl: Control, tg: Target) -> str:
    spec = tg.spec
    if tg.area == "dialog" and sim.ui.dialog is not None:
        v = sim.ui.dialog.values.get(spec.key)
        return "" if v is None or spec.type in ("Button", "TabItem") else str(v)
    if tg.area == "hf":
        return getattr(sim.doc, spec.arg)
    if tg.area == "pane" and sim.ui.comment is not None and ctrl.type == "Edit":
        return sim.ui.comment.text
    if getattr(spec, "act", None) == "prop":
        return sim.doc.properties.get(spec.arg, "")
    if getattr(spec, "act", None) == "field" and spec.arg in ("font", "size"):
        v = ed.current_fmt(sim.doc).get(spec.arg)
        return "" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
    return ctrl.text


def _click_document(sim: WordSim, double: bool) -> None:
    ui, doc = sim.ui, sim.doc
    ui.note = None
    if double and ui.hf is not None:
        return ins.cmd_close_header(sim)
    if doc.sel.kind != "text":
        doc.sel = Selection("text", first_position(doc), first_position(doc))
    elif double:
        bi, off = doc.sel.a
        a, b = word_at(doc.blocks[bi], off)  # type: ignore[arg-type]
        doc.sel = Selection("text", (bi, a), (bi, b))
    else:
        ed.collapse(doc)
    return None


def type_text(sim: WordSim, text: str) -> None:
    """Text typed (or set) into the document: the header/footer, a footnote, a comment or the body."""
    ui, doc = sim.ui, sim.doc
    if ui.comment is not None:
        ui.comment.text += text
        return
    sim.mutate()
    if ui.hf is not None:
        cur = getattr(doc, ui.hf)
        setattr(doc, ui.hf, text if cur == HEADER_PLACEHOLDER else cur + text)
        return
    if ui.note is not None:
        doc.notes[ui.note].text += text
        return
    if doc.sel.kind == "shape":
        sh = doc.shapes[doc.sel.index]
        sh.text = text if sh.text == TEXTBOX_PLACEHOLDER else sh.text + text
        return
    ed.insert_text(doc, text)


# ------------------------------------------------------------------ navigation


def act_noop(sim: WordSim, arg: Any) -> None:
    return None


def act_tab(sim: WordSim, tab: str) -> None:
    if tab == "File":
        sim.ui.backstage = "Home"
        sim.ui.menus.clear()
        return
    sim.ui.tab = tab


def act_menu(sim: WordSim, mid: str, tg: Target | None) -> None:
    if tg is not None and tg.area == "menu":
        sim.ui.menus.append(mid)
    else:
        sim.ui.menus = [mid]


def act_dialog(sim: WordSim, did: str) -> None:
    sim.ui.menus.clear()
    dlg_ops.open_dialog(sim, did)


def act_backstage(sim: WordSim, page: str) -> None:
    if page == "Save":
        if sim.state.saved:
            last = sim.state.saved[-1]
            sim.state.saved.append(SavedFile(last.folder, last.name, last.format))
            sim.ui.backstage = None
        else:
            sim.ui.backstage = "Save As"
        return
    sim.ui.backstage = page


def act_backstage_back(sim: WordSim, arg: Any) -> None:
    sim.ui.backstage = None


def act_print(sim: WordSim, arg: Any) -> None:
    sim.state.printed.append(int(sim.ui.form.get("copies", 1)))
    sim.ui.backstage = None


def act_view(sim: WordSim, view: str) -> None:
    sim.state.view = view


def act_show(sim: WordSim, what: str) -> None:
    setattr(sim.state, what, not getattr(sim.state, what))


def act_zoom(sim: WordSim, pct: int) -> None:
    sim.state.zoom = int(pct)


def act_zoom_step(sim: WordSim, d: int) -> None:
    sim.state.zoom = max(10, min(500, sim.state.zoom + int(d)))


def act_shape(sim: WordSim, index: int) -> None:
    sim.doc.sel = Selection("shape", index=index)
    sim.ui.note = None


# ------------------------------------------------------------------ character formatting


def act_toggle(sim: WordSim, attr: str) -> None:
    sim.mutate()
    ed.toggle_fmt(sim.doc, attr)


def act_font_color(sim: WordSim, color: str) -> None:
    sim.mutate()
    ed.apply_fmt(sim.doc, color=color)


def act_highlight(sim: WordSim, color: str | None) -> None:
    sim.mutate()
    ed.apply_fmt(sim.doc, highlight=color)


def act_case(sim: WordSim, mode: str) -> None:
    sim.mutate()
    ed.change_case(sim.doc, mode)


def act_field_set(sim: WordSim, key: str, text: str) -> None:
    if key == "font":
        name = text.strip()
        if not name or len(name) > 60:
            raise ActionError("bad_args", "the Font box needs a font name such as 'Arial'")
        sim.mutate()
        ed.apply_fmt(sim.doc, font=name)
        return
    value = parse_measure(text, RIBBON_FIELDS[key])
    if key == "copies":
        sim.ui.form["copies"] = int(value)
        return
    sim.mutate()
    if key == "size":
        ed.apply_fmt(sim.doc, size=round(value * 2) / 2)
    elif key == "indent_left":
        ed.set_para(sim.doc, indent_left=value)
    elif key in ("space_before", "space_after"):
        ed.set_para(sim.doc, **{key: value})
    elif key in ("shape_height", "shape_width"):
        if sim.doc.sel.kind != "shape":
            raise ActionError("disabled", "select a shape first")
        sh = sim.doc.shapes[sim.doc.sel.index]
        x0, y0, x1, y1 = sh.box
        px = int(value * 96)
        sh.box = (x0, y0, x1, y0 + px) if key == "shape_height" else (x0, y0, x0 + px, y1)


def cmd_grow(sim: WordSim) -> None:
    _step_size(sim, +1)


def cmd_shrink(sim: WordSim) -> None:
    _step_size(sim, -1)


def _step_size(sim: WordSim, d: int) -> None:
    cur = ed.current_fmt(sim.doc).get("size") or 11.0
    sizes = [float(s) for s in FONT_SIZES]
    nxt = [s for s in sizes if s > cur] if d > 0 else [s for s in sizes if s < cur]
    new = (nxt[0] if d > 0 else nxt[-1]) if nxt else cur
    sim.mutate()
    ed.apply_fmt(sim.doc, size=new)


def cmd_clear_fmt(sim: WordSim) -> None:
    sim.mutate()
    ed.clear_fmt(sim.doc)


# ------------------------------------------------------------------ paragraph formatting


def act_style(sim: WordSim, style: str) -> None:
    sim.mutate()
    ed.set_para(sim.doc, style=style)


def act_align(sim: WordSim, align: str) -> None:
    sim.mutate()
    ed.set_para(sim.doc, align=align)


def act_line_spacing(sim: WordSim, value: float) -> None:
    sim.mutate()
    ed.set_para(sim.doc, line_spacing=float(value))


def toggle_list(sim: WordSim, kind: str) -> None:
    paras = ed.target_paragraphs(sim.doc)
    sim.mutate()
    turn_off = bool(paras) and all(p.list_kind == kind for p in paras)
    for p in paras:
        p.list_kind = None if turn_off else kind
        if not turn_off and p.style == "Normal":
            p.style = "List Paragraph"
        elif turn_off and p.style == "List Paragraph":
            p.style = "Normal"


def cmd_indent(sim: WordSim) -> None:
    sim.mutate()
    for p in ed.target_paragraphs(sim.doc):
        p.indent_left = round(p.indent_left + 0.5, 2)


def cmd_outdent(sim: WordSim) -> None:
    sim.mutate()
    for p in ed.target_paragraphs(sim.doc):
        p.indent_left = max(0.0, round(p.indent_left - 0.5, 2))


def cmd_space_before_on(sim: WordSim) -> None:
    sim.mutate()
    ed.set_para(sim.doc, space_before=12.0)


def cmd_space_after_off(sim: WordSim) -> None:
    sim.mutate()
    ed.set_para(sim.doc, space_after=0.0)


# ------------------------------------------------------------------ clipboard, undo, save


def cmd_copy(sim: WordSim) -> None:
    clip = ed.copy_selection(sim.doc)
    if clip is not None:
        sim.state.clipboard = clip


def cmd_cut(sim: WordSim) -> None:
    clip = ed.copy_selection(sim.doc)
    if clip is None:
        return
    sim.state.clipboard = clip
    sim.mutate()
    ed.delete_selection(sim.doc)


def cmd_paste(sim: WordSim) -> None:
    if not sim.state.clipboard:
        return
    sim.mutate()
    if sim.doc.sel.kind == "shape":
        type_text(sim, "\n".join("".join(r.text for r in piece) for piece in sim.state.clipboard))
        return
    ed.paste(sim.doc, sim.state.clipboard)


def cmd_select_all(sim: WordSim) -> None:
    ed.select_all(sim.doc)


def cmd_undo(sim: WordSim) -> None:
    if sim.undo_stack:
        sim.version += 1
        sim.redo_stack.append(sim.doc.clone())
        sim.state.doc = sim.undo_stack.pop()
        sim.ui.note = None


def cmd_redo(sim: WordSim) -> None:
    if sim.redo_stack:
        sim.version += 1
        sim.undo_stack.append(sim.doc.clone())
        sim.state.doc = sim.redo_stack.pop()


def cmd_save(sim: WordSim) -> None:
    act_backstage(sim, "Save")


def act_cmd(sim: WordSim, name: str) -> Any:
    return COMMANDS[name](sim)


# What each control ``act`` does (``run_act``); ``menu`` also takes the menu item's target.
ACTS: dict[str, Callable[[WordSim, Any], Any]] = {
    "noop": act_noop,
    "tab": act_tab,
    "dialog": act_dialog,
    "backstage": act_backstage,
    "backstage_back": act_backstage_back,
    "print": act_print,
    "view": act_view,
    "show": act_show,
    "zoom": act_zoom,
    "zoom_step": act_zoom_step,
    "shape": act_shape,
    "toggle": act_toggle,
    "font_color": act_font_color,
    "highlight": act_highlight,
    "case": act_case,
    "style": act_style,
    "align": act_align,
    "line_spacing": act_line_spacing,
    "cmd": act_cmd,
    "insert_shape": ins.act_insert_shape,
    "insert_textbox": ins.act_insert_textbox,
    "shape_fill": ins.act_shape_fill,
    "shape_outline": ins.act_shape_outline,
    "table_style": ins.act_table_style,
    "table_insert": ins.act_table_insert,
    "table_delete": ins.act_table_delete,
    "header_gallery": ins.act_header_gallery,
    "footer_gallery": ins.act_footer_gallery,
    "page_numbers": ins.act_page_numbers,
    "watermark": ins.act_watermark,
    "page_color": ins.act_page_color,
    "margins": ins.act_margins,
    "orientation": ins.act_orientation,
    "paper": ins.act_paper,
    "columns": ins.act_columns,
    "toc": ins.act_toc,
}

# The ``cmd`` act's commands, by name (ribbon buttons, menu items and shortcuts name them).
COMMANDS: dict[str, Callable[[WordSim], Any]] = {
    "grow": cmd_grow,
    "shrink": cmd_shrink,
    "clear_fmt": cmd_clear_fmt,
    "bullets": partial(toggle_list, kind="bullet"),
    "numbering": partial(toggle_list, kind="number"),
    "indent": cmd_indent,
    "outdent": cmd_outdent,
    "space_before_on": cmd_space_before_on,
    "space_after_off": cmd_space_after_off,
    "copy": cmd_copy,
    "cut": cmd_cut,
    "paste": cmd_paste,
    "select_all": cmd_select_all,
    "undo": cmd_undo,
    "redo": cmd_redo,
    "save": cmd_save,
    "page_break": ins.cmd_page_break,
    "blank_page": ins.cmd_blank_page,
    "edit_header": partial(ins.enter_hf, which="header"),
    "edit_footer": partial(ins.enter_hf, which="footer"),
    "goto_header": partial(ins.enter_hf, which="header"),
    "goto_footer": partial(ins.enter_hf, which="footer"),
    "remove_header": ins.cmd_remove_header,
    "remove_footer": ins.cmd_remove_footer,
    "remove_page_numbers": ins.cmd_remove_page_numbers,
    "close_header": ins.cmd_close_header,
    "remove_watermark": ins.cmd_remove_watermark,
    "update_toc": ins.cmd_update_toc,
    "remove_toc": ins.cmd_remove_toc,
    "footnote": ins.cmd_footnote,
    "endnote": ins.cmd_endnote,
    "new_comment": ins.cmd_new_comment,
    "post_comment": ins.cmd_post_comment,
    "cancel_comment": ins.cmd_cancel_comment,
    "next_comment": ins.cmd_next_comment,
    "prev_comment": ins.cmd_prev_comment,
    "delete_comment": ins.cmd_delete_comment,
    "delete_all_comments": ins.cmd_delete_all_comments,
    "track_changes": ins.cmd_track_changes,
    "accept_next": partial(ins.accept_reject, accept=True, only_next=True),
    "accept_all": partial(ins.accept_reject, accept=True),
    "accept_all_stop": partial(ins.accept_reject, accept=True, stop=True),
    "reject_next": partial(ins.accept_reject, accept=False, only_next=True),
    "reject_all": partial(ins.accept_reject, accept=False),
    "reject_all_stop": partial(ins.accept_reject, accept=False, stop=True),
}
