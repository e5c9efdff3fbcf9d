"""WordSim's document model: paragraphs of formatted runs, styles, lists, tables, headers/footers,
comments, footnotes, tracked revisions, shapes, a watermark, page setup, and the selection.

Formatting follows Word: a run's *direct* formatting (``Fmt`` fields left ``None`` inherit) sits on
top of its paragraph style; ``effective_fmt`` resolves both. Positions are ``(block, offset)`` pairs
into paragraph blocks; tables, breaks and tables of contents are blocks without text positions.
Everything here is plain data with a fast ``clone`` (undo snapshots, verifier "before" states)
and ``check_invariants`` (the property tests' notion of a consistent state).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

FMT_ATTRS = (
    "bold",
    "italic",
    "underline",
    "strike",
    "sup",
    "sub",
    "font",
    "size",
    "color",
    "highlight",
    "link",
)


@dataclass(frozen=True, slots=True)
class Fmt:
    """Character formatting; ``None`` means "inherit from the paragraph style"."""

    bold: bool | None = None
    italic: bool | None = None
    underline: bool | None = None
    strike: bool | None = None
    sup: bool | None = None
    sub: bool | None = None
    font: str | None = None
    size: float | None = None
    color: str | None = None
    highlight: str | None = None
    link: str | None = None

    def with_(self, **kw: Any) -> Fmt:
        return replace(self, **kw)

    def over(self, base: Fmt) -> Fmt:
        """This formatting applied on top of ``base`` (None fields take base's values)."""
        return Fmt(**{a: (v if (v := getattr(self, a)) is not None else getattr(base, a)) for a in FMT_ATTRS})


PLAIN = Fmt()
BASE_FMT = Fmt(False, False, False, False, False, False, "Calibri", 11.0, "Automatic", None, None)


@dataclass(frozen=True)
class StyleDef:
    fmt: Fmt
    space_after: float = 8.0
    heading_level: int = 0


STYLES: dict[str, StyleDef] = {
    "Normal": StyleDef(PLAIN),
    "No Spacing": StyleDef(PLAIN, space_after=0.0),
    "Title": StyleDef(Fmt(font="Calibri Light", size=28.0), space_after=0.0),
    "Subtitle": StyleDef(Fmt(color="Gray", size=11.0)),
    "Heading 1": StyleDef(Fmt(font="Calibri Light", size=16.0, color="Blue, Accent 1"), 0.0, 1),
    "Heading 2": StyleDef(Fmt(font="Calibri Light", size=13.0, color="Blue, Accent 1"), 0.0, 2),
    "Heading 3": StyleDef(Fmt(font="Calibri Light", size=12.0, color="Dark Blue"), 0.0, 3),
    "Subtle Emphasis": StyleDef(Fmt(italic=True, color="Gray")),
    "Emphasis": StyleDef(Fmt(italic=True)),
    "Strong": StyleDef(Fmt(bold=True)),
    "Quote": StyleDef(Fmt(italic=True, color="Gray")),
    "List Paragraph": StyleDef(PLAIN),
}


@dataclass(slots=True)
class Run:
    text: str
    fmt: Fmt = PLAIN
    rev: str | None = None  # tracked change: "ins:Author" or "del:Author"


@dataclass
class Paragraph:
    runs: list[Run] = field(default_factory=list)
    style: str = "Normal"
    align: str | None = None  # None: the style's (left)
    line_spacing: float | None = None  # multiple of single; None: 1.08 (Word's default)
    space_before: float | None = None
    space_after: float | None = None
    indent_left: float = 0.0  # inches
    list_kind: str | None = None  # "bullet" | "number"
    pid: int = 0

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)


@dataclass
class Cell:
    text: str = ""
    fmt: Fmt = PLAIN


@dataclass
class Table:
    rows: list[list[Cell]]
    style: str = "Table Grid"
    tid: int = 0

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.rows), len(self.rows[0]) if self.rows else 0


@dataclass
class Break:
    kind: str = "page"


@dataclass
class TOC:
    kind: str  # "automatic" | "manual"
    entries: list[tuple[int, str]] = field(default_factory=list)


Block = Paragraph | Table | Break | TOC


@dataclass
class Shape:
    sid: int
    kind: str  # rectangle | rounded_rectangle | oval | triangle | arrow | star | text_box | chart | line
    name: str  # as Word's Selection Pane shows it: "Rectangle 1"
    text: str = ""
    fill: str = "Blue, Accent 1"
    outline: str = "Dark Blue"
    fmt: Fmt = PLAIN
    box: tuple[int, int, int, int] = (60, 260, 300, 360)  # page-relative pixels


