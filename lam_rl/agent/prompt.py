"""The prompt in the paper's Appendix C shape, a UFO-like control filter, and the target JSON.

    <Available Control Item:>
    [1] Home (TabItem)
    [14] Bold (Button)
    <User Request:> Make "Quarterly results" bold.
    <Previous Actions:>
    1. Home (TabItem) click_input
    <Previous Plans:>
    (2) Select the text. (3) Click Bold.
    <Document:> ...

The filter keeps the tab row, an open dialog's or menu's controls and the Document control, plus the
``top_k`` controls most relevant to the request, the previous plan and recent actions (word
overlap, as UFO's control filter ranks by relevance). Labels stay those of the full observation.
A token budget trims the document summary first, then history, then plan, then low-relevance
controls; the request is never cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lam_rl.agent.args import ArgCandidates, arg_candidates, label_args
from lam_rl.agent.config import AgentConfig
from lam_rl.env.protocol import Control, Decision, Observation

ALWAYS_KEEP_TYPES = ("TabItem", "Document")
KEEP_ARGS = 3
"""Candidate argument lines the token budget trims last (the request's quoted phrases come first)."""
_STOP = set(
    "a an the to of in on and or for with by at as is it this that be from into then than its your my "
    "please make set change turn add apply use click select document text word all".split()
)


_SUFFIXES = ("ation", "ings", "ing", "ied", "ies", "ed", "es", "ly", "s", "e")


def stem(word: str) -> str:
    """A light suffix stripper so 'justified'/'justify', 'centered'/'center', 'bullets'/'bullet' meet."""
    for suf in _SUFFIXES:
        if len(word) > len(suf) + 2 and word.endswith(suf):
            word = word[: -len(suf)] + ("i" if suf in ("ied", "ies") else "")
            break
    return word[:-1] + "i" if word.endswith("y") and len(word) > 3 else word


def _words(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and len(w) >= 2}


@dataclass
class HistoryItem:
    """One previous step as the prompt shows it."""

    control_name: str | None
    control_type: str | None
    function: str
    args: dict = field(default_factory=dict)

    def render(self, i: int) -> str:
        target = f"{self.control_name} ({self.control_type})" if self.control_type else f"{self.control_name}"
        args = f" {json.dumps(self.args, separators=(',', ':'), ensure_ascii=False)}" if self.args else ""
        return f"{i}. {target} {self.function}{args}"


def relevance(control: Control, query: set[str], query_text: str) -> float:
    words = _words(control.text)
    if not words:
        return 0.0
    score = len(words & query) / len(words)
    if control.text and control.text.lower() in query_text:
        score += 1.0
    return score


def in_popup(c: Control) -> bool:
    """Whether ``c`` belongs to an open dialog or menu (agents name that window in ``Control.window``)."""
    return c.window is not None


def filter_controls(
    obs: Observation, query_text: str, top_k: int, keep_dialog: bool = True
) -> list[tuple[Control, float]]:
    """The controls a prompt shows, in traversal (label) order, with their relevance scores."""
    if top_k <= 0:
        return [(c, 1.0) for c in obs.controls]
    q = _words(query_text)
    qt = query_text.lower()
    scored = [(c, relevance(c, q, qt)) for c in obs.controls]
    keep: dict[int, float] = {}
    for c, s in scored:
        if c.type in ALWAYS_KEEP_TYPES or (keep_dialog and in_popup(c)):
            keep[c.label] = s + 10.0
    ranked = sorted(
        (x for x in scored if x[0].label not in keep and x[1] > 0), key=lambda x: (-x[1], x[0].label)
    )
    for c, s in ranked[:top_k]:
        keep[c.label] = s
    return [(c, keep[c.label]) for c in obs.controls if c.label in keep]


@dataclass
class Prompt:
    text: str
    controls: list[Control]
    tokens: int | None = None
    args: ArgCandidates | None = None
    """The candidate arguments (``agent.arg_labels``; None when off): every label resolves against
    the whole list, also when the token budget left some lines out of the prompt."""


class PromptBuilder:
    """Builds prompts under a token budget; ``count_tokens`` is the tokenizer's length function."""

    def __init__(self, cfg: AgentConfig, count_tokens: Callable[[str], int] | None = None) -> None:
        self.cfg = cfg
        self.count_tokens = count_tokens

    def build(
        self,
        obs: Observation,
        request: str,
        history: Sequence[HistoryItem] = (),
        plan: Sequence[str] = (),
    ) -> Prompt:
        cfg = self.cfg
        hist = list(history)[-cfg.max_history :] if cfg.max_history else []
        plan = list(plan)[: cfg.plan_steps] if cfg.plan_steps else []
        query = " ".join([request, *plan, *(h.control_name or "" for h in hist[-1:])])
        controls = filter_controls(obs, query, cfg.top_k_controls, cfg.keep_dialog)
        cands = arg_candidates(request, obs) if cfg.arg_labels else None
        shown = len(cands.texts) if cands is not None else 0
        canvas_chars = cfg.canvas_chars
        while True:
            lines = cands.lines()[:shown] if cands is not None else None
            text = self._render(
                controls, request, hist, plan, obs.canvas[:canvas_chars] if canvas_chars else "", lines
            )
            if self.count_tokens is None:
                return Prompt(text, [c for c, _ in controls], None, cands)
            n = self.count_tokens(text)
            if n <= cfg.max_prompt_tokens:
                return Prompt(text, [c for c, _ in controls], n, cands)
            if canvas_chars > 0:
                canvas_chars = canvas_chars // 2 if canvas_chars > 16 else 0
            elif shown > KEEP_ARGS:
                shown -= 1
            elif len(hist) > 1:
                hist = hist[1:]
            elif len(plan) > 1:
                plan = plan[:-1]
            elif len(controls) > 1 and min(s for _, s in controls) < 10.0:
                worst = min(range(len(controls)), key=lambda i: (controls[i][1], -controls[i][0].label))
                controls = controls[:worst] + controls[worst + 1 :]
            elif hist or plan:
                hist, plan = [], []
            elif shown > 0:
                shown -= 1
            else:  # only the request and must-keep controls are left: return it over budget
                return Prompt(text, [c for c, _ in controls], n, cands)

    @staticmethod
    def _render(
        controls: Sequence[tuple[Control, float]],
        request: str,
        history: Sequence[HistoryItem],
        plan: Sequence[str],
        canvas: str,
        arg_lines: Sequence[str] | None = None,
    ) -> str:
        lines = ["<Available Control Item:>"]
        lines += [f"[{c.label}] {c.text} ({c.type})" for c, _ in controls]
        lines.append(f"<User Request:> {request}")
        if arg_lines is not None:
            lines.append("<Arguments:>")
            lines += list(arg_lines) or ["None"]
        lines.append("<Previous Actions:>")
        lines += [h.render(i + 1) for i, h in enumerate(history)] or ["None"]
        lines.append("<Previous Plans:>")
        lines.append(" ".join(plan) if plan else "None")
        if canvas:
            lines.append(f"<Document:> {canvas}")
        return "\n".join(lines)


def format_target(decision: Decision, cfg: AgentConfig, args: ArgCandidates | None = None) -> str:
    """The training target: the decision as compact JSON in the paper's key order, trimmed; with
    candidate arguments (``agent.arg_labels``) an argument whose text is a candidate is its label."""
    thought = " ".join(decision.thought.split()[: cfg.thought_words]) if cfg.thought_words else ""
    obj = {
        "thought": thought,
        "control_label": decision.control_label,
        "control_name": decision.control_name,
        "function": decision.function,
        "args": label_args(decision.function, decision.args, args),
        "status": decision.status,
        "plan": list(decision.plan)[: cfg.plan_steps],
    }
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
