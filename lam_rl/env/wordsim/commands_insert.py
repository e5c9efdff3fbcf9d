"""What WordSim's Insert, contextual (table, shape, header/footer), Design, Layout, References and
Review controls do (the ``act`` of their control specs)."""

from __future__ import annotations

from lam_rl.env.wordsim import editing as ed
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
from lam_rl.env.wordsim.ribbon import MARGIN_PRESETS, SHAPE_NAMES, WATERMARKS
from lam_rl.env.wordsim.state import ActionError, CommentDraft

HEADER_PLACEHOLDER = "[Type here]"
TEXTBOX_PLACEHOLDER = "[Type your text here]"


class InsertReviewCommands:
    """Mixin for WordSim: document-structure commands."""

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
