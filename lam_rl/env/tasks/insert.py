"""Insert tab: tables, header and footer, page numbers, shapes, text boxes, page breaks, links."""

from __future__ import annotations

import random
from typing import Any

from lam_rl.env.tasks.base import (
    Checks,
    click,
    family,
    item,
    keys,
    menu_item,
    neighbour,
    select,
    set_text,
    tab,
)
from lam_rl.env.tasks.common import (
    TEXT_TEMPLATES,
    char_verifier,
    check_text_intact,
    pick_paragraph,
    pick_phrase,
)
from lam_rl.env.wordsim.document import Break, Paragraph
from lam_rl.env.wordsim.keys import escape_text
from lam_rl.env.wordsim.ribbon import SHAPES
from lam_rl.env.wordsim.state import AppState


def _texts(st: AppState) -> list[str]:
    return [p.text for _, p in st.doc.paragraphs() if p.text]


def _table_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    rows, cols = rng.sample(range(2, 7), 2)
    return {"rows": rows, "cols": cols}


def _table_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    old = {t.tid for t in before.doc.tables()}
    new = [t for t in after.doc.tables() if t.tid not in old]
    ck.add(
        "one_new_table",
        len(new) == 1 and len(after.doc.tables()) == len(old) + 1,
        "no new table (or more than one)",
    )
    shape = new[0].shape if new else None
    ck.add(
        "size",
        shape == (p["rows"], p["cols"]),
        f"the new table is {shape}, expected {p['rows']} rows x {p['cols']} columns",
    )
    ck.add("text_intact", _texts(before) == _texts(after), "the document text changed")


def _table_steps(p: dict[str, Any], rows: int | None = None, cols: int | None = None) -> list[Any]:
    return [
        tab("Insert"),
        click("Table"),
        menu_item("Insert Table..."),
        set_text("Number of columns", "Spinner", str(cols or p["cols"])),
        set_text("Number of rows", "Spinner", str(rows or p["rows"])),
        click("OK"),
    ]


family(
    name="insert_table",
    tabs=["Insert"],
    dialogs=["Insert Table"],
    description="Insert a table of R rows and C columns with the Insert Table dialog",
    templates=["line", "essay", "list"],
    phrasings=[
        "Insert a table with {rows} rows and {cols} columns.",
        "Add a {rows} x {cols} table (rows x columns).",
        "Create a table that has {cols} columns and {rows} rows.",
    ],
    sample=_table_sample,
    steps=_table_steps,
    verify=_table_verify,
    near_miss=lambda p: _table_steps(p, rows=p["cols"], cols=p["rows"]),
    touches=["tables"],
    guards=["tables"],
)

HEADER_TEXTS = (
    "Confidential draft",
    "Acme Corporation",
    "Internal use only",
    "Prepared by the finance team",
    "Version 2",
    "Northwind Traders",
    "For review",
    "Contoso Ltd",
)


def _hf_family(which: str, other: str) -> None:
    area = f"{which.capitalize()} -Section 1-"
    other_area = f"{other.capitalize()} -Section 1-"

    def steps(p: dict[str, Any], target: str = area) -> list[Any]:
        return [
            tab("Insert"),
            click(which.capitalize()),
            item("Blank"),
            set_text(target, "Edit", p["text"]),
            click("Close Header and Footer"),
        ]

    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        check_text_intact(before, after, ck)
        got = getattr(after.doc, which)
        ck.add(which, got == p["text"], f"the {which} is {got!r}, expected {p['text']!r}")

    family(
        name=f"{which}_text",
        tabs=["Insert"],
        description=f"Add a {which} with given text",
        templates=TEXT_TEMPLATES,
        phrasings=[
            f'Add a {which} that says "{{text}}".',
            f'Put "{{text}}" in the {which}.',
            f'Insert a blank {which} with the text "{{text}}".',
        ],
        sample=lambda rng, st: {"text": rng.choice(HEADER_TEXTS)},
        steps=steps,
        verify=verify,
        near_miss=lambda p: steps(p, other_area),
        touches=[which, "hf"],
        guards=[which],
    )


_hf_family("header", "footer")
_hf_family("footer", "header")


def _pn_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    pos = rng.choice(("top", "bottom"))
    align = rng.choice(("left", "center", "right"))
    return {"position": pos, "align": align, "where": {"top": "top", "bottom": "bottom"}[pos]}


def _pn_steps(p: dict[str, Any], pos: str | None = None) -> list[Any]:
    pos = pos or p["position"]
    n = {"left": 1, "center": 2, "right": 3}[p["align"]]
    return [
        tab("Insert"),
        click("Page Number"),
        menu_item("Top of Page" if pos == "top" else "Bottom of Page"),
        item(f"Plain Number {n}"),
        click("Close Header and Footer"),
    ]


def _pn_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    pn = after.doc.page_numbers
    got = (pn.position, pn.align) if pn else None
    ck.add(
        "page_numbers",
        got == (p["position"], p["align"]),
        f"page numbers are {got}, expected {p['position']} {p['align']}",
    )


family(
    name="page_numbers",
    tabs=["Insert"],
    description="Add page numbers at the top or bottom, left/center/right",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Add page numbers at the {where} of the page, aligned {align}.",
        "Insert {align} page numbers at the {where} of each page.",
        "Number the pages at the {where}, {align}.",
    ],
    sample=_pn_sample,
    steps=_pn_steps,
    verify=_pn_verify,
    near_miss=lambda p: _pn_steps(p, "top" if p["position"] == "bottom" else "bottom"),
    touches=["page_numbers", "hf"],
    guards=["page_numbers"],
)

