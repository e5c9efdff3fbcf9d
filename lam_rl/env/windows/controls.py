"""Labelling, filtering and matching controls in a UI Automation tree, as UFO does.

``collect(roots, cfg)`` walks the application's windows depth-first in UIA's child order and keeps
the elements whose control type is in UFO's kept set (docs/paper.md: Button, Edit, TabItem, Document,
ListItem, MenuItem, ScrollBar, TreeItem, Hyperlink, ComboBox, RadioButton, DataItem, Spinner) and
that are visible and enabled (UFO's ``find_control_elements_in_descendants`` defaults). Labels are
1..n in that order (``order="traversal"``, as WordSim numbers its controls); ``order="ufo"`` lists
them grouped by control type in the order of the type list, as UFO's inspector returns them
(``window.descendants(control_type=t)`` for each ``t``). A control inside a dialog (a ``Window``
element below the main window) or a popup (a menu window outside it) carries that window's title.

``resolve(action, found, cfg)`` finds the control an action names: the label when it is in range;
else the name, exactly, then ignoring case and spacing (``control_type`` breaks ties, the active
dialog/menu wins), then by UFO's fuzzy match (``partial_ratio(control_text, name) >=
fuzzy_threshold``, as the dataflow executor's ``is_matched_controller``), the best score first.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from lam_rl.env.protocol import CONTROL_TYPES, Action, Control
from lam_rl.env.windows.config import WindowsAgentConfig

CONTAINERS = {"Window": True, "Menu": False}
"""Element types that start a new window for the controls below them (value: modal or not)."""


class ResolveError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Found:
    """A listed control: what the observation shows and the element to act on."""

    control: Control
    element: Any
    modal: bool = False  # inside a modal dialog
    enabled: bool = True
    automation_id: str = ""


def _info(el: Any, name: str, default: Any = "") -> Any:
    try:
        v = getattr(el.element_info, name)
    except Exception:  # a stale element (the UI changed under us)
        return default
    return default if v is None else v


def _rect(el: Any) -> tuple[int, int, int, int]:
    try:
        r = el.rectangle()
        return int(r.left), int(r.top), int(r.right), int(r.bottom)
    except Exception:
        return 0, 0, 0, 0


def _flag(fn: Any) -> bool:
    try:
        return bool(fn())
    except Exception:
        return False


def _children(el: Any) -> list[Any]:
    try:
        return list(el.children())
    except Exception:
        return []


def element_text(el: Any) -> str:
    """UFO's control text: the element's UIA name (``element_info.name``), else ``window_text()``."""
    name = _info(el, "name", "")
    if name:
        return str(name)
    try:
        return str(el.window_text() or "")
    except Exception:
        return ""


def collect(roots: list[Any], cfg: WindowsAgentConfig) -> list[Found]:
    """The labelled control list of the application's windows (main window first)."""
    if not roots:
        return []
    origin = _rect(roots[0])[:2] if cfg.relative_rects else (0, 0)
    kept = set(cfg.control_types)
    out: list[tuple[int, Found]] = []
    seen = 0
    max_elements = cfg.max_elements

    def walk(el: Any, window: str | None, modal: bool, depth: int) -> None:
        nonlocal seen
        seen += 1
        if seen > max_elements or depth > cfg.max_depth:
            return
        ctype = str(_info(el, "control_type", ""))
        if ctype in kept:
            visible = _flag(el.is_visible)
            enabled = _flag(el.is_enabled)
            if (visible or cfg.keep_invisible) and (enabled or cfg.keep_disabled):
                text = element_text(el)
                if text or not cfg.drop_unnamed:
                    x0, y0, x1, y1 = _rect(el)
                    ox, oy = origin
                    ctl = Control.model_construct(
                        label=0,
                        text=text,
                        type=ctype,
                        rect=(x0 - ox, y0 - oy, x1 - ox, y1 - oy),
                        window=window,
                    )
                    out.append((seen, Found(ctl, el, modal, enabled, str(_info(el, "automation_id", "")))))
        if ctype == "Document" and not cfg.descend_into_document:
            return
        for child in _children(el):
            cwin, cmodal = window, modal
            ctype_child = str(_info(child, "control_type", ""))
            if ctype_child in CONTAINERS:
                cwin = element_text(child) or cwin
                cmodal = CONTAINERS[ctype_child]
            walk(child, cwin, cmodal, depth + 1)

    for i, root in enumerate(roots):
        if i == 0:
            walk(root, None, False, 0)
        else:
            rtype = str(_info(root, "control_type", ""))
            walk(root, element_text(root) or None, CONTAINERS.get(rtype, False), 0)
    found = [f for _, f in out]
    if cfg.order == "ufo":
        rank = {t: k for k, t in enumerate(cfg.control_types)}
        found.sort(key=lambda f: rank[f.control.type])  # stable: traversal order within a type
    for k, f in enumerate(found, 1):
        f.control.label = k
    return found


def active_window(found: list[Found]) -> tuple[str | None, bool]:
    """(title, modal) of the top-most dialog or menu: the last window listed after the main one."""
    for f in reversed(found):
        if f.control.window is not None:
            return f.control.window, f.modal
    return None, False


# ------------------------------------------------------------------------------ matching


def _norm(s: str) -> str:
    return " ".join(s.split()).lower()


def partial_ratio(a: str, b: str) -> int:
    """fuzzywuzzy's ``fuzz.partial_ratio`` (0-100): the best ratio of the shorter string against any
    window of the longer one, aligned on the matching blocks (what UFO's executor thresholds)."""
    if not a or not b:
        return 0
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    m = SequenceMatcher(None, short, long_, autojunk=False)
    best = 0.0
    for i, j, _n in m.get_matching_blocks():
        start = max(0, j - i)
        window = long_[start : start + len(short)]
        r = SequenceMatcher(None, short, window, autojunk=False).ratio()
        if r > best:
            best = r
            if r > 0.995:
                break
    return round(100 * best)


def resolve(action: Action, found: list[Found], cfg: WindowsAgentConfig) -> Found | None:
    """The control ``action`` names (see the module docstring); None when it names none."""
    label = action.control_label
    if label is not None and 1 <= label <= len(found):
        return found[label - 1]
    name = action.control_name
    if name:
        ctype = action.control_type
        active, _ = active_window(found)

        def pick(cands: list[Found]) -> Found | None:
            if not cands:
                return None
            typed = [f for f in cands if f.control.type == ctype] if ctype else cands
            cands = typed or cands
            top = [f for f in cands if active and f.control.window == active]
            return (top or cands)[0]

        hit = pick([f for f in found if f.control.text == name]) or pick(
            [f for f in found if _norm(f.control.text) == _norm(name)]
        )
        if hit is None and cfg.fuzzy_threshold <= 100:
            scored = [(partial_ratio(f.control.text, name), f) for f in found if f.control.text]
            scored = [(s, f) for s, f in scored if s >= cfg.fuzzy_threshold]
            if scored:
                best = max(s for s, _ in scored)
                hit = pick([f for s, f in scored if s == best])
        if hit is not None:
            return hit
        raise ResolveError("unknown_control", f"no control named {name!r} in the current window")
    if label is not None:
        raise ResolveError("unknown_control", f"label {label} is out of range 1..{len(found)}")
    return None


__all__ = ["CONTROL_TYPES", "Found", "ResolveError", "active_window", "collect", "partial_ratio", "resolve"]
