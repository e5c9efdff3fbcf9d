"""Shared pieces of the importers: issues (file, line, field, message), the report, field access and
the checks that turn hostile values (lone surrogates, NaN, numbers too big for their column, deep
nesting) into an issue naming the field instead of an error at write time."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.store.records import F32_MAX, INT32
from lam_rl.store.schemas import COMPLETE

MAX_DEPTH = 64
"""Kept JSON values nested deeper than this are refused (an issue), never a RecursionError."""


def judge_answer(rec: Any, field: str) -> str:
    """The judge's ``complete`` answer at ``field``: yes, no or unsure (any case, trimmed)."""
    complete = str(get(rec, field, types=str)).strip().lower()
    if complete not in COMPLETE:
        raise FieldError(field, f"expected yes, no or unsure, got {complete!r:.60}")
    return complete


def template_stem(template: str | None) -> str:
    """A source's template path (Windows or POSIX separators) as the template's name."""
    return Path(template.replace("\\", "/")).stem if template else ""


def printable(text: str) -> str:
    """``text`` safe to print or store: lone surrogates (from a file name, say) become escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True)
class ImportIssue:
    """A malformed record: where it is and which field is wrong. The record is skipped."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return printable(f"{where}: {self.field}: {self.message}")


@dataclass
class ImportReport:
    format: str
    source: str
    files: int = 0
    trajectories: int = 0
    steps: int = 0
    taskplans: int = 0
    duplicates: int = 0
    """Trajectories already in the store, or repeated in the input: skipped."""
    records: int = 0
    """Well-formed records read (each gives a task plan and/or a trajectory)."""
    issues: list[ImportIssue] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "source": self.source,
            "files": self.files,
            "trajectories": self.trajectories,
            "steps": self.steps,
            "taskplans": self.taskplans,
            "duplicates": self.duplicates,
            "records": self.records,
            "issues": [str(i) for i in self.issues],
        }


class FieldError(Exception):
    """Raised inside a record parser; becomes an :class:`ImportIssue` for that record."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


_MISSING = object()


def get(
    obj: Any,
    path: str,
    *,
    types: type | tuple[type, ...] | None = None,
    required: bool = True,
    default: Any = None,
    nullable: bool = False,
) -> Any:
    """``obj["a"]["b"][2]["c"]`` for path ``a.b[2].c``, checking presence and type (FieldError otherwise)."""
    cur = obj
    walked = ""
    for part in path.replace("]", "").replace("[", ".").split("."):
        if part.isdigit():
            idx = int(part)
            if not isinstance(cur, list) or idx >= len(cur):
                raise FieldError(walked + f"[{idx}]", "missing")
            cur, walked = cur[idx], walked + f"[{idx}]"
            continue
        walked = f"{walked}.{part}" if walked else part
        if not isinstance(cur, Mapping):
            raise FieldError(walked, f"expected an object around it, got {type(cur).__name__}")
        cur = cur.get(part, _MISSING)
        if cur is _MISSING:
            if required:
                raise FieldError(walked, "missing")
            return default
    if cur is None:
        if nullable:
            return None
        if not required:
            return default
        raise FieldError(walked, "is null")
    if types is not None:
        allowed = types if isinstance(types, tuple) else (types,)
        if not isinstance(cur, allowed) or (isinstance(cur, bool) and bool not in allowed):
            names = " or ".join(t.__name__ for t in allowed)
            shown = repr(cur)
            raise FieldError(walked, f"expected {names}, got {type(cur).__name__} {shown[:60]}")
    if isinstance(cur, str):
        text(cur, walked)
    elif isinstance(cur, float) and not math.isfinite(cur):
        raise FieldError(walked, f"expected a finite number, got {cur!r}")
    return cur


def text(value: str, field: str) -> str:
    """A string the store can hold (UTF-8): a lone surrogate (an escape like \\ud800 in the JSON) is an issue."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise FieldError(
            field, f"holds a lone surrogate {value[e.start]!r} at position {e.start} (not valid Unicode text)"
        ) from None
    return value


def check_json(value: Any, field: str, depth: int = 0) -> Any:
    """``value`` (kept as JSON) holds only storable text, finite numbers and at most :data:`MAX_DEPTH`
    levels; the issue names the first bad place (``field.key[3]``)."""
    if depth > MAX_DEPTH:
        raise FieldError(field, f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        text(value, field)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(field, f"expected a finite number, got {value!r}")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise FieldError(field, f"has a non-string key {k!r:.40}")
            text(k, f"{field}.<key>")
            check_json(v, f"{field}.{k}"[:200], depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_json(v, f"{field}[{i}]", depth + 1)
    elif value is not None and not isinstance(value, (bool, int)):
        raise FieldError(field, f"cannot be stored as JSON: {type(value).__name__}")
    return value


def seconds(value: Any, field: str) -> float:
    """A duration the store can hold (float32, finite, not negative); null/missing is 0."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(field, f"expected a number of seconds, got {type(value).__name__} {value!r:.40}")
    try:
        x = float(value)
    except OverflowError:
        raise FieldError(field, f"number too large: {value!r:.40}") from None
    if not math.isfinite(x) or not 0 <= x <= F32_MAX:
        raise FieldError(field, f"expected a finite, non-negative number of seconds, got {value!r:.40}")
    return x


def label(value: Any, field: str) -> int | None:
    """A control label as an int (UFO and GUI-360 write labels as strings such as "61")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(field, f"expected a label number, got {value!r}")
    n: int | None = None
    if isinstance(value, int):
        n = value
    elif isinstance(value, str) and value.strip().isascii():
        raw = value.strip()
        if raw.lstrip("-").isdigit() and len(raw) < 20:
            n = int(raw)
    if n is None:
        raise FieldError(field, f"expected a label number, got {value!r:.60}")
    if not INT32[0] <= n <= INT32[1]:
        raise FieldError(field, f"label {n} is out of range (a 32-bit integer)")
    return n