@dataclass
class Comment:
    cid: int
    author: str
    text: str
    pid: int
    start: int
    end: int


@dataclass
class Note:
    kind: str  # footnote | endnote
    pid: int
    offset: int
    text: str


@dataclass
class PageSetup:
    margins: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # top, bottom, left, right (in)
    margin_preset: str = "Normal"
    orientation: str = "Portrait"
    size: str = "Letter"
    columns: int = 1


@dataclass
class Watermark:
    text: str
    layout: str = "diagonal"
    font: str = "Calibri"
    color: str = "Silver"


@dataclass
class PageNumbers:
    position: str  # top | bottom
    align: str  # left | center | right


@dataclass
class Selection:
    kind: str = "text"  # text | table | shape
    a: tuple[int, int] = (0, 0)
    b: tuple[int, int] = (0, 0)
    index: int = 0  # table number (0-based) or shape index when kind is table/shape

    @property
    def empty(self) -> bool:
        return self.kind == "text" and self.a == self.b


@dataclass
class Document:
    blocks: list[Block] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    header: str = ""
    footer: str = ""
    page_numbers: PageNumbers | None = None
    page: PageSetup = field(default_factory=PageSetup)
    page_color: str | None = None
    page_border: str | None = None  # box | shadow | 3-d
    border_color: str = "Automatic"
    border_width: str = "1/2 pt"
    watermark: Watermark | None = None
    track_changes: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    sel: Selection = field(default_factory=Selection)
    next_id: int = 1

    # ---------------------------------------------------------------- ids and iteration

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def paragraphs(self) -> list[tuple[int, Paragraph]]:
        return [(i, b) for i, b in enumerate(self.blocks) if isinstance(b, Paragraph)]

    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    def para_index(self, pid: int) -> int | None:
        for i, b in enumerate(self.blocks):
            if isinstance(b, Paragraph) and b.pid == pid:
                return i
        return None

    def text(self, final: bool = True) -> str:
        """Body text, one paragraph a line (tables: cells joined by tabs). ``final`` drops deletions."""
        out = []
        for b in self.blocks:
            if isinstance(b, Paragraph):
                out.append(
                    "".join(r.text for r in b.runs if not (final and r.rev and r.rev.startswith("del")))
                )
            elif isinstance(b, Table):
                out.extend("\t".join(c.text for c in row) for row in b.rows)
        return "\n".join(out)

    def word_count(self) -> int:
        return len(self.text().split())

    def clone(self) -> Document:
        return clone_document(self)


# -------------------------------------------------------------------------------- cloning


def _clone_block(b: Block) -> Block:
    if isinstance(b, Paragraph):
        return Paragraph(
            [Run(r.text, r.fmt, r.rev) for r in b.runs],
            b.style,
            b.align,
            b.line_spacing,
            b.space_before,
            b.space_after,
            b.indent_left,
            b.list_kind,
            b.pid,
        )
    if isinstance(b, Table):
        return Table([[Cell(c.text, c.fmt) for c in row] for row in b.rows], b.style, b.tid)
    if isinstance(b, TOC):
        return TOC(b.kind, list(b.entries))
    return Break(b.kind)


def clone_document(d: Document) -> Document:
    return Document(
        blocks=[_clone_block(b) for b in d.blocks],
        shapes=[replace(s) for s in d.shapes],
        comments=[replace(c) for c in d.comments],
        notes=[replace(n) for n in d.notes],
        header=d.header,
        footer=d.footer,
        page_numbers=replace(d.page_numbers) if d.page_numbers else None,
        page=replace(d.page),
        page_color=d.page_color,
        page_border=d.page_border,
        border_color=d.border_color,
        border_width=d.border_width,
        watermark=replace(d.watermark) if d.watermark else None,
        track_changes=d.track_changes,
        properties=dict(d.properties),
        sel=replace(d.sel),
        next_id=d.next_id,
    )


# -------------------------------------------------------------------------------- formatting


def style_fmt(style: str) -> Fmt:
    return STYLES.get(style, STYLES["Normal"]).fmt.over(BASE_FMT)


def effective_fmt(p: Paragraph, r: Run) -> Fmt:
    return r.fmt.over(style_fmt(p.style))


