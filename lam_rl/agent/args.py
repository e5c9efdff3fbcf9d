"""Labelled candidate arguments: the argument counterpart of control labels (``agent.arg_labels``).

A tiny model picks a labelled control in minutes but does not learn to copy free text out of the
request, so with ``agent.arg_labels`` on the prompt lists candidate arguments under labels,

    <Arguments:>
    @1 Quarterly results
    @2 18
    @3 18 pt
    @4 Project Plan

and an answer may give a label wherever it gives an argument's text (``{"text": "@1"}``). The
candidates, in this order, each kept once (first occurrence wins):

1. the request's quoted phrases ("...", '...', curly quotes), a trailing ``...`` dropped (requests
   quote a paragraph's opening that way), in order of appearance;
2. the values the request names, in order of appearance: URLs, numbers (the bare number, then the
   number in the unit the request gives it, as Word's fields take it: ``18 pt``, ``150%``,
   ``1.5"``, ``2 cm``), and Word's own names it mentions (fonts, colours, styles, font styles,
   table styles), plus the texts of list/gallery items on screen that it mentions, written as
   Word writes them (``in italic`` -> ``Italic``);
3. the opening words of the document's paragraphs, as the document summary lists them.

The list depends on the request and the observation only, so the same state always gets the same
labels. It is bounded: ``MAX_QUOTES``/``MAX_VALUES``/``MAX_OPENINGS`` per group and ``MAX_ARGS`` in
all, each at most ``MAX_ARG_CHARS`` characters (a longer quoted phrase is left out: the model
writes it literally), so the section costs a bounded share of a tiny model's prompt.

A label that names no candidate makes the answer invalid (counted, never raised). A string that is
not of the label form ``@<n>`` is literal text, so with the switch on a literal ``@3`` cannot be
typed; with it off nothing is resolved.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lam_rl.env.protocol import ARGS
from lam_rl.env.wordsim.ribbon import FONTS, GALLERY_STYLES, HIGHLIGHT_COLORS, STANDARD_COLORS, TABLE_STYLES

MAX_QUOTES = 4
MAX_VALUES = 6
MAX_OPENINGS = 4
MAX_ARGS = 12
"""At most this many candidates: a line costs 4-12 tokens of the tiny tokenizer, so the section
stays under about a third of the tiny config's 256-token prompt (docs/rollouts.md)."""
MAX_ARG_CHARS = 60
OPENING_WORDS = 4
LABEL_RE = re.compile(r"@([1-9][0-9]{0,2})")
LABELLED_ARGS: dict[str, tuple[str, ...]] = {
    "set_edit_text": ("text",),
    "select_text": ("text",),
    "summary": ("text",),
    "keyboard_input": ("keys",),
    "insert_table": ("rows", "columns"),
    "select_table": ("number",),
}
"""The arguments a training target writes as a label when its value is a candidate."""

FONT_STYLES = ("Regular", "Bold", "Italic", "Bold Italic")
WORD_NAMES = tuple(
    dict.fromkeys((*FONTS, *STANDARD_COLORS, *HIGHLIGHT_COLORS, *GALLERY_STYLES, *TABLE_STYLES, *FONT_STYLES))
)
"""Word's names a request may mention as a value (as Word writes them)."""
_ITEM_TYPES = ("ListItem", "MenuItem", "RadioButton", "TreeItem", "DataItem")
_QUOTES = re.compile(r'"([^"]+)"|\u201c([^\u201d]+)\u201d|(?<![\w\'])\'([^\']+?)\'(?![\w])')
_URL = re.compile(r"https?://[^\s\"'<>]+")
_NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)(?:\s*(%|percent\b|pt\b|points?\b|\"|inch(?:es)?\b|cm\b|mm\b))?",
    re.IGNORECASE,
)
_UNIT_FORM = {"%": "{}%", "percent": "{}%", "pt": "{} pt", "point": "{} pt", "points": "{} pt", '"': '{}"'}
_UNIT_FORM |= {"inch": '{}"', "inches": '{}"', "cm": "{} cm", "mm": "{} mm"}
_PARA = re.compile(r"^p\d+(?: [^:]{1,40})?: (.*)$")
_MARKUP = re.compile(r"</?(?:ins|del)?>")
_NAMES_RE: re.Pattern[str] | None = None


def _names_re() -> re.Pattern[str]:
    global _NAMES_RE
    if _NAMES_RE is None:
        alts = sorted(WORD_NAMES, key=len, reverse=True)
        _NAMES_RE = re.compile(
            r"(?<!\w)(?:" + "|".join(re.escape(n) for n in alts) + r")(?!\w)", re.IGNORECASE
        )
    return _NAMES_RE


def _usable(text: str) -> bool:
    """One line of printable text, short enough to list."""
    return (
        0 < len(text) <= MAX_ARG_CHARS
        and text == text.strip()
        and not any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in text)
    )