SHAPE_CHOICES = tuple(n for n in SHAPES if n != "Line")
SHAPE_WORDS = {
    "Rectangle": "a rectangle",
    "Rectangle: Rounded Corners": "a rounded rectangle",
    "Oval": "an oval",
    "Isosceles Triangle": "a triangle",
    "Arrow: Right": "a right arrow",
    "Star: 5 Points": "a five-point star",
}


def _new_shapes(before: AppState, after: AppState) -> list[Any]:
    old = {s.sid for s in before.doc.shapes}
    return [s for s in after.doc.shapes if s.sid not in old]


def _shape_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    new = _new_shapes(before, after)
    ck.add("one_new_shape", len(new) == 1, f"{len(new)} new shapes instead of one")
    ck.add("kind", bool(new) and new[0].kind == SHAPES[p["shape"]], f"the new shape is not {p['what']}")


family(
    name="insert_shape",
    tabs=["Insert"],
    description="Insert a shape from the Shapes gallery",
    templates=TEXT_TEMPLATES,
    phrasings=["Insert {what} shape.", "Add {what} to the document.", "Draw {what} using Shapes."],
    sample=lambda rng, st: {"shape": (s := rng.choice(SHAPE_CHOICES)), "what": SHAPE_WORDS[s]},
    steps=lambda p: [tab("Insert"), click("Shapes"), item(p["shape"])],
    verify=_shape_verify,
    near_miss=lambda p: [tab("Insert"), click("Shapes"), item(neighbour(SHAPE_CHOICES, p["shape"]))],
    touches=["shapes"],
    guards=["shapes"],
)
QUOTES = (
    "Quality first",
    "Deadline is Friday",
    "Call us today",
    "Save the date",
    "Thank you",
    "Read this first",
    "Updated weekly",
)


def _tb_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    new = _new_shapes(before, after)
    ck.add("one_new_text_box", len(new) == 1 and new[0].kind == "text_box", "no new text box")
    ck.add("text", bool(new) and new[0].text == p["text"], f"the text box does not say '{p['text']}'")


family(
    name="insert_textbox",
    tabs=["Insert"],
    description="Insert a simple text box and type into it",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Insert a text box that says "{text}".',
        'Add a simple text box with the text "{text}".',
        'Put "{text}" in a new text box.',
    ],
    sample=lambda rng, st: {"text": rng.choice(QUOTES)},
    steps=lambda p: [tab("Insert"), click("Text Box"), item("Simple Text Box"), keys(escape_text(p["text"]))],
    verify=_tb_verify,
    near_miss=lambda p: [
        tab("Insert"),
        click("Text Box"),
        item("Simple Text Box"),
        keys(escape_text(p["text"].rsplit(" ", 1)[0])),
    ],
    touches=["shapes"],
    guards=["shapes"],
)


def _pb_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    paras = [p for _, p in st.doc.paragraphs() if p.text.strip()]
    p, opening = pick_paragraph(rng, st, styles=("Normal", "Heading 1"))
    if p is paras[0]:
        p = paras[1]
        from lam_rl.env.tasks.common import opening as _open

        opening = _open(p, st.doc)
    return {"text": opening}


def _pb_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    breaks = sum(isinstance(b, Break) for b in after.doc.blocks) - sum(
        isinstance(b, Break) for b in before.doc.blocks
    )
    ck.add("one_break", breaks == 1, f"{breaks} page breaks were added instead of one")
    ck.add("text_intact", _texts(before) == _texts(after), "the text changed")
    idx = next(
        (
            i
            for i, b in enumerate(after.doc.blocks)
            if isinstance(b, Paragraph) and b.text.startswith(p["text"])
        ),
        None,
    )
    ok = idx is not None and idx > 0 and isinstance(after.doc.blocks[idx - 1], Break)
    ck.add("before_paragraph", ok, f"the page break is not right before the paragraph '{p['text']}...'")


family(
    name="page_break",
    tabs=["Insert"],
    description="Insert a page break before a paragraph",
    templates=["essay", "report", "comments"],
    phrasings=[
        'Insert a page break before the paragraph that starts with "{text}".',
        'Start "{text}..." on a new page with a page break.',
        'Put a page break right before "{text}".',
    ],
    sample=_pb_sample,
    steps=lambda p: [select(p["text"]), keys("{HOME}"), tab("Insert"), click("Page Break")],
    verify=_pb_verify,
    near_miss=lambda p: [select(p["text"]), keys("{HOME}"), tab("Insert"), click("Blank Page")],
    touches=["breaks"],
    guards=["breaks", "text"],
)
URLS = (
    "https://www.contoso.com",
    "https://example.org/report",
    "https://www.northwind.com/info",
    "https://intranet.acme.com/docs",
    "https://www.fabrikam.net",
)


def _link_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    char_verifier("link", lambda q: q["url"])(p, before, after, ck)


family(
    name="insert_hyperlink",
    tabs=["Insert"],
    dialogs=["Insert Hyperlink"],
    description="Link a phrase to a web address with the Insert Hyperlink dialog",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Link "{text}" to {url}.',
        'Add a hyperlink to {url} on the words "{text}".',
        'Make "{text}" a link that opens {url}.',
    ],
    sample=lambda rng, st: {"text": pick_phrase(rng, st, 2, 3), "url": rng.choice(URLS)},
    steps=lambda p: [
        select(p["text"]),
        tab("Insert"),
        click("Link"),
        set_text("Address", "Edit", p["url"]),
        click("OK"),
    ],
    verify=_link_verify,
    near_miss=lambda p: [
        select(p["text"]),
        tab("Insert"),
        click("Link"),
        set_text("Address", "Edit", p["url"][:-1]),
        click("OK"),
    ],
    touches=["char:link"],
    guards=["text", "char:link"],
)
