"""Design tab (watermark, page colour, page borders) and Layout tab (margins, orientation, size, columns)."""

from __future__ import annotations

import random
from typing import Any

from lam_rl.env.tasks.base import Checks, click, family, item, menu_item, neighbour, radio, set_text, tab
from lam_rl.env.tasks.common import TEXT_TEMPLATES, check_text_intact, doc_field_verifier
from lam_rl.env.wordsim.ribbon import MARGIN_PRESETS, PAPER_SIZES, STANDARD_COLORS, WATERMARKS
from lam_rl.env.wordsim.state import AppState


def _wm_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    wm = after.doc.watermark
    ck.add(
        "watermark_text",
        bool(wm) and wm.text == p["text"],
        f"the watermark is {wm.text if wm else None!r}, expected {p['text']!r}",
    )
    ck.add("layout", bool(wm) and wm.layout == p["layout"], f"the watermark is not {p['layout']}")


def _wm_preset_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    name = rng.choice(tuple(WATERMARKS))
    text, layout = WATERMARKS[name]
    return {"name": name, "text": text, "layout": layout}


family(
    name="watermark_preset",
    tabs=["Design"],
    description="Add a built-in watermark from the Watermark gallery",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Add the "{text}" watermark, {layout}.',
        'Insert a {layout} "{text}" watermark.',
        "Put a {text} watermark ({layout}) on the pages.",
    ],
    sample=_wm_preset_sample,
    steps=lambda p: [tab("Design"), click("Watermark"), item(p["name"])],
    verify=_wm_verify,
    near_miss=lambda p: [tab("Design"), click("Watermark"), item(neighbour(tuple(WATERMARKS), p["name"]))],
    touches=["watermark"],
    guards=["watermark"],
)
CUSTOM_WM = ("INTERNAL", "FINAL", "REVIEW COPY", "DO NOT SHARE", "PRELIMINARY", "ARCHIVE", "TEMPLATE")


def _wm_custom_steps(p: dict[str, Any], layout: str | None = None) -> list[Any]:
    layout = layout or p["layout"]
    steps = [
        tab("Design"),
        click("Watermark"),
        menu_item("Custom Watermark..."),
        radio("Text watermark"),
        set_text("Text", "ComboBox", p["text"]),
    ]
    if layout == "horizontal":
        steps.append(radio("Horizontal"))
    return [*steps, click("OK")]


family(
    name="watermark_custom",
    tabs=["Design"],
    dialogs=["Printed Watermark"],
    description="Add a custom text watermark in the Printed Watermark dialog",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Add a custom {layout} watermark that reads "{text}".',
        'Use Custom Watermark to put "{text}" across the page ({layout}).',
        'Create a {layout} text watermark saying "{text}".',
    ],
    sample=lambda rng, st: {"text": rng.choice(CUSTOM_WM), "layout": rng.choice(("diagonal", "horizontal"))},
    steps=_wm_custom_steps,
    verify=_wm_verify,
    near_miss=lambda p: _wm_custom_steps(p, "diagonal" if p["layout"] == "horizontal" else "horizontal"),
    touches=["watermark"],
    guards=["watermark"],
)
family(
    name="page_color",
    tabs=["Design"],
    description="Set the page colour",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Change the page color to {color_lower}.",
        "Make the page background {color_lower}.",
        "Set the Page Color to {color}.",
    ],
    sample=lambda rng, st: {"color": (c := rng.choice(STANDARD_COLORS)), "color_lower": c.lower()},
    steps=lambda p: [tab("Design"), click("Page Color"), item(p["color"])],
    verify=doc_field_verifier(lambda s: s.doc.page_color, lambda p: p["color"], "page_color"),
    near_miss=lambda p: [tab("Design"), click("Page Color"), item(neighbour(STANDARD_COLORS, p["color"]))],
    touches=["page:color"],
    guards=["page:color"],
)
BORDERS = {"Box": "box", "Shadow": "shadow", "3-D": "3-d"}
family(
    name="page_border",
    tabs=["Design"],
    dialogs=["Borders and Shading"],
    description="Add a page border (box, shadow, 3-D) in the Borders and Shading dialog",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Add a {setting_lower} page border.",
        "Put a {setting_lower} border around the page.",
        "Use Page Borders to give the pages a {setting_lower} border.",
    ],
    sample=lambda rng, st: {"setting": (s := rng.choice(tuple(BORDERS))), "setting_lower": s.lower()},
    steps=lambda p: [tab("Design"), click("Page Borders"), radio(p["setting"]), click("OK")],
    verify=doc_field_verifier(lambda s: s.doc.page_border, lambda p: BORDERS[p["setting"]], "page_border"),
    near_miss=lambda p: [
        tab("Design"),
        click("Page Borders"),
        radio(neighbour(tuple(BORDERS), p["setting"])),
        click("OK"),
    ],
    touches=["page:border"],
    guards=["page:border"],
)
PRESETS = tuple(n for n in MARGIN_PRESETS if n != "Office 2003 Default")


