"""Home tab, Font group: character formatting of a phrase (buttons, boxes, colour menus, the Font dialog)."""

from __future__ import annotations

import random
from typing import Any

from lam_rl.env.tasks.base import Checks, click, family, item, neighbour, select, set_text, tab
from lam_rl.env.tasks.common import TEXT_TEMPLATES, _flat, char_verifier, find_span, pick_phrase
from lam_rl.env.wordsim.document import Fmt, find_text, runs_between
from lam_rl.env.wordsim.ribbon import FONT_SIZES, FONTS, HIGHLIGHT_COLORS, STANDARD_COLORS
from lam_rl.env.wordsim.state import AppState


def _current(state: AppState, text: str, attr: str) -> set[Any]:
    t, vals = _flat(state.doc, attr)
    span = find_span(t, text)
    return set(vals[span[0] : span[1]]) if span else set()


def _phrase_without(rng: random.Random, st: AppState, attr: str, value: Any, lo: int = 2, hi: int = 4) -> str:
    for _ in range(50):
        text = pick_phrase(rng, st, lo, hi)
        if _current(st, text, attr) != {value}:
            return text
    raise ValueError(f"every phrase already has {attr}={value}")


def _toggle_family(
    name: str, button: str, attr: str, near: str, words: str, phrasings: list[str], lo: int = 2, hi: int = 4
) -> None:
    family(
        name=name,
        tabs=["Home"],
        description=f"Make a phrase {words} with the {button} button",
        templates=TEXT_TEMPLATES,
        phrasings=phrasings,
        sample=lambda rng, st: {"text": _phrase_without(rng, st, attr, True, lo, hi)},
        steps=lambda p: [select(p["text"]), tab("Home"), click(button)],
        verify=char_verifier(attr, lambda p: True),
        near_miss=lambda p: [select(p["text"]), tab("Home"), click(near)],
        touches=[f"char:{attr}"],
        guards=["text", f"char:{attr}"],
    )


_toggle_family(
    "bold_text",
    "Bold",
    "bold",
    "Italic",
    "bold",
    [
        'Make "{text}" bold.',
        'Bold the text "{text}".',
        'Apply bold formatting to "{text}".',
        'Please put "{text}" in bold.',
    ],
)
_toggle_family(
    "italic_text",
    "Italic",
    "italic",
    "Underline",
    "italic",
    [
        'Make "{text}" italic.',
        'Italicize "{text}".',
        'Set the words "{text}" in italics.',
        'Apply italic formatting to "{text}".',
    ],
)
_toggle_family(
    "underline_text",
    "Underline",
    "underline",
    "Italic",
    "underlined",
    ['Underline "{text}".', 'Make "{text}" underlined.', 'Add an underline to the text "{text}".'],
)
_toggle_family(
    "strikethrough_text",
    "Strikethrough",
    "strike",
    "Subscript",
    "struck through",
    [
        'Strike through "{text}".',
        'Apply strikethrough to "{text}".',
        'Cross out the words "{text}" with a strikethrough.',
    ],
)
_toggle_family(
    "superscript_text",
    "Superscript",
    "sup",
    "Subscript",
    "superscript",
    [
        'Make the word "{text}" superscript.',
        'Format "{text}" as superscript.',
        'Raise "{text}" to superscript.',
    ],
    lo=1,
    hi=1,
)
_toggle_family(
    "subscript_text",
    "Subscript",
    "sub",
    "Superscript",
    "subscript",
    ['Make the word "{text}" subscript.', 'Format "{text}" as subscript.', 'Lower "{text}" to subscript.'],
    lo=1,
    hi=1,
)

FAMILY_FONTS = tuple(f for f in FONTS if not f.startswith("Calibri"))
FAMILY_SIZES = ("8", "9", "10", "12", "14", "16", "18", "20", "24", "28", "36")


def _font_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    font = rng.choice(FAMILY_FONTS)
    return {"text": _phrase_without(rng, st, "font", font), "font": font}


family(
    name="font_name",
    tabs=["Home"],
    description="Change the font of a phrase in the Font box",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Change the font of "{text}" to {font}.',
        'Set "{text}" in {font}.',
        'Use the {font} font for "{text}".',
    ],
    sample=_font_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), set_text("Font", "ComboBox", p["font"])],
    verify=char_verifier("font", lambda p: p["font"]),
    near_miss=lambda p: [
        select(p["text"]),
        tab("Home"),
        set_text("Font", "ComboBox", neighbour(FAMILY_FONTS, p["font"])),
    ],
    touches=["char:font"],
    guards=["text", "char:font"],
)


