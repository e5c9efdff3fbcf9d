"""Shared pieces of the importers: issues (file, line, field, message), the report, field access."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImportIssue:
    """A malformed record: where it is and which field is wrong. The record is skipped."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    format: str
    source: str
    files: int = 0
    trajectories: int = 0
    steps: int = 0
    taskplans: int = 0
    duplicates: int = 0
    """Trajectories (or task plans) already in the store, or repeated in the input: skipped."""
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
    return cur


def label(value: Any, field: str) -> int | None:
    """A control label as an int (UFO and GUI-360 write labels as strings such as "61")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(field, f"expected a label number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise FieldError(field, f"expected a label number, got {value!r}")
