"""Draws WordSim's window with Pillow: title bar, tabs, ribbon, the page with formatted text,
tables, shapes, watermark, header/footer, comments, an open menu or dialog, and the status bar.

Controls are drawn at the rectangles the observation reports, so a screenshot shows exactly what
the labels point at. Fonts: DejaVu when the system has it, else Pillow's bundled font (bold is
then a stroke, italic a shear). Nothing is downloaded; rendering runs only for a screenshot.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from lam_rl.env.wordsim.commands import control_value
from lam_rl.env.wordsim.dialogs import DIALOGS
from lam_rl.env.wordsim.document import TOC, Break, Paragraph, Table, effective_fmt, selected_spans
from lam_rl.env.wordsim.ui import RIBBON_BOTTOM, STATUS_Y, TITLE_H, H, W, dialog_box, page_rect

if TYPE_CHECKING:
    from lam_rl.env.wordsim.app import WordSim

WORD_BLUE = (43, 87, 154)
RIBBON_BG = (243, 242, 241)
COLORS = {
    "Automatic": (0, 0, 0),
    "Black": (0, 0, 0),
    "Dark Red": (192, 0, 0),
    "Red": (255, 0, 0),
    "Orange": (255, 192, 0),
    "Yellow": (255, 255, 0),
    "Light Green": (146, 208, 80),
    "Green": (0, 176, 80),
    "Light Blue": (0, 176, 240),
    "Blue": (0, 112, 192),
    "Dark Blue": (0, 32, 96),
    "Purple": (112, 48, 160),
    "Blue, Accent 1": (68, 114, 196),
    "Gray": (118, 113, 113),
    "Silver": (200, 200, 200),
    "White": (255, 255, 255),
    "Bright Green": (0, 255, 0),
    "Turquoise": (0, 255, 255),
    "Pink": (255, 0, 255),
    "Teal": (0, 128, 128),
    "Violet": (128, 0, 128),
    "Dark Yellow": (128, 128, 0),
    "Gray-50%": (128, 128, 128),
    "Gray-25%": (192, 192, 192),
}


def rgb(name: str | None, default: tuple[int, int, int] = (0, 0, 0)) -> tuple[int, int, int]:
    return COLORS.get(name or "", default)


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False, italic: bool = False, serif: bool = False) -> Any:
    family = "DejaVuSerif" if serif else "DejaVuSans"
    style = "-BoldItalic" if bold and italic and serif else "-BoldOblique" if bold and italic else ""
    if not style:
        style = "-Bold" if bold else ("-Italic" if italic and serif else "-Oblique" if italic else "")
    try:
        return ImageFont.truetype(f"{family}{style}.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def _fit(d: ImageDraw.ImageDraw, text: str, f: Any, width: int) -> str:
    """``text`` on one line (line breaks drawn as spaces), cut with "..." to fit ``width``."""
    text = text.replace("\n", " ")
    if d.textlength(text, font=f) <= width:
        return text
    while text and d.textlength(text + "...", font=f) > width:
        text = text[:-1]
    return text + "..."


def _box(d: ImageDraw.ImageDraw, r: tuple[int, int, int, int], fill: Any, outline: Any = None) -> None:
    d.rectangle(r, fill=fill, outline=outline)


def _control(
    d: ImageDraw.ImageDraw,
    text: str,
    ctype: str,
    r: tuple[int, int, int, int],
    *,
    on: bool = False,
    value: str = "",
) -> None:
    x0, y0, x1, y1 = r
    f = font(10)
    if ctype in ("Edit", "ComboBox", "Spinner"):
        _box(d, r, (255, 255, 255), (160, 160, 160))
        shown = value if value else text
        d.text(
            (x0 + 4, y0 + 5),
            _fit(d, shown, f, x1 - x0 - 16),
            fill=(0, 0, 0) if value else (120, 120, 120),
            font=f,
        )
        if ctype != "Edit":
            d.polygon([(x1 - 10, y0 + 10), (x1 - 4, y0 + 10), (x1 - 7, y0 + 14)], fill=(80, 80, 80))
        return
    if ctype == "RadioButton":
        d.ellipse((x0, y0 + 6, x0 + 12, y0 + 18), outline=(80, 80, 80), fill=(255, 255, 255))
        if on:
            d.ellipse((x0 + 3, y0 + 9, x0 + 9, y0 + 15), fill=(0, 0, 0))
        d.text((x0 + 18, y0 + 5), _fit(d, text, f, x1 - x0 - 20), fill=(0, 0, 0), font=f)
        return
    if ctype == "ScrollBar":
        _box(d, r, (235, 235, 235), (200, 200, 200))
        _box(d, (x0 + 3, y0 + 20, x1 - 3, y0 + 120), (190, 190, 190))
        return
    if ctype == "DataItem":
        d.text((x0 + 4, y0 + 5), text, fill=(0, 0, 0), font=f)
        return
    fill = (205, 225, 245) if on else None
    if fill:
        _box(d, r, fill, (120, 160, 210))
    elif ctype in ("Button", "ListItem", "MenuItem", "TreeItem"):
        d.rectangle(r, outline=(215, 215, 215))
    d.text((x0 + 4, y0 + 5), _fit(d, text, f, x1 - x0 - 6), fill=(30, 30, 30), font=f)


# ------------------------------------------------------------------------------ the page


def _words(text: str) -> list[str]:
    out, cur = [], ""
    for ch in text:
        cur += ch
        if ch == " ":
            out.append(cur)
            cur = ""
    if cur:
        out.append(cur)
    return out


def _paragraph(
    img: Image.Image,
    d: ImageDraw.ImageDraw,
    sim: WordSim,
    bi: int,
    p: Paragraph,
    x0: int,
    x1: int,
    y: int,
    no: int,
) -> int:
    sel = {i: (a, b) for i, a, b in selected_spans(sim.doc)} if not sim.doc.sel.empty else {}
    indent = int(p.indent_left * 48) + (24 if p.list_kind else 0)
    left = x0 + indent
    pieces: list[tuple[str, Any, Any, bool]] = []  # text, effective fmt, rev, selected
    pos = 0
    for r in p.runs:
        f = effective_fmt(p, r)
        for w in _words(r.text):
            a, b = sel.get(bi, (-1, -1))
            pieces.append((w, f, r.rev, a <= pos < b))
            pos += len(w)
    lines: list[list[tuple[str, Any, Any, bool, Any]]] = [[]]
    width = 0.0
    for w, f, rev, s in pieces:
        fnt = font(
            max(6, int((f.size or 11) * 1.15)),
            bool(f.bold),
            bool(f.italic),
            serif=(f.font or "").startswith(("Times", "Georgia", "Cambria", "Garamond")),
        )
        wl = d.textlength(w, font=fnt)
        if width + wl > x1 - left and lines[-1]:
            lines.append([])
            width = 0.0
        lines[-1].append((w, f, rev, s, fnt))
        width += wl
    if p.list_kind:
        mark = "\u2022" if p.list_kind == "bullet" else f"{no}."
        d.text((left - 20, y), mark, fill=(0, 0, 0), font=font(13))
    spacing = p.line_spacing or 1.08
    for line in lines:
        h = max((int((f.size or 11) * 1.15) for _, f, _, _, _ in line), default=13)
        lw = sum(d.textlength(w, font=fn) for w, _, _, _, fn in line)
        align = p.align or "left"
        x = left + (
            (x1 - left - lw) / 2 if align == "center" else (x1 - left - lw) if align == "right" else 0
        )
        for w, f, rev, s, fn in line:
            wl = d.textlength(w, font=fn)
            if s:
                _box(d, (int(x), y, int(x + wl), y + h + 2), (180, 210, 240))
            elif f.highlight:
                _box(d, (int(x), y, int(x + wl), y + h + 2), rgb(f.highlight, (255, 255, 0)))
            color = (0, 0, 160) if f.link else rgb(f.color)
            if rev:
                color = (200, 0, 0) if rev.startswith("del") else (0, 120, 0)
            dy = -4 if f.sup else 4 if f.sub else 0
            d.text((x, y + dy), w, fill=color, font=fn)
            if f.underline or f.link or (rev or "").startswith("ins"):
                d.line((x, y + h + 1, x + wl, y + h + 1), fill=color)
            if f.strike or (rev or "").startswith("del"):
                d.line((x, y + h // 2 + 1, x + wl, y + h // 2 + 1), fill=color)
            x += wl
        y += int(h * spacing) + 4
    return y + int((p.space_after if p.space_after is not None else 8) * 0.6)


def _page(img: Image.Image, d: ImageDraw.ImageDraw, sim: WordSim) -> None:
    doc = sim.doc
    x0, y0, x1, y1 = page_rect(sim)
    _box(
        d,
        (x0, y0, x1, y1),
        rgb(doc.page_color, (255, 255, 255)) if doc.page_color else (255, 255, 255),
        (200, 200, 200),
    )
    if doc.page_border:
        w = 3 if doc.page_border != "box" else 1
        d.rectangle((x0 + 24, y0 + 24, x1 - 24, y1 - 24), outline=rgb(doc.border_color), width=w)
        if doc.page_border == "shadow":
            d.line((x0 + 27, y1 - 21, x1 - 21, y1 - 21), fill=(60, 60, 60), width=3)
    if doc.watermark:
        wm = Image.new("RGBA", (600, 120), (0, 0, 0, 0))
        ImageDraw.Draw(wm).text(
            (10, 20),
            doc.watermark.text,
            fill=(*rgb(doc.watermark.color, (200, 200, 200)), 110),
            font=font(64, bold=True),
        )
        if doc.watermark.layout == "diagonal":
            wm = wm.rotate(35, expand=True)
        img.paste(wm, ((x0 + x1 - wm.width) // 2, (y0 + y1 - wm.height) // 2), wm)
    gray = (110, 110, 110)
    if doc.header or sim.ui.hf:
        d.text((x0 + 60, y0 + 20), doc.header or "", fill=gray, font=font(11))
    if doc.footer:
        d.text((x0 + 60, y1 - 36), doc.footer, fill=gray, font=font(11))
    if doc.page_numbers:
        pn = doc.page_numbers
        px = {"left": x0 + 60, "center": (x0 + x1) // 2, "right": x1 - 70}[pn.align]
        d.text((px, y0 + 20 if pn.position == "top" else y1 - 36), "1", fill=gray, font=font(11))
    if sim.ui.hf:
        for yy in (y0 + 50, y1 - 50):
            d.line((x0 + 40, yy, x1 - 40, yy), fill=(68, 114, 196))
    left, right = x0 + 70, x1 - 70
    cols = doc.page.columns
    col_w = (right - left - (cols - 1) * 20) // cols
    y = y0 + 60 - sim.ui.scroll
    col = 0
    cx0 = left
    no = 0
    for bi, b in enumerate(doc.blocks):
        if y > y1 - 50 and col < cols - 1:
            col += 1
            cx0 = left + col * (col_w + 20)
            y = y0 + 60
        if y > y1 - 40:
            break
        if isinstance(b, Paragraph):
            no = no + 1 if b.list_kind == "number" else 0
            y = _paragraph(img, d, sim, bi, b, cx0, cx0 + col_w, y, no)
        elif isinstance(b, Table):
            rows, ncols = b.shape
            cw = col_w // max(1, ncols)
            selected = sim.doc.sel.kind == "table" and sim.doc.tables()[sim.doc.sel.index] is b
            header_fill = (
                (68, 114, 196) if b.style != "Table Grid" and not b.style.startswith("Plain") else None
            )
            for r, row in enumerate(b.rows):
                for c, cell in enumerate(row):
                    rect = (cx0 + c * cw, y, cx0 + (c + 1) * cw, y + 22)
                    fill = (
                        (180, 210, 240)
                        if selected
                        else (header_fill if r == 0 and header_fill else (255, 255, 255))
                    )
                    _box(d, rect, fill, (90, 90, 90))
                    f = cell.fmt
                    d.text(
                        (rect[0] + 4, y + 5),
                        _fit(d, cell.text, font(11, bool(f.bold), bool(f.italic)), cw - 8),
                        fill=rgb(f.color),
                        font=font(11, bool(f.bold), bool(f.italic)),
                    )
                y += 22
            y += 10
        elif isinstance(b, Break):
            d.line((cx0, y + 6, cx0 + col_w, y + 6), fill=(150, 150, 150))
            d.text((cx0 + col_w // 2 - 40, y), "Page Break", fill=(120, 120, 120), font=font(10))
            y += 18
        elif isinstance(b, TOC):
            d.text((cx0, y), "Contents", fill=WORD_BLUE, font=font(15))
            y += 22
            for level, text in b.entries:
                d.text(
                    (cx0 + 16 * (level - 1), y),
                    _fit(d, text, font(11), col_w - 40),
                    fill=(0, 0, 0),
                    font=font(11),
                )
                d.text((cx0 + col_w - 14, y), "1", fill=(0, 0, 0), font=font(11))
                y += 16
            y += 8
    for i, sh in enumerate(doc.shapes):
        bx0, by0, bx1, by1 = sh.box
        r = (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1)
        fill = None if sh.fill in ("No Fill",) else rgb(sh.fill, (68, 114, 196))
        outline = None if sh.outline == "No Outline" else rgb(sh.outline)
        if sh.kind == "oval":
            d.ellipse(r, fill=fill, outline=outline, width=2)
        elif sh.kind == "triangle":
            d.polygon([((r[0] + r[2]) // 2, r[1]), (r[2], r[3]), (r[0], r[3])], fill=fill, outline=outline)
        elif sh.kind == "line":
            d.line((r[0], r[3], r[2], r[1]), fill=outline or (0, 0, 0), width=2)
        elif sh.kind == "rounded_rectangle":
            d.rounded_rectangle(r, 14, fill=fill, outline=outline, width=2)
        else:
            d.rectangle(r, fill=fill, outline=outline, width=2)
        if sh.kind == "chart":
            for k, hgt in enumerate((40, 70, 55, 90)):
                d.rectangle(
                    (r[0] + 30 + k * 60, r[3] - 20 - hgt, r[0] + 70 + k * 60, r[3] - 20), fill=(68, 114, 196)
                )
        if sh.text:
            f = sh.fmt
            fn = font(12, bool(f.bold), bool(f.italic))
            text_fill = (255, 255, 255) if fill and sum(fill) < 380 else (0, 0, 0)
            d.text((r[0] + 8, r[1] + 8), _fit(d, sh.text, fn, r[2] - r[0] - 16), fill=text_fill, font=fn)
        if sim.doc.sel.kind == "shape" and sim.doc.sel.index == i:
            d.rectangle((r[0] - 3, r[1] - 3, r[2] + 3, r[3] + 3), outline=(120, 120, 120))
    for c in doc.comments[:6]:
        k = doc.comments.index(c)
        by = y0 + 60 + k * 58
        _box(d, (x1 + 8, by, min(W - 24, x1 + 210), by + 50), (255, 250, 230), (220, 190, 120))
        d.text((x1 + 14, by + 4), c.author, fill=(0, 0, 0), font=font(10, bold=True))
        d.text((x1 + 14, by + 22), _fit(d, c.text, font(10), 180), fill=(40, 40, 40), font=font(10))


def render_png(sim: WordSim) -> bytes:
    img = Image.new("RGB", (W, H), RIBBON_BG)
    d = ImageDraw.Draw(img)
    live = sim._controls()
    ui = sim.ui
    _box(d, (0, 0, W, TITLE_H), WORD_BLUE)
    title = f"{sim.state.file_name} - Word"
    d.text((W // 2 - d.textlength(title, font=font(12)) // 2, 9), title, fill=(255, 255, 255), font=font(12))
    if ui.backstage is not None:
        _box(d, (0, TITLE_H, 190, H), WORD_BLUE)
        d.text((240, 44), ui.backstage, fill=(40, 40, 40), font=font(22))
    else:
        _box(d, (0, RIBBON_BOTTOM, W, STATUS_Y), (225, 225, 225))
        _page(img, d, sim)
        _box(d, (0, STATUS_Y, W, H), WORD_BLUE)
    dialog_drawn = False
    for ctrl, tg in live:
        if tg.area in ("document", "shape"):  # drawn with the page
            continue
        if tg.area == "dialog" and not dialog_drawn and ui.dialog is not None:
            spec = DIALOGS[ui.dialog.id]
            box = dialog_box(spec, ui.dialog.page, ui.dialog.values)
            d.rectangle((box[0] + 4, box[1] + 4, box[2] + 4, box[3] + 4), fill=(150, 150, 150))
            _box(d, box, (250, 250, 250), (120, 120, 120))
            d.text((box[0] + 12, box[1] + 8), spec.title, fill=(0, 0, 0), font=font(13, bold=True))
            dialog_drawn = True
        if tg.area == "menu":
            d.rectangle(ctrl.rect, fill=(255, 255, 255))
        if tg.area == "message":
            _box(d, (480, 340, 800, 470), (250, 250, 250), (120, 120, 120))
            d.text((496, 372), _fit(d, ui.message or "", font(12), 290), fill=(0, 0, 0), font=font(12))
        on, value = False, ""
        if tg.area == "tab":
            on = ctrl.text == ui.tab
        elif tg.area == "dialog" and ui.dialog is not None:
            spec = tg.spec
            v = ui.dialog.values
            if ctrl.type in ("RadioButton", "TreeItem", "ListItem"):
                on = v.get(spec.key) == spec.value
            elif ctrl.type == "TabItem":
                on = ui.dialog.page == spec.value
            elif ctrl.type in ("Edit", "ComboBox", "Spinner"):
                box = dialog_box(DIALOGS[ui.dialog.id], ui.dialog.page, v)
                d.text((box[0] + 16, ctrl.rect[1] + 5), ctrl.text + ":", fill=(0, 0, 0), font=font(11))
                value = (
                    ""
                    if v.get(spec.key) is None
                    else f"{v.get(spec.key):g}"
                    if isinstance(v.get(spec.key), float)
                    else str(v.get(spec.key))
                )
        elif ctrl.type in ("Edit", "ComboBox", "Spinner"):
            value = control_value(sim, ctrl, tg) if tg.area != "search" else ""
            value = "" if value == ctrl.text else value
        elif tg.area == "status":
            width = ctrl.rect[2] - ctrl.rect[0]
            d.text(
                (ctrl.rect[0] + 2, ctrl.rect[1] + 6),
                _fit(d, ctrl.text, font(10), width),
                fill=(255, 255, 255),
                font=font(10),
            )
            continue
        elif tg.area == "backstage" and ctrl.type == "ListItem" and ctrl.rect[0] < 190:
            d.text(
                (ctrl.rect[0] + 10, ctrl.rect[1] + 6),
                ctrl.text,
                fill=(255, 255, 255),
                font=font(13, bold=ctrl.text == ui.backstage),
            )
            continue
        elif tg.area == "qat":
            d.text((ctrl.rect[0] + 2, ctrl.rect[1] + 4), ctrl.text[:4], fill=(255, 255, 255), font=font(10))
            continue
        _control(d, ctrl.text, ctrl.type, ctrl.rect, on=on, value=value)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue()
