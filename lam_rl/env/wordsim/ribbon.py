"""Word's ribbon as data: tabs, groups and controls with Word's own names and UIA types, plus the
drop-down menus/galleries the ribbon opens.

A control spec names its handler (``act``) and argument; ``wordsim.commands`` implements them.
Controls exist only while their tab is selected; contextual tabs (Table Design, Table Layout,
Shape Format, Header & Footer) appear only when a table or shape is selected or a header is
being edited. Ribbon check boxes (Ruler, Header Row, ...) are listed as Buttons: UFO's control
filter drops the CheckBox type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class C:
    text: str
    type: str = "Button"
    act: str = "noop"
    arg: Any = None
    width: int = 0  # 0: from the text


def B(text: str, act: str = "noop", arg: Any = None, width: int = 0) -> C:
    return C(text, "Button", act, arg, width)


def CB(text: str, act: str, arg: Any = None, width: int = 110) -> C:
    return C(text, "ComboBox", act, arg, width)


def SP(text: str, act: str, arg: Any = None, width: int = 96) -> C:
    return C(text, "Spinner", act, arg, width)


def LI(text: str, act: str = "noop", arg: Any = None, width: int = 0) -> C:
    return C(text, "ListItem", act, arg, width)


def MI(text: str, act: str = "noop", arg: Any = None) -> C:
    return C(text, "MenuItem", act, arg)


# ----------------------------------------------------------------------------- shared values

STANDARD_COLORS = (
    "Dark Red",
    "Red",
    "Orange",
    "Yellow",
    "Light Green",
    "Green",
    "Light Blue",
    "Blue",
    "Dark Blue",
    "Purple",
)
HIGHLIGHT_COLORS = (
    "Yellow",
    "Bright Green",
    "Turquoise",
    "Pink",
    "Blue",
    "Red",
    "Dark Blue",
    "Teal",
    "Green",
    "Violet",
    "Dark Red",
    "Dark Yellow",
    "Gray-50%",
    "Gray-25%",
    "Black",
)
FONTS = (
    "Arial",
    "Arial Black",
    "Calibri",
    "Calibri Light",
    "Cambria",
    "Candara",
    "Comic Sans MS",
    "Consolas",
    "Courier New",
    "Garamond",
    "Georgia",
    "Segoe UI",
    "Tahoma",
    "Times New Roman",
    "Trebuchet MS",
    "Verdana",
)
FONT_SIZES = (8, 9, 10, 10.5, 11, 12, 14, 16, 18, 20, 22, 24, 26, 28, 36, 48, 72)
GALLERY_STYLES = (
    "Normal",
    "No Spacing",
    "Heading 1",
    "Heading 2",
    "Heading 3",
    "Title",
    "Subtitle",
    "Subtle Emphasis",
    "Emphasis",
    "Strong",
    "Quote",
)
TABLE_STYLES = (
    "Table Grid",
    "Plain Table 1",
    "Plain Table 2",
    "Plain Table 3",
    "Grid Table 1 Light",
    "Grid Table 4 - Accent 1",
    "Grid Table 5 Dark - Accent 1",
    "List Table 3 - Accent 2",
    "List Table 4 - Accent 5",
)
LINE_SPACINGS = ("1.0", "1.15", "1.5", "2.0", "2.5", "3.0")
MARGIN_PRESETS = {
    "Normal": (1.0, 1.0, 1.0, 1.0),
    "Narrow": (0.5, 0.5, 0.5, 0.5),
    "Moderate": (1.0, 1.0, 0.75, 0.75),
    "Wide": (1.0, 1.0, 2.0, 2.0),
    "Mirrored": (1.0, 1.0, 1.25, 1.0),
    "Office 2003 Default": (1.0, 1.0, 1.25, 1.25),
}
PAPER_SIZES = ("Letter", "Legal", "Executive", "A4", "A5", "B5 (JIS)", "Envelope #10")
COLUMN_CHOICES = {"One": 1, "Two": 2, "Three": 3}
WATERMARKS = {
    "CONFIDENTIAL 1": ("CONFIDENTIAL", "diagonal"),
    "CONFIDENTIAL 2": ("CONFIDENTIAL", "horizontal"),
    "DO NOT COPY 1": ("DO NOT COPY", "diagonal"),
    "DO NOT COPY 2": ("DO NOT COPY", "horizontal"),
    "DRAFT 1": ("DRAFT", "diagonal"),
    "DRAFT 2": ("DRAFT", "horizontal"),
    "SAMPLE 1": ("SAMPLE", "diagonal"),
    "SAMPLE 2": ("SAMPLE", "horizontal"),
    "ASAP 1": ("ASAP", "diagonal"),
    "URGENT 1": ("URGENT", "diagonal"),
}
SHAPES = {
    "Line": "line",
    "Rectangle": "rectangle",
    "Rectangle: Rounded Corners": "rounded_rectangle",
    "Oval": "oval",
    "Isosceles Triangle": "triangle",
    "Arrow: Right": "arrow",
    "Star: 5 Points": "star",
}
SHAPE_NAMES = {
    "line": "Straight Connector",
    "rectangle": "Rectangle",
    "rounded_rectangle": "Rectangle: Rounded Corners",
    "oval": "Oval",
    "triangle": "Isosceles Triangle",
    "arrow": "Arrow: Right",
    "star": "Star: 5 Points",
    "text_box": "Text Box",
    "chart": "Chart",
}
VIEWS = ("Read Mode", "Print Layout", "Web Layout", "Outline", "Draft")

# ----------------------------------------------------------------------------- the tabs

MAIN_TABS = ("File", "Home", "Insert", "Design", "Layout", "References", "Mailings", "Review", "View", "Help")
CONTEXTUAL_TABS = ("Table Design", "Table Layout", "Shape Format", "Header & Footer")

RIBBON: dict[str, list[tuple[str, list[C]]]] = {
    "Home": [
        (
            "Clipboard",
            [
                B("Paste", "cmd", "paste"),
                B("Cut", "cmd", "cut"),
                B("Copy", "cmd", "copy"),
                B("Format Painter"),
            ],
        ),
        (
            "Font",
            [
                CB("Font", "field", "font", 130),
                CB("Font Size", "field", "size", 56),
                B("Increase Font Size", "cmd", "grow"),
                B("Decrease Font Size", "cmd", "shrink"),
                B("Change Case", "menu", "change_case"),
                B("Clear All Formatting", "cmd", "clear_fmt"),
                B("Bold", "toggle", "bold"),
                B("Italic", "toggle", "italic"),
                B("Underline", "toggle", "underline"),
                B("Strikethrough", "toggle", "strike"),
                B("Subscript", "toggle", "sub"),
                B("Superscript", "toggle", "sup"),
                B("Text Effects and Typography"),
                B("Text Highlight Color", "menu", "highlight"),
                B("Font Color", "menu", "font_color"),
                B("Font Settings", "dialog", "font"),
            ],
        ),
        (
            "Paragraph",
            [
                B("Bullets", "cmd", "bullets"),
                B("Numbering", "cmd", "numbering"),
                B("Multilevel List"),
                B("Decrease Indent", "cmd", "outdent"),
                B("Increase Indent", "cmd", "indent"),
                B("Sort"),
                B("Show/Hide Editing Marks"),
                B("Align Left", "align", "left"),
                B("Center", "align", "center"),
                B("Align Right", "align", "right"),
                B("Justify", "align", "justify"),
                B("Line and Paragraph Spacing", "menu", "line_spacing"),
                B("Shading"),
                B("Borders"),
                B("Paragraph Settings", "dialog", "paragraph"),
            ],
        ),
        ("Styles", [LI(s, "style", s) for s in GALLERY_STYLES]),
        (
            "Editing",
            [B("Find", "dialog", "find"), B("Replace", "dialog", "replace"), B("Select", "menu", "select")],
        ),
        ("Voice", [B("Dictate")]),
        ("Editor", [B("Editor")]),
    ],
    "Insert": [
        (
            "Pages",
            [B("Cover Page"), B("Blank Page", "cmd", "blank_page"), B("Page Break", "cmd", "page_break")],
        ),
        ("Tables", [B("Table", "menu", "table")]),
        (
            "Illustrations",
            [
                B("Pictures"),
                B("Online Pictures"),
                B("Shapes", "menu", "shapes"),
                B("Icons"),
                B("3D Models"),
                B("SmartArt"),
                B("Chart"),
                B("Screenshot"),
            ],
        ),
        ("Add-ins", [B("Get Add-ins"), B("My Add-ins"), B("Wikipedia")]),
        ("Media", [B("Online Videos")]),
        ("Links", [B("Link", "dialog", "hyperlink"), B("Bookmark"), B("Cross-reference")]),
        ("Comments", [B("Comment", "cmd", "new_comment")]),
        (
            "Header & Footer",
            [
                B("Header", "menu", "header"),
                B("Footer", "menu", "footer"),
                B("Page Number", "menu", "page_number"),
            ],
        ),
        (
            "Text",
            [
                B("Text Box", "menu", "text_box"),
                B("Quick Parts"),
                B("WordArt"),
                B("Drop Cap"),
                B("Signature Line"),
                B("Date & Time"),
                B("Object"),
            ],
        ),
        ("Symbols", [B("Equation"), B("Symbol")]),
    ],
    "Design": [
        (
            "Document Formatting",
            [
                B("Themes"),
                *(
                    LI(name)
                    for name in (
                        "Basic (Simple)",
                        "Basic (Elegant)",
                        "Basic (Stylish)",
                        "Casual",
                        "Centered",
                        "Lines (Distinctive)",
                        "Lines (Simple)",
                        "Lines (Stylish)",
                        "Minimalist",
                        "Shaded",
                        "Word 2013",
                        "Word 2010",
                    )
                ),
                B("Colors"),
                B("Fonts"),
                B("Paragraph Spacing"),
                B("Effects"),
                B("Set as Default"),
            ],
        ),
        (
            "Page Background",
            [
                B("Watermark", "menu", "watermark"),
                B("Page Color", "menu", "page_color"),
                B("Page Borders", "dialog", "page_borders"),
            ],
        ),
    ],
    "Layout": [
        (
            "Page Setup",
            [
                B("Margins", "menu", "margins"),
                B("Orientation", "menu", "orientation"),
                B("Size", "menu", "size"),
                B("Columns", "menu", "columns"),
                B("Breaks", "menu", "breaks"),
                B("Text Direction"),
                B("Line Numbers"),
                B("Hyphenation"),
                B("Page Setup", "dialog", "page_setup"),
            ],
        ),
        (
            "Paragraph",
            [
                SP("Indent Left", "field", "indent_left"),
                SP("Indent Right", "field", "indent_right"),
                SP("Spacing Before", "field", "space_before"),
                SP("Spacing After", "field", "space_after"),
                B("Paragraph Settings", "dialog", "paragraph"),
            ],
        ),
        (
            "Arrange",
            [
                B("Position"),
                B("Wrap Text"),
                B("Bring Forward"),
                B("Send Backward"),
                B("Selection Pane"),
                B("Align"),
                B("Group"),
                B("Rotate"),
            ],
        ),
    ],
    "References": [
        (
            "Table of Contents",
            [B("Table of Contents", "menu", "toc"), B("Add Text"), B("Update Table", "cmd", "update_toc")],
        ),
        (
            "Footnotes",
            [
                B("Insert Footnote", "cmd", "footnote"),
                B("Insert Endnote", "cmd", "endnote"),
                B("Next Footnote"),
                B("Show Notes"),
            ],
        ),
        ("Research", [B("Search"), B("Researcher")]),
        (
            "Citations & Bibliography",
            [B("Insert Citation"), B("Manage Sources"), CB("Style", "noop", None, 80), B("Bibliography")],
        ),
        ("Captions", [B("Insert Caption"), B("Insert Table of Figures"), B("Cross-reference")]),
        ("Index", [B("Mark Entry"), B("Insert Index")]),
    ],
    "Mailings": [
        ("Create", [B("Envelopes"), B("Labels")]),
        ("Start Mail Merge", [B("Start Mail Merge"), B("Select Recipients"), B("Edit Recipient List")]),
        (
            "Write & Insert Fields",
            [
                B("Highlight Merge Fields"),
                B("Address Block"),
                B("Greeting Line"),
                B("Insert Merge Field"),
                B("Rules"),
            ],
        ),
        ("Write & Insert Fields 2", [B("Match Fields"), B("Update Labels")]),
        (
            "Preview Results",
            [
                B("Preview Results"),
                B("First Record"),
                B("Previous Record"),
                SP("Go to Record", "noop"),
                B("Next Record"),
                B("Last Record"),
                B("Find Recipient"),
                B("Check for Errors"),
            ],
        ),
        ("Finish", [B("Finish & Merge")]),
    ],
    "Review": [
        (
            "Proofing",
            [B("Spelling & Grammar"), B("Thesaurus"), B("Word Count", "dialog", "word_count")],
        ),
        ("Speech", [B("Read Aloud")]),
        ("Insights", [B("Smart Lookup")]),
        ("Accessibility", [B("Check Accessibility")]),
        ("Language", [B("Translate"), B("Language")]),
        (
            "Comments",
            [
                B("New Comment", "cmd", "new_comment"),
                B("Delete Comment", "menu", "delete_comment"),
                B("Previous Comment", "cmd", "prev_comment"),
                B("Next Comment", "cmd", "next_comment"),
                B("Show Comments"),
            ],
        ),
        (
            "Tracking",
            [
                B("Track Changes", "cmd", "track_changes"),
                CB("Display for Review", "noop", None, 120),
                B("Show Markup"),
                B("Reviewing Pane"),
            ],
        ),
        (
            "Changes",
            [
                B("Accept", "menu", "accept"),
                B("Reject", "menu", "reject"),
                B("Previous Change"),
                B("Next Change"),
            ],
        ),
        ("Compare", [B("Compare")]),
        ("Protect", [B("Block Authors"), B("Restrict Editing")]),
    ],
    "View": [
        ("Views", [B(v, "view", v) for v in VIEWS]),
        ("Immersive", [B("Focus"), B("Immersive Reader")]),
        ("Page Movement", [B("Vertical"), B("Side to Side")]),
        (
            "Show",
            [
                B("Ruler", "show", "ruler"),
                B("Gridlines", "show", "gridlines"),
                B("Navigation Pane", "show", "nav_pane"),
            ],
        ),
        (
            "Zoom",
            [
                B("Zoom", "dialog", "zoom"),
                B("100%", "zoom", 100),
                B("One Page", "zoom", 60),
                B("Multiple Pages", "zoom", 40),
                B("Page Width", "zoom", 130),
            ],
        ),
        (
            "Window",
            [B("New Window"), B("Arrange All"), B("Split"), B("View Side by Side"), B("Switch Windows")],
        ),
        ("Macros", [B("Macros")]),
    ],
    "Help": [
        (
            "Help",
            [
                B("Help"),
                B("Contact Support"),
                B("Feedback"),
                B("Show Training"),
                B("What's New"),
                B("Community"),
            ],
        )
    ],
    "Table Design": [
        (
            "Table Style Options",
            [
                B("Header Row"),
                B("First Column"),
                B("Total Row"),
                B("Banded Rows"),
                B("Last Column"),
                B("Banded Columns"),
            ],
        ),
        ("Table Styles", [LI(s, "table_style", s) for s in TABLE_STYLES] + [B("Shading")]),
        ("Borders", [B("Border Styles"), B("Borders")]),
    ],
    "Table Layout": [
        ("Table", [B("Select"), B("View Gridlines"), B("Properties")]),
        ("Draw", [B("Draw Table"), B("Eraser")]),
        (
            "Rows & Columns",
            [
                B("Delete", "menu", "table_delete"),
                B("Insert Above", "table_insert", "above"),
                B("Insert Below", "table_insert", "below"),
                B("Insert Left", "table_insert", "left"),
                B("Insert Right", "table_insert", "right"),
            ],
        ),
        ("Merge", [B("Merge Cells"), B("Split Cells"), B("Split Table")]),
        ("Cell Size", [B("AutoFit"), B("Distribute Rows"), B("Distribute Columns")]),
        ("Alignment", [B("Text Direction"), B("Cell Margins")]),
        ("Data", [B("Sort"), B("Repeat Header Rows"), B("Convert to Text"), B("Formula")]),
    ],
    "Shape Format": [
        ("Insert Shapes", [B("Edit Shape"), B("Draw Text Box")]),
        (
            "Shape Styles",
            [
                B("Shape Fill", "menu", "shape_fill"),
                B("Shape Outline", "menu", "shape_outline"),
                B("Shape Effects"),
            ],
        ),
        ("WordArt Styles", [B("Text Fill"), B("Text Outline"), B("Text Effects")]),
        ("Text", [B("Text Direction"), B("Align Text"), B("Create Link")]),
        (
            "Arrange",
            [B("Position"), B("Wrap Text"), B("Bring Forward"), B("Send Backward"), B("Selection Pane")],
        ),
        ("Size", [SP("Shape Height", "field", "shape_height"), SP("Shape Width", "field", "shape_width")]),
    ],
    "Header & Footer": [
        (
            "Header & Footer",
            [
                B("Header", "menu", "header"),
                B("Footer", "menu", "footer"),
                B("Page Number", "menu", "page_number"),
            ],
        ),
        ("Insert", [B("Date & Time"), B("Document Info"), B("Quick Parts"), B("Pictures")]),
        (
            "Navigation",
            [
                B("Go to Header", "cmd", "goto_header"),
                B("Go to Footer", "cmd", "goto_footer"),
                B("Link to Previous"),
            ],
        ),
        ("Options", [B("Different First Page"), B("Different Odd & Even Pages"), B("Show Document Text")]),
        ("Position", [SP("Header from Top", "noop"), SP("Footer from Bottom", "noop")]),
        ("Close", [B("Close Header and Footer", "cmd", "close_header")]),
    ],
}


BACKSTAGE_NAV = (
    "Home",
    "New",
    "Open",
    "Info",
    "Save",
    "Save As",
    "Print",
    "Share",
    "Export",
    "Close",
    "Account",
    "Options",
)
