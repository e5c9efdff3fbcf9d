"""What WordSim's dialogs do: their initial values, their fields, and their buttons."""

from __future__ import annotations

import re
from typing import Any

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


class DialogOps:
    """Mixin for WordSim: opening dialogs and acting on their fields."""

    def open_dialog(self, did: str) -> None:
        spec_id, page = ALIASES.get(did, (did, None))
        spec = DIALOGS[spec_id]
        values = getattr(self, f"_init_{spec_id}")()
        if did == "save_as_pdf":
            values["type"] = "PDF (*.pdf)"
        values["_init"] = dict(values)
        self.ui.dialog = DialogState(spec_id, page or spec.page, values)

    def _close_dialog(self) -> None:
        if self.ui.dialog is not None:
            self.ui.form["last_" + self.ui.dialog.id] = {
                k: v for k, v in self.ui.dialog.values.items() if k in ("find", "replace")
            }
        self.ui.dialog = None

    def _enabled(self, f: Field) -> None:
        if f.enabled is not None and not f.enabled(self.ui.dialog.values):
            raise ActionError("disabled", f"'{f.name}' is disabled in the current dialog state")

    def dialog_click(self, f: Field) -> Any:
        self._enabled(f)
        dlg = self.ui.dialog
        if dlg is None:  # the message box's OK
            self.ui.message = None
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
                self._close_dialog()
            elif action == "ok":
                getattr(self, f"_ok_{dlg.id}")(dlg.values)
            elif action == "apply":
                getattr(self, f"_ok_{dlg.id}")(dlg.values, close=False)
            elif action in ("find_next", "replace_one", "replace_all"):
                getattr(self, f"_{action}")(dlg.values)
        return None

    def dialog_set(self, f: Field, text: str) -> None:
        self._enabled(f)
        dlg = self.ui.dialog
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

    def _changed(self, values: dict[str, Any], key: str) -> bool:
        return values.get(key) != values["_init"].get(key)

    # ------------------------------------------------------------------ Find and Replace

    def _init_find(self) -> dict[str, Any]:
        last = self.ui.form.get("last_find", {})
        sel = selected_text(self.doc) if self.doc.sel.kind == "text" else ""
        find = sel if sel and "\n" not in sel and len(sel) < 80 else last.get("find", "")
        return {"find": find, "replace": last.get("replace", ""), "goto_page": "", "replaced": 0}

    def _term(self, values: dict[str, Any]) -> str:
        term = values.get("find") or ""
        if not term:
            raise ActionError("disabled", "type the text to find in 'Find what' first")
        return term

    def _find_next(self, values: dict[str, Any]) -> bool:
        term = self._term(values)
        doc = self.doc
        after = doc.sel.b if doc.sel.kind == "text" else None
        hit = find_text(doc, term, after=after) or find_text(doc, term)
        if hit is None:
            self.ui.message = "We didn't find what you were looking for."
            return False
        doc.sel = Selection("text", hit[0], hit[1])
        return True

    def _replace_one(self, values: dict[str, Any]) -> None:
        term = self._term(values)
        doc = self.doc
        if doc.sel.kind == "text" and selected_text(doc).lower() == term.lower():
            self.mutate()
            ed.insert_text(doc, values.get("replace") or "")
            values["replaced"] = values.get("replaced", 0) + 1
            hit = find_text(doc, term, after=doc.sel.b)
            if hit is None:
                self.ui.message = "We're all done. There are no more instances."
            else:
                doc.sel = Selection("text", hit[0], hit[1])
        else:
            self._find_next(values)

    def _replace_all(self, values: dict[str, Any]) -> None:
        term = self._term(values)
        repl = values.get("replace") or ""
        doc = self.doc
        self.mutate()
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
        self.ui.message = (
            f"All done. We made {n} replacements." if n else "We didn't find what you were looking for."
        )

    # ------------------------------------------------------------------ Font

    def _init_font(self) -> dict[str, Any]:
        cur = ed.current_fmt(self.doc)
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

    def _ok_font(self, v: dict[str, Any], close: bool = True) -> None:
        attrs: dict[str, Any] = {}
        if self._changed(v, "font") and v["font"]:
            attrs["font"] = v["font"]
        if self._changed(v, "size") and v["size"]:
            attrs["size"] = round(float(v["size"]) * 2) / 2
        if self._changed(v, "color") and v["color"]:
            attrs["color"] = v["color"]
        if self._changed(v, "style") and v["style"]:
            attrs["bold"] = "Bold" in v["style"]
            attrs["italic"] = "Italic" in v["style"]
        if self._changed(v, "underline") and v["underline"]:
            attrs["underline"] = v["underline"] != "(none)"
        if attrs:
            self.mutate()
            ed.apply_fmt(self.doc, **attrs)
        self._close_dialog()

    # ------------------------------------------------------------------ Paragraph

    def _init_paragraph(self) -> dict[str, Any]:
        paras = ed.target_paragraphs(self.doc)
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

    def _ok_paragraph(self, v: dict[str, Any], close: bool = True) -> None:
        attrs: dict[str, Any] = {}
        if self._changed(v, "align"):
            attrs["align"] = ALIGN_NAMES[v["align"]]
        for key in ("indent_left", "space_before", "space_after"):
            if self._changed(v, key):
                attrs[key] = float(v[key])
        if self._changed(v, "line_rule") or self._changed(v, "line_at"):
            fixed = LINE_RULES[v["line_rule"]]
            attrs["line_spacing"] = (
                fixed if fixed is not None and not self._changed(v, "line_at") else float(v["line_at"])
            )
        if attrs:
            self.mutate()
            ed.set_para(self.doc, **attrs)
        self._close_dialog()

    # ------------------------------------------------------------------ Insert Table, Hyperlink

    def _init_insert_table(self) -> dict[str, Any]:
        return {"columns": 5.0, "rows": 2.0, "autofit": "fixed"}

    def _ok_insert_table(self, v: dict[str, Any], close: bool = True) -> None:
        self._close_dialog()
        self.insert_table(int(v["rows"]), int(v["columns"]))

    def _init_hyperlink(self) -> dict[str, Any]:
        sel = selected_text(self.doc) if self.doc.sel.kind == "text" else ""
        return {"link_to": "web", "display": sel.split("\n")[0], "address": ""}

    def _ok_hyperlink(self, v: dict[str, Any], close: bool = True) -> None:
        address = (v.get("address") or "").strip()
        self._close_dialog()
        if not address:
            return
        doc = self.doc
        self.mutate()
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

    def _init_watermark(self) -> dict[str, Any]:
        wm = self.doc.watermark
        return {
            "kind": "text" if wm else "none",
            "language": "English (United States)",
            "text": wm.text if wm else "ASAP",
            "font": wm.font if wm else "Calibri",
            "size": "Auto",
            "color": wm.color if wm else "Silver",
            "layout": wm.layout if wm else "diagonal",
        }

    def _ok_watermark(self, v: dict[str, Any], close: bool = True) -> None:
        self.mutate()
        if v["kind"] == "none":
            self.doc.watermark = None
        elif v["kind"] == "text":
            self.doc.watermark = Watermark(v["text"], v["layout"], v["font"], v["color"])
        if close:
            self._close_dialog()

    # ------------------------------------------------------------------ Page Setup

    def _init_page_setup(self) -> dict[str, Any]:
        pg = self.doc.page
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

    def _ok_page_setup(self, v: dict[str, Any], close: bool = True) -> None:
        self.mutate()
        pg = self.doc.page
        margins = (float(v["top"]), float(v["bottom"]), float(v["left"]), float(v["right"]))
        if margins != pg.margins:
            pg.margins = margins
            pg.margin_preset = next((k for k, m in MARGIN_PRESETS.items() if m == margins), "Custom")
        pg.orientation = v["orientation"]
        pg.size = v["paper"]
        self._close_dialog()

    # ------------------------------------------------------------------ Save As

    def _init_save_as(self) -> dict[str, Any]:
        return {
            "folder": "Documents",
            "name": self.state.file_name,
            "type": "Word Document (*.docx)",
            "authors": "",
            "tags": "",
        }

    def _ok_save_as(self, v: dict[str, Any], close: bool = True) -> None:
        name = (v.get("name") or "").strip()
        fmt = SAVE_TYPES[v["type"]]
        if name.lower().endswith("." + fmt):
            name = name[: -len(fmt) - 1]
        if not name or BAD_FILENAME.search(name) or len(name) > 200:
            self.ui.message = "The file name is not valid."
            return
        self.state.saved.append(SavedFile(v["folder"], name, fmt))
        if fmt != "pdf":
            self.state.file_name = name
        self._close_dialog()
        self.ui.backstage = None

    # ------------------------------------------------------------------ Word Count, Zoom, Borders

    def _init_word_count(self) -> dict[str, Any]:
        from lam_rl.env.wordsim.ui import page_count

        text = self.doc.text()
        paras = [p for _, p in self.doc.paragraphs() if p.text.strip()]
        return {
            "pages": page_count(self),
            "words": len(text.split()),
            "chars": len("".join(text.split())),
            "chars_sp": len(text.replace("\n", "")),
            "paras": len(paras),
            "lines": sum(max(1, len(p.text) // 90 + 1) for p in paras),
        }

    def _init_message(self) -> dict[str, Any]:  # pragma: no cover - messages are not opened as dialogs
        return {}

    def _init_zoom(self) -> dict[str, Any]:
        return {"preset": None, "percent": float(self.state.zoom)}

    def _ok_zoom(self, v: dict[str, Any], close: bool = True) -> None:
        self.state.zoom = int(round(float(v["percent"])))
        self._close_dialog()

    def _init_page_borders(self) -> dict[str, Any]:
        d = self.doc
        return {
            "setting": d.page_border,
            "style": "Single",
            "color": d.border_color,
            "width": d.border_width,
            "art": "(none)",
            "apply_to": "Whole document",
            "fill": "No Color",
        }

    def _ok_page_borders(self, v: dict[str, Any], close: bool = True) -> None:
        self.mutate()
        d = self.doc
        setting = v["setting"]
        d.page_border = "box" if setting == "custom" else setting
        d.border_color = v["color"]
        d.border_width = v["width"]
        self._close_dialog()
