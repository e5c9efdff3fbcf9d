"""The paraphrase split: held-out tasks with their requests reworded in words training never uses.

A paraphrased task is the SAME instance (family, template, seed, parameters, plan, verifier) as the
plain held-out task; only its request differs. The rewording works on the family's phrasing
*template* ('Make "{text}" bold.'), never on the rendered request, so every value the verifier
needs (quoted phrases, colours, sizes, names) is filled in afterwards exactly as in the plain
request. Rules, chosen per task by a hash of its id (deterministic):

- **verb synonyms** for the leading verb ("Add" -> "Include", "Format" -> "Typeset", ...) and a
  few noun/phrase synonyms ("paragraph" -> "passage", "colour" spelling, "starting" -> "commencing");
- **passive forms** ('"{text}" ought to be made bold.', 'The table ought to be deleted.');
- **word order**: the quoted object fronted ('Regarding "{text}": make it bold.');
- **politeness forms** ("Could you ...?", "Kindly ...", "... if you would be so kind.").

Every word these rules add that carries the rewording is listed in ``VOCABULARY`` (and the fixed
phrases in ``PHRASES``); tests/env/test_tasks_paraphrase.py checks that none of them occurs in any
training request or in the task-plan phase's evolved requests, that every parameter value of the
plain request appears unchanged, and that the expert's verdict is the same on both.

    paraphrase(task) -> TaskSpec              # same instance, reworded request
    paraphrase_template(template, key) -> str # one phrasing template reworded
"""

from __future__ import annotations

import logging
import random
import re
from functools import lru_cache
from typing import Any

from lam_rl.env.protocol import TaskSpec
from lam_rl.env.tasks.base import REGISTRY
from lam_rl.env.tasks.composite import COMPOSITE

log = logging.getLogger(__name__)
SPLIT = "paraphrase"
SPLITS = ("plain", SPLIT)
"""The request wordings of the held-out evaluation (``eval.splits``)."""

# leading imperative verb -> its synonym (only verbs whose synonym fits every phrasing it starts)
VERBS = {
    "Add": "Include",
    "Apply": "Assign",
    "Bold": "Embolden",
    "Change": "Alter",
    "Create": "Produce",
    "Delete": "Eliminate",
    "Display": "Reveal",
    "Draw": "Sketch",
    "Enable": "Activate",
    "Format": "Typeset",
    "Grow": "Enlarge",
    "Increase": "Enlarge",
    "Insert": "Embed",
    "Move": "Nudge",
    "Put": "Position",
    "Remove": "Strip",
    "Set": "Adjust",
    "Show": "Reveal",
    "Split": "Divide",
    "Start": "Commence",
    "Type": "Key in",
    "Use": "Employ",
}
# lower-case words and phrases outside the values -> synonyms (whole words, first match wins)
NOUNS = (
    ("starts with", "commences with"),
    ("begins with", "commences with"),
    ("beginning with", "commencing with"),
    ("starting", "commencing"),
    ("beginning(?= \x00)", "commencing"),
    ("paragraphs", "passages"),
    ("paragraph", "passage"),
    ("colors", "colours"),
    ("color", "colour"),
    ("comments", "remarks"),
    ("comment", "remark"),
    ("the words", "the wording"),
)
# leading verb -> past participle, for the passive forms
PARTICIPLES = {
    "Add": "added",
    "Apply": "applied",
    "Change": "changed",
    "Color": "coloured",
    "Convert": "converted",
    "Create": "created",
    "Delete": "deleted",
    "Duplicate": "duplicated",
    "Erase": "erased",
    "Format": "formatted",
    "Highlight": "highlighted",
    "Insert": "inserted",
    "Italicize": "italicized",
    "Link": "linked",
    "Lower": "lowered",
    "Make": "made",
    "Mark": "marked",
    "Print": "printed",
    "Put": "put",
    "Raise": "raised",
    "Remove": "removed",
    "Set": "set",
    "Underline": "underlined",
    "Use": "used",
}
# verbs whose object may be a noun phrase in the passive (others only a quoted value: "Make X bold")
NP_PASSIVE = frozenset(
    {"Add", "Apply", "Change", "Create", "Delete", "Insert", "Print", "Remove", "Set", "Use"}
)
# a noun phrase ends before one of these (outside values)
NP_END = frozenset(
    "to in into with as at on for from across using under by after before below that saying "
    "which so built".split()
)
PREFIXES = ("Could you {x}?", "Would you kindly {x}?", "Kindly {x}.", "I'd appreciate it if you could {x}.")
SUFFIXES = ("{x}, if you would be so kind.", "{x}, whenever convenient.", "{x}, if possible, thanks.")
CONNECTORS = (" Once that is done, ", " Subsequently, ", " Additionally, ")
FRONTING = "Regarding {obj}: {verb} it{rest}"
PASSIVE = "{obj} ought to be {participle}{rest}"
QUESTION = "I wonder: {x}"
STATEMENT = "Kindly ensure that {x}"

