"""Home tab, Paragraph/Styles/Editing groups: styles, alignment, spacing, lists, indents,
Find and Replace, and editing by keyboard (typing, copy/paste, delete)."""

from __future__ import annotations

import random
import re
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
    PROSE_TEMPLATES,
    TEXT_TEMPLATES,
    body_paragraphs,
    para_verifier,
    pick_paragraph,
    pick_phrase,
)
from lam_rl.env.wordsim.document import count_text
from lam_rl.env.wordsim.keys import escape_text
from lam_rl.env.wordsim.ribbon import GALLERY_STYLES, LINE_SPACINGS
from lam_rl.env.wordsim.state import AppState

HEADINGS = ("Heading 1", "Heading 2", "Heading 3")


def _heading_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    paras = body_paragraphs(st.doc)
    if st.doc.paragraphs()[0][1].style == "Title":  # report: re-level one of the Heading 1 sections
        p = rng.choice([x for x in paras if x.style == "Heading 1"])
        style = rng.choice(HEADINGS[1:])
    else:  # essay: the unstyled section line
        p = paras[2]
        style = rng.choice(HEADINGS)
    if count_text(st.doc, p.text) != 1:
        raise ValueError(f"the section line {p.text!r} also occurs elsewhere")
    return {"text": p.text, "style": style}


family(
    name="heading_style",
    tabs=["Home"],
    description="Apply a heading style from the Styles gallery to a section line",
    templates=["essay", "report"],
    phrasings=[
        'Apply the {style} style to "{text}".',
        'Make the line "{text}" a {style}.',
        'Format "{text}" with the {style} style.',
    ],
    sample=_heading_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), item(p["style"])],
    verify=para_verifier("style", lambda p: p["style"]),
    near_miss=lambda p: [select(p["text"]), tab("Home"), item(neighbour(GALLERY_STYLES, p["style"]))],
    touches=["para:style", "char:font", "char:size", "char:color"],  # a style changes the look of its text
    guards=["text", "para:style"],
)
family(
    name="title_style",
    tabs=["Home"],
    description="Apply the Title style to the first line",
    templates=["essay"],
    phrasings=[
        'Make "{text}" the title of the document.',
        'Apply the Title style to "{text}".',
        'Format the first line "{text}" as a title.',
    ],
    sample=lambda rng, st: {"text": body_paragraphs(st.doc)[0].text},
    steps=lambda p: [select(p["text"]), tab("Home"), item("Title")],
    verify=para_verifier("style", lambda p: "Title"),
    near_miss=lambda p: [select(p["text"]), tab("Home"), item("Subtitle")],
    touches=["para:style", "char:font", "char:size", "char:color"],  # a style changes the look of its text
    guards=["text", "para:style"],
)

ALIGN_BUTTONS = {"left": "Align Left", "center": "Center", "right": "Align Right", "justify": "Justify"}
ALIGN_WORDS = {"center": "Center", "right": "Right-align", "justify": "Justify"}


def _align_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    p, opening = pick_paragraph(rng, st)
    align = rng.choice(("center", "right", "justify"))
    return {
        "text": opening,
        "align": align,
        "verb": ALIGN_WORDS[align],
        "how": {"center": "centered", "right": "right-aligned", "justify": "justified"}[align],
    }


family(
    name="align_paragraph",
    tabs=["Home"],
    description="Align a paragraph (center, right, justify)",
    templates=TEXT_TEMPLATES,
    phrasings=[
        '{verb} the paragraph that begins with "{text}".',
        'Make the paragraph starting "{text}" {how}.',
        'The paragraph "{text}..." should be {how}.',
    ],
    sample=_align_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), click(ALIGN_BUTTONS[p["align"]])],
    verify=para_verifier("align", lambda p: p["align"]),
    near_miss=lambda p: [
        select(p["text"]),
        tab("Home"),
        click(neighbour(tuple(ALIGN_BUTTONS.values()), ALIGN_BUTTONS[p["align"]])),
    ],
    touches=["para:align"],
    guards=["text", "para:align"],
)


def _spacing_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    _, opening = pick_paragraph(rng, st)
    return {"text": opening, "spacing": rng.choice(("1.15", "1.5", "2.0", "2.5", "3.0"))}


family(
    name="line_spacing",
    tabs=["Home"],
    description="Set the line spacing of a paragraph from the Line and Paragraph Spacing menu",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Set the line spacing of the paragraph starting "{text}" to {spacing}.',
        'Use {spacing} line spacing for the paragraph "{text}...".',
        'Change the paragraph beginning with "{text}" to {spacing} spacing.',
    ],
    sample=_spacing_sample,
    steps=lambda p: [
        select(p["text"]),
        tab("Home"),
        click("Line and Paragraph Spacing"),
        menu_item(p["spacing"]),
    ],
    verify=para_verifier("line_spacing", lambda p: float(p["spacing"])),
    near_miss=lambda p: [
        select(p["text"]),
        tab("Home"),
        click("Line and Paragraph Spacing"),
        menu_item(neighbour(LINE_SPACINGS, p["spacing"])),
    ],
    touches=["para:line_spacing"],
    guards=["text", "para:line_spacing"],
)


