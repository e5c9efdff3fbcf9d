"""Parse a model's generation into a :class:`Decision`; anything malformed is an invalid action.

Never raises on model output: the result says whether the answer was valid and, if not, why, so
the caller counts an invalid action and moves on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lam_rl.env.protocol import FUNCTIONS, Decision

_DECODER = json.JSONDecoder()


@dataclass
class Parsed:
    decision: Decision | None
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.decision is not None


def _first_object(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


def _as_int(v: Any) -> int | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        raise ValueError("control_label is a boolean")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    raise ValueError(f"control_label {v!r} is not an integer")


def parse_decision(text: str) -> Parsed:
    """The first JSON object in ``text`` as a Decision, or the reason it is not one."""
    if not isinstance(text, str) or not text.strip():
        return Parsed(None, "empty output")
    obj = _first_object(text)
    if obj is None:
        return Parsed(None, "no JSON object in output")
    try:
        function = obj.get("function") or ""
        if not isinstance(function, str):
            raise ValueError(f"function {function!r} is not a string")
        if function and function not in FUNCTIONS:
            raise ValueError(f"unknown function {function!r}")
        args = obj.get("args") or {}
        if isinstance(args, str):
            args = json.loads(args) if args.strip() else {}
        if not isinstance(args, dict):
            raise ValueError("args is not an object")
        status = str(obj.get("status") or "CONTINUE").upper()
        if status not in ("CONTINUE", "FINISH"):
            raise ValueError(f"status {status!r} is not CONTINUE or FINISH")
        plan = obj.get("plan") or []
        if isinstance(plan, str):
            plan = [plan]
        if not isinstance(plan, list):
            raise ValueError("plan is not a list")
        name = obj.get("control_name")
        if name is not None and not isinstance(name, str):
            name = str(name)
        decision = Decision(
            thought=str(obj.get("thought") or ""),
            control_label=_as_int(obj.get("control_label")),
            control_name=name or None,
            function=function,
            args=args,
            status=status,  # type: ignore[arg-type]
            plan=[str(p) for p in plan],
        )
    except (ValueError, TypeError, json.JSONDecodeError) as e:
        return Parsed(None, str(e))
    if decision.function and decision.control_label is None and not decision.control_name:
        return Parsed(None, "an action needs control_label or control_name")
    if not decision.function and decision.status != "FINISH":
        return Parsed(None, "no function and status is not FINISH")
    return Parsed(decision)