PHRASES = ("could you", "would you kindly", "if you would be so kind", "whenever convenient",
           "ought to be", "i'd appreciate", "i wonder", "kindly ensure", "once that is done",
           "if possible, thanks")  # fmt: skip
VOCABULARY = frozenset(
    {v.split()[0].lower() for v in VERBS.values()}
    | {
        "attach",
        "commences",
        "commencing",
        "passage",
        "passages",
        "colour",
        "colours",
        "coloured",
        "remark",
        "remarks",
        "wording",
        "kindly",
        "appreciate",
        "convenient",
        "whenever",
        "ought",
        "regarding",
        "wonder",
        "ensure",
        "subsequently",
        "additionally",
        "thanks",
        "could",
        "would",
        "kind",
        "possible",
    }  # fmt: skip
)
"""The words that carry the rewording: none occurs in a training request (tested)."""

_SLOT = re.compile(r'"\{\w+\}(?:\.\.\.)?"|\{\w+\}(?:\.\.\.)?|"[^"]*"')


def _protect(template: str) -> tuple[str, list[str]]:
    """``template`` with each value slot (and quoted literal) replaced by \\x00<n>\\x00."""
    slots: list[str] = []

    def keep(m: re.Match[str]) -> str:
        slots.append(m.group(0))
        return f"\x00{len(slots) - 1}\x00"

    return _SLOT.sub(keep, template), slots


def _restore(text: str, slots: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: slots[int(m.group(1))], text)


def _lower_first(s: str) -> str:
    if len(s) > 1 and s[0].isupper() and (s[1].islower() or s[1] in " '"):
        return s[0].lower() + s[1:]
    return s


def _upper_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _nouns(text: str) -> str:
    for old, new in NOUNS:
        text = re.sub(rf"(?<![\w\x00]){old}(?![\w\x00])", new, text)
    return text


def _split_np(rest: str) -> tuple[str, str]:
    """(noun phrase, remainder) of the words after a verb: up to the first NP_END word."""
    words = rest.split(" ")
    for i, w in enumerate(words):
        if i > 0 and (w in NP_END or (w == "right" and i + 1 < len(words) and words[i + 1] in NP_END)):
            return " ".join(words[:i]), " " + " ".join(words[i:])
    return rest, ""


def _verb(verb: str, rest: str) -> str:
    if verb == "Add" and re.search(r"(?<![\w\x00])to(?![\w\x00])", rest):
        return "Attach"  # "add bullets to the lines" -> "attach bullets to the lines"
    return VERBS[verb]


def _forms(body: str, quoted: list[bool]) -> list[str]:
    """The structural rewordings of one imperative sentence ``body`` (slots protected, no final
    '.'); ``quoted[n]``: slot n is a quoted value ("{text}")."""
    verb, _, rest = body.partition(" ")
    out: list[str] = []
    if not rest:
        return out
    m = re.match(r"(\x00(\d+)\x00)(.*)$", rest)
    quoted_obj = m if m and quoted[int(m.group(2))] else None
    if verb in PARTICIPLES:
        if quoted_obj:
            obj, _, tail = quoted_obj.groups()
            out.append(PASSIVE.format(obj=obj, participle=PARTICIPLES[verb], rest=tail))
        elif verb in NP_PASSIVE:
            np_, tail = _split_np(rest)
            if 0 < len(np_.split()) <= 6 and "," not in np_:
                out.append(PASSIVE.format(obj=_upper_first(np_), participle=PARTICIPLES[verb], rest=tail))
    if quoted_obj and not quoted_obj.group(3).startswith(" ..."):
        obj, _, tail = quoted_obj.groups()
        out.append(FRONTING.format(obj=obj, verb=verb.lower(), rest=tail))
    if verb in VERBS:
        out.append(f"{_verb(verb, rest)} {rest}")
    return out


@lru_cache(maxsize=4096)
def _variants(template: str) -> tuple[str, ...]:
    return tuple(template_variants(template))


