"""The canvas: a compact text summary of the document for the prompt, most relevant state first.

    sel: "Quarterly results" (p2)
    p1 Title: Quarterly Report
    p2 center: Our <b>Quarterly results</b> were strong.
    p3 bullet: Milk
    T1 3x3 Table Grid: Region|Q1|Q2 / North|10|12 / ...
    header: "Acme" | page numbers: bottom center
    page: Letter Landscape margins=Narrow cols=2 color=Blue border=box watermark="DRAFT"
    comments: 2 (Alice Chen on "revenue") | track changes: on, 3 revisions
    shapes: Rectangle 1 fill=Blue "Q3 goals"

Only non-default state is written: a paragraph's style/alignment/list/spacing, runs whose direct
formatting differs from the style (``<b,i,14pt,Arial,Red,hl=Yellow>text</>``), tracked changes
(``<ins>``/``<del>``). A tiny model's prompt keeps only the first characters (agent.canvas_chars).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lam_rl.env.wordsim.document import (
    TOC,
    Break,
    Fmt,
    Paragraph,
    Table,
    selected_text,
)

if TYPE_CHECKING:
    from lam_rl.env.wordsim.app import WordSim

PARA_CHARS = 100


def fmt_marks(f: Fmt) -> list[str]:
    out = []
    for attr, mark in (
        ("bold", "b"),
        ("italic", "i"),
        ("underline", "u"),
        ("strike", "s"),
        ("sup", "sup"),
        ("sub", "sub"),
    ):
        v = getattr(f, attr)
        if v is True:
            out.append(mark)
        elif v is False:
            out.append(f"no-{mark}")
    if f.font is not None:
        out.append(f.font)
    if f.size is not None:
        out.append(f"{f.size:g}pt")
    if f.color is not None:
        out.append(f.color)
    if f.highlight is not None:
        out.append(f"hl={f.highlight}")
    if f.link is not None:
        out.append("link")
    return out


def para_line(i: int, p: Paragraph) -> str:
    tags = []
    if p.style != "Normal":
        tags.append(p.style)
    if p.align and p.align != "left":
        tags.append(p.align)
    if p.list_kind:
        tags.append(p.list_kind)
    if p.line_spacing is not None:
        tags.append(f"spacing {p.line_spacing:g}")
    if p.indent_left:
        tags.append(f'indent {p.indent_left:g}"')
    if p.space_before is not None:
        tags.append(f"before {p.space_before:g}pt")
    if p.space_after is not None:
        tags.append(f"after {p.space_after:g}pt")
    parts: list[str] = []
    n = 0
    for r in p.runs:
        t = r.text
        if n >= PARA_CHARS:
            parts.append("...")
            break
        if n + len(t) > PARA_CHARS:
            t = t[: PARA_CHARS - n] + "..."
        n += len(r.text)
        marks = fmt_marks(r.fmt)
        if r.rev:
            marks.insert(0, r.rev.split(":")[0])
        parts.append(f"<{','.join(marks)}>{t}</>" if marks else t)
    head = f"p{i}" + (f" {', '.join(tags)}" if tags else "")
    return f"{head}: {''.join(parts)}"


def summarize(sim: WordSim) -> str:
    doc, ui, st = sim.doc, sim.ui, sim.state
    lines: list[str] = []
    s = doc.sel
    para_no = {bi: k + 1 for k, (bi, _) in enumerate(doc.paragraphs())}
    if s.kind == "table":
        lines.append(f"sel: table {s.index + 1}")
    elif s.kind == "shape":
        lines.append(f"sel: shape {doc.shapes[s.index].name}")
    elif s.empty:
        lines.append(f"caret: p{para_no.get(s.a[0], 1)}:{s.a[1]}")
    else:
        t = selected_text(doc).replace("\n", " / ")
        lines.append(f'sel: "{t[:60]}{"..." if len(t) > 60 else ""}" (p{para_no.get(s.a[0], 1)})')
    if ui.hf:
        lines.append(f"editing: {ui.hf}")
    if ui.comment is not None:
        lines.append(f'writing comment: "{ui.comment.text[:40]}"')
    tn = 0
    for bi, b in enumerate(doc.blocks):
        if isinstance(b, Paragraph):
            lines.append(para_line(para_no[bi], b))
        elif isinstance(b, Table):
            tn += 1
            r, c = b.shape
            cells = " / ".join("|".join(x.text for x in row) for row in b.rows[:3])
            fm = fmt_marks(b.rows[0][0].fmt)
            lines.append(f"T{tn} {r}x{c} {b.style}{' <' + ','.join(fm) + '>' if fm else ''}: {cells[:90]}")
        elif isinstance(b, Break):
            lines.append("[page break]")
        elif isinstance(b, TOC):
            lines.append(f"[table of contents, {b.kind}: {'; '.join(t for _, t in b.entries)[:80]}]")
    hf = []
    if doc.header:
        hf.append(f'header: "{doc.header[:50]}"')
    if doc.footer:
        hf.append(f'footer: "{doc.footer[:50]}"')
    if doc.page_numbers:
        hf.append(f"page numbers: {doc.page_numbers.position} {doc.page_numbers.align}")
    if hf:
        lines.append(" | ".join(hf))
    pg = doc.page
    page = [pg.size, pg.orientation]
    if pg.margin_preset != "Normal":
        m = pg.margins
        page.append(
            f"margins={pg.margin_preset}"
            + (f' {m[0]:g}/{m[1]:g}/{m[2]:g}/{m[3]:g}"' if pg.margin_preset == "Custom" else "")
        )
    if pg.columns != 1:
        page.append(f"cols={pg.columns}")
    if doc.page_color:
        page.append(f"color={doc.page_color}")
    if doc.page_border:
        page.append(f"border={doc.page_border} {doc.border_width} {doc.border_color}")
    if doc.watermark:
        page.append(f'watermark="{doc.watermark.text}" {doc.watermark.layout}')
    lines.append("page: " + " ".join(page))
    extra = []
    if doc.comments:
        first = doc.comments[0]
        extra.append(f'comments: {len(doc.comments)} ({first.author}: "{first.text[:30]}")')
    revs = sum(1 for _, p in doc.paragraphs() for r in p.runs if r.rev)
    if doc.track_changes or revs:
        extra.append(f"track changes: {'on' if doc.track_changes else 'off'}, {revs} revisions")
    if doc.notes:
        extra.append(f'notes: {len(doc.notes)} ("{doc.notes[-1].text[:30]}")')
    if extra:
        lines.append(" | ".join(extra))
    for sh in doc.shapes:
        fm = fmt_marks(sh.fmt)
        lines.append(
            f"shape {sh.name} fill={sh.fill} outline={sh.outline}{' <' + ','.join(fm) + '>' if fm else ''}"
            + (f' "{sh.text[:40]}"' if sh.text else "")
        )
    if doc.properties:
        lines.append("properties: " + ", ".join(f'{k}="{v[:30]}"' for k, v in sorted(doc.properties.items())))
    view = []
    if st.view != "Print Layout":
        view.append(st.view)
    if st.zoom != 100:
        view.append(f"zoom {st.zoom}%")
    view += [name for name in ("ruler", "gridlines", "nav_pane") if getattr(st, name)]
    if view:
        lines.append("view: " + ", ".join(view))
    if st.saved:
        f = st.saved[-1]
        lines.append(f"saved: {f.folder}/{f.name}.{f.format}")
    return "\n".join(lines)