def normalize(p: Paragraph) -> None:
    """Drop empty runs and merge neighbours with identical formatting and revision."""
    merged: list[Run] = []
    for r in p.runs:
        if not r.text:
            continue
        if merged and merged[-1].fmt == r.fmt and merged[-1].rev == r.rev:
            merged[-1] = Run(merged[-1].text + r.text, r.fmt, r.rev)
        else:
            merged.append(r)
    p.runs = merged


def split_at(p: Paragraph, offset: int) -> int:
    """Ensure a run boundary at ``offset``; return the index of the first run at or after it."""
    pos = 0
    for i, r in enumerate(p.runs):
        end = pos + len(r.text)
        if offset == pos:
            return i
        if pos < offset < end:
            cut = offset - pos
            p.runs[i : i + 1] = [Run(r.text[:cut], r.fmt, r.rev), Run(r.text[cut:], r.fmt, r.rev)]
            return i + 1
        pos = end
    return len(p.runs)


def runs_between(p: Paragraph, start: int, end: int) -> list[Run]:
    """The runs exactly covering [start, end) after splitting (empty list if start == end)."""
    if start >= end:
        return []
    i = split_at(p, start)
    j = split_at(p, end)
    return p.runs[i:j]


# -------------------------------------------------------------------------------- text positions


def flat_paragraphs(doc: Document) -> tuple[str, list[tuple[int, int]]]:
    """Searchable text: consecutive paragraphs joined by '\\n', other blocks by '\\x00'.

    Returns the text and, per paragraph block, (block index, start offset in the flat text)."""
    parts: list[str] = []
    index: list[tuple[int, int]] = []
    pos = 0
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Paragraph):
            index.append((i, pos))
            t = b.text + "\n"
        else:
            t = "\x00"
        parts.append(t)
        pos += len(t)
    return "".join(parts), index


def _flat_to_pos(index: list[tuple[int, int]], doc: Document, flat: int) -> tuple[int, int]:
    for bi, start in reversed(index):
        if flat >= start:
            return bi, min(flat - start, len(doc.blocks[bi].text))  # type: ignore[union-attr]
    return index[0][0], 0