def _size_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    size = rng.choice(FAMILY_SIZES)
    return {"text": _phrase_without(rng, st, "size", float(size)), "size": size}


family(
    name="font_size",
    tabs=["Home"],
    description="Change the font size of a phrase in the Font Size box",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Change the font size of "{text}" to {size}.',
        'Make "{text}" {size} point.',
        'Set the size of "{text}" to {size} pt.',
    ],
    sample=_size_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), set_text("Font Size", "ComboBox", p["size"])],
    verify=char_verifier("size", lambda p: float(p["size"])),
    near_miss=lambda p: [
        select(p["text"]),
        tab("Home"),
        set_text("Font Size", "ComboBox", neighbour(FAMILY_SIZES, p["size"])),
    ],
    touches=["char:size"],
    guards=["text", "char:size"],
)


def _menu_colour_family(
    name: str, button: str, attr: str, colours: tuple[str, ...], phrasings: list[str], what: str
) -> None:
    def sample(rng: random.Random, st: AppState) -> dict[str, Any]:
        c = rng.choice(colours)
        return {"text": _phrase_without(rng, st, attr, c), "color": c, "color_lower": c.lower()}

    family(
        name=name,
        tabs=["Home"],
        description=f"Give a phrase a {what} from the {button} menu",
        templates=TEXT_TEMPLATES,
        phrasings=phrasings,
        sample=sample,
        steps=lambda p: [select(p["text"]), tab("Home"), click(button), item(p["color"])],
        verify=char_verifier(attr, lambda p: p["color"]),
        near_miss=lambda p: [
            select(p["text"]),
            tab("Home"),
            click(button),
            item(neighbour(colours, p["color"])),
        ],
        touches=[f"char:{attr}"],
        guards=["text", f"char:{attr}"],
    )


_menu_colour_family(
    "font_color",
    "Font Color",
    "color",
    STANDARD_COLORS,
    [
        'Change the color of "{text}" to {color_lower}.',
        'Make the text "{text}" {color_lower}.',
        'Color "{text}" {color}.',
    ],
    "font colour",
)
HL = ("Yellow", "Bright Green", "Turquoise", "Pink", "Red", "Teal", "Violet", "Gray-25%")
_menu_colour_family(
    "highlight_text",
    "Text Highlight Color",
    "highlight",
    HL,
    [
        'Highlight "{text}" in {color_lower}.',
        'Apply a {color_lower} highlight to "{text}".',
        'Mark "{text}" with the {color} highlighter.',
    ],
    "highlight",
)
assert all(c in HIGHLIGHT_COLORS for c in HL)

CASES = {
    "UPPERCASE": str.upper,
    "lowercase": str.lower,
    "Capitalize Each Word": lambda s: " ".join(w[:1].upper() + w[1:].lower() for w in s.split(" ")),
}
CASE_WORDS = {
    "UPPERCASE": "upper case",
    "lowercase": "lower case",
    "Capitalize Each Word": "title case (capitalize each word)",
}


def _case_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    for _ in range(50):
        mode = rng.choice(tuple(CASES))
        text = pick_phrase(rng, st, 2, 4)
        if CASES[mode](text) != text:
            return {"text": text, "mode": mode, "mode_words": CASE_WORDS[mode]}
    raise ValueError("no phrase changes case")


def _case_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    bt, at = before.doc.text(final=False), after.doc.text(final=False)
    k = bt.find(p["text"])
    want = bt[:k] + CASES[p["mode"]](p["text"]) + bt[k + len(p["text"]) :] if k >= 0 else None
    ck.add("case", at == want, f"'{p['text']}' is not in {p['mode_words']} (or other text changed)")


family(
    name="change_case",
    tabs=["Home"],
    description="Change the case of a phrase from the Change Case menu",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Change "{text}" to {mode_words}.',
        'Convert the text "{text}" to {mode_words}.',
        'Use Change Case to make "{text}" {mode_words}.',
    ],
    sample=_case_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), click("Change Case"), click(p["mode"], "MenuItem")],
    verify=_case_verify,
    near_miss=lambda p: [
        select(p["text"]),
        tab("Home"),
        click("Change Case"),
        click(neighbour(tuple(CASES), p["mode"]), "MenuItem"),
    ],
    touches=["text"],
    guards=["text"],
    composable=False,
)


def _messy_setup(p: dict[str, Any], st: AppState) -> None:
    doc = st.doc
    hit = find_text(doc, p["text"], match_case=True)
    assert hit is not None
    (bi, a), (_, b) = hit
    for r in runs_between(doc.blocks[bi], a, b):  # type: ignore[arg-type]
        r.fmt = Fmt(bold=True, italic=True, color="Red")


