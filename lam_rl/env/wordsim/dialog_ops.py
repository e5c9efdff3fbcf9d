"""What WordSim's dialogs do: their initial values, their fields, and their buttons."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lam_rl.env.wordsim import commands_insert as ins
from lam_rl.env.wordsim import editing as ed
from lam_rl.env.wordsim.dialogs import (
    ALIGN_NAMES,
    DIALOGS,
    LINE_RULES,
    SAVE_TYPES,
    Field,
    parse_choice,
    parse_measure,
)
from lam_rl.env.wordsim.document import (
    STYLES,
    Paragraph,
    Selection,
    Watermark,
    find_text,
    selected_text,
)
from lam_rl.env.wordsim.ribbon import MARGIN_PRESETS
from lam_rl.env.wordsim.state import ActionError, DialogState, SavedFile

if TYPE_CHECKING:
    from lam_rl.env.wordsim.app import WordSim

ALIASES = {
    "replace": ("find", "replace"),
    "find": ("find", "find"),
    "page_setup_paper": ("page_setup", "paper"),
    "save_as_pdf": ("save_as", None),
}
BAD_FILENAME = re.compile(r'[\\/:*?"<>|]')
MAX_REPLACEMENTS = 5000


def _g(v: float) -> str:
    return f"{v:g}"


def open_dialog(sim: WordSim, did: str) -> None:
    spec_id, page = ALIASES.get(did, (did, None))
    spec = DIALOGS[spec_id]
    values = DIALOG_INIT[spec_id](sim)
    if did == "save_as_pdf":
        values["type"] = "PDF (*.pdf)"
    values["_init"] = dict(values)
    sim.ui.dialog = DialogState(spec_id, page or spec.page, values)


def _close_dialog(sim: WordSim) -> None:
    if sim.ui.dialog is not None:
        sim.ui.form["last_" + sim.ui.dialog.id] = {
            k: v for k, v in sim.ui.dialog.values.items() if k in ("find", "replace")
        }
    sim.ui.dialog = None


def _enabled(sim: WordSim, f: Field) -> None:
    if f.enabled is not None and not f.enabled(sim.ui.dialog.values):
        raise ActionError("disabled", f"'{f.name}' is disabled in the current dialog state")


def dialog_click(sim: WordSim, f: Field) -> Any:
    _enabled(sim, f)
    dlg = sim.ui.dialog
    if dlg is None:  # the message box's OK
        sim.ui.message = None
        return None
    if f.type == "TabItem":
        dlg.page = f.value
    elif f.type in ("RadioButton", "TreeItem", "ListItem"):
        dlg.values[f.key] = f.value
        if dlg.id == "zoom":
            dlg.values["percent"] = f.value
    elif f.type == "Button":
        action = f.key
        if action == "cancel":
            _close_dialog(sim)
        elif action == "ok":
            DIALOG_OK[dlg.id](sim, dlg.values)
        elif action == "apply":
            DIALOG_OK[dlg.id](sim, dlg.values, close=False)
        elif action in ("find_next", "replace_one", "replace_all"):
            DIALOG_BUTTONS[action](sim, dlg.values)
    return None


def dialog_set(sim: WordSim, f: Field, text: str) -> None:
    _enabled(sim, f)
    dlg = sim.ui.dialog
    if f.type == "Edit":
        if len(text) > 255:
            raise ActionError("bad_args", f"'{f.name}' accepts at most 255 characters")
        dlg.values[f.key] = text
    elif f.type == "Spinner":
        dlg.values[f.key] = parse_measure(text, f)
    elif f.type == "ComboBox":
        dlg.values[f.key] = parse_choice(text, f)
    else:  # pragma: no cover - filtered by the function/type check
        raise ActionError("bad_function", f"'{f.name}' is not editable")


def _changed(sim: WordSim, values: dict[str, Any], key: str) -> bool:
    return values.get(key) != values["_init"].get(key)


# ------------------------------------------------------------------ Find and Replace


def init_find(sim: WordSim) -> dict[str, Any]:
    last = sim.ui.form.get("last_find", {})
    sel = selected_text(sim.doc) if sim.doc.sel.kind == "text" else ""
    find = sel if sel and "\n" not in sel and len(sel) < 80 else last.get("find", "")
    return {"find": find, "replace": last.get("replace", ""), "goto_page": "", "replaced": 0}


def _term(sim: WordSim, values: dict[str, Any]) -> str:
    term = values.get("find") or ""
    if not term:
        raise ActionError("disabled", "type the text to find in 'Find what' first")
    return term


def find_next(sim: WordSim, values: dict[str, Any]) -> bool:
    term = _term(sim, values)
    doc = sim.doc
    after = doc.sel.b if doc.sel.kind == "text" else None
    hit = find_text(doc, term, after=after) or find_text(doc, term)
    if hit is None:
        sim.ui.message = "We didn't find what you were looking for."
        return False
    doc.sel = Selection("text", hit[0], hit[1])
    return True


def replace_one(sim: WordSim, values: dict[str, Any]) -> None:
    term = _term(sim, values)
    doc = sim.doc
    if doc.sel.kind == "text" and selected_text(doc).lower() == term.lower():
        sim.mutate()
        ed.insert_text(doc, values.get("replace") or "")
        values["replaced"] = values.get("replaced", 0) + 1
        hit = find_text(doc, term, after=doc.sel.b)
        if hit is None:
            sim.ui.message = "We're all done. There are no more instances."
        else:
            doc.sel = Selection("text", hit[0], hit[1])
    else:
        find_next(sim, values)


def replace_all(sim: WordSim, values: dict[str, Any]) -> None:
    term = _term(sim, values)
    repl = values.get("replace") or ""
    doc = sim.doc
    sim.mutate()
    n = 0
    pos = None
    while n < MAX_REPLACEMENTS:
        hit = find_text(doc, term, after=pos)
        if hit is None:
            break
        doc.sel = Selection("text", hit[0], hit[1])
        ed.insert_text(doc, repl)
        pos = doc.sel.b
        n += 1
    values["replaced"] = values.get("replaced", 0) + n
    sim.ui.message = (
        f"All done. We made {n} replacements." if n else "We didn't find what you were looking for."
    )


# ------------------------------------------------------------------ Font


def init_font(sim: WordSim) -> dict[str, Any]:
    cur = ed.current_fmt(sim.doc)
    style = {
        (False, False): "Regular",
        (False, True): "Italic",
        (True, False): "Bold",
        (True, True): "Bold Italic",
    }
    return {
        "font": cur["font"] or "",
        "style": style.get((cur["bold"], cur["italic"]), "")
        if cur["bold"] is not None and cur["italic"] is not None
        else "",
        "size": _g(cur["size"]) if cur["size"] else "",
        "color": cur["color"] or "",
        "underline": ("Single" if cur["underline"] else "(none)") if cur["underline"] is not None else "",
    }


def ok_font(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    attrs: dict[str, Any] = {}
    if _changed(sim, v, "font") and v["font"]:
        attrs["font"] = v["font"]
    if _changed(sim, v, "size") and v["size"]:
        attrs["size"] = round(float(v["size"]) * 2) / 2
    if _changed(sim, v, "color") and v["color"]:
        attrs["color"] = v["color"]
    if _changed(sim, v, "style") and v["style"]:
        attrs["bold"] = "Bold" in v["style"]
        attrs["italic"] = "Italic" in v["style"]
    if _changed(sim, v, "underline") and v["underline"]:
        attrs["underline"] = v["underline"] != "(none)"
    if attrs:
        sim.mutate()
        ed.apply_fmt(sim.doc, **attrs)
    _close_dialog(sim)


# ------------------------------------------------------------------ Paragraph


def init_paragraph(sim: WordSim) -> dict[str, Any]:
    paras = ed.target_paragraphs(sim.doc)
    p = paras[0] if paras else Paragraph()
    spacing = p.line_spacing or 1.08
    rule = {1.0: "Single", 1.5: "1.5 lines", 2.0: "Double"}.get(spacing, "Multiple")
    align = {v: k for k, v in ALIGN_NAMES.items()}[p.align or "left"]
    return {
        "align": align,
        "indent_left": p.indent_left,
        "indent_right": 0.0,
        "space_before": p.space_before or 0.0,
        "space_after": p.space_after if p.space_after is not None else STYLES[p.style].space_after,
        "line_rule": rule,
        "line_at": spacing,
    }


def ok_paragraph(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    attrs: dict[str, Any] = {}
    if _changed(sim, v, "align"):
        attrs["align"] = ALIGN_NAMES[v["align"]]
    for key in ("indent_left", "space_before", "space_after"):
        if _changed(sim, v, key):
            attrs[key] = float(v[key])
    if _changed(sim, v, "line_rule") or _changed(sim, v, "line_at"):
        fixed = LINE_RULES[v["line_rule"]]
        attrs["line_spacing"] = (
            fixed if fixed is not None and not _changed(sim, v, "line_at") else float(v["line_at"])
        )
    if attrs:
        sim.mutate()
        ed.set_para(sim.doc, **attrs)
    _close_dialog(sim)


# ------------------------------------------------------------------ Insert Table, Hyperlink


def init_insert_table(sim: WordSim) -> dict[str, Any]:
    return {"columns": 5.0, "rows": 2.0, "autofit": "fixed"}


def ok_insert_table(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    _close_dialog(sim)
    ins.insert_table(sim, int(v["rows"]), int(v["columns"]))


def init_hyperlink(sim: WordSim) -> dict[str, Any]:
    sel = selected_text(sim.doc) if sim.doc.sel.kind == "text" else ""
    return {"link_to": "web", "display": sel.split("\n")[0], "address": ""}


def ok_hyperlink(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    address = (v.get("address") or "").strip()
    _close_dialog(sim)
    if not address:
        return
    doc = sim.doc
    sim.mutate()
    display = v.get("display") or address
    if doc.sel.kind != "text":
        doc.sel = Selection("text", doc.sel.a, doc.sel.a) if doc.sel.kind == "text" else doc.sel
    if doc.sel.kind == "text" and (doc.sel.empty or selected_text(doc) != display):
        ed.insert_text(doc, display)
        bi, off = doc.sel.b
        doc.sel = Selection("text", (bi, off - len(display)), (bi, off))
    if doc.sel.kind == "text":
        ed.apply_fmt(doc, link=address)


# ------------------------------------------------------------------ Printed Watermark


def init_watermark(sim: WordSim) -> dict[str, Any]:
    wm = sim.doc.watermark
    return {
        "kind": "text" if wm else "none",
        "language": "English (United States)",
        "text": wm.text if wm else "ASAP",
        "font": wm.font if wm else "Calibri",
        "size": "Auto",
        "color": wm.color if wm else "Silver",
        "layout": wm.layout if wm else "diagonal",
    }


def ok_watermark(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    sim.mutate()
    if v["kind"] == "none":
        sim.doc.watermark = None
    elif v["kind"] == "text":
        sim.doc.watermark = Watermark(v["text"], v["layout"], v["font"], v["color"])
    if close:
        _close_dialog(sim)


# ------------------------------------------------------------------ Page Setup


def init_page_setup(sim: WordSim) -> dict[str, Any]:
    pg = sim.doc.page
    top, bottom, left, right = pg.margins
    return {
        "top": top,
        "bottom": bottom,
        "left": left,
        "right": right,
        "gutter": 0.0,
        "orientation": pg.orientation,
        "multiple": "Normal",
        "paper": pg.size,
        "section_start": "New page",
        "apply_to": "Whole document",
    }


def ok_page_setup(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    sim.mutate()
    pg = sim.doc.page
    margins = (float(v["top"]), float(v["bottom"]), float(v["left"]), float(v["right"]))
    if margins != pg.margins:
        pg.margins = margins
        pg.margin_preset = next((k for k, m in MARGIN_PRESETS.items() if m == margins), "Custom")
    pg.orientation = v["orientation"]
    pg.size = v["paper"]
    _close_dialog(sim)


# ------------------------------------------------------------------ Save As


def init_save_as(sim: WordSim) -> dict[str, Any]:
    return {
        "folder": "Documents",
        "name": sim.state.file_name,
        "type": "Word Document (*.docx)",
        "authors": "",
        "tags": "",
    }


def ok_save_as(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    name = (v.get("name") or "").strip()
    fmt = SAVE_TYPES[v["type"]]
    if name.lower().endswith("." + fmt):
        name = name[: -len(fmt) - 1]
    if not name or BAD_FILENAME.search(name) or len(name) > 200:
        sim.ui.message = "The file name is not valid."
        return
    sim.state.saved.append(SavedFile(v["folder"], name, fmt))
    if fmt != "pdf":
        sim.state.file_name = name
    _close_dialog(sim)
    sim.ui.backstage = None


# ------------------------------------------------------------------ Word Count, Zoom, Borders


def init_word_count(sim: WordSim) -> dict[str, Any]:
    from lam_rl.env.wordsim.ui import page_count

    text = sim.doc.text()
    paras = [p for _, p in sim.doc.paragraphs() if p.text.strip()]
    return {
        "pages": page_count(sim),
        "words": len(text.split()),
        "chars": len("".join(text.split())),
        "chars_sp": len(text.replace("\n", "")),
        "paras": len(paras),
        "lines": sum(max(1, len(p.text) // 90 + 1) for p in paras),
    }


def init_message(sim: WordSim) -> dict[str, Any]:  # pragma: no cover - messages are not opened as dialogs
    return {}


def init_zoom(sim: WordSim) -> dict[str, Any]:
    return {"preset": None, "percent": float(sim.state.zoom)}


def ok_zoom(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    sim.state.zoom = int(round(float(v["percent"])))
    _close_dialog(sim)


def init_page_borders(sim: WordSim) -> dict[str, Any]:
    d = sim.doc
    return {
        "setting": d.page_border,
        "style": "Single",
        "color": d.border_color,
        "width": d.border_width,
        "art": "(none)",
        "apply_to": "Whole document",
        "fill": "No Color",
    }


def ok_page_borders(sim: WordSim, v: dict[str, Any], close: bool = True) -> None:
    sim.mutate()
    d = sim.doc
    setting = v["setting"]
    d.page_border = "box" if setting == "custom" else setting
    d.border_color = v["color"]
    d.border_width = v["width"]
    _close_dialog(sim)


# Each dialog's initial values (``open_dialog``), by dialog id.
DIALOG_INIT: dict[str, Callable[[WordSim], dict[str, Any]]] = {
    "find": init_find,
    "font": init_font,
    "paragraph": init_paragraph,
    "insert_table": init_insert_table,
    "hyperlink": init_hyperlink,
    "watermark": init_watermark,
    "page_setup": init_page_setup,
    "save_as": init_save_as,
    "word_count": init_word_count,
    "message": init_message,
    "zoom": init_zoom,
    "page_borders": init_page_borders,
}

# Each dialog's OK (and Apply, with ``close=False``), by dialog id.
DIALOG_OK: dict[str, Callable[..., None]] = {
    "font": ok_font,
    "paragraph": ok_paragraph,
    "insert_table": ok_insert_table,
    "hyperlink": ok_hyperlink,
    "watermark": ok_watermark,
    "page_setup": ok_page_setup,
    "save_as": ok_save_as,
    "zoom": ok_zoom,
    "page_borders": ok_page_borders,
}

# The Find and Replace dialog's other buttons, by button key.
DIALOG_BUTTONS: dict[str, Callable[[WordSim, dict[str, Any]], None]] = {
    "find_next": find_next,
    "replace_one": replace_one,
    "replace_all": replace_all,
}
