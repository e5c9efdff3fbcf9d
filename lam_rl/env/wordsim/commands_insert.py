"""What WordSim's Insert, contextual (table, shape, header/footer), Design, Layout, References and
Review controls do (the ``act`` of their control specs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from lam_rl.env.wordsim.app import WordSim

HEADER_PLACEHOLDER = "[Type here]"
TEXTBOX_PLACEHOLDER = "[Type your text here]"


# ------------------------------------------------------------------ insert


def cmd_page_break(sim: WordSim, pages: int = 1) -> None:
    doc = sim.doc
    sim.mutate()
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


def cmd_blank_page(sim: WordSim) -> None:
    cmd_page_break(sim, pages=2)


def act_insert_shape(sim: WordSim, kind: str) -> None:
    _new_shape(sim, kind, "")


def act_insert_textbox(sim: WordSim, style: str) -> None:
    _new_shape(sim, "text_box", TEXTBOX_PLACEHOLDER)


def _new_shape(sim: WordSim, kind: str, text: str) -> None:
    doc = sim.doc
    sim.mutate()
    base = SHAPE_NAMES[kind]
    n = 1
    names = {s.name for s in doc.shapes}
    while f"{base} {n}" in names:
        n += 1
    off = 24 * len(doc.shapes)
    box = (420 + off, 120 + off, 620 + off, 220 + off)
    fill = "White" if kind == "text_box" else "Blue, Accent 1"
    doc.shapes.append(Shape(doc.new_id(), kind, f"{base} {n}", text, fill, "Dark Blue", box=box))
    sim.ui.note = None
    doc.sel = Selection("shape", index=len(doc.shapes) - 1)
    sim.ui.tab = "Shape Format"


def act_shape_fill(sim: WordSim, color: str) -> None:
    _shape_attr(sim, "fill", color)


def act_shape_outline(sim: WordSim, color: str) -> None:
    _shape_attr(sim, "outline", color)


def _shape_attr(sim: WordSim, attr: str, value: str) -> None:
    if sim.doc.sel.kind != "shape":
        raise ActionError("disabled", "select a shape first")
    sim.mutate()
    setattr(sim.doc.shapes[sim.doc.sel.index], attr, value)


# ------------------------------------------------------------------ tables


def _selected_table(sim: WordSim) -> Table:
    if sim.doc.sel.kind != "table":
        raise ActionError("disabled", "select a table first (select_table)")
    return sim.doc.tables()[sim.doc.sel.index]


def act_table_style(sim: WordSim, style: str) -> None:
    _selected_table(sim)
    sim.mutate()
    _selected_table(sim).style = style


def act_table_insert(sim: WordSim, where: str) -> None:
    from lam_rl.env.wordsim.document import Cell

    _selected_table(sim)
    sim.mutate()
    t = _selected_table(sim)
    rows, cols = t.shape
    if where in ("above", "below"):
        new = [Cell() for _ in range(cols)]
        t.rows.insert(0 if where == "above" else rows, new)
    else:
        for row in t.rows:
            row.insert(0 if where == "left" else cols, Cell())


def act_table_delete(sim: WordSim, what: str) -> None:
    _selected_table(sim)
    sim.mutate()
    doc = sim.doc
    idx = [i for i, b in enumerate(doc.blocks) if isinstance(b, Table)][doc.sel.index]
    del doc.blocks[idx]
    if not any(isinstance(b, Paragraph) for b in doc.blocks):
        doc.blocks.append(Paragraph([], pid=doc.new_id()))
    doc.sel = Selection("text", first_position(doc), first_position(doc))


# ------------------------------------------------------------------ header, footer, page numbers


def enter_hf(sim: WordSim, which: str) -> None:
    sim.ui.note = None
    if sim.ui.hf is None:
        sim.ui.hf_prev_tab = sim.ui.tab
    sim.ui.hf = which
    sim.ui.tab = "Header & Footer"


def act_header_gallery(sim: WordSim, kind: str) -> None:
    sim.mutate()
    sim.doc.header = HEADER_PLACEHOLDER
    enter_hf(sim, "header")


def act_footer_gallery(sim: WordSim, kind: str) -> None:
    sim.mutate()
    sim.doc.footer = HEADER_PLACEHOLDER
    enter_hf(sim, "footer")


def cmd_remove_header(sim: WordSim) -> None:
    sim.mutate()
    sim.doc.header = ""


def cmd_remove_footer(sim: WordSim) -> None:
    sim.mutate()
    sim.doc.footer = ""


def act_page_numbers(sim: WordSim, where: tuple[str, str]) -> None:
    sim.mutate()
    sim.doc.page_numbers = PageNumbers(where[0], where[1])
    enter_hf(sim, "header" if where[0] == "top" else "footer")


def cmd_remove_page_numbers(sim: WordSim) -> None:
    sim.mutate()
    sim.doc.page_numbers = None


def cmd_close_header(sim: WordSim) -> None:
    if sim.ui.hf is None:
        return
    for area in ("header", "footer"):
        if getattr(sim.doc, area) == HEADER_PLACEHOLDER:
            setattr(sim.doc, area, "")
    sim.ui.hf = None
    sim.ui.tab = sim.ui.hf_prev_tab if sim.ui.hf_prev_tab != "Header & Footer" else "Home"


# ------------------------------------------------------------------ design and layout


def act_watermark(sim: WordSim, name: str) -> None:
    sim.mutate()
    text, layout = WATERMARKS[name]
    sim.doc.watermark = Watermark(text, layout)


def cmd_remove_watermark(sim: WordSim) -> None:
    sim.mutate()
    sim.doc.watermark = None


def act_page_color(sim: WordSim, color: str) -> None:
    sim.mutate()
    sim.doc.page_color = None if color in ("No Color", "Automatic") else color


def act_margins(sim: WordSim, name: str) -> None:
    sim.mutate()
    sim.doc.page.margins = MARGIN_PRESETS[name]
    sim.doc.page.margin_preset = name


def act_orientation(sim: WordSim, o: str) -> None:
    sim.mutate()
    sim.doc.page.orientation = o


def act_paper(sim: WordSim, size: str) -> None:
    sim.mutate()
    sim.doc.page.size = size


def act_columns(sim: WordSim, n: int) -> None:
    sim.mutate()
    sim.doc.page.columns = int(n)


# ------------------------------------------------------------------ references


def act_toc(sim: WordSim, kind: str) -> None:
    doc = sim.doc
    sim.mutate()
    cmd_remove_toc(sim, push=False)
    entries = (
        _headings(sim)
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


def _headings(sim: WordSim) -> list[tuple[int, str]]:
    from lam_rl.env.wordsim.document import STYLES

    return [
        (STYLES[p.style].heading_level, p.text)
        for _, p in sim.doc.paragraphs()
        if STYLES.get(p.style) and STYLES[p.style].heading_level and p.text.strip()
    ]


def cmd_update_toc(sim: WordSim) -> None:
    sim.mutate()
    for b in sim.doc.blocks:
        if isinstance(b, TOC) and b.kind == "automatic":
            b.entries = _headings(sim)


def cmd_remove_toc(sim: WordSim, push: bool = True) -> None:
    doc = sim.doc
    idx = [i for i, b in enumerate(doc.blocks) if isinstance(b, TOC)]
    if not idx:
        return
    if push:
        sim.mutate()
    for i in reversed(idx):
        del doc.blocks[i]
        if doc.sel.kind == "text":
            (a0, a1), (b0, b1) = doc.sel.a, doc.sel.b
            doc.sel = Selection("text", (a0 - (a0 > i), a1), (b0 - (b0 > i), b1))


def _note(sim: WordSim, kind: str) -> None:
    doc = sim.doc
    if doc.sel.kind != "text":
        raise ActionError("disabled", "place the cursor in the text first")
    sim.mutate()
    bi, off = doc.sel.b
    p = doc.blocks[bi]
    assert isinstance(p, Paragraph)
    doc.notes.append(Note(kind, p.pid, off, ""))
    doc.sel = Selection("text", (bi, off), (bi, off))
    sim.ui.note = len(doc.notes) - 1


def cmd_footnote(sim: WordSim) -> None:
    _note(sim, "footnote")


def cmd_endnote(sim: WordSim) -> None:
    _note(sim, "endnote")


# ------------------------------------------------------------------ review


def cmd_new_comment(sim: WordSim) -> None:
    doc = sim.doc
    if doc.sel.kind != "text":
        raise ActionError("disabled", "select the text to comment on first")
    bi, a, b = selected_spans(doc)[0]
    p = doc.blocks[bi]
    assert isinstance(p, Paragraph)
    if a == b:
        a, b = word_at(p, a)
    sim.ui.comment = CommentDraft(p.pid, a, b)
    sim.ui.menus.clear()


def cmd_post_comment(sim: WordSim) -> None:
    draft = sim.ui.comment
    if draft is None or not draft.text.strip():
        raise ActionError("disabled", "'Post comment' is disabled until the comment has text")
    sim.mutate()
    sim.doc.comments.append(
        Comment(sim.doc.new_id(), ed.AUTHOR, draft.text, draft.pid, draft.start, draft.end)
    )
    sim.ui.comment = None


def cmd_cancel_comment(sim: WordSim) -> None:
    sim.ui.comment = None


def _comment_order(sim: WordSim) -> list[tuple[tuple[int, int], Comment]]:
    out = []
    for c in sim.doc.comments:
        bi = sim.doc.para_index(c.pid)
        if bi is not None:
            out.append(((bi, c.start), c))
    return sorted(out, key=lambda x: x[0])


def _select_comment(sim: WordSim, c: Comment) -> None:
    bi = sim.doc.para_index(c.pid)
    assert bi is not None
    sim.doc.sel = Selection("text", (bi, c.start), (bi, c.end))


def cmd_next_comment(sim: WordSim) -> None:
    order = _comment_order(sim)
    if not order:
        raise ActionError("disabled", "the document has no comments")
    cur = sim.doc.sel.a if sim.doc.sel.kind == "text" else (-1, -1)
    after = [c for pos, c in order if pos > cur] or [order[0][1]]
    _select_comment(sim, after[0])


def cmd_prev_comment(sim: WordSim) -> None:
    order = _comment_order(sim)
    if not order:
        raise ActionError("disabled", "the document has no comments")
    cur = sim.doc.sel.a if sim.doc.sel.kind == "text" else (10**9, 0)
    before = [c for pos, c in order if pos < cur] or [order[-1][1]]
    _select_comment(sim, before[-1])


def cmd_delete_comment(sim: WordSim) -> None:
    doc = sim.doc
    if doc.sel.kind == "text":
        bi, off = doc.sel.a
        p = doc.blocks[bi]
        pid = p.pid if isinstance(p, Paragraph) else None
        for c in doc.comments:
            if c.pid == pid and c.start <= off <= c.end:
                sim.mutate()
                doc.comments = [x for x in sim.doc.comments if x.cid != c.cid]
                return
    raise ActionError("disabled", "no comment is selected: use Next Comment first")


def cmd_delete_all_comments(sim: WordSim) -> None:
    sim.mutate()
    sim.doc.comments = []


def cmd_track_changes(sim: WordSim) -> None:
    sim.mutate()
    sim.doc.track_changes = not sim.doc.track_changes


def _settle(sim: WordSim, accept: bool, only_next: bool = False) -> bool:
    keep, drop = ("ins", "del") if accept else ("del", "ins")
    doc = sim.doc
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


def accept_reject(sim: WordSim, accept: bool, only_next: bool = False, stop: bool = False) -> None:
    sim.mutate()
    _settle(sim, accept, only_next)
    from lam_rl.env.wordsim.document import fix_anchors

    fix_anchors(sim.doc)
    _fix_selection(sim)
    if stop:
        sim.doc.track_changes = False


def _fix_selection(sim: WordSim) -> None:
    doc = sim.doc
    if doc.sel.kind == "text":
        (a0, a1), (b0, b1) = doc.sel.a, doc.sel.b
        la, lb = len(doc.blocks[a0].text), len(doc.blocks[b0].text)  # type: ignore[union-attr]
        doc.sel = Selection("text", (a0, min(a1, la)), (b0, min(b1, lb)))
        if doc.sel.a > doc.sel.b:
            doc.sel = Selection("text", doc.sel.b, doc.sel.b)


def insert_table(sim: WordSim, rows: int, cols: int) -> None:
    if not (1 <= rows <= 100 and 1 <= cols <= 63):
        raise ActionError("bad_args", f"a table must have 1-100 rows and 1-63 columns, got {rows}x{cols}")
    from lam_rl.env.wordsim.document import Cell, Paragraph

    sim.mutate()
    doc = sim.doc
    if doc.sel.kind != "text":
        doc.sel = Selection("text", first_position(doc), first_position(doc))
    bi = doc.sel.b[0]
    table = Table([[Cell() for _ in range(cols)] for _ in range(rows)], tid=doc.new_id())
    doc.blocks.insert(bi + 1, table)
    if not any(isinstance(b, Paragraph) for b in doc.blocks[bi + 2 : bi + 3]):
        doc.blocks.insert(bi + 2, Paragraph([], pid=doc.new_id()))
    n = sum(1 for b in doc.blocks[: bi + 2] if isinstance(b, Table))
    doc.sel = Selection("table", index=n - 1)
    sim.ui.tab = "Table Design"
