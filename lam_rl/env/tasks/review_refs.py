"""References tab (footnotes, table of contents) and Review tab (comments, track changes, word count)."""

from __future__ import annotations

import random
from typing import Any

from lam_rl.env.tasks.base import Checks, click, family, item, keys, menu_item, select, set_text, summary, tab
from lam_rl.env.tasks.common import PROSE_TEMPLATES, TEXT_TEMPLATES, check_text_intact, number_in, pick_phrase
from lam_rl.env.wordsim.document import STYLES, TOC, Paragraph
from lam_rl.env.wordsim.keys import escape_text
from lam_rl.env.wordsim.state import AppState

NOTES = (
    "Source: annual survey",
    "Figures are rounded",
    "See the appendix",
    "Data from the finance team",
    "Updated in March",
    "Estimate only",
)


def _fn_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    new = after.doc.notes[len(before.doc.notes) :]
    ck.add("one_footnote", len(new) == 1 and new[0].kind == "footnote", "there is no new footnote")
    ok = False
    if new:
        bi = after.doc.para_index(new[0].pid)
        para = after.doc.blocks[bi] if bi is not None else None
        ok = isinstance(para, Paragraph) and para.text[: new[0].offset].endswith(p["text"])
    ck.add("anchor", ok, f"the footnote is not right after '{p['text']}'")
    ck.add("note_text", bool(new) and new[0].text == p["note"], f"the footnote does not say '{p['note']}'")


family(
    name="insert_footnote",
    tabs=["References"],
    description="Insert a footnote after a phrase and type its text",
    templates=PROSE_TEMPLATES,
    phrasings=[
        'Add a footnote after "{text}" saying "{note}".',
        'Insert a footnote at "{text}" with the text "{note}".',
        'Put a footnote "{note}" after the words "{text}".',
    ],
    sample=lambda rng, st: {
        "text": pick_phrase(rng, st, 2, 3, styles=("Normal",)),
        "note": rng.choice(NOTES),
    },
    steps=lambda p: [
        select(p["text"]),
        tab("References"),
        click("Insert Footnote"),
        keys(escape_text(p["note"])),
    ],
    verify=_fn_verify,
    near_miss=lambda p: [
        select(p["text"]),
        tab("References"),
        click("Insert Endnote"),
        keys(escape_text(p["note"])),
    ],
    touches=["notes"],
    guards=["notes", "text"],
)


def _headings(st: AppState) -> list[tuple[int, str]]:
    return [
        (STYLES[p.style].heading_level, p.text)
        for _, p in st.doc.paragraphs()
        if STYLES[p.style].heading_level and p.text
    ]


def _toc_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    tocs = [b for b in after.doc.blocks if isinstance(b, TOC)]
    ck.add(
        "toc",
        len(tocs) == 1 and tocs[0].entries == _headings(before),
        "there is no table of contents listing the headings",
    )
    ck.add(
        "at_top",
        bool(after.doc.blocks) and isinstance(after.doc.blocks[0], TOC),
        "the table of contents is not at the top",
    )


family(
    name="table_of_contents",
    tabs=["References"],
    description="Insert an automatic table of contents at the top",
    templates=["report"],
    phrasings=[
        "Insert an automatic table of contents at the top of the document.",
        "Add a table of contents built from the headings.",
        "Create an automatic table of contents at the beginning.",
    ],
    sample=lambda rng, st: {},
    steps=lambda p: [tab("References"), click("Table of Contents"), item("Automatic Table 1")],
    verify=_toc_verify,
    near_miss=lambda p: [tab("References"), click("Table of Contents"), item("Manual Table")],
    touches=["toc"],
    guards=["toc"],
    composable=False,
)
COMMENTS = (
    "Please double-check this",
    "Can we say more here?",
    "Nice point",
    "Is this still correct?",
    "Add a source",
    "Rephrase this",
)


def _comment_sample(rng: random.Random, st: AppState) -> dict[str, Any]:
    text = pick_phrase(rng, st, 2, 3)
    other = text
    while other == text:
        other = pick_phrase(rng, st, 2, 3)
    return {"text": text, "comment": rng.choice(COMMENTS), "other": other}


def _comment_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    old = {c.cid for c in before.doc.comments}
    new = [c for c in after.doc.comments if c.cid not in old]
    ck.add("one_comment", len(new) == 1, f"{len(new)} new comments instead of one")
    anchor = ""
    if new:
        bi = after.doc.para_index(new[0].pid)
        if bi is not None:
            anchor = after.doc.blocks[bi].text[new[0].start : new[0].end]  # type: ignore[union-attr]
    ck.add("anchor", anchor == p["text"], f"the comment is on '{anchor}', not on '{p['text']}'")
    ck.add(
        "comment_text",
        bool(new) and new[0].text == p["comment"],
        f"the comment does not say '{p['comment']}'",
    )


