"""Editing operations on a :class:`Document`: typing, deleting, formatting, caret moves, clipboard.

With track changes on, deletions mark runs ``del:You`` (the text stays, struck through) and
insertions are ``ins:You`` runs, so Accept/Reject All can settle them as Word does.
"""

from __future__ import annotations

from typing import Any

from lam_rl.env.wordsim.document import (
    PLAIN,
    Document,
    Fmt,
    Paragraph,
    Run,
    Selection,
    Table,
    effective_fmt,
    first_position,
    fix_anchors,
    last_position,
    normalize,
    runs_between,
    selected_spans,
    split_at,
    style_fmt,
    word_at,
)

AUTHOR = "You"


def select(doc: Document, a: tuple[int, int], b: tuple[int, int] | None = None) -> None:
    doc.sel = Selection("text", a, a if b is None else b)


def collapse(doc: Document, to_end: bool = False) -> None:
    s = doc.sel
    if s.kind != "text":
        return
    pos = s.b if to_end else s.a
    doc.sel = Selection("text", pos, pos)


def select_all(doc: Document) -> None:
    select(doc, first_position(doc), last_position(doc))


# ------------------------------------------------------------------------------ anchors


def _shift(doc: Document, pid: int, off: int, delta: int) -> None:
    """Text of length ``delta`` was inserted at ``off`` of paragraph ``pid``: move anchors after it."""
    for c in doc.comments:
        if c.pid == pid:
            start = c.start + delta if c.start >= off else c.start
            end = c.end + delta if c.end > off else c.end
            c.start, c.end = start, max(start, end)
    for n in doc.notes:
        if n.pid == pid and n.offset >= off:
            n.offset += delta


def _cut(doc: Document, pid: int, a: int, b: int) -> None:
    n = b - a

    def move(x: int) -> int:
        return a if a <= x < b else (x - n if x >= b else x)

    for c in doc.comments:
        if c.pid == pid:
            c.start, c.end = move(c.start), move(c.end)
    for note in doc.notes:
        if note.pid == pid:
            note.offset = move(note.offset)


def _move_anchors(doc: Document, src: int, dst: int, offset: int, from_off: int = 0) -> None:
    """Anchors in paragraph ``src`` at or after ``from_off`` move to ``dst`` shifted by ``offset``."""
    for c in doc.comments:
        if c.pid == src and c.start >= from_off:
            c.pid, c.start, c.end = dst, c.start - from_off + offset, c.end - from_off + offset
        elif c.pid == src and c.end > from_off:
            c.end = from_off
    for note in doc.notes:
        if note.pid == src and note.offset >= from_off:
            note.pid, note.offset = dst, note.offset - from_off + offset


# ------------------------------------------------------------------------------ typing


def _fmt_before(p: Paragraph, off: int) -> Fmt:
    pos = 0
    for r in p.runs:
        if pos < off <= pos + len(r.text):
            return r.fmt.with_(link=None) if r.fmt.link else r.fmt
        pos += len(r.text)
    return p.runs[0].fmt if p.runs else PLAIN


def delete_selection(doc: Document) -> bool:
    """Delete the selected text (track changes: mark it deleted). Returns whether anything changed."""
    s = doc.sel
    if s.kind == "table":
        t = doc.tables()[s.index]
        for row in t.rows:
            for c in row:
                c.text = ""
        return True
    if s.kind == "shape":
        idx = s.index
        del doc.shapes[idx]
        doc.sel = Selection("text", first_position(doc), first_position(doc))
        return True
    if s.empty:
        return False
    spans = selected_spans(doc)
    if doc.track_changes:
        for bi, a, b in spans:
            p = doc.blocks[bi]
            assert isinstance(p, Paragraph)
            for r in runs_between(p, a, b):
                if r.rev == f"ins:{AUTHOR}":
                    r.text = ""
                elif not (r.rev or "").startswith("del"):
                    r.rev = f"del:{AUTHOR}"
            normalize(p)
        fix_anchors(doc)
        bi, off = doc.sel.b
        off = min(off, len(doc.blocks[bi].text))  # type: ignore[union-attr]
        doc.sel = Selection("text", (bi, off), (bi, off))
        return True
    first_bi, a0, _ = spans[0]
    first = doc.blocks[first_bi]
    assert isinstance(first, Paragraph)
    for bi, a, b in reversed(spans):
        p = doc.blocks[bi]
        assert isinstance(p, Paragraph)
        i, j = split_at(p, a), split_at(p, b)
        del p.runs[i:j]
        _cut(doc, p.pid, a, b)
        normalize(p)
    # merge every later touched paragraph into the first one (their breaks were selected)
    last_bi = spans[-1][0]
    if last_bi != first_bi:
        keep: list[Any] = []
        for bi in range(first_bi + 1, last_bi + 1):
            b = doc.blocks[bi]
            if isinstance(b, Paragraph):
                _move_anchors(doc, b.pid, first.pid, len(first.text))
                first.runs.extend(b.runs)
            else:
                keep.append(b)
        doc.blocks[first_bi + 1 : last_bi + 1] = keep
        normalize(first)
    fix_anchors(doc)
    doc.sel = Selection("text", (first_bi, a0), (first_bi, a0))
    return True


