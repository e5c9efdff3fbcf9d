"""What WordSim's ribbon, menu, status-bar and backstage controls do (the ``act`` of a control spec)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lam_rl.env.wordsim import editing as ed
from lam_rl.env.wordsim.dialogs import Field, parse_measure
from lam_rl.env.wordsim.document import (
    TOC,
    Break,
    Comment,
    Note,
    PageNumbers,
    Paragraph,
    Selection,
    Shape,
    Table,
    Watermark,
    first_position,
    normalize,
    selected_spans,
    word_at,
)
from lam_rl.env.wordsim.ribbon import FONT_SIZES, MARGIN_PRESETS, SHAPE_NAMES, WATERMARKS
from lam_rl.env.wordsim.state import ActionError, CommentDraft, SavedFile

if TYPE_CHECKING:
    from lam_rl.env.protocol import Control
    from lam_rl.env.wordsim.ui import Target

HEADER_PLACEHOLDER = "[Type here]"
TEXTBOX_PLACEHOLDER = "[Type your text here]"
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

    # ------------------------------------------------------------------ insert

    def cmd_page_break(self, pages: int = 1) -> None:
        doc = self.doc
        self.mutate()
        if doc.sel.kind != "text":
            doc.sel = Selection("text", first_position(doc), first_position(doc))
        if not doc.sel.empty:
            ed.delete_selection(doc)
        bi, off = doc.sel.a
        if off > 0:
            ed.split_paragraph(doc)
            bi = doc.sel.a[0]
        for k in range(pages):
            doc.blocks.insert(bi, Break("page"))
            bi += 1
            if k < pages - 1:
                doc.blocks.insert(bi, Paragraph([], pid=doc.new_id()))
                bi += 1
        doc.sel = Selection("text", (bi, 0), (bi, 0))

    def cmd_blank_page(self) -> None:
        self.cmd_page_break(pages=2)

    def act_insert_shape(self, kind: str) -> None:
        self._new_shape(kind, "")

    def act_insert_textbox(self, style: str) -> None:
        self._new_shape("text_box", TEXTBOX_PLACEHOLDER)

    def _new_shape(self, kind: str, text: str) -> None:
        doc = self.doc
        self.mutate()
        base = SHAPE_NAMES[kind]
        n = 1
        names = {s.name for s in doc.shapes}
        while f"{base} {n}" in names:
            n += 1
        off = 24 * len(doc.shapes)
        box = (420 + off, 120 + off, 620 + off, 220 + off)
        fill = "White" if kind == "text_box" else "Blue, Accent 1"
        doc.shapes.append(Shape(doc.new_id(), kind, f"{base} {n}", text, fill, "Dark Blue", box=box))
        self.ui.note = None
        doc.sel = Selection("shape", index=len(doc.shapes) - 1)
        self.ui.tab = "Shape Format"

    def act_shape_fill(self, color: str) -> None:
        self._shape_attr("fill", color)

    def act_shape_outline(self, color: str) -> None:
        self._shape_attr("outline", color)

    def _shape_attr(self, attr: str, value: str) -> None:
        if self.doc.sel.kind != "shape":
            raise ActionError("disabled", "select a shape first")
        self.mutate()
        setattr(self.doc.shapes[self.doc.sel.index], attr, value)

    # ------------------------------------------------------------------ tables

    def _selected_table(self) -> Table:
        if self.doc.sel.kind != "table":
            raise ActionError("disabled", "select a table first (select_table)")
        return self.doc.tables()[self.doc.sel.index]

    def act_table_style(self, style: str) -> None:
        self._selected_table()
        self.mutate()
        self._selected_table().style = style

    def act_table_insert(self, where: str) -> None:
        from lam_rl.env.wordsim.document import Cell

        self._selected_table()
        self.mutate()
        t = self._selected_table()
        rows, cols = t.shape
        if where in ("above", "below"):
            new = [Cell() for _ in range(cols)]
            t.rows.insert(0 if where == "above" else rows, new)
        else:
            for row in t.rows:
                row.insert(0 if where == "left" else cols, Cell())

    def act_table_delete(self, what: str) -> None:
        self._selected_table()
        self.mutate()
        doc = self.doc
        idx = [i for i, b in enumerate(doc.blocks) if isinstance(b, Table)][doc.sel.index]
        del doc.blocks[idx]
        if not any(isinstance(b, Paragraph) for b in doc.blocks):
            doc.blocks.append(Paragraph([], pid=doc.new_id()))
        doc.sel = Selection("text", first_position(doc), first_position(doc))

    # ------------------------------------------------------------------ header, footer, page numbers

    def _enter_hf(self, which: str) -> None:
        self.ui.note = None
        if self.ui.hf is None:
            self.ui.hf_prev_tab = self.ui.tab
        self.ui.hf = which
        self.ui.tab = "Header & Footer"

    def act_header_gallery(self, kind: str) -> None:
        self.mutate()
        self.doc.header = HEADER_PLACEHOLDER
        self._enter_hf("header")

    def act_footer_gallery(self, kind: str) -> None:
        self.mutate()
        self.doc.footer = HEADER_PLACEHOLDER
        self._enter_hf("footer")

    def cmd_edit_header(self) -> None:
        self._enter_hf("header")

    def cmd_edit_footer(self) -> None:
        self._enter_hf("footer")

    def cmd_goto_header(self) -> None:
        self._enter_hf("header")

    def cmd_goto_footer(self) -> None:
        self._enter_hf("footer")

    def cmd_remove_header(self) -> None:
        self.mutate()
        self.doc.header = ""

    def cmd_remove_footer(self) -> None:
        self.mutate()
        self.doc.footer = ""

    def act_page_numbers(self, where: tuple[str, str]) -> None:
        self.mutate()
        self.doc.page_numbers = PageNumbers(where[0], where[1])
        self._enter_hf("header" if where[0] == "top" else "footer")

    def cmd_remove_page_numbers(self) -> None:
        self.mutate()
        self.doc.page_numbers = None

    def cmd_close_header(self) -> None:
        if self.ui.hf is None:
            return
        for area in ("header", "footer"):
            if getattr(self.doc, area) == HEADER_PLACEHOLDER:
                setattr(self.doc, area, "")
        self.ui.hf = None
        self.ui.tab = self.ui.hf_prev_tab if self.ui.hf_prev_tab != "Header & Footer" else "Home"

    # ------------------------------------------------------------------ design and layout

    def act_watermark(self, name: str) -> None:
        self.mutate()
        text, layout = WATERMARKS[name]
        self.doc.watermark = Watermark(text, layout)

    def cmd_remove_watermark(self) -> None:
        self.mutate()
        self.doc.watermark = None

    def act_page_color(self, color: str) -> None:
        self.mutate()
        self.doc.page_color = None if color in ("No Color", "Automatic") else color

    def act_margins(self, name: str) -> None:
        self.mutate()
        self.doc.page.margins = MARGIN_PRESETS[name]
        self.doc.page.margin_preset = name

    def act_orientation(self, o: str) -> None:
        self.mutate()
        self.doc.page.orientation = o

    def act_paper(self, size: str) -> None:
        self.mutate()
        self.doc.page.size = size

    def act_columns(self, n: int) -> None:
        self.mutate()
        self.doc.page.columns = int(n)

    # ------------------------------------------------------------------ references

    def act_toc(self, kind: str) -> None:
        doc = self.doc
        self.mutate()
        self.cmd_remove_toc(push=False)
        entries = (
            self._headings()
            if kind == "automatic"
            else [
                (1, "Type chapter title (level 1)"),
                (2, "Type chapter title (level 2)"),
                (3, "Type chapter title (level 3)"),
            ]
        )
        bi = doc.sel.a[0] if doc.sel.kind == "text" else 0
        doc.blocks.insert(bi, TOC(kind, entries))
        if doc.sel.kind == "text":
            doc.sel = Selection("text", (doc.sel.a[0] + 1, doc.sel.a[1]), (doc.sel.b[0] + 1, doc.sel.b[1]))

    def _headings(self) -> list[tuple[int, str]]:
        from lam_rl.env.wordsim.document import STYLES

        return [
            (STYLES[p.style].heading_level, p.text)
            for _, p in self.doc.paragraphs()
            if STYLES.get(p.style) and STYLES[p.style].heading_level and p.text.strip()
        ]

    def cmd_update_toc(self) -> None:
        self.mutate()
        for b in self.doc.blocks:
            if isinstance(b, TOC) and b.kind == "automatic":
                b.entries = self._headings()

    def cmd_remove_toc(self, push: bool = True) -> None:
        doc = self.doc
        idx = [i for i, b in enumerate(doc.blocks) if isinstance(b, TOC)]
        if not idx:
            return
        if push:
            self.mutate()
        for i in reversed(idx):
            del doc.blocks[i]
            if doc.sel.kind == "text":
                (a0, a1), (b0, b1) = doc.sel.a, doc.sel.b
                doc.sel = Selection("text", (a0 - (a0 > i), a1), (b0 - (b0 > i), b1))

    def _note(self, kind: str) -> None:
        doc = self.doc
        if doc.sel.kind != "text":
            raise ActionError("disabled", "place the cursor in the text first")
        self.mutate()
        bi, off = doc.sel.b
        p = doc.blocks[bi]
        assert isinstance(p, Paragraph)
        doc.notes.append(Note(kind, p.pid, off, ""))
        doc.sel = Selection("text", (bi, off), (bi, off))
        self.ui.note = len(doc.notes) - 1

    def cmd_footnote(self) -> None:
        self._note("footnote")

    def cmd_endnote(self) -> None:
        self._note("endnote")

    # ------------------------------------------------------------------ review

    def cmd_new_comment(self) -> None:
        doc = self.doc
        if doc.sel.kind != "text":
            raise ActionError("disabled", "select the text to comment on first")
        bi, a, b = selected_spans(doc)[0]
        p = doc.blocks[bi]
        assert isinstance(p, Paragraph)
        if a == b:
            a, b = word_at(p, a)
        self.ui.comment = CommentDraft(p.pid, a, b)
        self.ui.menus.clear()

    def cmd_post_comment(self) -> None:
        draft = self.ui.comment
        if draft is None or not draft.text.strip():
            raise ActionError("disabled", "'Post comment' is disabled until the comment has text")
        self.mutate()
        self.doc.comments.append(
            Comment(self.doc.new_id(), ed.AUTHOR, draft.text, draft.pid, draft.start, draft.end)
        )
        self.ui.comment = None

    def cmd_cancel_comment(self) -> None:
        self.ui.comment = None

    def _comment_order(self) -> list[tuple[tuple[int, int], Comment]]:
        out = []
        for c in self.doc.comments:
            bi = self.doc.para_index(c.pid)
            if bi is not None:
                out.append(((bi, c.start), c))
        return sorted(out, key=lambda x: x[0])

    def _select_comment(self, c: Comment) -> None:
        bi = self.doc.para_index(c.pid)
        assert bi is not None
        self.doc.sel = Selection("text", (bi, c.start), (bi, c.end))

    def cmd_next_comment(self) -> None:
        order = self._comment_order()
        if not order:
            raise ActionError("disabled", "the document has no comments")
        cur = self.doc.sel.a if self.doc.sel.kind == "text" else (-1, -1)
        after = [c for pos, c in order if pos > cur] or [order[0][1]]
        self._select_comment(after[0])

    def cmd_prev_comment(self) -> None:
        order = self._comment_order()
        if not order:
            raise ActionError("disabled", "the document has no comments")
        cur = self.doc.sel.a if self.doc.sel.kind == "text" else (10**9, 0)
        before = [c for pos, c in order if pos < cur] or [order[-1][1]]
        self._select_comment(before[-1])

    def cmd_delete_comment(self) -> None:
        doc = self.doc
        if doc.sel.kind == "text":
            bi, off = doc.sel.a
            p = doc.blocks[bi]
            pid = p.pid if isinstance(p, Paragraph) else None
            for c in doc.comments:
                if c.pid == pid and c.start <= off <= c.end:
                    self.mutate()
                    doc.comments = [x for x in self.doc.comments if x.cid != c.cid]
                    return
        raise ActionError("disabled", "no comment is selected: use Next Comment first")

    def cmd_delete_all_comments(self) -> None:
        self.mutate()
        self.doc.comments = []

    def cmd_track_changes(self) -> None:
        self.mutate()
        self.doc.track_changes = not self.doc.track_changes

    def _settle(self, accept: bool, only_next: bool = False) -> bool:
        keep, drop = ("ins", "del") if accept else ("del", "ins")
        doc = self.doc
        start = doc.sel.a if doc.sel.kind == "text" else (0, 0)
        for bi, p in doc.paragraphs():
            if only_next and bi < start[0]:
                continue
            for r in p.runs:
                if r.rev is None:
                    continue
                kind = r.rev.split(":")[0]
                r.rev = None
                if kind == drop:
                    r.text = ""
                assert kind in (keep, drop)
                if only_next:
                    normalize(p)
                    return True
            normalize(p)
        return False

    def _accept_reject(self, accept: bool, only_next: bool = False, stop: bool = False) -> None:
        self.mutate()
        self._settle(accept, only_next)
        from lam_rl.env.wordsim.document import fix_anchors

        fix_anchors(self.doc)
        self._fix_selection()
        if stop:
            self.doc.track_changes = False

    def _fix_selection(self) -> None:
        doc = self.doc
        if doc.sel.kind == "text":
            (a0, a1), (b0, b1) = doc.sel.a, doc.sel.b
            la, lb = len(doc.blocks[a0].text), len(doc.blocks[b0].text)  # type: ignore[union-attr]
            doc.sel = Selection("text", (a0, min(a1, la)), (b0, min(b1, lb)))
            if doc.sel.a > doc.sel.b:
                doc.sel = Selection("text", doc.sel.b, doc.sel.b)

    def cmd_accept_next(self) -> None:
        self._accept_reject(True, only_next=True)

    def cmd_accept_all(self) -> None:
        self._accept_reject(True)

    def cmd_accept_all_stop(self) -> None:
        self._accept_reject(True, stop=True)

    def cmd_reject_next(self) -> None:
        self._accept_reject(False, only_next=True)

    def cmd_reject_all(self) -> None:
        self._accept_reject(False)

    def cmd_reject_all_stop(self) -> None:
        self._accept_reject(False, stop=True)

    def act_cmd(self, name: str) -> Any:
        return getattr(self, f"cmd_{name}")()
