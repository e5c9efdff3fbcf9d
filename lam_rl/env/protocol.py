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
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = "1"

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
"""UFO's function set (PAPER.md); ``""`` in a Decision means "no action" (e.g. a bare FINISH)."""

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
"""The control types UFO's dataflow keeps (PAPER.md)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


class TaskSpec(_Model):
    """A task instance: what the VM needs to set up the document and later verify it."""

    task_id: str = Field(description="Unique id of this instance (family + seed + params).")
    family: str = Field(description="Task family (e.g. 'bold_text').")
    app: str = Field("word", description="Application.")
    template: str = Field(description="Template document id (e.g. 'table', 'comments').")
    seed: int = Field(0, description="Seed for the template's content variation.")
    request: str = Field(description="The user request in natural language.")
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


class Action(_Model):
    """One step sent to the VM. ``control_label`` is grounded against the live observation first;
    ``control_name`` (with the type if ambiguous) is what the VM matches when the label is absent."""

    control_label: int | None = None
    control_name: str | None = None
    function: str
    args: dict[str, Any] = Field(default_factory=dict)
    control_type: str | None = Field(
        None, description="Optional UIA type that disambiguates control_name (e.g. 'ComboBox' for 'Font')."
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


class Decision(_Model):
    """A policy's answer for one step, in the paper's Appendix C output shape.

    This is the SFT target and what a model generates; ``to_action`` gives the VM step.
    """

    thought: str = ""
    control_label: int | None = None
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
