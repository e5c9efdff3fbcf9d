"""Contextual tabs: Table Design / Table Layout for a selected table, Shape Format for a shape."""

from __future__ import annotations

import random
from typing import Any

from lam_rl.env.tasks.base import Checks, click, family, item, menu_item, neighbour, select_table, tab
from lam_rl.env.tasks.common import check_text_intact
from lam_rl.env.wordsim.document import BASE_FMT
from lam_rl.env.wordsim.ribbon import STANDARD_COLORS, TABLE_STYLES
from lam_rl.env.wordsim.state import AppState


def _cells(st: AppState) -> list[list[str]]:
    t = st.doc.tables()
    return [[c.text for c in row] for row in t[0].rows] if t else []


def _paras(st: AppState) -> list[str]:
    return [p.text for _, p in st.doc.paragraphs() if p.text]


def _style_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    t = after.doc.tables()
    got = t[0].style if t else None
    ck.add("table_style", got == p["style"], f"the table style is {got!r}, expected {p['style']!r}")
    ck.add("cells_intact", _cells(before) == _cells(after), "the table content changed")


family(
    name="table_style",
    tabs=["Table Design"],
    description="Apply a table style from the Table Design gallery",
    templates=["table"],
    phrasings=[
        'Apply the "{style}" table style to the table.',
        "Format the table with the {style} style.",
        "Change the table style to {style}.",
    ],
    sample=lambda rng, st: {"style": rng.choice(TABLE_STYLES[1:])},
    steps=lambda p: [select_table(1), tab("Table Design"), item(p["style"])],
    verify=_style_verify,
    near_miss=lambda p: [select_table(1), tab("Table Design"), item(neighbour(TABLE_STYLES, p["style"]))],
    touches=["table:style"],
    guards=["table:style", "tables"],
)


def _grow_family(name: str, button: str, near: str, what: str, phrasings: list[str]) -> None:
    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        b, a = _cells(before), _cells(after)
        if what == "row":
            ok = len(a) == len(b) + 1 and a[:-1] == b and all(x == "" for x in a[-1])
        else:
            ok = len(a) == len(b) and all(
                len(ra) == len(rb) + 1 and ra[:-1] == rb and ra[-1] == ""
                for ra, rb in zip(a, b, strict=False)
            )
        ck.add(f"{what}_added", ok, f"the table does not have a new empty last {what}")

    family(
        name=name,
        tabs=["Table Layout"],
        description=f"Add an empty {what} at the end of the table",
        templates=["table"],
        phrasings=phrasings,
        sample=lambda rng, st: {},
        steps=lambda p: [select_table(1), tab("Table Layout"), click(button)],
        verify=verify,
        near_miss=lambda p: [select_table(1), tab("Table Layout"), click(near)],
        touches=["tables"],
        guards=["tables"],
    )


_grow_family(
    "table_add_row",
    "Insert Below",
    "Insert Above",
    "row",
    [
        "Add a row at the bottom of the table.",
        "Insert a new row below the last row of the table.",
        "Append an empty row to the table.",
    ],
)
_grow_family(
    "table_add_column",
    "Insert Right",
    "Insert Left",
    "column",
    [
        "Add a column on the right of the table.",
        "Insert a new column after the last column of the table.",
        "Append an empty column to the table.",
    ],
)


def _table_bold_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    t = after.doc.tables()
    ok = bool(t) and all(c.fmt.over(BASE_FMT).bold for row in t[0].rows for c in row)
    ck.add("bold", ok, "not every cell of the table is bold")
    ck.add("cells_intact", _cells(before) == _cells(after), "the table content changed")