def _clear_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    for attr, want in (("bold", False), ("italic", False)):
        char_verifier(attr, lambda _p, w=want: w)(p, before, after, sub := Checks())
        ck.add(attr, sub.scores.get(attr, 0.0), f"'{p['text']}' is still {attr}")
        ck.add("text_intact", sub.scores.get("text_intact", 0.0), "the document text changed")
    t, vals = _flat(after.doc, "color")
    span = find_span(t, p["text"])
    ok = span is not None and all(v != "Red" for v in vals[span[0] : span[1]])
    ck.add("color", ok, f"'{p['text']}' is still red")


family(
    name="clear_formatting",
    tabs=["Home"],
    description="Remove the formatting (bold, italic, red) of a phrase with Clear All Formatting",
    templates=("line", "essay", "list", "table", "shape", "textbox"),
    phrasings=[
        'Clear all formatting from "{text}".',
        'Remove the formatting of "{text}".',
        'Make "{text}" plain text again.',
    ],
    sample=lambda rng, st: {"text": pick_phrase(rng, st, 2, 4, styles=("Normal",))},
    setup=_messy_setup,
    steps=lambda p: [select(p["text"]), tab("Home"), click("Clear All Formatting")],
    verify=_clear_verify,
    near_miss=lambda p: [select(p["text"]), tab("Home"), click("Bold")],
    touches=[
        "char:bold",
        "char:italic",
        "char:color",
        "char:font",
        "char:size",
        "para:style",
        "para:align",
        "para:list",
        "para:indent",
    ],
    guards=["text", "char:bold", "char:italic", "char:color"],
)


def _grow_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    text = pick_phrase(rng, st, 2, 4, styles=("Normal", "List Paragraph"))
    cur = _current(st, text, "size")
    size = max(cur) if cur else 11.0
    nxt = next(float(s) for s in FONT_SIZES if float(s) > size)
    return {"text": text, "new_size": nxt}


family(
    name="grow_font",
    tabs=["Home"],
    description="Make a phrase one size bigger with Increase Font Size",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Increase the font size of "{text}" by one step.',
        'Make "{text}" a little bigger.',
        'Grow the font of "{text}" one size up.',
    ],
    sample=_grow_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), click("Increase Font Size")],
    verify=char_verifier("size", lambda p: p["new_size"]),
    near_miss=lambda p: [select(p["text"]), tab("Home"), click("Decrease Font Size")],
    touches=["char:size"],
    guards=["text", "char:size"],
)

STYLES_FONT = ("Bold", "Italic", "Bold Italic")


def _font_dialog_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    font = rng.choice(FAMILY_FONTS)
    size = rng.choice(FAMILY_SIZES)
    style = rng.choice(STYLES_FONT)
    return {
        "text": _phrase_without(rng, st, "font", font),
        "font": font,
        "size": size,
        "style": style,
        "style_lower": style.lower(),
    }


def _font_dialog_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    wants = {
        "font": p["font"],
        "size": float(p["size"]),
        "bold": "Bold" in p["style"],
        "italic": "Italic" in p["style"],
    }
    for attr, want in wants.items():
        sub = Checks()
        char_verifier(attr, lambda _p, w=want: w)(p, before, after, sub)
        ck.add(attr, sub.scores[attr], f"'{p['text']}' does not have {attr} {want!r}")
        ck.add("text_intact", sub.scores["text_intact"], "the document text changed")


def _font_dialog_steps(p: dict[str, Any], style: str | None = None) -> list[Any]:
    return [
        select(p["text"]),
        tab("Home"),
        click("Font Settings"),
        set_text("Font", "ComboBox", p["font"]),
        set_text("Size", "ComboBox", p["size"]),
        set_text("Font style", "ComboBox", style or p["style"]),
        click("OK"),
    ]


family(
    name="font_dialog",
    tabs=["Home"],
    dialogs=["Font"],
    description="Set font, size and style of a phrase in the Font dialog",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Format "{text}" as {size} pt {font} {style_lower} using the Font dialog.',
        'Open the Font dialog and make "{text}" {font}, {size} point, {style_lower}.',
        'In the Font settings, give "{text}" the font {font} at size {size} in {style_lower}.',
    ],
    sample=_font_dialog_sample,
    steps=_font_dialog_steps,
    verify=_font_dialog_verify,
    near_miss=lambda p: _font_dialog_steps(p, neighbour(STYLES_FONT, p["style"])),
    touches=["char:font", "char:size", "char:bold", "char:italic"],
    guards=["text", "char:font", "char:size", "char:bold", "char:italic"],
)
