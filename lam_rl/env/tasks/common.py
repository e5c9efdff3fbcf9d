"""Helpers the families share: choosing targets in a template document, and generic verifiers."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from lam_rl.env.tasks.base import Checks, Verifier
from lam_rl.env.wordsim.document import Document, Paragraph, count_text, style_fmt
from lam_rl.env.wordsim.state import AppState
from lam_rl.env.wordsim.templates import TEMPLATES

TEXT_TEMPLATES = TEMPLATES
PROSE_TEMPLATES = ("line", "essay", "table", "comments", "shape", "textbox", "report")


def body_paragraphs(doc: Document, styles: tuple[str, ...] | None = None) -> list[Paragraph]:
    return [p for _, p in doc.paragraphs() if p.text.strip() and (styles is None or p.style in styles)]


def unique(doc: Document, text: str) -> bool:
    return bool(text.strip()) and count_text(doc, text) == 1 and "\t" not in text


def pick_phrase(
    rng: random.Random, state: AppState, lo: int = 2, hi: int = 4, styles: tuple[str, ...] | None = None
) -> str:
    """A span of ``lo``-``hi`` words occurring exactly once in the body (no trailing punctuation)."""
    doc = state.doc
    paras = body_paragraphs(doc, styles) or body_paragraphs(doc)
    for _ in range(200):
        p = rng.choice(paras)
        words = p.text.split(" ")
        n = rng.randint(lo, hi)
        if len(words) < n:
            n = len(words)
        i = rng.randrange(0, len(words) - n + 1)
        phrase = " ".join(words[i : i + n]).strip(" .,;:!?")
        if len(phrase) >= 3 and unique(doc, phrase):
            return phrase
    raise ValueError("no unique phrase in the template")


def opening(p: Paragraph, doc: Document, words: int = 3) -> str:
    """The first words of a paragraph, enough to be unique in the document."""
    ws = p.text.split(" ")
    for n in range(min(words, len(ws)), len(ws) + 1):
        phrase = " ".join(ws[:n]).rstrip(" .,;:!?")
        if unique(doc, phrase):
            return phrase
    return p.text


def pick_paragraph(
    rng: random.Random, state: AppState, styles: tuple[str, ...] | None = None, min_chars: int = 1
) -> tuple[Paragraph, str]:
    paras = [p for p in body_paragraphs(state.doc, styles) if len(p.text) >= min_chars]
    if not paras:
        raise ValueError("no suitable paragraph in the template")
    p = rng.choice(paras)
    return p, opening(p, state.doc)


def _flat(doc: Document, attr: str) -> tuple[str, list[Any]]:
    """Body characters (non-empty paragraphs, each followed by '\\n') with the effective value of ``attr``."""
    chars: list[str] = []
    vals: list[Any] = []
    for _, p in doc.paragraphs():
        if not p.runs:
            continue
        base = style_fmt(p.style)
        for r in p.runs:
            v = getattr(r.fmt, attr)
            v = getattr(base, attr) if v is None else v
            chars.append(r.text)
            vals.extend([v] * len(r.text))
        chars.append("\n")
        vals.append(None)
    return "".join(chars), vals


def find_span(text: str, needle: str) -> tuple[int, int] | None:
    k = text.find(needle)
    if k < 0:
        k = text.lower().find(needle.lower())
    return (k, k + len(needle)) if k >= 0 else None


def body_signature(doc: Document) -> tuple[list[str], dict[int, list[str]]]:
    """Non-empty paragraph texts (deletions included) and each table's non-empty cells (row-major)
    by table id: adding empty paragraphs, rows or columns leaves the signature unchanged."""
    paras = ["".join(r.text for r in p.runs) for _, p in doc.paragraphs()]
    return [t for t in paras if t], {
        t.tid: [c.text for row in t.rows for c in row if c.text] for t in doc.tables()
    }


def check_text_intact(before: AppState, after: AppState, ck: Checks) -> bool:
    """The body text is unchanged: paragraphs (ignoring added empty ones) and surviving tables."""
    bp, bt = body_signature(before.doc)
    ap, at = body_signature(after.doc)
    ok = bp == ap and all(at[k] == v for k, v in bt.items() if k in at)
    ck.add("text_intact", ok, "the document text changed")
    return ok


def char_verifier(attr: str, want: Callable[[dict[str, Any]], Any], key: str = "text") -> Verifier:
    """The target text has ``attr == want(params)`` everywhere; nothing else changed that attribute."""

    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        target = p[key]
        bt, bv = _flat(before.doc, attr)
        at, av = _flat(after.doc, attr)
        intact = bt == at
        ck.add("text_intact", intact, "the document text changed")
        span = find_span(bt, target)
        value = want(p)
        if not intact or span is None:
            ck.add(attr, 0.0, f"cannot find '{target}' unchanged in the document")
            return
        a, b = span
        frac = sum(1 for i in range(a, b) if av[i] == value) / max(1, b - a)
        ck.add(attr, frac, f"'{target}' does not have {attr} = {value!r} (only {frac:.0%} of it)")
        stray = sum(1 for i in range(len(av)) if not a <= i < b and av[i] != bv[i])
        ck.add("only_target", stray == 0, f"{attr} also changed on {stray} characters outside '{target}'")

    return verify


def para_verifier(attr: str, want: Callable[[dict[str, Any]], Any], key: str = "text") -> Verifier:
    """The paragraph(s) containing the target have ``attr == want``; other paragraphs keep theirs."""

    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        targets = p[key] if isinstance(p[key], list) else [p[key]]
        bps = [x for _, x in before.doc.paragraphs()]
        aps = [x for _, x in after.doc.paragraphs()]
        same = [x.text for x in bps] == [x.text for x in aps]
        ck.add("text_intact", same, "paragraphs were added, removed or edited")
        if not same:
            ck.add(attr, 0.0, "cannot match paragraphs before and after")
            return
        idx = {k for t in targets for k in _match_paras(bps, t)}
        value = want(p)
        got = [getattr(aps[k], attr) for k in sorted(idx)]
        ok = bool(idx) and all(_eq(g, value) for g in got)
        ck.add(attr, ok, f"the target paragraph has {attr} = {got[:1]} instead of {value!r}")
        stray = [
            k
            for k in range(len(aps))
            if k not in idx and not _eq(getattr(aps[k], attr), getattr(bps[k], attr))
        ]
        ck.add("only_target", not stray, f"{attr} also changed on {len(stray)} other paragraph(s)")

    return verify


def _match_paras(paras: list[Paragraph], target: str) -> list[int]:
    """Paragraphs the target names: equal text, else those starting with it, else the first containing it."""
    low = target.lower()
    exact = [k for k, x in enumerate(paras) if x.text == target]
    if exact:
        return exact
    starts = [k for k, x in enumerate(paras) if x.text.lower().startswith(low)]
    if starts:
        return starts
    return [k for k, x in enumerate(paras) if low in x.text.lower()][:1]


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-6
    return a == b


def doc_field_verifier(
    get: Callable[[AppState], Any], want: Callable[[dict[str, Any]], Any], name: str, intact: bool = True
) -> Verifier:
    """A document/app field has the wanted value (and the text is untouched)."""

    def verify(p: dict[str, Any], before: AppState, after: AppState, ck: Checks) -> None:
        if intact:
            check_text_intact(before, after, ck)
        got, value = get(after), want(p)
        ck.add(name, _eq(got, value), f"{name} is {got!r}, expected {value!r}")

    return verify


def number_in(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]
