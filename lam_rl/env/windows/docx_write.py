"""Write the document model (``lam_rl.env.wordsim.document``) as a .docx that Word opens.

A Windows VM is reset by opening a copy of the task's template document: the same content WordSim
shows for the task (``initial_state(task)``), written here with python-docx. Everything the model
holds is written in Word's own markup, so that ``docx_read.read_docx`` gives the model back:
paragraph styles, alignment, spacing, indents and lists; runs with direct formatting, hyperlinks and
tracked insertions/deletions; tables with a style; page breaks; an automatic or manual table of
contents; headers, footers, page numbers and a watermark; comments, footnotes and endnotes;
floating shapes and text boxes (DrawingML); page setup, page colour and borders; Track Changes and
the File > Info properties. The selection is not part of a file.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.shared import Inches, Pt, RGBColor
from docx.text.run import Run as DocxRun

from lam_rl.env.windows.docx_common import (
    BORDER_WIDTHS,
    BORDERS,
    CHAR_STYLES,
    CT_ENDNOTES,
    CT_FOOTNOTES,
    EMU_PER_PX,
    HIGHLIGHTS,
    NS,
    PAPER_TWIPS,
    PROPERTIES,
    RT_ENDNOTES,
    RT_FOOTNOTES,
    SHAPE_GEOMETRY,
    THEME_COLORS,
    W,
    color_to_hex,
    q,
)
from lam_rl.env.wordsim.document import TOC, Break, Document, Fmt, Paragraph, Shape, Table

ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
}
BULLET_NUM, NUMBER_NUM = 901, 902  # our numbering instances (numId), far from the template's
STAMP = datetime(2024, 1, 1, tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
_XMLNS = " ".join(f'xmlns:{k}="{v}"' for k, v in NS.items())


def docx_bytes(doc: Document) -> bytes:
    """The document as the bytes of a .docx file."""
    buf = io.BytesIO()
    _Writer(doc).build().save(buf)
    return buf.getvalue()


def write_docx(doc: Document, path: str | Path) -> Path:
    """Write the document to ``path`` (atomically: a temporary file, then a rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(docx_bytes(doc))
    tmp.replace(path)
    return path


class _Writer:
    def __init__(self, doc: Document) -> None:
        self.model = doc
        self.d = docx.Document()
        self.next_rev = 1
        self.notes: dict[str, list[tuple[int, str]]] = {"footnote": [], "endnote": []}
        self.shape_id = 1

    # ------------------------------------------------------------------ the whole document

    def build(self) -> docx.document.Document:
        m, d = self.model, self.d
        cp = d.core_properties
        for attr in ("author", "last_modified_by", "title", "subject", "keywords", "comments", "category"):
            setattr(cp, attr, "")
        for key, attr in PROPERTIES.items():
            if m.properties.get(key):
                setattr(cp, attr, m.properties[key])
        self._numbering()
        first_para = None
        para_elements: dict[int, object] = {}
        for b in m.blocks:
            if isinstance(b, Paragraph):
                p = self._paragraph(b)
                para_elements[b.pid] = p
                first_para = first_para if first_para is not None else p
            elif isinstance(b, Table):
                self._table(b)
            elif isinstance(b, Break):
                d.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            elif isinstance(b, TOC):
                self._toc(b)
        if first_para is None:
            first_para = d.add_paragraph()
        for sh in m.shapes:
            self._shape(first_para, sh)
        self._comments(para_elements)
        self._notes_parts()
        self._section()
        self._settings()
        return d

    # ------------------------------------------------------------------ paragraphs and runs

    def _paragraph(self, b: Paragraph, container=None):  # type: ignore[no-untyped-def]
        p = (container or self.d).add_paragraph()
        style = b.style
        char_style = style if style in CHAR_STYLES else None
        p.style = self._para_style("Normal" if char_style else style)
        pf = p.paragraph_format
        if b.align:
            pf.alignment = ALIGN[b.align]
        if b.line_spacing is not None:
            pf.line_spacing = b.line_spacing
        if b.space_before is not None:
            pf.space_before = Pt(b.space_before)
        if b.space_after is not None:
            pf.space_after = Pt(b.space_after)
        if b.indent_left:
            pf.left_indent = Inches(b.indent_left)
        if b.list_kind:
            num_pr = parse_xml(
                f'<w:numPr {_XMLNS}><w:ilvl w:val="0"/>'
                f'<w:numId w:val="{BULLET_NUM if b.list_kind == "bullet" else NUMBER_NUM}"/></w:numPr>'
            )
            ppr = p._p.get_or_add_pPr()
            style_el = ppr.find(q("w:pStyle"))
            if style_el is not None:
                style_el.addnext(num_pr)
            else:
                ppr.insert(0, num_pr)
        notes = sorted((n for n in self.model.notes if n.pid == b.pid), key=lambda n: n.offset)
        emitted: set[int] = set()

        def notes_at(offset: int) -> None:
            due = [n for n in notes if n.offset <= offset and id(n) not in emitted]
            emitted.update(id(n) for n in due)
            self._note_refs(p, due)

        marks = {n.offset for n in notes} | {
            o for c in self.model.comments if c.pid == b.pid for o in (c.start, c.end)
        }  # run boundaries: note references and comment anchors
        notes_at(0)
        pos = 0
        link_el = link_url = None
        for r in b.runs:
            cuts = sorted({o - pos for o in marks if pos < o < pos + len(r.text)})
            bounds = [0, *cuts, len(r.text)]
            for a, z in zip(bounds, bounds[1:], strict=False):
                run = p.add_run(r.text[a:z])
                self._fmt(run, r.fmt, char_style)
                el = run._r
                if r.rev:
                    kind, _, author = r.rev.partition(":")
                    el = self._revision(el, kind, author or "Author")
                if r.fmt.link:
                    if link_el is None or link_url != r.fmt.link:
                        link_el, link_url = self._hyperlink(p, r.fmt.link), r.fmt.link
                    link_el.append(el)
                else:
                    link_el = link_url = None
                notes_at(pos + z)
                if any(n.offset == pos + z for n in notes):
                    link_el = link_url = None
            pos += len(r.text)
        notes_at(10**9)
        return p

    def _para_style(self, name: str):  # type: ignore[no-untyped-def]
        try:
            return self.d.styles[name]
        except KeyError:
            return self.d.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)

    def _fmt(self, run: DocxRun, f: Fmt, char_style: str | None = None) -> None:
        if char_style:
            run.style = self.d.styles[char_style]
        if f.bold is not None:
            run.bold = f.bold
        if f.italic is not None:
            run.italic = f.italic
        if f.underline is not None:
            run.underline = f.underline
        if f.strike is not None:
            run.font.strike = f.strike
        if f.sup or f.sub:
            run.font.superscript = bool(f.sup)
            run.font.subscript = bool(f.sub) and not f.sup
        elif f.sup is False and f.sub is False:
            rpr = run._r.get_or_add_rPr()
            va = rpr.get_or_add_vertAlign()
            va.set(q("w:val"), "baseline")
        if f.font is not None:
            run.font.name = f.font
        if f.size is not None:
            run.font.size = Pt(f.size)
        if f.color is not None:
            hexval = color_to_hex(f.color)
            run.font.color.rgb = RGBColor.from_string("000000" if hexval == "auto" else hexval)
            color = run._r.rPr.find(q("w:color"))
            if hexval == "auto":
                color.set(q("w:val"), "auto")
            if f.color in THEME_COLORS:
                color.set(q("w:themeColor"), THEME_COLORS[f.color])
        if f.highlight is not None:
            run.font.highlight_color = WD_COLOR_INDEX.from_xml(HIGHLIGHTS[f.highlight])

    def _revision(self, r_el, kind: str, author: str):  # type: ignore[no-untyped-def]
        tag = "w:ins" if kind == "ins" else "w:del"
        wrap = OxmlElement(tag)
        wrap.set(q("w:id"), str(self._rev_id()))
        wrap.set(q("w:author"), author)
        wrap.set(q("w:date"), STAMP)
        r_el.addprevious(wrap)
        wrap.append(r_el)
        if kind == "del":
            for t in r_el.findall(q("w:t")):
                t.tag = q("w:delText")
        return wrap

    def _rev_id(self) -> int:
        self.next_rev += 1
        return self.next_rev

    def _hyperlink(self, p, url: str):  # type: ignore[no-untyped-def]
        rid = self.d.part.relate_to(url, RT.HYPERLINK, is_external=True)
        h = OxmlElement("w:hyperlink")
        h.set(q("r:id"), rid)
        p._p.append(h)
        return h

    def _note_refs(self, p, notes: Iterable) -> None:  # type: ignore[no-untyped-def]
        for n in notes:
            ids = self.notes[n.kind]
            nid = len(ids) + 1
            ids.append((nid, n.text))
            ref = "footnoteReference" if n.kind == "footnote" else "endnoteReference"
            style = "FootnoteReference" if n.kind == "footnote" else "EndnoteReference"
            p._p.append(
                parse_xml(
                    f'<w:r {_XMLNS}><w:rPr><w:rStyle w:val="{style}"/><w:vertAlign w:val="superscript"/>'
                    f'</w:rPr><w:{ref} w:id="{nid}"/></w:r>'
                )
            )

    # ------------------------------------------------------------------ blocks

    def _table(self, b: Table) -> None:
        rows, cols = b.shape
        t = self.d.add_table(rows=rows, cols=cols)
        try:
            t.style = self.d.styles[b.style]
        except KeyError:
            t.style = self.d.styles.add_style(b.style, WD_STYLE_TYPE.TABLE)
        for i, row in enumerate(b.rows):
            for j, cell in enumerate(row):
                c = t.cell(i, j)
                lines = cell.text.split("\n") if cell.text else []
                for k, line in enumerate(lines):
                    para = c.paragraphs[0] if k == 0 else c.add_paragraph()
                    if line:
                        self._fmt(para.add_run(line), cell.fmt)
                if not lines and cell.fmt != Fmt():
                    # an empty cell keeps its formatting on the paragraph mark
                    self._fmt(c.paragraphs[0].add_run(""), cell.fmt)

    def _toc(self, b: TOC) -> None:
        body = self.d.element.body
        sdt = parse_xml(
            f'<w:sdt {_XMLNS}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/>'
            "<w:docPartUnique/></w:docPartObj></w:sdtPr><w:sdtContent/></w:sdt>"
        )
        content = sdt.find(q("w:sdtContent"))
        content.append(
            parse_xml(
                f'<w:p {_XMLNS}><w:pPr><w:pStyle w:val="TOCHeading"/></w:pPr><w:r><w:t>Contents</w:t></w:r></w:p>'
            )
        )
        auto = b.kind == "automatic"
        n = len(b.entries)
        for k, (level, text) in enumerate(b.entries):
            begin = (
                '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">'
                ' TOC \\o "1-3" \\h \\z \\u </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                if auto and k == 0
                else ""
            )
            end = '<w:r><w:fldChar w:fldCharType="end"/></w:r>' if auto and k == n - 1 else ""
            content.append(
                parse_xml(
                    f'<w:p {_XMLNS}><w:pPr><w:pStyle w:val="TOC{level}"/></w:pPr>{begin}'
                    f'<w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r>{end}</w:p>'
                )
            )
        if auto and n == 0:
            content.append(
                parse_xml(
                    f'<w:p {_XMLNS}><w:fldSimple w:instr=" TOC \\o &quot;1-3&quot; \\h \\z \\u ">'
                    "<w:r><w:t>No table of contents entries found.</w:t></w:r></w:fldSimple></w:p>"
                )
            )
        body.find(q("w:sectPr")).addprevious(sdt)

    def _shape(self, p, sh: Shape) -> None:  # type: ignore[no-untyped-def]
        self.shape_id += 1
        x0, y0, x1, y1 = sh.box
        cx, cy = max(1, x1 - x0) * EMU_PER_PX, max(1, y1 - y0) * EMU_PER_PX
        geom = SHAPE_GEOMETRY.get(sh.kind, "rect")
        tx = ' txBox="1"' if sh.kind == "text_box" else ""
        body = ""
        if sh.text or sh.kind in ("text_box", "rectangle", "rounded_rectangle"):
            paras = []
            for line in sh.text.split("\n") if sh.text else []:
                holder = self.d.add_paragraph()  # formatted by python-docx, then moved into the box
                if line:
                    self._fmt(holder.add_run(line), sh.fmt)
                holder._p.getparent().remove(holder._p)
                paras.append(_xml(holder._p))
            body = f"<wps:txbx><w:txbxContent>{''.join(paras) or '<w:p/>'}</w:txbxContent></wps:txbx>"
        descr = ' descr="chart"' if sh.kind == "chart" else ""
        xml = (
            f'<w:r {_XMLNS}><w:drawing><wp:anchor distT="0" distB="0" distL="114300" distR="114300" '
            f'simplePos="0" relativeHeight="{251659264 + self.shape_id}" behindDoc="0" locked="0" '
            'layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
            f'<wp:positionH relativeFrom="page"><wp:posOffset>{x0 * EMU_PER_PX}</wp:posOffset></wp:positionH>'
            f'<wp:positionV relativeFrom="page"><wp:posOffset>{y0 * EMU_PER_PX}</wp:posOffset></wp:positionV>'
            f'<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
            f"<wp:docPr id={quoteattr(str(self.shape_id))} name={quoteattr(sh.name)}{descr}/>"
            "<wp:cNvGraphicFramePr/>"
            '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
            f"<wps:wsp><wps:cNvSpPr{tx}/><wps:spPr>"
            f'<a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            f'<a:prstGeom prst="{geom}"><a:avLst/></a:prstGeom>{_fill(sh.fill)}'
            f"<a:ln>{_fill(sh.outline)}</a:ln></wps:spPr>{body}<wps:bodyPr/></wps:wsp>"
            "</a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>"
        )
        p._p.append(parse_xml(xml))

    # ------------------------------------------------------------------ comments and notes

    def _comments(self, paras: dict[int, object]) -> None:
        for c in self.model.comments:
            p = paras.get(c.pid)
            if p is None:
                continue
            runs = _runs_covering(p, c.start, c.end)
            if not runs:
                continue
            initials = "".join(w[0] for w in c.author.split() if w)[:3] or "A"
            self.d.add_comment(runs, text=c.text, author=c.author, initials=initials)

    def _notes_parts(self) -> None:
        for kind, rel, ctype, name in (
            ("footnote", RT_FOOTNOTES, CT_FOOTNOTES, "footnotes"),
            ("endnote", RT_ENDNOTES, CT_ENDNOTES, "endnotes"),
        ):
            notes = self.notes[kind]
            if not notes:
                continue
            ref = "footnoteRef" if kind == "footnote" else "endnoteRef"
            style = "FootnoteText" if kind == "footnote" else "EndnoteText"
            items = [
                f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>',
                f'<w:{kind} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
                f"</w:r></w:p></w:{kind}>",
            ]
            for nid, text in notes:
                items.append(
                    f'<w:{kind} w:id="{nid}"><w:p><w:pPr><w:pStyle w:val="{style}"/></w:pPr>'
                    f'<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:{ref}/></w:r>'
                    f'<w:r><w:t xml:space="preserve"> {escape(text)}</w:t></w:r></w:p></w:{kind}>'
                )
            blob = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:{name} {_XMLNS}>{"".join(items)}</w:{name}>'
            part = Part(PackURI(f"/word/{name}.xml"), ctype, blob.encode(), self.d.part.package)
            self.d.part.relate_to(part, rel)

    # ------------------------------------------------------------------ section, headers, settings

    def _section(self) -> None:
        m, d = self.model, self.d
        sec = d.sections[0]
        pg = m.page
        w, h = PAPER_TWIPS.get(pg.size, PAPER_TWIPS["Letter"])
        if pg.orientation == "Landscape":
            sec.orientation = WD_ORIENT.LANDSCAPE
            w, h = h, w
        sec.page_width, sec.page_height = w * 635, h * 635  # twips -> EMU
        top, bottom, left, right = pg.margins
        sec.top_margin, sec.bottom_margin = Inches(top), Inches(bottom)
        sec.left_margin, sec.right_margin = Inches(left), Inches(right)
        sect = sec._sectPr
        cols = sect.find(q("w:cols"))
        if pg.columns > 1:
            cols.set(q("w:num"), str(pg.columns))
        if m.page_border:
            val, shadow = BORDERS[m.page_border]
            sz = BORDER_WIDTHS.get(m.border_width, 4)
            color = color_to_hex(m.border_color)
            edges = "".join(
                f'<w:{e} w:val="{val}" w:sz="{sz}" w:space="24" w:color="{color}"'
                f"{' w:shadow=' + chr(34) + '1' + chr(34) if shadow else ''}/>"
                for e in ("top", "left", "bottom", "right")
            )
            sect.find(q("w:pgMar")).addnext(
                parse_xml(f'<w:pgBorders {_XMLNS} w:offsetFrom="page">{edges}</w:pgBorders>')
            )
        if m.header or m.watermark or (m.page_numbers and m.page_numbers.position == "top"):
            self._hf(sec.header, m.header, "top")
        if m.footer or (m.page_numbers and m.page_numbers.position == "bottom"):
            self._hf(sec.footer, m.footer, "bottom")
        if m.page_color:
            bg = parse_xml(f'<w:background {_XMLNS} w:color="{color_to_hex(m.page_color)}"/>')
            d.element.insert(0, bg)

    def _hf(self, part, text: str, position: str) -> None:  # type: ignore[no-untyped-def]
        m = self.model
        part.is_linked_to_previous = False
        p = part.paragraphs[0]
        lines = text.split("\n") if text else [""]
        p.text = lines[0]
        for line in lines[1:]:
            part.add_paragraph(line)
        if position == "top" and m.watermark:
            wm = m.watermark
            rotation = "rotation:315;" if wm.layout == "diagonal" else ""
            fill = "silver" if wm.color == "Silver" else "#" + color_to_hex(wm.color)
            p._p.append(
                parse_xml(
                    f'<w:r {_XMLNS}><w:pict><v:shape id="PowerPlusWaterMarkObject" type="#_x0000_t136" '
                    f'style="position:absolute;margin-left:0;margin-top:0;width:412pt;height:137pt;{rotation}'
                    "z-index:-251657216;mso-position-horizontal:center;mso-position-horizontal-relative:margin;"
                    'mso-position-vertical:center;mso-position-vertical-relative:margin" o:allowincell="f" '
                    f'fillcolor="{fill}" stroked="f"><v:fill opacity=".5"/>'
                    f'<v:textpath style="font-family:&quot;{escape(wm.font)}&quot;;font-size:1pt" '
                    f"string={quoteattr(wm.text)}/></v:shape></w:pict></w:r>"
                )
            )
        if m.page_numbers and m.page_numbers.position == position:
            num = part.add_paragraph()
            num.alignment = ALIGN[m.page_numbers.align]
            num._p.append(
                parse_xml(f'<w:fldSimple {_XMLNS} w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>')
            )

    def _settings(self) -> None:
        s = self.d.settings.element
        if self.model.page_color:
            s.find(q("w:zoom")).addnext(OxmlElement("w:displayBackgroundShape"))
        if self.model.track_changes:
            s.find(q("w:defaultTabStop")).addprevious(OxmlElement("w:trackRevisions"))

    def _numbering(self) -> None:
        numbering = self.d.part.numbering_part.element
        fmt = {BULLET_NUM: ("bullet", "\u2022", "Symbol"), NUMBER_NUM: ("decimal", "%1.", None)}
        first_num = numbering.find(q("w:num"))
        for nid, (numfmt, text, font) in fmt.items():
            rpr = (
                f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:hint="default"/></w:rPr>'
                if font
                else ""
            )
            abstract = parse_xml(
                f'<w:abstractNum {_XMLNS} w:abstractNumId="{nid}"><w:multiLevelType w:val="hybridMultilevel"/>'
                f'<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="{numfmt}"/>'
                f'<w:lvlText w:val="{escape(text)}"/><w:lvlJc w:val="left"/>'
                f'<w:pPr><w:ind w:left="720" w:hanging="360"/></w:pPr>{rpr}</w:lvl></w:abstractNum>'
            )
            if first_num is not None:
                first_num.addprevious(abstract)
            else:
                numbering.append(abstract)
            numbering.append(
                parse_xml(f'<w:num {_XMLNS} w:numId="{nid}"><w:abstractNumId w:val="{nid}"/></w:num>')
            )


def _fill(color: str) -> str:
    if color in THEME_COLORS:
        return f'<a:solidFill><a:schemeClr val="{THEME_COLORS[color]}"/></a:solidFill>'
    hexval = color_to_hex(color)
    if hexval == "auto":
        hexval = "000000"
    return f'<a:solidFill><a:srgbClr val="{hexval}"/></a:solidFill>'


def _xml(el) -> str:  # type: ignore[no-untyped-def]
    from lxml import etree

    return etree.tostring(el, encoding="unicode")


def _runs_covering(p, start: int, end: int) -> list[DocxRun]:  # type: ignore[no-untyped-def]
    """The first and last python-docx runs of paragraph ``p`` that overlap [start, end)."""
    out = []
    pos = 0
    for r_el in p._p.iter(q("w:r")):
        text = "".join(t.text or "" for t in r_el if t.tag in (q("w:t"), q("w:delText")))
        if not text:
            continue
        a, b = pos, pos + len(text)
        if a < end and b > start or (start == end and a <= start < b):
            out.append(DocxRun(r_el, p))
        pos = b
    return [out[0], out[-1]] if out else []


__all__ = ["docx_bytes", "write_docx", "W"]
