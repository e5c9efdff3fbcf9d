"""Parse a model's generation into a :class:`Decision`; anything malformed is an invalid action.

Never raises on model output, whatever it holds (fences, prose around the JSON, several objects,
escapes, lone surrogates, huge numbers, deep nesting, ``NaN``/``Infinity``), and runs in time
linear in its length: the result says whether the answer was valid and, if not, why, so the
caller counts an invalid action and moves on.

- An answer longer than ``MAX_ANSWER_CHARS`` is invalid as a whole.
- The answer is the first balanced ``{...}`` span (outside JSON strings) that parses as strict
  JSON (``protocol.loads_strict``: what the VM protocol itself accepts); at most
  ``MAX_CANDIDATES`` spans, and four times the answer's length in all, are parsed.
- A valid answer's action is one the VM accepts: ``Decision`` and ``Action`` check every value
  (``protocol.check_wire``), so executing it never turns a model's mistake into a VM error.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from lam_rl.env.protocol import FUNCTIONS, LABEL_RANGE, Decision, WireError, clip, loads_strict

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 32_768
"""Longest answer parsed; a longer one is invalid (generations are capped far below this)."""
MAX_CANDIDATES = 64
"""Balanced ``{...}`` spans tried before the answer is declared to hold no JSON object (they are
also tried only while the characters parsed stay under four times the answer's length)."""

_TOKENS = re.compile(r'[{}"\\]')


@dataclass
class Parsed:
    decision: Decision | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.decision is not None


def _spans(text: str) -> Iterator[tuple[int, int]]:
    """Balanced ``{...}`` spans in order of their start, braces inside JSON strings ignored.

    One pass over the braces, quotes and backslashes (a stack of open braces), so linear time;
    braces that never close yield nothing."""
    opened: list[int] = []
    done: list[tuple[int, int]] = []
    in_str = False
    skip = -1  # the character escaped by a backslash
    for m in _TOKENS.finditer(text):
        i = m.start()
        if i == skip:
            continue
        ch = text[i]
        if in_str:
            if ch == "\\":
                skip = i + 1
            elif ch == '"':
                in_str = False
        elif ch == "{":
            opened.append(i)
        elif ch == "}":
            if opened:
                done.append((opened.pop(), i + 1))
        elif ch == '"' and opened:
            in_str = True
    done.sort()
    yield from done


def _first_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    first_error = None
    budget = 4 * len(text)
    for n, (start, end) in enumerate(_spans(text)):
        budget -= end - start
        if n >= MAX_CANDIDATES or budget < 0:
            break
        try:
            obj = loads_strict(text[start:end], where="answer")
        except WireError as e:
            first_error = first_error or str(e)
            continue
        if isinstance(obj, dict):
            return obj, None
    return None, first_error


def _as_int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("control_label is a boolean")
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    elif isinstance(v, str) and len(v) <= 12 and v.strip().lstrip("-").isdigit():
        v = int(v.strip())
    if not isinstance(v, int):
        raise ValueError(f"control_label {clip(repr(v), 40)} is not an integer")
    if not LABEL_RANGE[0] <= v <= LABEL_RANGE[1]:
        raise ValueError(f"control_label {clip(str(v), 40)} is out of range")
    return v


def _decision(obj: dict[str, Any]) -> Decision:
    function = obj.get("function") or ""
    if not isinstance(function, str):
        raise ValueError(f"function {clip(repr(function), 40)} is not a string")
    if function and function not in FUNCTIONS:
        raise ValueError(f"unknown function {clip(repr(function), 40)}")
    args = obj.get("args") or {}
    if isinstance(args, str):
        args = loads_strict(args, where="args") if args.strip() else {}
    if not isinstance(args, dict):
        raise ValueError("args is not an object")
    status = obj.get("status") or "CONTINUE"
    status = status.upper() if isinstance(status, str) else status
    if status not in ("CONTINUE", "FINISH"):
        raise ValueError(f"status {clip(repr(status), 40)} is not CONTINUE or FINISH")
    plan = obj.get("plan") or []
    if isinstance(plan, str):
        plan = [plan]
    if not isinstance(plan, list):
        raise ValueError("plan is not a list")
    name = obj.get("control_name")
    if name is not None and not isinstance(name, str):
        name = str(name)
    thought = obj.get("thought") or ""
    decision = Decision(
        thought=thought if isinstance(thought, str) else str(thought),
        control_label=_as_int(obj.get("control_label")),
        control_name=name or None,
        function=function,
        args=args,
        status=status,
        plan=[p if isinstance(p, str) else str(p) for p in plan],
    )
    decision.to_action()  # the VM must accept it: ValidationError (a ValueError) otherwise
    return decision


def _validation_message(e: ValidationError) -> str:
    parts = []
    for err in e.errors()[:3]:
        loc = ".".join(clip(str(x), 40) for x in err.get("loc", ()))
        parts.append(f"{loc}: {clip(str(err.get('msg')), 120)}" if loc else clip(str(err.get("msg")), 120))
    return "; ".join(parts) or "invalid decision"


def parse_decision(text: str) -> Parsed:
    """The first JSON object in ``text`` as a Decision, or the reason it is not one (never raises)."""
    if not isinstance(text, str) or not text.strip():
        return Parsed(None, "empty output")
    if len(text) > MAX_ANSWER_CHARS:
        return Parsed(None, f"answer is {len(text)} characters, over the {MAX_ANSWER_CHARS}-character limit")
    try:
        obj, why = _first_object(text)
        if obj is None:
            return Parsed(
                None, f"no valid JSON object in output: {why}" if why else "no JSON object in output"
            )
        decision = _decision(obj)
    except ValidationError as e:
        return Parsed(None, _validation_message(e))
    except (ValueError, TypeError) as e:
        return Parsed(None, clip(str(e), 200))
    except Exception as e:  # noqa: BLE001 - model output must never crash a rollout
        log.debug("unexpected parser failure", exc_info=True)
        return Parsed(None, f"unparseable answer ({type(e).__name__})")
    if decision.function and decision.control_label is None and not decision.control_name:
        return Parsed(None, "an action needs control_label or control_name")
    if not decision.function and decision.status != "FINISH":
        return Parsed(None, "no function and status is not FINISH")
    return Parsed(decision)
