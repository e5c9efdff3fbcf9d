"""The building blocks of task families: reference steps, the family record, plans, tab tracking.

A family's ``steps(params)`` lists every UI step including tab clicks; ``compress`` drops a tab
click when that tab is already open (Word opens on Home; inserting a table switches to Table
Design, a shape to Shape Format, a header to Header & Footer), so reference actions are minimal
and deterministic. ``describe`` turns a step into a plan sentence naming the Word control.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lam_rl.env.protocol import Decision
from lam_rl.env.wordsim.state import AppState

DOC = "Page 1 content"
CLICK_ARGS = {"button": "left", "double": False}
CONTEXT_TABS = ("Table Design", "Table Layout", "Shape Format")


# ------------------------------------------------------------------------------ steps


def click(name: str, ctype: str = "Button") -> Decision:
    return Decision(control_name=name, control_type=ctype, function="click_input", args=dict(CLICK_ARGS))


def tab(name: str) -> Decision:
    return click(name, "TabItem")


def item(name: str) -> Decision:
    """A gallery entry (ListItem) in an open menu."""
    return click(name, "ListItem")


def menu_item(name: str) -> Decision:
    return click(name, "MenuItem")


def radio(name: str) -> Decision:
    return click(name, "RadioButton")


def select(text: str) -> Decision:
    return Decision(control_name=DOC, control_type="Document", function="select_text", args={"text": text})


def select_table(n: int = 1) -> Decision:
    return Decision(control_name=DOC, control_type="Document", function="select_table", args={"number": n})


def set_text(name: str, ctype: str, value: str) -> Decision:
    return Decision(control_name=name, control_type=ctype, function="set_edit_text", args={"text": value})


def keys(k: str, name: str = DOC, ctype: str = "Document") -> Decision:
    return Decision(
        control_name=name,
        control_type=ctype,
        function="keyboard_input",
        args={"keys": k, "control_focus": True},
    )


def summary(text: str) -> Decision:
    """An answer. UFO's summary needs no control; it names the Document so that label/name
    grounding (which drops control-less actions) passes it through; the VM ignores the control."""
    return Decision(control_name=DOC, control_type="Document", function="summary", args={"text": text})


def _q(s: str, n: int = 40) -> str:
    s = s.replace("\n", " / ")
    return f"'{s[:n]}...'" if len(s) > n else f"'{s}'"


def describe(d: Decision) -> str:
    """One plan sentence for a reference step (without its number)."""
    name, ctype, fn, a = d.control_name, d.control_type, d.function, d.args
    if fn == "click_input":
        if ctype == "TabItem":
            return f"Open the {name} tab."
        if ctype == "ListItem" or ctype == "MenuItem":
            return f"Choose {_q(name or '')}."
        if ctype in ("RadioButton", "TreeItem"):
            return f"Select {_q(name or '')}."
        return f"Click {_q(name or '')}."
    if fn == "select_text":
        return f"Select the text {_q(a['text'])}."
    if fn == "select_table":
        return f"Select table {a['number']}."
    if fn == "set_edit_text":
        return f"Set {_q(name or '')} to {_q(a['text'])}."
    if fn == "keyboard_input":
        k = a["keys"]
        if any(c in k for c in "{^%+~"):
            return f"Press {k}."
        return f"Type {_q(k)}."
    if fn == "summary":
        return f"Answer: {a['text']}"
    return f"{fn} on {name}."


# ------------------------------------------------------------------------------ tab tracking


@dataclass
class TabTracker:
    """Which ribbon tab is open after each reference step (rules mirror WordSim; tests check them)."""

    tab: str = "Home"
    hf_prev: str | None = None
    dialog: str | None = None  # the dialog a step opened, for what its OK does

    OPENS_DIALOG = {"Insert Table...": "Insert Table"}
    TO_SHAPE = (
        "Rectangle",
        "Oval",
        "Isosceles Triangle",
        "Arrow: Right",
        "Star: 5 Points",
        "Line",
        "Rectangle: Rounded Corners",
        "Simple Text Box",
        "Austin Quote",
        "Banded Sidebar",
    )
    TO_HF = ("Edit Header", "Edit Footer", "Plain Number 1", "Plain Number 2", "Plain Number 3")

    def apply(self, d: Decision, menu: str | None) -> None:
        name, ctype, fn = d.control_name or "", d.control_type, d.function
        if fn == "click_input" and ctype == "TabItem":
            if name != "File":
                self.tab = name
            return
        if fn == "click_input" and name in self.OPENS_DIALOG:
            self.dialog = self.OPENS_DIALOG[name]
            return
        if fn == "click_input" and name == "OK" and self.dialog == "Insert Table":
            self.tab, self.dialog = "Table Design", None
            return
        if fn == "click_input" and ctype == "ListItem" and name in self.TO_SHAPE:
            self.tab = "Shape Format"
            return
        if fn == "click_input" and (
            name in self.TO_HF or (ctype == "ListItem" and menu in ("Header", "Footer"))
        ):
            if self.hf_prev is None:
                self.hf_prev = self.tab
            self.tab = "Header & Footer"
            return
        if fn == "click_input" and name == "Close Header and Footer":
            self.tab = self.hf_prev if self.hf_prev not in (None, "Header & Footer") else "Home"
            self.hf_prev = None
            return
        deletes_table = fn == "click_input" and name in ("Delete Table", "Delete Rows", "Delete Columns")
        deselects = deletes_table or fn == "select_text" or (fn == "click_input" and ctype == "Document")
        if deselects and self.tab in CONTEXT_TABS:
            self.tab = "Home"
        if fn == "select_table" and self.tab == "Shape Format":
            self.tab = "Home"
        if (
            fn == "click_input"
            and d.control_type == "Button"
            and _is_shape_name(name)
            and self.tab in CONTEXT_TABS[:2]
        ):
            self.tab = "Home"


def _is_shape_name(name: str) -> bool:
    return any(
        name.startswith(p) for p in ("Rectangle ", "Text Box ", "Chart ", "Oval ", "Isosceles Triangle ")
    )


MENU_OPENERS = {"Header": "Header", "Footer": "Footer"}


def compress(steps: Sequence[Decision], start_tab: str = "Home") -> list[Decision]:
    """Drop clicks on a tab that is already open."""
    tracker = TabTracker(tab=start_tab)
    out: list[Decision] = []
    menu: str | None = None
    for d in steps:
        if d.function == "click_input" and d.control_type == "TabItem" and d.control_name == tracker.tab:
            continue
        tracker.apply(d, menu)
        menu = MENU_OPENERS.get(d.control_name or "") if d.function == "click_input" else None
        out.append(d)
    return out


# ------------------------------------------------------------------------------ verification


class Checks:
    """Named sub-scores; the verdict is 'yes' only when every one is 1.0."""

    def __init__(self) -> None:
        self.scores: dict[str, float] = {}
        self.reasons: list[str] = []

    def add(self, name: str, ok: bool | float, why: str) -> None:
        score = float(ok)
        self.scores[name] = round(score, 3)
        if score < 1.0:
            self.reasons.append(why)

    def merge(self, other: Checks, prefix: str) -> None:
        for k, v in other.scores.items():
            self.scores[f"{prefix}{k}"] = v
        self.reasons.extend(f"{prefix}{r}" for r in other.reasons)

    @property
    def complete(self) -> bool:
        return all(v >= 1.0 for v in self.scores.values())


Verifier = Callable[[dict[str, Any], AppState, AppState, Checks], None]
Sampler = Callable[[random.Random, AppState], dict[str, Any]]
Setup = Callable[[dict[str, Any], AppState], None]


@dataclass(frozen=True)
class Family:
    name: str
    tabs: tuple[str, ...]
    description: str
    templates: tuple[str, ...]
    phrasings: tuple[str, ...]
    sample: Sampler
    steps: Callable[[dict[str, Any]], list[Decision]]
    verify: Verifier
    near_miss: Callable[[dict[str, Any]], list[Decision]]
    dialogs: tuple[str, ...] = ()
    setup: Setup | None = None
    touches: frozenset[str] = field(default_factory=frozenset)
    guards: frozenset[str] = field(default_factory=frozenset)
    composable: bool = True
    last: bool = False  # goes last in a composite task (saving, printing)

    def request(self, params: dict[str, Any], k: int) -> str:
        return self.phrasings[k % len(self.phrasings)].format(**params)


REGISTRY: dict[str, Family] = {}


def register(fam: Family) -> Family:
    if fam.name in REGISTRY:
        raise ValueError(f"duplicate task family {fam.name!r}")
    if len(fam.phrasings) < 3:
        raise ValueError(f"family {fam.name!r} needs at least 3 phrasings")
    REGISTRY[fam.name] = fam
    return fam


def family(**kw: Any) -> Family:
    kw["touches"] = frozenset(kw.get("touches", ()))
    kw["guards"] = frozenset(kw.get("guards", ())) | {"text"}  # every verifier checks the text is intact
    for key in ("tabs", "templates", "phrasings", "dialogs"):
        if key in kw:
            kw[key] = tuple(kw[key])
    return register(Family(**kw))


def neighbour(seq: Sequence[Any], value: Any, rng_key: str = "") -> Any:
    """The entry next to ``value`` in ``seq`` (a near-miss choice)."""
    i = list(seq).index(value)
    return seq[i + 1] if i + 1 < len(seq) else seq[i - 1]