def insert_text(doc: Document, text: str, fmt: Fmt | None = None) -> None:
    """Type ``text`` at the selection, replacing it; '\\n' starts a new paragraph."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if doc.sel.kind != "text":
        if doc.sel.kind == "shape":
            sh = doc.shapes[doc.sel.index]
            sh.text = text if sh.text == "" or sh.kind != "text_box" else sh.text + text
            return
        caret_after_object(doc)
    if not doc.sel.empty:
        delete_selection(doc)
    lines = text.split("\n")
    for k, line in enumerate(lines):
        if k:
            split_paragraph(doc)
        if line:
            _insert_plain(doc, line, fmt)


def _insert_plain(doc: Document, text: str, fmt: Fmt | None) -> None:
    bi, off = doc.sel.a
    p = doc.blocks[bi]
    assert isinstance(p, Paragraph)
    f = fmt if fmt is not None else _fmt_before(p, off)
    i = split_at(p, off)
    p.runs.insert(i, Run(text, f, f"ins:{AUTHOR}" if doc.track_changes else None))
    normalize(p)
    _shift(doc, p.pid, off, len(text))
    doc.sel = Selection("text", (bi, off + len(text)), (bi, off + len(text)))


def caret_after_object(doc: Document) -> None:
    """With a table or shape selected, put a caret in the text right after it (typing goes there)."""
    s = doc.sel
    if s.kind == "text":
        return
    if s.kind == "table":
        idx = [i for i, b in enumerate(doc.blocks) if isinstance(b, Table)][s.index]
        nxt = _next_para(doc, idx)
        pos = (nxt, 0) if nxt is not None else last_position(doc)
    else:
        pos = first_position(doc)
    doc.sel = Selection("text", pos, pos)


def split_paragraph(doc: Document) -> None:
    """Enter: split the caret paragraph; the new paragraph keeps style, alignment and list."""
    caret_after_object(doc)
    if not doc.sel.empty:
        delete_selection(doc)
    bi, off = doc.sel.a
    p = doc.blocks[bi]
    assert isinstance(p, Paragraph)
    i = split_at(p, off)
    tail = p.runs[i:]
    p.runs = p.runs[:i]
    style = p.style
    if style in ("Title", "Heading 1", "Heading 2", "Heading 3", "Subtitle") and not tail:
        style = "Normal"  # Word: Enter at the end of a heading continues with Normal
    q = Paragraph(
        tail,
        style,
        p.align,
        p.line_spacing,
        p.space_before,
        p.space_after,
        p.indent_left,
        p.list_kind,
        doc.new_id(),
    )
    doc.blocks.insert(bi + 1, q)
    if tail:
        _move_anchors(doc, p.pid, q.pid, 0, from_off=off)
    fix_anchors(doc)
    doc.sel = Selection("text", (bi + 1, 0), (bi + 1, 0))


def backspace(doc: Document) -> bool:
    if doc.sel.kind != "text" or not doc.sel.empty:
        return delete_selection(doc)
    bi, off = doc.sel.a
    if off > 0:
        doc.sel = Selection("text", (bi, off - 1), (bi, off))
        return delete_selection(doc)
    prev = _prev_para(doc, bi)
    if prev is None:
        return False
    if doc.track_changes:
        doc.sel = Selection("text", (prev, len(doc.blocks[prev].text)), (prev, len(doc.blocks[prev].text)))  # type: ignore[union-attr]
        return True
    doc.sel = Selection("text", (prev, len(doc.blocks[prev].text)), (bi, 0))  # type: ignore[union-attr]
    return delete_selection(doc)


def delete_forward(doc: Document) -> bool:
    if doc.sel.kind != "text" or not doc.sel.empty:
        return delete_selection(doc)
    bi, off = doc.sel.a
    p = doc.blocks[bi]
    assert isinstance(p, Paragraph)
    if off < len(p.text):
        doc.sel = Selection("text", (bi, off), (bi, off + 1))
        return delete_selection(doc)
    nxt = _next_para(doc, bi)
    if nxt is None or nxt != bi + 1 or doc.track_changes:
        return False
    doc.sel = Selection("text", (bi, off), (nxt, 0))
    return delete_selection(doc)


def _prev_para(doc: Document, bi: int) -> int | None:
    for i in range(bi - 1, -1, -1):
        if isinstance(doc.blocks[i], Paragraph):
            return i
    return None


def _next_para(doc: Document, bi: int) -> int | None:
    for i in range(bi + 1, len(doc.blocks)):
        if isinstance(doc.blocks[i], Paragraph):
            return i
    return None


# ------------------------------------------------------------------------------ caret moves


def move(doc: Document, key: str, ctrl: bool = False, shift: bool = False, count: int = 1) -> None:
    """Arrow/Home/End/PageUp/PageDown caret moves; ``shift`` extends the selection."""
    if doc.sel.kind != "text":
        doc.sel = Selection("text", first_position(doc), first_position(doc))
    anchor, head = doc.sel.a, doc.sel.b
    if not shift and not doc.sel.empty and key in ("LEFT", "RIGHT"):
        collapse(doc, to_end=key == "RIGHT")  # Word: the first arrow only collapses a selection
        count -= 1
        if count < 1:
            return
    for _ in range(max(1, count)):
        head = _moved(doc, head if shift or key in ("RIGHT", "DOWN", "END") else doc.sel.a, key, ctrl)
        if not shift:
            doc.sel = Selection("text", head, head)
    if shift:
        a, b = (anchor, head) if anchor <= head else (head, anchor)
        doc.sel = Selection("text", a, b)


def _moved(doc: Document, pos: tuple[int, int], key: str, ctrl: bool) -> tuple[int, int]:
    bi, off = pos
    p = doc.blocks[bi]
    n = len(p.text)  # type: ignore[union-attr]
    if key in ("HOME", "END") and ctrl or key in ("PGUP", "PGDN"):
        return first_position(doc) if key in ("HOME", "PGUP") else last_position(doc)
    if key == "HOME":
        return bi, 0
    if key == "END":
        return bi, n
    if key == "LEFT":
        if off > 0:
            if ctrl:
                t = p.text  # type: ignore[union-attr]
                k = off - 1
                while k > 0 and t[k - 1] != " ":
                    k -= 1
                return bi, k
            return bi, off - 1
        prev = _prev_para(doc, bi)
        return (prev, len(doc.blocks[prev].text)) if prev is not None else pos  # type: ignore[union-attr]
    if key == "RIGHT":
        if off < n:
            if ctrl:
                t = p.text  # type: ignore[union-attr]
                k = off
                while k < n and t[k] != " ":
                    k += 1
                while k < n and t[k] == " ":
                    k += 1
                return bi, k
            return bi, off + 1
        nxt = _next_para(doc, bi)
        return (nxt, 0) if nxt is not None else pos
    if key == "UP":
        prev = _prev_para(doc, bi)
        return (prev, min(off, len(doc.blocks[prev].text))) if prev is not None else (bi, 0)  # type: ignore[union-attr]
    if key == "DOWN":
        nxt = _next_para(doc, bi)
        return (nxt, min(off, len(doc.blocks[nxt].text))) if nxt is not None else (bi, n)  # type: ignore[union-attr]
    return pos


# ------------------------------------------------------------------------------ formatting


def format_targets(doc: Document) -> list[tuple[Paragraph, int, int]]:
    """The text ranges character formatting applies to: the selection, or the word at the caret."""
    if doc.sel.kind != "text":
        return []
    spans = selected_spans(doc)
    if doc.sel.empty:
        bi, off = doc.sel.a
        p = doc.blocks[bi]
        assert isinstance(p, Paragraph)
        a, b = word_at(p, off)
        return [(p, a, b)] if a < b else []
    return [(doc.blocks[bi], a, b) for bi, a, b in spans if a < b]  # type: ignore[misc]


def current_fmt(doc: Document) -> dict[str, Any]:
    """Effective value of each attribute over the selection; None where it is mixed."""
    s = doc.sel
    if s.kind == "table":
        fmts = [c.fmt.over(_base()) for row in doc.tables()[s.index].rows for c in row]
    elif s.kind == "shape":
        fmts = [doc.shapes[s.index].fmt.over(_base())]
    else:
        fmts = []
        targets = format_targets(doc) or _caret_fmt(doc)
        for p, a, b in targets:
            if a == b:
                fmts.append(effective_fmt(p, Run("x", _fmt_before(p, a))))
            for r in runs_between(p, a, b):
                fmts.append(effective_fmt(p, r))
            normalize(p)
    out: dict[str, Any] = {}
    for attr in ("bold", "italic", "underline", "strike", "sup", "sub", "font", "size", "color", "highlight"):
        vals = {getattr(f, attr) for f in fmts}
        out[attr] = vals.pop() if len(vals) == 1 else None
    return out


def _caret_fmt(doc: Document) -> list[tuple[Paragraph, int, int]]:
    if doc.sel.kind == "text":
        bi, off = doc.sel.a
        p = doc.blocks[bi]
        if isinstance(p, Paragraph):
            return [(p, off, off)]
    return []


def _base() -> Fmt:
    from lam_rl.env.wordsim.document import BASE_FMT

    return BASE_FMT


def apply_fmt(doc: Document, **attrs: Any) -> bool:
    """Set direct formatting on the selection (text ranges, a whole table, or a shape's text)."""
    s = doc.sel
    if s.kind == "table":
        for row in doc.tables()[s.index].rows:
            for c in row:
                c.fmt = c.fmt.with_(**attrs)
        return True
    if s.kind == "shape":
        sh = doc.shapes[s.index]
        sh.fmt = sh.fmt.with_(**attrs)
        return True
    targets = format_targets(doc)
    for p, a, b in targets:
        for r in runs_between(p, a, b):
            r.fmt = r.fmt.with_(**attrs)
        normalize(p)
    return bool(targets)


def toggle_fmt(doc: Document, attr: str) -> bool:
    """Word's toggle buttons: on unless the whole selection already has it; turning an attribute
    back to what the paragraph style gives removes the direct formatting (runs merge again)."""
    cur = current_fmt(doc).get(attr)
    value = not bool(cur)
    extra: dict[str, Any] = (
        {"sub" if attr == "sup" else "sup": None} if attr in ("sup", "sub") and value else {}
    )
    if doc.sel.kind != "text":
        return apply_fmt(doc, **{attr: value if value else None}, **extra)
    targets = format_targets(doc)
    for p, a, b in targets:
        style_value = getattr(style_fmt(p.style), attr)
        for r in runs_between(p, a, b):
            r.fmt = r.fmt.with_(**{attr: None if value == style_value else value}, **extra)
        normalize(p)
    return bool(targets)


def clear_fmt(doc: Document) -> bool:
    s = doc.sel
    if s.kind != "text":
        return apply_fmt(
            doc, **{a: None for a in ("bold", "italic", "underline", "strike", "font", "size", "color")}
        )
    targets = format_targets(doc)
    for p, a, b in targets:
        for r in runs_between(p, a, b):
            r.fmt = Fmt(link=r.fmt.link)
        normalize(p)
    for p in target_paragraphs(doc):
        p.style = "Normal"
        p.align = None
        p.list_kind = None
        p.indent_left = 0.0
    return True


def change_case(doc: Document, mode: str) -> bool:
    targets = format_targets(doc)
    for p, a, b in targets:
        for r in runs_between(p, a, b):
            if mode == "upper":
                r.text = r.text.upper()
            elif mode == "lower":
                r.text = r.text.lower()
            elif mode == "title":
                r.text = " ".join(w[:1].upper() + w[1:].lower() for w in r.text.split(" "))
            elif mode == "toggle":
                r.text = r.text.swapcase()
            elif mode == "sentence":
                r.text = r.text[:1].upper() + r.text[1:].lower()
        normalize(p)
    return bool(targets)


def target_paragraphs(doc: Document) -> list[Paragraph]:
    """Paragraphs a paragraph command applies to: those the selection touches, or the caret's."""
    if doc.sel.kind != "text":
        return []
    return [doc.blocks[bi] for bi, _, _ in selected_spans(doc)]  # type: ignore[misc]


def set_para(doc: Document, **attrs: Any) -> bool:
    paras = target_paragraphs(doc)
    for p in paras:
        for k, v in attrs.items():
            setattr(p, k, v)
    return bool(paras)


# ------------------------------------------------------------------------------ clipboard


def copy_selection(doc: Document) -> list[list[Run]] | None:
    s = doc.sel
    if s.kind == "shape":
        return [[Run(doc.shapes[s.index].text)]] if doc.shapes[s.index].text else None
    if s.kind == "table":
        t = doc.tables()[s.index]
        return [[Run("\t".join(c.text for c in row))] for row in t.rows]
    if s.empty:
        return None
    out: list[list[Run]] = []
    for bi, a, b in selected_spans(doc):
        p = doc.blocks[bi]
        assert isinstance(p, Paragraph)
        out.append([Run(r.text, r.fmt) for r in runs_between(p, a, b) if not (r.rev or "").startswith("del")])
        normalize(p)
    return out


def paste(doc: Document, clip: list[list[Run]]) -> None:
    if doc.sel.kind != "text":
        doc.sel = Selection("text", last_position(doc), last_position(doc))
    if not doc.sel.empty:
        delete_selection(doc)
    for k, piece in enumerate(clip):
        if k:
            split_paragraph(doc)
        for r in piece:
            _insert_plain(doc, r.text, r.fmt)