def _list_items(st: AppState) -> list[str]:
    paras = body_paragraphs(st.doc)
    return [p.text for p in paras[1:-1]]


def _list_family(name: str, button: str, kind: str, other: str, phrasings: list[str]) -> None:
    family(
        name=name,
        tabs=["Home"],
        description=f"Turn the item lines into a {kind} list",
        templates=["list"],
        phrasings=phrasings,
        sample=lambda rng, st: {
            "text": _list_items(st),
            "first": _list_items(st)[0],
            "last": _list_items(st)[-1],
            "span": "\n".join(_list_items(st)),
        },
        steps=lambda p: [select(p["span"]), tab("Home"), click(button)],
        verify=para_verifier("list_kind", lambda p: kind),
        near_miss=lambda p: [select(p["span"]), tab("Home"), click(other)],
        touches=["para:list", "para:style"],
        guards=["text", "para:list"],
    )


_list_family(
    "bulleted_list",
    "Bullets",
    "bullet",
    "Numbering",
    [
        'Make the items from "{first}" to "{last}" a bulleted list.',
        'Add bullets to the lines "{first}" through "{last}".',
        'Turn the list "{first}" ... "{last}" into bullet points.',
    ],
)
_list_family(
    "numbered_list",
    "Numbering",
    "number",
    "Bullets",
    [
        'Number the items from "{first}" to "{last}".',
        'Make the lines "{first}" through "{last}" a numbered list.',
        'Turn "{first}" ... "{last}" into a numbered list.',
    ],
)


def _opening_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    _, opening = pick_paragraph(rng, st, styles=("Normal",))
    return {"text": opening}


family(
    name="increase_indent",
    tabs=["Home"],
    description="Indent a paragraph with Increase Indent",
    templates=PROSE_TEMPLATES,
    phrasings=[
        'Indent the paragraph that starts with "{text}".',
        'Increase the indent of the paragraph "{text}...".',
        'Move the paragraph beginning "{text}" one indent to the right.',
    ],
    sample=_opening_sample,
    steps=lambda p: [select(p["text"]), tab("Home"), click("Increase Indent")],
    verify=para_verifier("indent_left", lambda p: 0.5),
    near_miss=lambda p: [select(p["text"]), tab("Home"), click("Decrease Indent")],
    touches=["para:indent"],
    guards=["text", "para:indent"],
)


def _pt_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    _, opening = pick_paragraph(rng, st, styles=("Normal",))
    return {"text": opening, "pt": rng.choice(("6", "12", "18", "24", "30"))}


def _para_dialog_steps(p: dict[str, Any], field: str = "After") -> list[Any]:
    return [
        select(p["text"]),
        tab("Home"),
        click("Paragraph Settings"),
        set_text(field, "Spinner", f"{p['pt']} pt"),
        click("OK"),
    ]


family(
    name="paragraph_spacing",
    tabs=["Home"],
    dialogs=["Paragraph"],
    description="Set the spacing after a paragraph in the Paragraph dialog",
    templates=PROSE_TEMPLATES,
    phrasings=[
        'Open the Paragraph dialog and set the spacing after the paragraph starting "{text}" to {pt} pt.',
        'Add {pt} pt of space after the paragraph "{text}..." using the Paragraph settings.',
        'In Paragraph settings, give the paragraph beginning with "{text}" {pt} points of spacing after.',
    ],
    sample=_pt_sample,
    steps=_para_dialog_steps,
    verify=para_verifier("space_after", lambda p: float(p["pt"])),
    near_miss=lambda p: _para_dialog_steps(p, "Before"),
    touches=["para:space_after"],
    guards=["text", "para:space_after"],
)
family(
    name="spacing_after",
    tabs=["Layout"],
    description="Set the spacing after a paragraph in the Layout tab's Spacing After box",
    templates=PROSE_TEMPLATES,
    phrasings=[
        'On the Layout tab, set Spacing After of the paragraph starting "{text}" to {pt} pt.',
        'Put {pt} pt of space after the paragraph "{text}...".',
        'Give the paragraph beginning with "{text}" {pt} pt spacing after it.',
    ],
    sample=_pt_sample,
    steps=lambda p: [select(p["text"]), tab("Layout"), set_text("Spacing After", "Spinner", f"{p['pt']} pt")],
    verify=para_verifier("space_after", lambda p: float(p["pt"])),
    near_miss=lambda p: [
        select(p["text"]),
        tab("Layout"),
        set_text("Spacing Before", "Spinner", f"{p['pt']} pt"),
    ],
    touches=["para:space_after"],
    guards=["text", "para:space_after"],
)

REPLACEMENTS = (
    "income",
    "target",
    "cutoff",
    "inn",
    "release",
    "objective",
    "specimen",
    "hard hat",
    "stove",
    "notebook",
    "promotion",
    "bulbs",
    "result",
    "plan",
)


def _replace_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    from lam_rl.env.wordsim.templates import TOPICS

    text = st.doc.text()
    kws = [t.keyword for t in TOPICS if count_text(st.doc, t.keyword) >= 2]
    if not kws:
        raise ValueError("no repeated keyword")
    old = kws[0]
    new = rng.choice([r for r in REPLACEMENTS if r not in text.lower()])
    return {"old": old, "new": new, "count": count_text(st.doc, old)}


