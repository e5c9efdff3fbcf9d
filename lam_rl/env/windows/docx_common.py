"""What the .docx reader and writer share: namespaces, units, and the tables that map Word's names
(colours, highlights, paper sizes, views) to their WordprocessingML values.

The document model (``lam_rl.env.wordsim.document``) names colours as Word's UI does ("Red",
"Blue, Accent 1"); a .docx stores ``w:color w:val="FF0000"`` or a theme colour. Colours that are
not in the tables are kept as ``#RRGGBB`` so nothing is silently renamed.
"""

from __future__ import annotations

from lam_rl.env.wordsim.render import COLORS

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
WPS = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
V = "urn:schemas-microsoft-com:vml"
OFFICE = "urn:schemas-microsoft-com:office:office"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
C = "http://schemas.openxmlformats.org/drawingml/2006/chart"
NS = {"w": W, "r": R, "wp": WP, "a": A, "wps": WPS, "v": V, "o": OFFICE, "mc": MC, "c": C}

RT_FOOTNOTES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes"
RT_ENDNOTES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/endnotes"
CT_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
CT_ENDNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.endnotes+xml"


def q(tag: str) -> str:
    """'w:p' -> '{namespace}p'."""
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


TWIPS_PER_INCH = 1440
EMU_PER_PX = 9525  # 96 dpi

# -------------------------------------------------------------------------------- colours

THEME_COLORS = {"Blue, Accent 1": "accent1", "Orange, Accent 2": "accent2", "Gray, Accent 3": "accent3"}
"""Theme colours the model uses, with the theme slot Word writes (``w:themeColor``)."""
_THEME_BY_SLOT = {v: k for k, v in THEME_COLORS.items()}
_HEX_BY_NAME = {
    name: "{:02X}{:02X}{:02X}".format(*rgb) for name, rgb in COLORS.items() if name != "Automatic"
}
_NAME_BY_HEX: dict[str, str] = {}
for _name, _hex in _HEX_BY_NAME.items():
    _NAME_BY_HEX.setdefault(_hex, _name)  # "Black" before nothing else shares 000000


def color_to_hex(name: str) -> str:
    """A colour name ('Red', 'Blue, Accent 1', '#12AB34') as six hex digits; 'Automatic' -> 'auto'."""
    if name == "Automatic":
        return "auto"
    if name.startswith("#") and len(name) == 7:
        return name[1:].upper()
    if name in _HEX_BY_NAME:
        return _HEX_BY_NAME[name]
    raise ValueError(f"no RGB value known for colour {name!r}")


def hex_to_color(value: str | None, theme: str | None = None) -> str | None:
    """The model's name for a ``w:color``/``a:srgbClr`` value (theme slot first)."""
    if theme and theme in _THEME_BY_SLOT:
        return _THEME_BY_SLOT[theme]
    if value is None:
        return None
    if value.lower() == "auto":
        return "Automatic"
    v = value.upper()
    return _NAME_BY_HEX.get(v, f"#{v}")


HIGHLIGHTS = {
    "Yellow": "yellow",
    "Bright Green": "green",
    "Turquoise": "cyan",
    "Pink": "magenta",
    "Blue": "blue",
    "Red": "red",
    "Dark Blue": "darkBlue",
    "Teal": "darkCyan",
    "Green": "darkGreen",
    "Violet": "darkMagenta",
    "Dark Red": "darkRed",
    "Dark Yellow": "darkYellow",
    "Gray-50%": "darkGray",
    "Gray-25%": "lightGray",
    "Black": "black",
    "White": "white",
}
"""Word's Text Highlight Color names and their ``w:highlight`` values (ST_HighlightColor)."""
HIGHLIGHT_NAMES = {v: k for k, v in HIGHLIGHTS.items()}

# -------------------------------------------------------------------------------- page

PAPER_TWIPS = {
    "Letter": (12240, 15840),
    "Legal": (12240, 20160),
    "Executive": (10440, 15120),
    "A4": (11906, 16838),
    "A5": (8391, 11906),
    "B5 (JIS)": (10319, 14571),
    "Envelope #10": (5940, 13680),
}
"""Paper sizes (portrait width, height in twips) as Word writes them in ``w:pgSz``."""


def paper_name(w: int, h: int) -> str:
    """The paper size for a ``w:pgSz`` (either orientation, 20 twips tolerance)."""
    short, long_ = sorted((w, h))
    for name, (pw, ph) in PAPER_TWIPS.items():
        if abs(pw - short) <= 20 and abs(ph - long_) <= 20:
            return name
    return f"{w / TWIPS_PER_INCH:.2f}x{h / TWIPS_PER_INCH:.2f} in"


BORDERS = {"box": ("single", False), "shadow": ("single", True), "3-d": ("threeDEmboss", False)}
"""Page border settings: (``w:val`` of each edge, ``w:shadow``)."""
BORDER_WIDTHS = {"1/4 pt": 2, "1/2 pt": 4, "3/4 pt": 6, "1 pt": 8, "1 1/2 pt": 12, "2 1/4 pt": 18, "3 pt": 24}
"""Border widths as Word's dialog names them, in eighths of a point (``w:sz``)."""

PROPERTIES = {"title": "title", "tags": "keywords", "comments": "comments", "subject": "subject"}
"""Document properties of the model (File > Info) and the core property that stores each."""

SHAPE_GEOMETRY = {
    "rectangle": "rect",
    "rounded_rectangle": "roundRect",
    "oval": "ellipse",
    "triangle": "triangle",
    "arrow": "rightArrow",
    "star": "star5",
    "line": "line",
    "text_box": "rect",
    "chart": "rect",
}
"""Shape kinds of the model and the DrawingML preset geometry that draws each."""
SHAPE_KINDS = {v: k for k, v in SHAPE_GEOMETRY.items() if k not in ("text_box", "chart")}

CHAR_STYLES = ("Strong", "Emphasis", "Subtle Emphasis")
"""Gallery styles that are character styles in Word: the model keeps them as a paragraph's style,
a .docx as the ``w:rStyle`` of every run of a Normal paragraph."""