def template_variants(template: str) -> list[str]:
    """Every rewording the rules give ``template`` (a family phrasing with ``{field}`` slots), in a
    fixed order: ``paraphrase_template`` picks one, ``lam-rl act`` matches requests against all."""
    text, slots = _protect(template.strip())
    quoted = [s.startswith('"') for s in slots]
    end = text[-1] if text[-1] in ".?!" else ""
    body = text[: len(text) - len(end)] if end else text
    if body.startswith("Please "):
        body = _upper_first(body[len("Please ") :])
    intro = ""
    m = re.match(r"((?:In|On|At) [^,]+, )(.*)$", body)
    if m:  # "In the Font settings, give ..." -> the rules apply to what follows the comma
        intro, body = m.group(1), _upper_first(m.group(2))
    if end == "?":  # a question ("How many words ...?")
        outs = [QUESTION.format(x=_nouns(_lower_first(body))) + "?"]
    elif body.startswith("The "):  # a statement ("The paragraph ... should be centered.")
        outs = [STATEMENT.format(x=_nouns(_lower_first(body)).replace(" should be ", " is ")) + "."]
    else:
        outs = []
        for form in [_nouns(f) for f in _forms(body, quoted)] or [_nouns(body)]:
            outs += [suffix.format(x=form) for suffix in SUFFIXES]
            structural = form.startswith("Regarding ") or " ought to be " in form
            if not structural and not body.startswith("\x00"):  # "Could you <imperative>?"
                outs += [prefix.format(x=_lower_first(form)) for prefix in PREFIXES]
        if intro:
            outs = [intro + _lower_first(o) for o in outs]
    return [_restore(o, slots) for o in outs]


def paraphrase_template(template: str, key: str) -> str:
    """``template`` reworded by one of its variants, chosen by ``key`` (deterministic)."""
    return random.Random(f"{SPLIT}:{key}").choice(_variants(template))


def _phrasing_index(task: TaskSpec) -> int:
    fam = REGISTRY[task.family]
    for k in range(len(fam.phrasings)):
        if fam.request(task.params, k) == task.request:
            return k
    raise ValueError(f"task {task.task_id}: its request is none of family {task.family}'s phrasings")


def _part(family: str, params: dict, k: int, key: str, *, lower: bool = False) -> str:
    """One family's request reworded; ``lower``: its first letter in lower case (after a
    connector), unless the sentence opens on a value (a value is never changed)."""
    fam = REGISTRY[family]
    template = paraphrase_template(fam.phrasings[k % len(fam.phrasings)], key)
    if lower and not template.startswith(("{", '"{')):
        template = _lower_first(template)
    return template.format(**params)


def paraphrase(task: TaskSpec) -> TaskSpec:
    """The same task instance with its request reworded (see the module docstring).

    Raises ValueError for a task that is not a suite task (unknown family, a request that is none
    of its family's phrasings)."""
    if task.family == COMPOSITE:
        parts = task.params.get("parts") or []
        if not parts:
            raise ValueError(f"task {task.task_id}: a composite task without parts")
        rng = random.Random(f"{SPLIT}:{task.task_id}:join")
        request = ""
        for i, p in enumerate(parts):
            text = _part(p["family"], p["params"], int(p["phrasing"]), f"{task.task_id}:{i}", lower=i > 0)
            request = text if i == 0 else request.rstrip() + rng.choice(CONNECTORS) + text
    elif task.family in REGISTRY:
        request = _part(task.family, task.params, _phrasing_index(task), task.task_id)
    else:
        raise ValueError(f"task {task.task_id}: no family {task.family!r} to reword")
    return task.model_copy(update={"request": request})


def split_tasks(split: str, tasks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Held-out tasks (TaskSpec dicts by key) as ``split`` words them: 'plain' as they are,
    'paraphrase' the same instances reworded (a task that is not a suite task is left out, logged)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {list(SPLITS)}")
    if split == "plain":
        return tasks
    out: dict[str, dict[str, Any]] = {}
    for key, t in tasks.items():
        try:
            out[key] = paraphrase(TaskSpec.model_validate(t)).model_dump()
        except ValueError as e:
            log.warning("paraphrase split: task %s left out: %s", t.get("task_id"), e)
    return out


def split_gaps(by_split: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, float]]:
    """``split -> model -> online metrics`` -> ``model -> {<split>: task success, ..., "gap":
    paraphrase - plain}`` for the models evaluated on every split."""
    splits = list(by_split)
    if not splits:
        return {}
    models = [m for m in by_split[splits[0]] if all(m in by_split[s] for s in splits)]
    out: dict[str, dict[str, float]] = {}
    for m in models:
        row = {s: float(by_split[s][m]["tsr"]) for s in splits}
        if "plain" in row and SPLIT in row:
            row["gap"] = row[SPLIT] - row["plain"]
        out[m] = row
    return out
