"""What WordSim's ribbon, menu, status-bar and backstage controls do (the ``act`` of a control spec)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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


class Commands:
    """Mixin for WordSim: click/set-text handling outside dialogs, and every ribbon command."""

    # ------------------------------------------------------------------ entry points

    def click(self, ctrl: Control, tg: Target, *, double: bool = False, button: str = "left") -> Any:
        area = tg.area
        if area == "dialog":
            return self.dialog_click(tg.spec)
        if area == "message":
            self.ui.message = None
            return None
        if area == "tab":
            return self.act_tab(tg.spec.arg)
        if area == "document":
            return self._click_document(double)
        if ctrl.type in ("Edit", "ComboBox", "Spinner") and area != "hf":
            return None  # clicking a field only focuses it
        if area == "hf":
            self.ui.hf = tg.spec.arg
            return None
        result = self.run_act(tg.spec.act, tg.spec.arg, tg)
        if area == "menu" and tg.spec.act != "menu":
            self.ui.menus.clear()
        return result

    def run_act(self, act: str, arg: Any, tg: Target | None = None) -> Any:
        handler = getattr(self, f"act_{act}", None)
        if handler is None:  # pragma: no cover - a spec names a missing handler
            raise ActionError("bad_function", f"'{act}' is not implemented")
        if act == "menu":
            return handler(arg, tg)
        return handler(arg)

    def set_text(self, ctrl: Control, tg: Target, text: str) -> Any:
        area, spec = tg.area, tg.spec
        if area == "dialog":
            return self.dialog_set(spec, text)
        if area == "document":
            return self.type_text(text)
        if area == "hf":
            self.mutate()
            setattr(self.doc, spec.arg, text)
            self.ui.hf = spec.arg
            return None
        if area == "pane":
            if self.ui.comment is None:
                raise ActionError("disabled", "no comment is being written")
            self.ui.comment.text = text
            return None
        if area == "search":
            return None
        if spec.act == "prop":
            self.mutate()
            self.doc.properties[spec.arg] = text
            return None
        if spec.act == "field":
            return self.act_field_set(spec.arg, text)
        return None  # a display-only combo box (Style, Display for Review, Printer): accepts and ignores

    def control_value(self, ctrl: Control, tg: Target) -> str:
        spec = tg.spec
        if tg.area == "dialog" and self.ui.dialog is not None:
            v = self.ui.dialog.values.get(spec.key)
            return "" if v is None or spec.type in ("Button", "TabItem") else str(v)
        if tg.area == "hf":
            return getattr(self.doc, spec.arg)
        if tg.area == "pane" and self.ui.comment is not None and ctrl.type == "Edit":
            return self.ui.comment.text
        if getattr(spec, "act", None) == "prop":
            return self.doc.properties.get(spec.arg, "")
        if getattr(spec, "act", None) == "field" and spec.arg in ("font", "size"):
            v = ed.current_fmt(self.doc).get(spec.arg)
            return "" if v is None else f"{v:g}" if isinstance(v, float) else str(v)
        return ctrl.text

    def _click_document(self, double: bool) -> None:
        ui, doc = self.ui, self.doc
        ui.note = None
        if double and ui.hf is not None:
            return self.cmd_close_header()
        if doc.sel.kind != "text":
            doc.sel = Selection("text", first_position(doc), first_position(doc))
        elif double:
            bi, off = doc.sel.a
            a, b = word_at(doc.blocks[bi], off)  # type: ignore[arg-type]
            doc.sel = Selection("text", (bi, a), (bi, b))
        else:
            ed.collapse(doc)
        return None

    def type_text(self, text: str) -> None:
        """Text typed (or set) into the document: the header/footer, a footnote, a comment or the body."""
        ui, doc = self.ui, self.doc
        if ui.comment is not None:
            ui.comment.text += text
            return
        self.mutate()
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

    def act_noop(self, arg: Any) -> None:
        return None

    def act_tab(self, tab: str) -> None:
        if tab == "File":
            self.ui.backstage = "Home"
            self.ui.menus.clear()
            return
        self.ui.tab = tab

    def act_menu(self, mid: str, tg: Target | None) -> None:
        if tg is not None and tg.area == "menu":
            self.ui.menus.append(mid)
        else:
            self.ui.menus = [mid]

    def act_dialog(self, did: str) -> None:
        self.ui.menus.clear()
        self.open_dialog(did)

    def act_backstage(self, page: str) -> None:
        if page == "Save":
            if self.state.saved:
                last = self.state.saved[-1]
                self.state.saved.append(SavedFile(last.folder, last.name, last.format))
                self.ui.backstage = None
            else:
                self.ui.backstage = "Save As"
            return
        self.ui.backstage = page

    def act_backstage_back(self, arg: Any) -> None:
        self.ui.backstage = None

    def act_print(self, arg: Any) -> None:
        self.state.printed.append(int(self.ui.form.get("copies", 1)))
        self.ui.backstage = None

    def act_view(self, view: str) -> None:
        self.state.view = view

    def act_show(self, what: str) -> None:
        setattr(self.state, what, not getattr(self.state, what))

    def act_zoom(self, pct: int) -> None:
        self.state.zoom = int(pct)

    def act_zoom_step(self, d: int) -> None:
        self.state.zoom = max(10, min(500, self.state.zoom + int(d)))

    def act_shape(self, index: int) -> None:
        self.doc.sel = Selection("shape", index=index)
        self.ui.note = None

    # ------------------------------------------------------------------ character formatting

    def act_toggle(self, attr: str) -> None:
        self.mutate()
        ed.toggle_fmt(self.doc, attr)

    def act_font_color(self, color: str) -> None:
        self.mutate()
        ed.apply_fmt(self.doc, color=color)

    def act_highlight(self, color: str | None) -> None:
        self.mutate()
        ed.apply_fmt(self.doc, highlight=color)

    def act_case(self, mode: str) -> None:
        self.mutate()
        ed.change_case(self.doc, mode)

    def act_field_set(self, key: str, text: str) -> None:
        if key == "font":
            name = text.strip()
            if not name or len(name) > 60:
                raise ActionError("bad_args", "the Font box needs a font name such as 'Arial'")
            self.mutate()
            ed.apply_fmt(self.doc, font=name)
            return
        value = parse_measure(text, RIBBON_FIELDS[key])
        if key == "copies":
            self.ui.form["copies"] = int(value)
            return
        self.mutate()
        if key == "size":
            ed.apply_fmt(self.doc, size=round(value * 2) / 2)
        elif key == "indent_left":
            ed.set_para(self.doc, indent_left=value)
        elif key in ("space_before", "space_after"):
            ed.set_para(self.doc, **{key: value})
        elif key in ("shape_height", "shape_width"):
            if self.doc.sel.kind != "shape":
                raise ActionError("disabled", "select a shape first")
            sh = self.doc.shapes[self.doc.sel.index]
            x0, y0, x1, y1 = sh.box
            px = int(value * 96)
            sh.box = (x0, y0, x1, y0 + px) if key == "shape_height" else (x0, y0, x0 + px, y1)

    def cmd_grow(self) -> None:
        self._step_size(+1)

    def cmd_shrink(self) -> None:
        self._step_size(-1)

    def _step_size(self, d: int) -> None:
        cur = ed.current_fmt(self.doc).get("size") or 11.0
        sizes = [float(s) for s in FONT_SIZES]
        nxt = [s for s in sizes if s > cur] if d > 0 else [s for s in sizes if s < cur]
        new = (nxt[0] if d > 0 else nxt[-1]) if nxt else cur
        self.mutate()
        ed.apply_fmt(self.doc, size=new)

    def cmd_clear_fmt(self) -> None:
        self.mutate()
        ed.clear_fmt(self.doc)

    # ------------------------------------------------------------------ paragraph formatting

    def act_style(self, style: str) -> None:
        self.mutate()
        ed.set_para(self.doc, style=style)

    def act_align(self, align: str) -> None:
        self.mutate()
        ed.set_para(self.doc, align=align)

    def act_line_spacing(self, value: float) -> None:
        self.mutate()
        ed.set_para(self.doc, line_spacing=float(value))

    def _toggle_list(self, kind: str) -> None:
        paras = ed.target_paragraphs(self.doc)
        self.mutate()
        turn_off = bool(paras) and all(p.list_kind == kind for p in paras)
        for p in paras:
            p.list_kind = None if turn_off else kind
            if not turn_off and p.style == "Normal":
                p.style = "List Paragraph"
            elif turn_off and p.style == "List Paragraph":
                p.style = "Normal"

    def cmd_bullets(self) -> None:
        self._toggle_list("bullet")

    def cmd_numbering(self) -> None:
        self._toggle_list("number")

    def cmd_indent(self) -> None:
        self.mutate()
        for p in ed.target_paragraphs(self.doc):
            p.indent_left = round(p.indent_left + 0.5, 2)

    def cmd_outdent(self) -> None:
        self.mutate()
        for p in ed.target_paragraphs(self.doc):
            p.indent_left = max(0.0, round(p.indent_left - 0.5, 2))

    def cmd_space_before_on(self) -> None:
        self.mutate()
        ed.set_para(self.doc, space_before=12.0)

    def cmd_space_after_off(self) -> None:
        self.mutate()
        ed.set_para(self.doc, space_after=0.0)

    # ------------------------------------------------------------------ clipboard, undo, save

    def cmd_copy(self) -> None:
        clip = ed.copy_selection(self.doc)
        if clip is not None:
            self.state.clipboard = clip

    def cmd_cut(self) -> None:
        clip = ed.copy_selection(self.doc)
        if clip is None:
            return
        self.state.clipboard = clip
        self.mutate()
        ed.delete_selection(self.doc)

    def cmd_paste(self) -> None:
        if not self.state.clipboard:
            return
        self.mutate()
        if self.doc.sel.kind == "shape":
            self.type_text("\n".join("".join(r.text for r in piece) for piece in self.state.clipboard))
            return
        ed.paste(self.doc, self.state.clipboard)

    def cmd_select_all(self) -> None:
        ed.select_all(self.doc)

    def cmd_undo(self) -> None:
        if self.undo_stack:
            self.version += 1
            self.redo_stack.append(self.doc.clone())
            self.state.doc = self.undo_stack.pop()
            self.ui.note = None

    def cmd_redo(self) -> None:
        if self.redo_stack:
            self.version += 1
            self.undo_stack.append(self.doc.clone())
            self.state.doc = self.redo_stack.pop()

    def cmd_save(self) -> None:
        self.act_backstage("Save")

    def act_cmd(self, name: str) -> Any:
        return getattr(self, f"cmd_{name}")()