family(
    name="table_bold",
    tabs=["Home"],
    description="Make the whole table bold",
    templates=["table"],
    phrasings=[
        "Make all the text in the table bold.",
        "Bold the whole table.",
        "Select the table and apply bold.",
    ],
    sample=lambda rng, st: {},
    steps=lambda p: [select_table(1), tab("Home"), click("Bold")],
    verify=_table_bold_verify,
    near_miss=lambda p: [select_table(1), tab("Home"), click("Italic")],
    touches=["table:fmt"],
    guards=["table:fmt", "tables"],
)


def _delete_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    ck.add("table_gone", not after.doc.tables(), "the table is still there")
    ck.add("text_intact", _paras(before) == _paras(after), "the text around the table changed")


family(
    name="delete_table",
    tabs=["Table Layout"],
    description="Delete the table",
    templates=["table"],
    phrasings=[
        "Delete the table.",
        "Remove the table from the document.",
        "Get rid of the table but keep the text around it.",
    ],
    sample=lambda rng, st: {},
    steps=lambda p: [select_table(1), tab("Table Layout"), click("Delete"), menu_item("Delete Table")],
    verify=_delete_verify,
    near_miss=lambda p: [select_table(1), tab("Table Layout"), click("Delete"), menu_item("Delete Cells...")],
    touches=["tables"],
    guards=["tables"],
    composable=False,
)


def _shape_name(st: AppState) -> str:
    return st.doc.shapes[0].name


def _colour_sample(attr: str):
    def sample(rng: random.Random, st: AppState) -> dict[str, Any]:
        cur = getattr(st.doc.shapes[0], attr)
        c = rng.choice([x for x in STANDARD_COLORS if x != cur])
        return {"shape": _shape_name(st), "color": c, "color_lower": c.lower()}

    return sample


def _shape_attr_family(name: str, button: str, attr: str, near_button: str, phrasings: list[str]) -> None:
    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        check_text_intact(before, after, ck)
        sh = next((s for s in after.doc.shapes if s.name == p["shape"]), None)
        got = getattr(sh, attr) if sh else None
        ck.add(attr, got == p["color"], f"the {attr} of {p['shape']} is {got!r}, expected {p['color']!r}")

    family(
        name=name,
        tabs=["Shape Format"],
        description=f"Change the {attr} colour of the shape",
        templates=["shape"],
        phrasings=phrasings,
        sample=_colour_sample(attr),
        steps=lambda p: [click(p["shape"]), tab("Shape Format"), click(button), item(p["color"])],
        verify=verify,
        near_miss=lambda p: [click(p["shape"]), tab("Shape Format"), click(near_button), item(p["color"])],
        touches=[f"shape:{attr}"],
        guards=[f"shape:{attr}"],
    )


_shape_attr_family(
    "shape_fill",
    "Shape Fill",
    "fill",
    "Shape Outline",
    [
        "Fill the rectangle with {color_lower}.",
        "Change the fill color of {shape} to {color}.",
        "Make the rectangle {color_lower} inside.",
    ],
)
_shape_attr_family(
    "shape_outline",
    "Shape Outline",
    "outline",
    "Shape Fill",
    [
        "Give the rectangle a {color_lower} outline.",
        "Change the outline color of {shape} to {color}.",
        "Make the border of the rectangle {color_lower}.",
    ],
)


def _tb_bold_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    sh = next((s for s in after.doc.shapes if s.kind == "text_box"), None)
    ck.add("bold", bool(sh and sh.fmt.bold), "the text box text is not bold")


family(
    name="textbox_bold",
    tabs=["Home"],
    description="Make the text in the text box bold",
    templates=["textbox"],
    phrasings=[
        "Make the text in the text box bold.",
        "Bold the contents of {shape}.",
        "Select the text box and apply bold.",
    ],
    sample=lambda rng, st: {"shape": _shape_name(st)},
    steps=lambda p: [click(p["shape"]), tab("Home"), click("Bold")],
    verify=_tb_bold_verify,
    near_miss=lambda p: [click(p["shape"]), tab("Home"), click("Italic")],
    touches=["shape:fmt"],
    guards=["shape:fmt"],
)