@dataclass(frozen=True)
class ArgCandidates:
    """The candidate arguments of one state; ``texts[i]`` has the label ``@{i + 1}``."""

    texts: tuple[str, ...] = ()

    def label(self, i: int) -> str:
        return f"@{i + 1}"

    def lines(self) -> list[str]:
        return [f"{self.label(i)} {t}" for i, t in enumerate(self.texts)]

    def label_of(self, value: Any) -> str | None:
        """The label of a candidate whose text is exactly ``value`` (ints as their decimal text)."""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            return None
        text = str(value)
        for i, t in enumerate(self.texts):
            if t == text:
                return self.label(i)
        return None

    def text_of(self, label: str) -> str | None:
        m = LABEL_RE.fullmatch(label)
        if m is None:
            return None
        i = int(m.group(1)) - 1
        return self.texts[i] if i < len(self.texts) else None


def is_label(value: Any) -> bool:
    return isinstance(value, str) and LABEL_RE.fullmatch(value) is not None


def _quotes(request: str) -> list[tuple[int, str]]:
    out = []
    for m in _QUOTES.finditer(request):
        text = next(g for g in m.groups() if g is not None).strip()
        if text.endswith("...") or text.endswith("\u2026"):
            text = text.rstrip(".\u2026").rstrip()
        out.append((m.start(), text))
    return out


def _values(request: str, obs_items: Iterable[str]) -> list[tuple[int, str]]:
    # values are looked for outside quoted phrases (a number inside a quote is part of the phrase)
    blank = _QUOTES.sub(lambda m: " " * (m.end() - m.start()), request)
    found: list[tuple[int, str]] = []
    for m in _URL.finditer(blank):
        found.append((m.start(), m.group(0).rstrip(".,;:!?)")))
    blank = _URL.sub(lambda m: " " * (m.end() - m.start()), blank)
    canonical = {n.lower(): n for n in WORD_NAMES}
    for m in _names_re().finditer(blank):
        found.append((m.start(), canonical[m.group(0).lower()]))
    blank = _names_re().sub(lambda m: " " * (m.end() - m.start()), blank)  # "Heading 1" is no number
    for m in _NUMBER.finditer(blank):
        num, unit = m.group(1), (m.group(2) or "").lower()
        found.append((m.start(), num))
        if unit:
            found.append((m.start() + 0.5, _UNIT_FORM[unit].format(num)))
    low = blank.lower()
    for item in obs_items:
        k = low.find(item.lower()) if item else -1
        if (
            k >= 0
            and (k == 0 or not low[k - 1].isalnum())
            and not low[k + len(item) : k + len(item) + 1].isalnum()
        ):
            found.append((k + 0.25, item))
    found.sort(key=lambda x: x[0])
    return found


def _openings(canvas: str) -> list[str]:
    out = []
    for line in canvas.splitlines():
        m = _PARA.match(line)
        if m is None:
            continue
        words = _MARKUP.sub("", m.group(1)).split()
        text = " ".join(words[:OPENING_WORDS]).rstrip(".,;:")
        while len(text) > MAX_ARG_CHARS and " " in text:
            text = text.rsplit(" ", 1)[0]
        out.append(text)
    return out


