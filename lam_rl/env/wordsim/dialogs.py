"""Word's dialogs as data (fields with Word's names and UIA types) and what their buttons do.

A dialog is modal: while it is open, main-window controls are listed but clicking them fails with
``blocked_by_dialog``. Field values are kept in the dialog state and applied on OK, as in Word;
Find and Replace acts immediately (Find Next, Replace, Replace All) and its Cancel button turns
into Close once a replacement was made.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lam_rl.env.wordsim.ribbon import FONTS, PAPER_SIZES, STANDARD_COLORS
from lam_rl.env.wordsim.state import ActionError

Pred = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True)
class Field:
    name: str  # control text; DataItems may hold a {key} template
    type: str  # Edit | ComboBox | Spinner | RadioButton | Button | TabItem | DataItem | ListItem | TreeItem
    key: str = ""  # value key (or the button's action)
    value: Any = None  # RadioButton/TabItem/TreeItem/ListItem value
    choices: tuple[str, ...] = ()  # ComboBox choices
    editable: bool = True  # ComboBox accepts text outside its choices
    unit: str = ""  # Spinner unit: in | pt | % | "" (count)
    lo: float = 0.0
    hi: float = 1e9
    pages: tuple[str, ...] = ()  # dialog pages showing it (empty: every page)
    enabled: Pred | None = None
    visible: Pred | None = None


@dataclass(frozen=True)
class DialogSpec:
    id: str
    title: str
    fields: tuple[Field, ...]
    page: str | None = None  # first page
    width: int = 460


def _ok_cancel() -> tuple[Field, ...]:
    return (Field("OK", "Button", "ok"), Field("Cancel", "Button", "cancel"))


def _text_wm(v: dict[str, Any]) -> bool:
    return v.get("kind") == "text"


COLOR_CHOICES = ("Automatic", *STANDARD_COLORS)
UNDERLINE_STYLES = ("(none)", "Words only", "Single", "Double", "Dotted", "Thick", "Dash", "Wave")
BORDER_WIDTHS = ("1/2 pt", "3/4 pt", "1 pt", "1 1/2 pt", "2 1/4 pt", "3 pt", "4 1/2 pt", "6 pt")
SAVE_TYPES = {
    "Word Document (*.docx)": "docx",
    "Word 97-2003 Document (*.doc)": "doc",
    "PDF (*.pdf)": "pdf",
    "Plain Text (*.txt)": "txt",
    "Rich Text Format (*.rtf)": "rtf",
    "Web Page (*.htm;*.html)": "htm",
}
FOLDERS = ("Desktop", "Documents", "Downloads", "Pictures", "This PC")
ALIGN_NAMES = {"Left": "left", "Centered": "center", "Right": "right", "Justified": "justify"}
LINE_RULES = {"Single": 1.0, "1.5 lines": 1.5, "Double": 2.0, "Multiple": None}

DIALOGS: dict[str, DialogSpec] = {
    "find": DialogSpec(
        "find",
        "Find and Replace",
        (
            Field("Find", "TabItem", "page", "find"),
            Field("Replace", "TabItem", "page", "replace"),
            Field("Go To", "TabItem", "page", "goto"),
            Field("Find what", "Edit", "find", pages=("find", "replace")),
            Field("Replace with", "Edit", "replace", pages=("replace",)),
            Field("Enter page number", "Edit", "goto_page", pages=("goto",)),
            Field("More >>", "Button", "noop", pages=("find", "replace")),
            Field("Replace", "Button", "replace_one", pages=("replace",)),
            Field("Replace All", "Button", "replace_all", pages=("replace",)),
            Field("Find Next", "Button", "find_next", pages=("find", "replace")),
            Field("Go To", "Button", "noop", pages=("goto",)),
            Field("Cancel", "Button", "cancel", visible=lambda v: not v.get("replaced")),
            Field("Close", "Button", "cancel", visible=lambda v: bool(v.get("replaced"))),
        ),
        page="find",
    ),
    "font": DialogSpec(
        "font",
        "Font",
        (
            Field("Font", "ComboBox", "font", choices=FONTS),
            Field(
                "Font style",
                "ComboBox",
                "style",
                choices=("Regular", "Italic", "Bold", "Bold Italic"),
                editable=False,
            ),
            Field("Size", "ComboBox", "size", unit="pt", lo=1, hi=1638),
            Field("Font color", "ComboBox", "color", choices=COLOR_CHOICES, editable=False),
            Field("Underline style", "ComboBox", "underline", choices=UNDERLINE_STYLES, editable=False),
            Field("Set As Default", "Button", "noop"),
            Field("Text Effects...", "Button", "noop"),
            *_ok_cancel(),
        ),
    ),
    "paragraph": DialogSpec(
        "paragraph",
        "Paragraph",
        (
            Field("Indents and Spacing", "TabItem", "page", "indents"),
            Field("Line and Page Breaks", "TabItem", "page", "breaks"),
            Field(
                "Alignment",
                "ComboBox",
                "align",
                choices=tuple(ALIGN_NAMES),
                editable=False,
                pages=("indents",),
            ),
            Field("Left", "Spinner", "indent_left", unit="in", lo=-11, hi=22, pages=("indents",)),
            Field("Right", "Spinner", "indent_right", unit="in", lo=-11, hi=22, pages=("indents",)),
            Field("Before", "Spinner", "space_before", unit="pt", lo=0, hi=1584, pages=("indents",)),
            Field("After", "Spinner", "space_after", unit="pt", lo=0, hi=1584, pages=("indents",)),
            Field(
                "Line spacing",
                "ComboBox",
                "line_rule",
                choices=tuple(LINE_RULES),
                editable=False,
                pages=("indents",),
            ),
            Field("At", "Spinner", "line_at", unit="", lo=0.06, hi=132, pages=("indents",)),
            Field("Tabs...", "Button", "noop"),
            Field("Set As Default", "Button", "noop"),
            *_ok_cancel(),
        ),
        page="indents",
    ),
    "insert_table": DialogSpec(
        "insert_table",
        "Insert Table",
        (
            Field("Number of columns", "Spinner", "columns", unit="", lo=1, hi=63),
            Field("Number of rows", "Spinner", "rows", unit="", lo=1, hi=100),
            Field("Fixed column width", "RadioButton", "autofit", "fixed"),
            Field("AutoFit to contents", "RadioButton", "autofit", "contents"),
            Field("AutoFit to window", "RadioButton", "autofit", "window"),
            *_ok_cancel(),
        ),
        width=380,
    ),
    "watermark": DialogSpec(
        "watermark",
        "Printed Watermark",
        (
            Field("No watermark", "RadioButton", "kind", "none"),
            Field("Picture watermark", "RadioButton", "kind", "picture"),
            Field("Select Picture...", "Button", "noop", enabled=lambda v: v.get("kind") == "picture"),
            Field("Text watermark", "RadioButton", "kind", "text"),
            Field("Language", "ComboBox", "language", choices=("English (United States)",), enabled=_text_wm),
            Field(
                "Text",
                "ComboBox",
                "text",
                choices=("ASAP", "CONFIDENTIAL", "DRAFT", "SAMPLE", "URGENT"),
                enabled=_text_wm,
            ),
            Field("Font", "ComboBox", "font", choices=FONTS, enabled=_text_wm),
            Field("Size", "ComboBox", "size", choices=("Auto", "36", "54", "72", "96"), enabled=_text_wm),
            Field(
                "Color",
                "ComboBox",
                "color",
                choices=("Silver", *COLOR_CHOICES),
                editable=False,
                enabled=_text_wm,
            ),
            Field("Diagonal", "RadioButton", "layout", "diagonal", enabled=_text_wm),
            Field("Horizontal", "RadioButton", "layout", "horizontal", enabled=_text_wm),
            Field("Apply", "Button", "apply"),
            *_ok_cancel(),
        ),
    ),
    "page_setup": DialogSpec(
        "page_setup",
        "Page Setup",
        (
            Field("Margins", "TabItem", "page", "margins"),
            Field("Paper", "TabItem", "page", "paper"),
            Field("Layout", "TabItem", "page", "layout"),
            Field("Top", "Spinner", "top", unit="in", lo=0, hi=22, pages=("margins",)),
            Field("Bottom", "Spinner", "bottom", unit="in", lo=0, hi=22, pages=("margins",)),
            Field("Left", "Spinner", "left", unit="in", lo=0, hi=22, pages=("margins",)),
            Field("Right", "Spinner", "right", unit="in", lo=0, hi=22, pages=("margins",)),
            Field("Gutter", "Spinner", "gutter", unit="in", lo=0, hi=22, pages=("margins",)),
            Field("Portrait", "RadioButton", "orientation", "Portrait", pages=("margins",)),
            Field("Landscape", "RadioButton", "orientation", "Landscape", pages=("margins",)),
            Field(
                "Multiple pages",
                "ComboBox",
                "multiple",
                choices=("Normal", "Mirror margins", "Book fold"),
                editable=False,
                pages=("margins",),
            ),
            Field("Paper size", "ComboBox", "paper", choices=PAPER_SIZES, editable=False, pages=("paper",)),
            Field(
                "Section start",
                "ComboBox",
                "section_start",
                choices=("New page", "Continuous"),
                editable=False,
                pages=("layout",),
            ),
            Field(
                "Apply to",
                "ComboBox",
                "apply_to",
                choices=("Whole document", "This point forward"),
                editable=False,
            ),
            Field("Set As Default", "Button", "noop"),
            *_ok_cancel(),
        ),
        page="margins",
    ),
    "save_as": DialogSpec(
        "save_as",
        "Save As",
        (
            *(Field(f, "TreeItem", "folder", f) for f in FOLDERS),
            Field("File name", "Edit", "name"),
            Field("Save as type", "ComboBox", "type", choices=tuple(SAVE_TYPES), editable=False),
            Field("Authors", "Edit", "authors"),
            Field("Tags", "Edit", "tags"),
            Field("Save", "Button", "ok"),
            Field("Cancel", "Button", "cancel"),
        ),
        width=560,
    ),
    "word_count": DialogSpec(
        "word_count",
        "Word Count",
        (
            Field("Pages: {pages}", "DataItem"),
            Field("Words: {words}", "DataItem"),
            Field("Characters (no spaces): {chars}", "DataItem"),
            Field("Characters (with spaces): {chars_sp}", "DataItem"),
            Field("Paragraphs: {paras}", "DataItem"),
            Field("Lines: {lines}", "DataItem"),
            Field("Close", "Button", "cancel"),
        ),
        width=340,
    ),
    "hyperlink": DialogSpec(
        "hyperlink",
        "Insert Hyperlink",
        (
            Field("Existing File or Web Page", "ListItem", "link_to", "web"),
            Field("Place in This Document", "ListItem", "link_to", "place"),
            Field("Create New Document", "ListItem", "link_to", "new"),
            Field("E-mail Address", "ListItem", "link_to", "email"),
            Field("Text to display", "Edit", "display"),
            Field("Address", "Edit", "address"),
            Field("ScreenTip...", "Button", "noop"),
            Field("Bookmark...", "Button", "noop"),
            Field("Target Frame...", "Button", "noop"),
            *_ok_cancel(),
        ),
        width=560,
    ),
    "zoom": DialogSpec(
        "zoom",
        "Zoom",
        (
            *(
                Field(t, "RadioButton", "preset", v)
                for t, v in (
                    ("200%", 200),
                    ("100%", 100),
                    ("75%", 75),
                    ("Page width", 130),
                    ("Text width", 150),
                    ("Whole page", 60),
                    ("Many pages", 40),
                )
            ),
            Field("Percent", "Spinner", "percent", unit="%", lo=10, hi=500),
            *_ok_cancel(),
        ),
        width=380,
    ),
    "page_borders": DialogSpec(
        "page_borders",
        "Borders and Shading",
        (
            Field("Borders", "TabItem", "page", "borders"),
            Field("Page Border", "TabItem", "page", "page_border"),
            Field("Shading", "TabItem", "page", "shading"),
            *(
                Field(t, "RadioButton", "setting", v, pages=("page_border",))
                for t, v in (
                    ("None", None),
                    ("Box", "box"),
                    ("Shadow", "shadow"),
                    ("3-D", "3-d"),
                    ("Custom", "custom"),
                )
            ),
            Field(
                "Style",
                "ComboBox",
                "style",
                choices=("Single", "Dotted", "Dashed", "Double"),
                editable=False,
                pages=("page_border",),
            ),
            Field(
                "Color", "ComboBox", "color", choices=COLOR_CHOICES, editable=False, pages=("page_border",)
            ),
            Field(
                "Width", "ComboBox", "width", choices=BORDER_WIDTHS, editable=False, pages=("page_border",)
            ),
            Field("Art", "ComboBox", "art", choices=("(none)",), editable=False, pages=("page_border",)),
            Field(
                "Apply to", "ComboBox", "apply_to", choices=("Whole document", "This section"), editable=False
            ),
            Field(
                "Fill",
                "ComboBox",
                "fill",
                choices=("No Color", *STANDARD_COLORS),
                editable=False,
                pages=("shading",),
            ),
            Field("Options...", "Button", "noop"),
            *_ok_cancel(),
        ),
        page="page_border",
    ),
    "message": DialogSpec("message", "Microsoft Word", (Field("OK", "Button", "cancel"),), width=360),
}


def visible_fields(spec: DialogSpec, page: str | None, values: dict[str, Any]) -> list[Field]:
    return [
        f
        for f in spec.fields
        if (not f.pages or page in f.pages) and (f.visible is None or f.visible(values))
    ]


def field_text(f: Field, values: dict[str, Any]) -> str:
    return f.name.format(**values) if f.type == "DataItem" else f.name


_NUM = re.compile(r"^\s*(-?\d+(?:\.\d+)?|-?\.\d+)\s*(\"|in|inch|inches|pt|cm|mm|%)?\s*$", re.IGNORECASE)


def parse_measure(text: Any, f: Field) -> float:
    """A Spinner/size value such as '1.5"', '12 pt', '150%' or '3' in the field's unit."""
    if not isinstance(text, str):
        raise ActionError("bad_args", f"'{f.name}' expects text such as '12', got {text!r}")
    m = _NUM.match(text)
    if not m:
        raise ActionError("bad_args", f"'{f.name}' does not accept {text!r}: enter a number")
    value = float(m.group(1))
    unit = (m.group(2) or "").lower()
    unit = {'"': "in", "inch": "in", "inches": "in"}.get(unit, unit)
    if unit and f.unit and unit != f.unit:
        conv = {
            ("pt", "in"): 1 / 72,
            ("in", "pt"): 72,
            ("cm", "in"): 1 / 2.54,
            ("mm", "in"): 1 / 25.4,
            ("cm", "pt"): 72 / 2.54,
        }
        if (unit, f.unit) not in conv:
            raise ActionError("bad_args", f"'{f.name}' is measured in {f.unit}, not {unit}")
        value *= conv[(unit, f.unit)]
    elif unit and not f.unit and unit != "%":
        raise ActionError("bad_args", f"'{f.name}' takes a plain number, not {unit}")
    if not f.lo <= value <= f.hi:
        raise ActionError("bad_args", f"'{f.name}' must be between {f.lo:g} and {f.hi:g}, got {value:g}")
    return round(value, 2)


def parse_choice(text: Any, f: Field) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ActionError("bad_args", f"'{f.name}' needs a non-empty text value")
    t = text.strip()
    for c in f.choices:
        if c.lower() == t.lower():
            return c
    if f.unit:
        return f"{parse_measure(t, f):g}"
    if f.editable:
        if len(t) > 200:
            raise ActionError("bad_args", f"'{f.name}' value is too long")
        return t
    raise ActionError("bad_args", f"'{f.name}' has no entry {t!r}; choices: {', '.join(f.choices[:12])}")