def _margin_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    got = after.doc.page.margins
    want = MARGIN_PRESETS[p["preset"]]
    ck.add("margins", got == want, f"the margins are {got}, expected {p['preset']} {want}")


family(
    name="margins_preset",
    tabs=["Layout"],
    description="Pick preset margins (Narrow, Moderate, Wide, Mirrored)",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Set the margins to {preset}.",
        "Use {preset} margins for the document.",
        "Change the page margins to the {preset} preset.",
    ],
    sample=lambda rng, st: {"preset": rng.choice(PRESETS[1:])},
    steps=lambda p: [tab("Layout"), click("Margins"), item(p["preset"])],
    verify=_margin_verify,
    near_miss=lambda p: [tab("Layout"), click("Margins"), item(neighbour(PRESETS, p["preset"]))],
    touches=["page:margins"],
    guards=["page:margins"],
)
INCHES = ("0.5", "0.75", "1.25", "1.5", "2")


def _custom_margin_steps(p: dict[str, Any], first: str = "Left") -> list[Any]:
    return [
        tab("Layout"),
        click("Margins"),
        menu_item("Custom Margins..."),
        set_text(first, "Spinner", f'{p["inches"]}"'),
        set_text("Right", "Spinner", f'{p["inches"]}"'),
        click("OK"),
    ]


def _custom_margin_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    top, bottom, left, right = after.doc.page.margins
    v = float(p["inches"])
    ck.add(
        "left_right",
        abs(left - v) < 1e-6 and abs(right - v) < 1e-6,
        f"left/right margins are {left}/{right}, expected {v}",
    )
    ck.add("top_bottom_kept", (top, bottom) == before.doc.page.margins[:2], "the top/bottom margins changed")


family(
    name="custom_margins",
    tabs=["Layout"],
    dialogs=["Page Setup"],
    description="Set the left and right margins in the Page Setup dialog",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Set the left and right margins to {inches} inches.",
        'Use Custom Margins to make the left and right margins {inches}".',
        "Change both side margins to {inches} inch.",
    ],
    sample=lambda rng, st: {"inches": rng.choice(INCHES)},
    steps=_custom_margin_steps,
    verify=_custom_margin_verify,
    near_miss=lambda p: _custom_margin_steps(p, "Top"),
    touches=["page:margins"],
    guards=["page:margins"],
)


def _orient_setup(p: dict[str, Any], st: AppState) -> None:
    st.doc.page.orientation = "Landscape" if p["orientation"] == "Portrait" else "Portrait"


family(
    name="orientation",
    tabs=["Layout"],
    description="Switch the page orientation",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Change the page orientation to {orientation_lower}.",
        "Make the pages {orientation_lower}.",
        "Switch the document to {orientation} orientation.",
    ],
    sample=lambda rng, st: {
        "orientation": (o := rng.choice(("Landscape", "Portrait"))),
        "orientation_lower": o.lower(),
    },
    setup=_orient_setup,
    steps=lambda p: [tab("Layout"), click("Orientation"), item(p["orientation"])],
    verify=doc_field_verifier(lambda s: s.doc.page.orientation, lambda p: p["orientation"], "orientation"),
    near_miss=lambda p: [
        tab("Layout"),
        click("Orientation"),
        item("Portrait" if p["orientation"] == "Landscape" else "Landscape"),
    ],
    touches=["page:orientation"],
    guards=["page:orientation"],
)
SIZES = ("Legal", "Executive", "A4", "A5", "B5 (JIS)")
family(
    name="page_size",
    tabs=["Layout"],
    description="Change the paper size",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Change the paper size to {size}.",
        "Set the page size to {size}.",
        "Use {size} paper for this document.",
    ],
    sample=lambda rng, st: {"size": rng.choice(SIZES)},
    steps=lambda p: [tab("Layout"), click("Size"), item(p["size"])],
    verify=doc_field_verifier(lambda s: s.doc.page.size, lambda p: p["size"], "paper_size"),
    near_miss=lambda p: [tab("Layout"), click("Size"), item(neighbour(PAPER_SIZES, p["size"]))],
    touches=["page:size"],
    guards=["page:size"],
)
COLS = {"Two": 2, "Three": 3}
family(
    name="columns",
    tabs=["Layout"],
    description="Lay the text out in two or three columns",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Format the document in {n_lower} columns.",
        "Split the text into {n_lower} columns.",
        "Use a {n_lower}-column layout.",
    ],
    sample=lambda rng, st: {"n": (n := rng.choice(tuple(COLS))), "n_lower": n.lower()},
    steps=lambda p: [tab("Layout"), click("Columns"), item(p["n"])],
    verify=doc_field_verifier(lambda s: s.doc.page.columns, lambda p: COLS[p["n"]], "columns"),
    near_miss=lambda p: [tab("Layout"), click("Columns"), item("Three" if p["n"] == "Two" else "Two")],
    touches=["page:columns"],
    guards=["page:columns"],
)