def find_text(
    doc: Document, text: str, after: tuple[int, int] | None = None, match_case: bool = False
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """First occurrence of ``text`` in the body (after position ``after`` if given): (start, end)."""
    if not text:
        return None
    flat, index = flat_paragraphs(doc)
    if not index:
        return None
    needle = text.replace("\r\n", "\n").replace("\r", "\n")
    hay = flat if match_case else flat.lower()
    needle = needle if match_case else needle.lower()
    start_at = 0
    if after is not None:
        for bi, start in index:
            if bi == after[0]:
                start_at = start + after[1]
    k = hay.find(needle, start_at)
    if k < 0:
        return None
    return _flat_to_pos(index, doc, k), _flat_to_pos(index, doc, k + len(needle))


def count_text(doc: Document, text: str, match_case: bool = False) -> int:
    if not text:
        return 0
    flat, _ = flat_paragraphs(doc)
    return (flat if match_case else flat.lower()).count(text if match_case else text.lower())


def selected_spans(doc: Document) -> list[tuple[int, int, int]]:
    """(block index, start, end) per paragraph touched by a text selection."""
    s = doc.sel
    if s.kind != "text":
        return []
    (bi, oi), (bj, oj) = s.a, s.b
    out = []
    for i in range(bi, bj + 1):
        b = doc.blocks[i]
        if not isinstance(b, Paragraph):
            continue
        start = oi if i == bi else 0
        end = oj if i == bj else len(b.text)
        out.append((i, start, end))
    return out


def selected_text(doc: Document) -> str:
    s = doc.sel
    if s.kind == "table":
        t = doc.tables()[s.index]
        return "\n".join("\t".join(c.text for c in row) for row in t.rows)
    if s.kind == "shape":
        return doc.shapes[s.index].text
    return "\n".join(doc.blocks[i].text[a:b] for i, a, b in selected_spans(doc))  # type: ignore[union-attr]


def word_at(p: Paragraph, offset: int) -> tuple[int, int]:
    """The word around ``offset`` (Word formats the whole word when the caret is inside one)."""
    t = p.text
    if not t or offset > len(t):
        return offset, offset
    a = offset
    while a > 0 and t[a - 1].isalnum():
        a -= 1
    b = offset
    while b < len(t) and t[b].isalnum():
        b += 1
    if a == b or a == offset == 0 and (offset >= len(t) or not t[offset].isalnum()):
        return offset, offset
    return a, b


def first_position(doc: Document) -> tuple[int, int]:
    paras = doc.paragraphs()
    return (paras[0][0], 0) if paras else (0, 0)


def last_position(doc: Document) -> tuple[int, int]:
    paras = doc.paragraphs()
    return (paras[-1][0], len(paras[-1][1].text)) if paras else (0, 0)


# -------------------------------------------------------------------------------- invariants


class InvariantError(AssertionError):
    pass


def check_invariants(doc: Document) -> None:
    """Raise InvariantError if the document is internally inconsistent."""

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise InvariantError(msg)

    need(any(isinstance(b, Paragraph) for b in doc.blocks), "the body has no paragraph")
    pids = set()
    for i, b in enumerate(doc.blocks):
        if isinstance(b, Paragraph):
            need(b.pid not in pids, f"duplicate paragraph id {b.pid}")
            pids.add(b.pid)
            need(b.style in STYLES, f"unknown style {b.style!r}")
            need(all(r.text for r in b.runs), f"empty run in block {i}")
            need(b.list_kind in (None, "bullet", "number"), f"bad list kind {b.list_kind!r}")
            need(b.align in (None, "left", "center", "right", "justify"), f"bad alignment {b.align!r}")
            for r in b.runs:
                need(isinstance(r.fmt, Fmt), "run formatting is not a Fmt")
                need(r.rev is None or r.rev.split(":")[0] in ("ins", "del"), f"bad revision {r.rev!r}")
        elif isinstance(b, Table):
            need(len(b.rows) >= 1 and len(b.rows[0]) >= 1, f"empty table in block {i}")
            need(len({len(r) for r in b.rows}) == 1, f"ragged table in block {i}")
    s = doc.sel
    need(s.kind in ("text", "table", "shape"), f"bad selection kind {s.kind!r}")
    if s.kind == "text":
        for pos in (s.a, s.b):
            bi, off = pos
            need(0 <= bi < len(doc.blocks), f"selection block {bi} out of range")
            blk = doc.blocks[bi]
            need(isinstance(blk, Paragraph), f"selection in non-paragraph block {bi}")
            need(0 <= off <= len(blk.text), f"selection offset {off} out of range in block {bi}")  # type: ignore[union-attr]
        need(s.a <= s.b, f"selection start {s.a} after end {s.b}")
    elif s.kind == "table":
        need(0 <= s.index < len(doc.tables()), f"selected table {s.index} does not exist")
    else:
        need(0 <= s.index < len(doc.shapes), f"selected shape {s.index} does not exist")
    need(len({sh.name for sh in doc.shapes}) == len(doc.shapes), "duplicate shape names")
    for c in doc.comments:
        idx = doc.para_index(c.pid)
        need(idx is not None, f"comment {c.cid} anchored to a missing paragraph")
        need(0 <= c.start <= c.end <= len(doc.blocks[idx].text), f"comment {c.cid} anchor out of range")  # type: ignore[arg-type,union-attr]
    for n in doc.notes:
        idx = doc.para_index(n.pid)
        need(idx is not None, "note anchored to a missing paragraph")
        need(0 <= n.offset <= len(doc.blocks[idx].text), "note anchor out of range")  # type: ignore[arg-type,union-attr]
    need(doc.page.orientation in ("Portrait", "Landscape"), "bad orientation")
    need(1 <= doc.page.columns <= 3, "bad column count")
    need(all(m >= 0 for m in doc.page.margins), "negative margin")


def fix_anchors(doc: Document) -> None:
    """Clamp comment/note anchors after an edit shortened or removed their paragraph."""
    keep_c = []
    for c in doc.comments:
        idx = doc.para_index(c.pid)
        if idx is None:
            continue
        n = len(doc.blocks[idx].text)  # type: ignore[union-attr]
        c.start, c.end = min(c.start, n), min(c.end, n)
        keep_c.append(c)
    doc.comments = keep_c
    keep_n = []
    for note in doc.notes:
        idx = doc.para_index(note.pid)
        if idx is None:
            continue
        note.offset = min(note.offset, len(doc.blocks[idx].text))  # type: ignore[union-attr]
        keep_n.append(note)
    doc.notes = keep_n