def arg_candidates(request: str, obs) -> ArgCandidates:
    """The labelled candidate arguments for ``request`` on ``obs`` (an Observation), in label order."""
    request = request if isinstance(request, str) else ""
    items = [c.text for c in obs.controls if c.type in _ITEM_TYPES and c.text and len(c.text) >= 2]
    groups = (
        ([t for _, t in _quotes(request)], MAX_QUOTES),
        ([t for _, t in _values(request, items)], MAX_VALUES),
        (_openings(obs.canvas or ""), MAX_OPENINGS),
    )
    seen: dict[str, None] = {}
    for texts, cap in groups:
        n = 0
        for t in texts:
            if n >= cap or len(seen) >= MAX_ARGS:
                break
            if _usable(t) and t not in seen:
                seen[t] = None
                n += 1
    return ArgCandidates(tuple(seen))


def resolve_args(
    args: dict[str, Any], cands: ArgCandidates | None, function: str = ""
) -> tuple[dict[str, Any], dict[str, str], str | None]:
    """``args`` with every label replaced by its candidate's text: (resolved, {arg: label}, error).

    ``cands`` None (the switch off) leaves everything literal. A label naming no candidate is an
    error; an integer argument (``insert_table`` rows...) given a label gets the candidate as an int.
    """
    if cands is None:
        return dict(args), {}, None
    spec = ARGS.get(function, {})
    out: dict[str, Any] = {}
    used: dict[str, str] = {}
    for k, v in args.items():
        if not is_label(v):
            out[k] = v
            continue
        text = cands.text_of(v)
        if text is None:
            n = len(cands.texts)
            return dict(args), {}, f"argument {k!r}: label {v} names no candidate (the prompt lists {n})"
        if k in spec and int in spec[k][0] and str not in spec[k][0]:
            if not re.fullmatch(r"-?\d{1,9}", text):
                return dict(args), {}, f"argument {k!r}: label {v} is {text!r}, not a whole number"
            out[k] = int(text)
        else:
            out[k] = text
        used[k] = v
    return out, used, None


def label_args(function: str, args: dict[str, Any], cands: ArgCandidates | None) -> dict[str, Any]:
    """A training target's arguments: each labelled argument whose value is a candidate as its label."""
    if cands is None or not cands.texts:
        return dict(args)
    keys = LABELLED_ARGS.get(function, ())
    out = dict(args)
    for k in keys:
        if k in out:
            label = cands.label_of(out[k])
            if label is not None:
                out[k] = label
    return out


def uses_label(function: str, args: dict[str, Any]) -> bool:
    return any(is_label(args.get(k)) for k in LABELLED_ARGS.get(function, ()))


_ARG_LINE = re.compile(r"@([1-9][0-9]{0,2}) (.+)")


def candidates_in_prompt(prompt: str) -> ArgCandidates | None:
    """The candidates a lam-rl prompt lists in its ``<Arguments:>`` section (None: it has none), for
    clients of the OpenAI-compatible endpoint that send lam-rl prompts and want the resolved text.
    The token budget trims the list from its end, so the lines shown are labels @1..@k in order."""
    if not isinstance(prompt, str) or "<Arguments:>\n" not in prompt:
        return None
    texts: list[str] = []
    for line in prompt.split("<Arguments:>\n", 1)[1].split("\n"):
        m = _ARG_LINE.fullmatch(line)
        if m is None or int(m.group(1)) != len(texts) + 1:
            break
        texts.append(m.group(2))
    return ArgCandidates(tuple(texts))


def resolve_answer(prompt: str, answer: str):
    """An endpoint answer as a Decision with its argument labels resolved against ``prompt``'s list:
    ``(decision, None)``, or ``(None, why)`` when it does not parse or a label names no candidate."""
    from lam_rl.agent.parse import parse_decision

    parsed = parse_decision(answer)
    if parsed.decision is None:
        return None, parsed.error
    d = parsed.decision
    args, _, why = resolve_args(dict(d.args), candidates_in_prompt(prompt), d.function)
    if why is not None:
        return None, why
    return d.model_copy(update={"args": args}), None
