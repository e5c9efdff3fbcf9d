"""Word's drop-down menus and galleries (what a ribbon button with ``act="menu"`` opens).

Gallery entries (colours, styles, shapes, presets) are ListItems; commands are MenuItems, as UIA
lists them. A menu item whose ``act`` is ``menu`` opens a submenu to the right.
"""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.env.wordsim.ribbon import (
    COLUMN_CHOICES,
    HIGHLIGHT_COLORS,
    LI,
    LINE_SPACINGS,
    MARGIN_PRESETS,
    MI,
    PAPER_SIZES,
    SHAPES,
    STANDARD_COLORS,
    WATERMARKS,
    C,
)


@dataclass(frozen=True)
class Menu:
    title: str
    items: tuple[C, ...]
    columns: int = 1


def _colors(
    act: str, first: tuple[str, ...] = ("Automatic",), last: tuple[str, ...] = ("More Colors...",)
) -> tuple[C, ...]:
    return (
        tuple(LI(c, act, c) for c in first)
        + tuple(LI(c, act, c) for c in STANDARD_COLORS)
        + tuple(MI(c) for c in last)
    )


MENUS: dict[str, Menu] = {
    "font_color": Menu("Font Color", _colors("font_color")),
    "highlight": Menu(
        "Text Highlight Color",
        tuple(LI(c, "highlight", c) for c in HIGHLIGHT_COLORS) + (MI("No Color", "highlight", None),),
    ),
    "change_case": Menu(
        "Change Case",
        tuple(
            MI(t, "case", m)
            for t, m in (
                ("Sentence case.", "sentence"),
                ("lowercase", "lower"),
                ("UPPERCASE", "upper"),
                ("Capitalize Each Word", "title"),
                ("tOGGLE cASE", "toggle"),
            )
        ),
    ),
    "line_spacing": Menu(
        "Line and Paragraph Spacing",
        tuple(MI(v, "line_spacing", float(v)) for v in LINE_SPACINGS)
        + (
            MI("Line Spacing Options...", "dialog", "paragraph"),
            MI("Add Space Before Paragraph", "cmd", "space_before_on"),
            MI("Remove Space After Paragraph", "cmd", "space_after_off"),
        ),
    ),
    "select": Menu(
        "Select",
        (
            MI("Select All", "cmd", "select_all"),
            MI("Select Objects"),
            MI("Select All Text With Similar Formatting"),
            MI("Selection Pane"),
        ),
    ),
    "table": Menu(
        "Table",
        (
            MI("Insert Table...", "dialog", "insert_table"),
            MI("Draw Table"),
            MI("Convert Text to Table..."),
            MI("Excel Spreadsheet"),
            MI("Quick Tables"),
        ),
    ),
    "shapes": Menu("Shapes", tuple(LI(t, "insert_shape", k) for t, k in SHAPES.items()), columns=2),
    "header": Menu(
        "Header",
        (
            LI("Blank", "header_gallery", "blank"),
            LI("Blank (Three Columns)", "header_gallery", "three"),
            LI("Austin", "header_gallery", "austin"),
            LI("Banded", "header_gallery", "banded"),
            MI("Edit Header", "cmd", "edit_header"),
            MI("Remove Header", "cmd", "remove_header"),
        ),
    ),
    "footer": Menu(
        "Footer",
        (
            LI("Blank", "footer_gallery", "blank"),
            LI("Blank (Three Columns)", "footer_gallery", "three"),
            LI("Austin", "footer_gallery", "austin"),
            LI("Banded", "footer_gallery", "banded"),
            MI("Edit Footer", "cmd", "edit_footer"),
            MI("Remove Footer", "cmd", "remove_footer"),
        ),
    ),
    "page_number": Menu(
        "Page Number",
        (
            MI("Top of Page", "menu", "page_number_top"),
            MI("Bottom of Page", "menu", "page_number_bottom"),
            MI("Page Margins"),
            MI("Current Position"),
            MI("Format Page Numbers..."),
            MI("Remove Page Numbers", "cmd", "remove_page_numbers"),
        ),
    ),
    "page_number_top": Menu(
        "Top of Page",
        tuple(
            LI(f"Plain Number {i}", "page_numbers", ("top", a))
            for i, a in ((1, "left"), (2, "center"), (3, "right"))
        ),
    ),
    "page_number_bottom": Menu(
        "Bottom of Page",
        tuple(
            LI(f"Plain Number {i}", "page_numbers", ("bottom", a))
            for i, a in ((1, "left"), (2, "center"), (3, "right"))
        ),
    ),
    "text_box": Menu(
        "Text Box",
        (
            LI("Simple Text Box", "insert_textbox", "simple"),
            LI("Austin Quote", "insert_textbox", "austin"),
            LI("Banded Sidebar", "insert_textbox", "banded"),
            MI("Draw Text Box"),
        ),
    ),
    "watermark": Menu(
        "Watermark",
        tuple(LI(name, "watermark", name) for name in WATERMARKS)
        + (
            MI("Custom Watermark...", "dialog", "watermark"),
            MI("Remove Watermark", "cmd", "remove_watermark"),
        ),
        columns=2,
    ),
    "page_color": Menu(
        "Page Color", _colors("page_color", ("No Color",), ("More Colors...", "Fill Effects..."))
    ),
    "margins": Menu(
        "Margins",
        tuple(LI(name, "margins", name) for name in MARGIN_PRESETS)
        + (MI("Custom Margins...", "dialog", "page_setup"),),
    ),
    "orientation": Menu(
        "Orientation",
        (LI("Portrait", "orientation", "Portrait"), LI("Landscape", "orientation", "Landscape")),
    ),
    "size": Menu(
        "Size",
        tuple(LI(s, "paper", s) for s in PAPER_SIZES)
        + (MI("More Paper Sizes...", "dialog", "page_setup_paper"),),
    ),
    "columns": Menu(
        "Columns",
        tuple(LI(t, "columns", n) for t, n in COLUMN_CHOICES.items())
        + (LI("Left"), LI("Right"), MI("More Columns...")),
    ),
    "breaks": Menu(
        "Breaks",
        (
            LI("Page", "cmd", "page_break"),
            LI("Column"),
            LI("Text Wrapping"),
            LI("Next Page", "cmd", "page_break"),
            LI("Continuous"),
            LI("Even Page"),
            LI("Odd Page"),
        ),
    ),
    "toc": Menu(
        "Table of Contents",
        (
            LI("Automatic Table 1", "toc", "automatic"),
            LI("Automatic Table 2", "toc", "automatic"),
            LI("Manual Table", "toc", "manual"),
            MI("Custom Table of Contents..."),
            MI("Remove Table of Contents", "cmd", "remove_toc"),
        ),
    ),
    "delete_comment": Menu(
        "Delete Comment",
        (
            MI("Delete", "cmd", "delete_comment"),
            MI("Delete All Comments Shown", "cmd", "delete_all_comments"),
            MI("Delete All Comments in Document", "cmd", "delete_all_comments"),
        ),
    ),
    "accept": Menu(
        "Accept",
        (
            MI("Accept and Move to Next", "cmd", "accept_next"),
            MI("Accept This Change", "cmd", "accept_next"),
            MI("Accept All Changes Shown", "cmd", "accept_all"),
            MI("Accept All Changes", "cmd", "accept_all"),
            MI("Accept All Changes and Stop Tracking", "cmd", "accept_all_stop"),
        ),
    ),
    "reject": Menu(
        "Reject",
        (
            MI("Reject and Move to Next", "cmd", "reject_next"),
            MI("Reject Change", "cmd", "reject_next"),
            MI("Reject All Changes Shown", "cmd", "reject_all"),
            MI("Reject All Changes", "cmd", "reject_all"),
            MI("Reject All Changes and Stop Tracking", "cmd", "reject_all_stop"),
        ),
    ),
    "shape_fill": Menu(
        "Shape Fill",
        _colors("shape_fill", ("No Fill",), ("More Fill Colors...", "Picture...", "Gradient", "Texture")),
    ),
    "shape_outline": Menu(
        "Shape Outline",
        _colors("shape_outline", ("No Outline",), ("More Outline Colors...", "Weight", "Dashes")),
    ),
    "table_delete": Menu(
        "Delete",
        (
            MI("Delete Cells..."),
            MI("Delete Columns", "table_delete", "columns"),
            MI("Delete Rows", "table_delete", "rows"),
            MI("Delete Table", "table_delete", "table"),
        ),
    ),
}
