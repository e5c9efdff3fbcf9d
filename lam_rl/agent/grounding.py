"""Ground a decision's control against the live observation.

Labels are renumbered on every observation and tiny models copy names far better than numbers
(docs/rollouts.md, "Grounding"), so, as UFO's executor matches control text: a label whose control
carries the predicted name wins; otherwise the name is matched (exact, then case-insensitive, then fuzzy);
a bare label is used only when no name was given.

With candidate arguments (``agent.arg_labels``, lam_rl/agent/args.py) an argument given as a label
(``{"text": "@2"}``) is resolved to the candidate's text first; the action carries the text and
``Grounded.arg_labels`` the labels the answer used. A label that names no candidate makes the
answer invalid (``Grounded.invalid``): the caller counts it as an invalid action.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from pydantic import ValidationError

from lam_rl.agent.args import ArgCandidates, resolve_args
from lam_rl.env.protocol import Action, Control, Decision, Observation, clip

FUZZY_CUTOFF = 0.75


@dataclass
class Grounded:
    action: Action | None
    control: Control | None
    how: str  # label | name | fuzzy | label-only | none
    error: str | None = None
    args: dict = field(default_factory=dict)
    """The decision's arguments with labels resolved to their text."""
    arg_labels: dict[str, str] = field(default_factory=dict)
    """Argument name -> the label the answer gave for it (empty: every argument literal)."""
    invalid: bool = False
    """The answer named an argument label that is no candidate: an invalid action, not a VM step."""


def _pick(cands: list[Control], label: int | None) -> Control:
    if label is not None:  # prefer the candidate nearest the predicted label
        return min(cands, key=lambda c: abs(c.label - label))
    return cands[0]


def match_name(name: str, controls: list[Control], label: int | None = None) -> tuple[Control | None, str]:
    exact = [c for c in controls if c.text == name]
    if exact:
        return _pick(exact, label), "name"
    low = name.strip().lower()
    loose = [c for c in controls if c.text.strip().lower() == low]
    if loose:
        return _pick(loose, label), "name"
    texts = sorted({c.text.strip().lower() for c in controls if c.text})
    close = difflib.get_close_matches(low, texts, n=1, cutoff=FUZZY_CUTOFF)
    if close:
        return _pick([c for c in controls if c.text.strip().lower() == close[0]], label), "fuzzy"
    return None, "none"


def ground(decision: Decision, obs: Observation, args: ArgCandidates | None = None) -> Grounded:
    """The VM action for ``decision`` on ``obs`` (None when it is a bare FINISH or cannot ground);
    ``args``: the candidate arguments the prompt listed (None: arguments are literal)."""
    resolved, labels, why = resolve_args(dict(decision.args), args, decision.function)
    if why is not None:
        return Grounded(None, None, "none", why, dict(decision.args), invalid=True)
    if not decision.function:
        return Grounded(None, None, "none", args=resolved, arg_labels=labels)
    by_label = {c.label: c for c in obs.controls}
    label, name = decision.control_label, decision.control_name
    control: Control | None = None
    how = "none"
    if name and label in by_label and by_label[label].text == name:
        control, how = by_label[label], "label"
    elif name:
        control, how = match_name(name, obs.controls, label)
    elif label is not None and label in by_label:
        control, how = by_label[label], "label-only"
    if control is None:
        what = f"name {clip(repr(name), 80)}" if name else f"label {label}"
        error = f"no control matches {what} in the current observation"
        return Grounded(None, None, "none", error, resolved, labels)
    try:
        action = Action(
            control_label=control.label,
            control_name=control.text,
            function=decision.function,
            args=resolved,
        )
    except ValidationError as e:  # a decision built without parse_decision's checks
        return Grounded(None, control, "none", f"not a valid action: {clip(str(e), 200)}", resolved, labels)
    return Grounded(action, control, how, None, resolved, labels)
