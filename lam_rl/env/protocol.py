"""The lam-rl VM protocol, version 1: typed request/response models shared by client and server.

A VM agent (WordSim here, a UIA-backed agent on real Windows) serves these over HTTP/JSON under
``/v1``; every request carries ``Authorization: Bearer <token>``.

    GET  /v1/health        -> Health
    POST /v1/reset         ResetRequest -> Observation
    GET  /v1/observation   -> Observation
    POST /v1/step          Action -> StepResult
    POST /v1/evaluate      -> Verdict
    GET  /v1/screenshot    -> image/png

Errors are JSON ``ErrorBody`` with a machine-readable ``code``.

What may cross the wire (``check_wire``, ``loads_strict``): UTF-8 JSON without lone UTF-16
surrogates, ``NaN``/``Infinity`` or overflowing floats, integers beyond +-(2**53 - 1) and nesting
deeper than ``MAX_DEPTH``. Request models (``TaskSpec``, ``Action``) and ``Decision`` enforce it
when they are built, so what a client can build the server accepts, and what the server accepts
it can serialize back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import from_json

PROTOCOL_VERSION = "1"

MAX_ID_CHARS = 256
"""Longest ``task_id``, ``family``, ``app`` and ``template``."""
MAX_REQUEST_CHARS = 8192
"""Longest natural-language task request."""
MAX_NAME_CHARS = 4096
"""Longest ``control_name`` in an action."""
MAX_WORD_CHARS = 64
"""Longest ``function`` and ``control_type``."""
MAX_DEPTH = 32
"""Deepest nesting of lists/objects in a request body (the body itself is depth 0)."""
MAX_SAFE_INT = 2**53 - 1
"""Largest integer magnitude on the wire (what every JSON implementation reads exactly)."""
LABEL_RANGE = (-(2**31), 2**31 - 1)
"""``control_label`` fits a 32-bit integer (the trajectory store's column)."""


class WireError(ValueError):
    """A value that cannot cross the protocol; the message says where and why, never echoes it."""


def clip(text: str, limit: int = 200) -> str:
    """``text`` cut to ``limit`` characters (saying how long it was): error messages never echo
    unbounded input."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} chars)"


def scrub(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate replaced by U+FFFD (a pair split in two characters
    is joined); other text is returned as is."""
    if _surrogate_at(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _surrogate_at(s: str) -> int | None:
    if s.isascii():
        return None
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    return None


def check_wire(value: Any, where: str = "body") -> None:
    """Raise ``WireError`` unless ``value`` is plain JSON the protocol carries (module docstring).

    Iterative, so a deeply nested Python value cannot exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        v, at, depth = stack.pop()
        if v is None or isinstance(v, bool):
            continue
        if isinstance(v, str):
            pos = _surrogate_at(v)
            if pos is not None:
                raise WireError(
                    f"{clip(at, 120)}: lone UTF-16 surrogate at character {pos}; send valid Unicode text"
                )
        elif isinstance(v, int):
            if not -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
                raise WireError(
                    f"{clip(at, 120)}: integer out of range (at most {MAX_SAFE_INT} in magnitude)"
                )
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise WireError(f"{clip(at, 120)}: {v} is not a finite number (NaN/Infinity are not JSON)")
        elif isinstance(v, (list, tuple, dict)):
            if depth >= MAX_DEPTH:
                raise WireError(f"{clip(at, 120)}: nested deeper than {MAX_DEPTH} levels")
            if isinstance(v, dict):
                for k, item in v.items():
                    if not isinstance(k, str):
                        raise WireError(f"{clip(at, 120)}: object keys must be strings")
                    pos = _surrogate_at(k)
                    if pos is not None:
                        raise WireError(
                            f"{clip(at, 120)}: a key holds a lone UTF-16 surrogate; send valid Unicode text"
                        )
                    stack.append((item, f"{at}.{clip(k, 40)}", depth + 1))
            else:
                stack.extend((item, f"{at}[{i}]", depth + 1) for i, item in enumerate(v))
        else:
            raise WireError(f"{clip(at, 120)}: a {type(v).__name__} is not a JSON value")


def loads_strict(data: bytes | str, where: str = "body") -> Any:
    """Parse one JSON document the way the protocol allows (module docstring), or raise ``WireError``.

    Linear time; the parser (jiter) rejects invalid UTF-8, lone surrogate escapes, ``NaN``,
    ``Infinity``, trailing data and nesting beyond its own recursion limit without raising
    anything but ``ValueError``."""
    if isinstance(data, str):
        pos = _surrogate_at(data)
        if pos is not None:
            raise WireError(f"{where}: lone UTF-16 surrogate at character {pos}; send valid Unicode text")
        data = data.encode("utf-8")
    try:
        value = from_json(data, allow_inf_nan=False)
    except ValueError as e:
        raise WireError(f"{where}: not valid JSON ({clip(str(e), 120)})") from None
    check_wire(value, where)
    return value


def _check_fields(model: BaseModel) -> None:
    for name, value in model.__dict__.items():
        check_wire(value, name)


FUNCTIONS = (
    "click_input",
    "set_edit_text",
    "keyboard_input",
    "wheel_mouse_input",
    "texts",
    "summary",
    "select_text",
    "select_table",
    "insert_table",
)
"""UFO's function set (docs/paper.md, "Controls and actions"); ``""`` in a Decision means "no action" (e.g. a bare FINISH)."""

ARGS: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "click_input": {"button": ((str,), "left"), "double": ((bool,), False)},
    "set_edit_text": {"text": ((str,), ...)},
    "keyboard_input": {"keys": ((str,), ...), "control_focus": ((bool,), True)},
    "wheel_mouse_input": {"wheel_dist": ((int,), ...)},
    "texts": {},
    "summary": {"text": ((str,), ...)},
    "select_text": {"text": ((str,), ...)},
    "select_table": {"number": ((int,), ...)},
    "insert_table": {"rows": ((int,), ...), "columns": ((int,), ...)},
}
"""Each function's arguments: name -> (accepted types, default); a default of ``...`` means required."""


def bind_args(
    args: dict[str, Any],
    spec: dict[str, tuple[tuple[type, ...], Any]],
    error: Callable[[str, str], Exception],
) -> dict[str, Any]:
    """``args`` checked against ``spec`` (an entry of ARGS), defaults filled in. A bad argument raises
    ``error("bad_args", message)``: WordSim and the Windows executor pass their own failure class, so
    both answer a bad argument in the same words."""
    unknown = set(args) - set(spec)
    if unknown:
        raise error("bad_args", f"unexpected argument(s) {sorted(unknown)}; expected {sorted(spec)}")
    out = {}
    for k, (types, default) in spec.items():
        if k not in args:
            if default is ...:
                raise error("bad_args", f"missing argument {k!r}")
            out[k] = default
            continue
        v = args[k]
        if isinstance(v, bool) and bool not in types:
            raise error("bad_args", f"argument {k!r} must be {types[0].__name__}, got a boolean")
        if not isinstance(v, types):
            raise error("bad_args", f"argument {k!r} must be {types[0].__name__}, got {type(v).__name__}")
        out[k] = v
    return out


EDITABLE = ("Edit", "ComboBox", "Spinner", "Document")
"""The control types ``set_edit_text`` applies to."""

MAX_TEXT = 20_000
"""The most characters ``set_edit_text`` and ``summary`` accept."""

CONTROL_TYPES = (
    "Button",
    "Edit",
    "TabItem",
    "Document",
    "ListItem",
    "MenuItem",
    "ScrollBar",
    "TreeItem",
    "Hyperlink",
    "ComboBox",
    "RadioButton",
    "DataItem",
    "Spinner",
)
"""The control types UFO's dataflow keeps (docs/paper.md, "Controls and actions")."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _WireModel(_Model):
    """A model whose every value must cross the wire (``check_wire``), checked when it is built."""

    @model_validator(mode="after")
    def _wire_safe(self) -> Any:
        _check_fields(self)
        return self


class Control(_Model):
    """One UI control as UFO lists it. Labels are renumbered on every observation."""

    label: int = Field(description="Sequential label in UI traversal order, renumbered per observation.")
    text: str = Field(description="The control's name/text as UIA reports it (e.g. 'Bold').")
    type: str = Field(description="UIA control type (Button, Edit, ComboBox, ...).")
    rect: tuple[int, int, int, int] = Field(
        description="Bounding rectangle (left, top, right, bottom) in pixels."
    )
    window: str | None = Field(
        None, description="Title of the dialog the control belongs to (None: main window)."
    )


class TaskSpec(_WireModel):
    """A task instance: what the VM needs to set up the document and later verify it."""

    task_id: str = Field(
        max_length=MAX_ID_CHARS, description="Unique id of this instance (family + seed + params)."
    )
    family: str = Field(max_length=MAX_ID_CHARS, description="Task family (e.g. 'bold_text').")
    app: str = Field("word", max_length=MAX_ID_CHARS, description="Application.")
    template: str = Field(
        max_length=MAX_ID_CHARS, description="Template document id (e.g. 'table', 'comments')."
    )
    seed: int = Field(0, description="Seed for the template's content variation.")
    request: str = Field(max_length=MAX_REQUEST_CHARS, description="The user request in natural language.")
    params: dict[str, Any] = Field(default_factory=dict, description="Family parameters (text, sizes, ...).")
    plan: list[str] = Field(default_factory=list, description="Reference plan: short numbered steps.")


class ResetRequest(_Model):
    task: TaskSpec


class Observation(_Model):
    """What an agent sees: the foreground window's controls and a compact document summary."""

    task_id: str | None = Field(None, description="The task the VM was reset to.")
    step: int = Field(0, description="Steps taken since reset.")
    window: str = Field("", description="Foreground window title.")
    dialog: str | None = Field(None, description="Title of the open dialog, if any.")
    controls: list[Control] = Field(default_factory=list)
    canvas: str = Field("", description="Compact text summary of the document (the 'canvas').")


class Action(_WireModel):
    """One step sent to the VM. ``control_label`` is grounded against the live observation first;
    ``control_name`` (with the type if ambiguous) is what the VM matches when the label is absent."""

    control_label: int | None = Field(None, ge=LABEL_RANGE[0], le=LABEL_RANGE[1])
    control_name: str | None = Field(None, max_length=MAX_NAME_CHARS)
    function: str = Field(max_length=MAX_WORD_CHARS)
    args: dict[str, Any] = Field(default_factory=dict)
    control_type: str | None = Field(
        None,
        max_length=MAX_WORD_CHARS,
        description="Optional UIA type that disambiguates control_name (e.g. 'ComboBox' for 'Font').",
    )


class StepResult(_Model):
    ok: bool = Field(description="False when the action was impossible; then nothing changed.")
    error: str | None = Field(None, description="Why the action failed.")
    error_code: str | None = Field(None, description="unknown_control | bad_function | bad_args | ...")
    result: Any = Field(None, description="Return value of texts()/summary() and similar.")
    observation: Observation
    control: Control | None = Field(
        None, description="The control the action was applied to, as the previous observation listed it."
    )


class Verdict(_Model):
    complete: Literal["yes", "no", "unsure"]
    reason: str
    sub_scores: dict[str, float] = Field(default_factory=dict)


class Health(_Model):
    ok: bool
    protocol: str = PROTOCOL_VERSION
    agent: str = Field(description="Agent implementation, e.g. 'wordsim' or 'windows-uia'.")
    name: str = Field(description="VM name (used in errors and logs).")
    task_id: str | None = None
    uptime_s: float = 0.0


class ErrorBody(_Model):
    code: str
    message: str


class Decision(_WireModel):
    """A policy's answer for one step, in the paper's Appendix C output shape.

    This is the SFT target and what a model generates; ``to_action`` gives the VM step.
    """

    thought: str = ""
    control_label: int | None = Field(None, ge=LABEL_RANGE[0], le=LABEL_RANGE[1])
    control_name: str | None = None
    function: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    status: Literal["CONTINUE", "FINISH"] = "CONTINUE"
    plan: list[str] = Field(default_factory=list)
    control_type: str | None = Field(
        None, description="Optional UIA type of the control (not in the paper's target)."
    )

    def to_action(self) -> Action | None:
        if not self.function:
            return None
        return Action(
            control_label=self.control_label,
            control_name=self.control_name,
            function=self.function,
            args=dict(self.args),
            control_type=self.control_type,
        )