def _comment_steps(p: dict[str, Any], target: str | None = None) -> list[Any]:
    return [
        select(target or p["text"]),
        tab("Review"),
        click("New Comment"),
        set_text("Comment", "Edit", p["comment"]),
        click("Post comment"),
    ]


family(
    name="insert_comment",
    tabs=["Review"],
    description="Comment on a phrase",
    templates=TEXT_TEMPLATES,
    phrasings=[
        'Add a comment "{comment}" on the words "{text}".',
        'Comment on "{text}": {comment}.',
        'Insert a comment saying "{comment}" on "{text}".',
    ],
    sample=_comment_sample,
    steps=_comment_steps,
    verify=_comment_verify,
    near_miss=lambda p: _comment_steps(p, p["other"]),
    touches=["comments"],
    guards=["comments", "text"],
)


def _del_comments_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    ck.add("no_comments", not after.doc.comments, f"{len(after.doc.comments)} comments are left")


family(
    name="delete_all_comments",
    tabs=["Review"],
    description="Delete every comment in the document",
    templates=["comments"],
    phrasings=[
        "Delete all comments in the document.",
        "Remove every comment.",
        "Clear all the reviewers' comments.",
    ],
    sample=lambda rng, st: {"n": len(st.doc.comments)},
    steps=lambda p: [tab("Review"), click("Delete Comment"), menu_item("Delete All Comments in Document")],
    verify=_del_comments_verify,
    near_miss=lambda p: [tab("Review"), click("Next Comment"), click("Delete Comment"), menu_item("Delete")],
    touches=["comments"],
    guards=["comments"],
)


def _track_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    ck.add("track_changes", after.doc.track_changes, "Track Changes is off")


family(
    name="track_changes_on",
    tabs=["Review"],
    description="Turn on Track Changes",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "Turn on Track Changes.",
        "Start tracking changes in this document.",
        "Enable change tracking so edits are recorded.",
    ],
    sample=lambda rng, st: {},
    steps=lambda p: [tab("Review"), click("Track Changes")],
    verify=_track_verify,
    near_miss=lambda p: [tab("Review"), click("Show Markup")],
    touches=["tracking"],
    guards=["tracking"],
)


def _revision_text(st: AppState, accept: bool) -> str:
    drop = "del" if accept else "ins"
    return "\n".join(
        "".join(r.text for r in p.runs if not (r.rev or "").startswith(drop)) for _, p in st.doc.paragraphs()
    )


def _settle_family(name: str, accept: bool) -> None:
    verb, menu_name = ("Accept", "Accept All Changes") if accept else ("Reject", "Reject All Changes")
    other_menu, other_name = ("Reject", "Reject All Changes") if accept else ("Accept", "Accept All Changes")

    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        revs = sum(1 for _, x in after.doc.paragraphs() for r in x.runs if r.rev)
        ck.add("no_revisions", revs == 0, f"{revs} tracked changes are left")
        ck.add(
            "result_text",
            after.doc.text(final=False) == _revision_text(before, accept),
            f"the text is not what {verb.lower()}ing every change gives",
        )

    family(
        name=name,
        tabs=["Review"],
        description=f"{verb} all tracked changes",
        templates=["comments"],
        phrasings=[
            f"{verb} all tracked changes.",
            f"{verb} every change the reviewers made.",
            f"Use {verb} All Changes on this document.",
        ],
        sample=lambda rng, st: {},
        steps=lambda p: [tab("Review"), click(verb), menu_item(menu_name)],
        verify=verify,
        near_miss=lambda p: [tab("Review"), click(other_menu), menu_item(other_name)],
        touches=["revisions", "text"],
        guards=["revisions", "text"],
        composable=False,
    )


_settle_family("accept_all_changes", True)
_settle_family("reject_all_changes", False)


def _wc_verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
    check_text_intact(before, after, ck)
    answers = [n for s in after.summaries for n in number_in(s)]
    ck.add("answer", p["words"] in answers, f"no answer gives the word count {p['words']}")
    ck.add("only_answer", all(n == p["words"] for n in answers), "a wrong count was also given")


family(
    name="word_count",
    tabs=["Review"],
    dialogs=["Word Count"],
    description="Read the word count from the Word Count dialog and report it",
    templates=TEXT_TEMPLATES,
    phrasings=[
        "How many words does this document have?",
        "Count the words in the document and tell me.",
        "Use Word Count and report the number of words.",
    ],
    sample=lambda rng, st: {"words": st.doc.word_count()},
    steps=lambda p: [
        tab("Review"),
        click("Word Count"),
        summary(f"The document has {p['words']} words."),
        click("Close"),
    ],
    verify=_wc_verify,
    near_miss=lambda p: [
        tab("Review"),
        click("Word Count"),
        summary(f"The document has {p['words'] + 1} words."),
        click("Close"),
    ],
    touches=["answer"],
    guards=["text", "answer"],
    composable=False,
)