def _replace_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    want = re.sub(re.escape(p["old"]), p["new"], before.doc.text(), flags=re.IGNORECASE)
    got = after.doc.text()
    ck.add("old_gone", p["old"].lower() not in got.lower(), f"'{p['old']}' is still in the document")
    ck.add(
        "replaced_text",
        got == want,
        f"the text is not the original with every '{p['old']}' replaced by '{p['new']}'",
    )


def _replace_steps(p: dict[str, Any]) -> list[Any]:
    return [
        tab("Home"),
        click("Replace"),
        set_text("Find what", "Edit", p["old"]),
        set_text("Replace with", "Edit", p["new"]),
        click("Replace All"),
        click("OK"),
        click("Close"),
    ]


family(
    name="find_replace",
    tabs=["Home"],
    dialogs=["Find and Replace"],
    description="Replace every occurrence of a word with Find and Replace",
    templates=["essay"],
    phrasings=[
        'Replace every "{old}" with "{new}".',
        'Change all occurrences of "{old}" to "{new}".',
        'Use Find and Replace to swap "{old}" for "{new}" throughout the document.',
    ],
    sample=_replace_sample,
    steps=_replace_steps,
    verify=_replace_verify,
    near_miss=lambda p: _replace_steps(p)[:4] + [click("Replace"), click("Replace"), click("Close")],
    touches=["text"],
    guards=["text"],
    composable=False,
)

NEW_SENTENCES = (
    "Please send your comments by Friday",
    "Thank you for your support",
    "Questions can go to the team mailbox",
    "This draft will be updated next week",
    "All figures are preliminary",
    "See the appendix for details",
    "The next review is planned for June",
    "Contact Maria for the full data",
)


def _append_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    bps = [x.text for _, x in before.doc.paragraphs()]
    aps = [x.text for _, x in after.doc.paragraphs()]
    ck.add("appended", bool(aps) and aps[-1] == p["sentence"], f"the last paragraph is not '{p['sentence']}'")
    ck.add("rest_intact", aps[:-1] == bps, "the existing paragraphs changed")


family(
    name="append_paragraph",
    tabs=["Home"],
    description="Type a new paragraph at the end of the document",
    templates=["line", "essay", "list", "report"],
    phrasings=[
        'Add a new paragraph at the end that says "{sentence}".',
        'Type "{sentence}" as the last paragraph.',
        'At the end of the document, add the line "{sentence}".',
    ],
    sample=lambda rng, st: {"sentence": rng.choice(NEW_SENTENCES)},
    steps=lambda p: [keys("^{END}{ENTER}"), keys(escape_text(p["sentence"]))],
    verify=_append_verify,
    near_miss=lambda p: [keys("{ENTER}"), keys(escape_text(p["sentence"]))],
    touches=["text"],
    guards=["text"],
    composable=False,
)


def _copy_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    bps = [x.text for _, x in before.doc.paragraphs()]
    aps = [x.text for _, x in after.doc.paragraphs()]
    ck.add("copied", bool(aps) and aps[-1] == p["text"], f"the last paragraph is not a copy of '{p['text']}'")
    ck.add("original_kept", aps[:-1] == bps, "the original paragraphs changed (cut instead of copy?)")


family(
    name="copy_to_end",
    tabs=["Home"],
    description="Copy a list item and paste it as a new last paragraph (Ctrl+C, Ctrl+V)",
    templates=["list"],
    phrasings=[
        'Copy the item "{text}" to the end of the document.',
        'Duplicate "{text}" as a new last line.',
        'Paste a copy of the line "{text}" at the end.',
    ],
    sample=lambda rng, st: {"text": rng.choice([x for x in _list_items(st) if count_text(st.doc, x) == 1])},
    steps=lambda p: [select(p["text"]), keys("^c"), keys("^{END}{ENTER}^v")],
    verify=_copy_verify,
    near_miss=lambda p: [select(p["text"]), keys("^x"), keys("^{END}{ENTER}^v")],
    touches=["text"],
    guards=["text"],
    composable=False,
)


def _delete_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    want = before.doc.text().replace(p["text"], "", 1)
    got = after.doc.text()
    ck.add("deleted", p["text"] not in got, f"'{p['text']}' is still in the document")
    ck.add("rest_intact", got == want, "other text changed too")


family(
    name="delete_text",
    tabs=["Home"],
    description="Delete a phrase",
    templates=PROSE_TEMPLATES,
    phrasings=[
        'Delete the words "{text}".',
        'Remove "{text}" from the document.',
        'Erase the text "{text}".',
    ],
    sample=lambda rng, st: {"text": pick_phrase(rng, st, 2, 4, styles=("Normal",))},
    steps=lambda p: [select(p["text"]), keys("{DELETE}")],
    verify=_delete_verify,
    near_miss=lambda p: [select(p["text"].split(" ")[0]), keys("{DELETE}")],
    touches=["text"],
    guards=["text"],
    composable=False,
)
