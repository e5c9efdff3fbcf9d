"""A user's own request matched against the task families' request forms, so that a verifier can
judge what a model did with it (``lam-rl act``).

Each family phrasing (and its paraphrase-split rewordings) becomes a pattern: the literal words
match case-insensitively with any quote style (" ' “ ” ‘ ’) and any final punctuation, each
``{field}`` slot captures the value. A match gives the family and the values the request states;
the rest of the family's parameters (a colour's menu name for "red", a derived size) come from the
family's own instances that agree with every stated value. A task is only offered when it can be
judged: the family's reference steps, played in WordSim on the chosen document, must pass its
verifier (so the phrase to format exists in that document, the values are ones Word offers).

    match_request(request, template=None, seed=None) -> RequestMatch
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lam_rl.env.protocol import TaskSpec
from lam_rl.env.tasks import get_family, initial_state, make_task, plan_for, reference_actions, verify
from lam_rl.env.tasks.base import REGISTRY
from lam_rl.env.tasks.paraphrase import template_variants

QUOTES = "\"'\u201c\u201d\u2018\u2019"
FREE_FORM = "user-request"
"""The family of a request that matches no family: WordSim has no verifier for it."""
SAMPLES = 160  # instances of a matched family looked at to complete its parameters
OPEN_VALUES = 40  # a field with more distinct values than this over SAMPLES is free text
SEEDS = 40  # template seeds tried per template when looking for a document that fits


@dataclass
class RequestMatch:
    """What a request matched: ``task`` is what the VM is reset to (always set); ``family`` is None
    when no family's request form matched; ``verifiable`` says whether the verifier applies."""

    task: TaskSpec
    family: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    verifiable: bool = False
    why: str = ""


def _pattern(template: str) -> re.Pattern[str]:
    out: list[str] = []
    seen: set[str] = set()
    body = template.strip().rstrip(".?!")
    for part in re.split(r"(\{\w+\})", body):
        m = re.fullmatch(r"\{(\w+)\}", part)
        if m:
            name = m.group(1)
            out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
            continue
        for ch in part:
            if ch in QUOTES:
                out.append(f"[{QUOTES}]")
            elif ch.isspace():
                out.append(r"\s+")
            else:
                out.append(re.escape(ch))
    return re.compile("".join(out) + r"\s*[.?!]*", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    pats: list[tuple[str, re.Pattern[str]]] = []
    for fam in REGISTRY.values():
        forms = list(fam.phrasings)
        for p in fam.phrasings:  # the paraphrase split's rewordings are requests too
            forms += template_variants(p)
        for form in dict.fromkeys(forms):
            pats.append((fam.name, _pattern(form)))
    return pats


@lru_cache(maxsize=128)
def _instances(family: str) -> list[TaskSpec]:
    return [make_task(family, s) for s in range(SAMPLES)]


def _closed(family: str, values: dict[str, str]) -> set[str] | None:
    """The stated fields whose values come from a fixed set (colours, sizes, counts), or None when
    the family has no such field (the request does not fit its parameters)."""
    insts = [t.params for t in _instances(family)]
    keys = set().union(*(p.keys() for p in insts)) if insts else set()
    if not set(values) <= keys:
        return None
    return {k for k in values if len({str(p.get(k)) for p in insts}) <= OPEN_VALUES}


def _agrees(params: dict[str, Any], values: dict[str, str], keys: set[str]) -> bool:
    return all(str(params.get(k)).lower() == values[k].strip().lower() for k in keys)


def _complete(family: str, values: dict[str, str], closed: set[str]) -> list[dict[str, Any]]:
    """Full parameter sets of ``family`` agreeing with the stated ``values``: closed-valued fields
    matched case-insensitively against the family's instances, free text taken as stated."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for t in _instances(family):
        if _agrees(t.params, values, closed):
            params = dict(t.params) | {k: v.strip() for k, v in values.items() if k not in closed}
            key = repr(sorted(params.items()))
            if key not in seen:
                seen.add(key)
                out.append(params)
    return out


def _sampled(family: str, template: str, seed: int, values: dict[str, str]) -> list[dict[str, Any]]:
    """Parameter sets the family samples on this very document that state ``values`` (so values the
    document decides, a word count or a phrase's current size, are this document's)."""
    import random

    from lam_rl.env.wordsim.state import AppState
    from lam_rl.env.wordsim.templates import build_template

    state = AppState(build_template(template, seed))
    out: list[dict[str, Any]] = []
    for i in range(SAMPLES // 8):
        try:
            params = get_family(family).sample(random.Random(f"act:{i}"), state)
        except ValueError:
            continue
        if _agrees(params, values, set(values)) and params not in out:
            out.append(params)
    return out


def _solvable(task: TaskSpec) -> bool:
    """The family's reference steps, played in WordSim on the task's document, pass its verifier."""
    from lam_rl.env.wordsim import WordSim

    try:
        sim = WordSim("match", max_steps=40)
        sim.reset(task)
        for d in reference_actions(task):
            action = d.to_action()
            if action is not None and not sim.step(action).ok:
                return False
        return (
            sim.evaluate().complete == "yes"
            and verify(task, initial_state(task), initial_state(task)).complete != "unsure"
        )
    except Exception:  # noqa: BLE001 - parameters this document cannot take: not this document
        return False


def _task_id(request: str) -> str:
    return f"act-{hashlib.sha1(request.encode()).hexdigest()[:10]}"


def free_task(request: str, template: str, seed: int) -> TaskSpec:
    """A task no verifier judges: the request on the template document."""
    return TaskSpec(
        task_id=_task_id(request), family=FREE_FORM, template=template, seed=seed, request=request
    )


def match_request(
    request: str, template: str | None = None, seed: int | None = None, default_template: str = "report"
) -> RequestMatch:
    """Match ``request`` against every family's request forms; see the module docstring.

    ``template``/``seed`` fix the document (else the first that fits the request is chosen)."""
    request = request.strip()
    hits: list[tuple[str, dict[str, str]]] = []
    for name, pat in _patterns():
        m = pat.fullmatch(request)
        if m:
            hit = (name, {k: v for k, v in m.groupdict().items()})
            if hit not in hits:
                hits.append(hit)
    doc = template or default_template
    if not hits:
        return RequestMatch(
            free_task(request, doc, seed or 0),
            why=f"the request matches none of the {len(REGISTRY)} task families' request forms",
        )
    first = hits[0][0]
    for name, values in hits:
        fam = get_family(name)
        if template and template not in fam.templates:
            continue
        closed = _closed(name, values)
        candidates = _complete(name, values, closed) if closed is not None else []
        if not candidates:
            continue  # a value this family never takes
        for tpl in [template] if template else list(fam.templates):
            for s in [seed] if seed is not None else range(SEEDS):
                # every stated value from a fixed set: the family's own sampler on this document
                # gives the rest; free text stated: the closest instance, the text as stated
                own = _sampled(name, tpl, s, values) if closed == set(values) else []
                for params in own or candidates:
                    task = TaskSpec(
                        task_id=_task_id(request),
                        family=name,
                        template=tpl,
                        seed=s,
                        request=request,
                        params=params,
                    )
                    if _solvable(task):
                        task.plan = plan_for(reference_actions(task))
                        return RequestMatch(task, name, values, True)
    where = f"the {template} template" if template else f"any template of {first}"
    return RequestMatch(
        free_task(request, doc, seed or 0),
        first,
        hits[0][1],
        why=f"the request has the form of task family {first}, but no document of {where} fits it "
        "(a quoted phrase that is not in the document, a value Word does not offer)",
    )
