"""Configuration of the Windows VM agent (``WindowsAgentConfig``) and of the WAA/OSWorld adapter
(``WAAConfig``). Both are typed dataclasses with help text; ``lam-rl env serve --agent windows|waa``
fills them from its options."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError, check_ranges, opt
from lam_rl.env.protocol import CONTROL_TYPES

ORDERS = ("traversal", "ufo")
CANVAS = ("document", "text", "none")
TREE_SOURCES = ("execute", "accessibility")


@dataclass
class WindowsAgentConfig:
    control_types: list[str] = opt(
        list(CONTROL_TYPES), "UIA control types listed in observations (UFO's kept set by default)."
    )
    order: str = opt(
        "traversal",
        "Label order: 'traversal' (depth-first UIA order, as WordSim) or 'ufo' (grouped by control "
        "type in the order of control_types, as UFO's inspector lists them).",
    )
    keep_disabled: bool = opt(False, "List disabled controls too (UFO drops them).")
    keep_invisible: bool = opt(False, "List invisible (off-screen) controls too (UFO drops them).")
    drop_unnamed: bool = opt(False, "Leave out controls whose name is empty (UFO keeps them).")
    descend_into_document: bool = opt(
        False,
        "Walk the Document control's children (Word exposes pages, paragraphs and comments there: "
        "slow, and rarely actionable).",
    )
    relative_rects: bool = opt(True, "Report rectangles relative to the main window (not the screen).")
    max_elements: int = opt(
        5000, "Stop walking the UIA tree after this many elements (a runaway guard).", ge=1
    )
    max_depth: int = opt(40, "Deepest UIA level walked.", ge=1)
    fuzzy_threshold: int = opt(
        70,
        "UFO's fuzzy control matching: a name that matches no control exactly matches the control "
        "with the best partial_ratio if it reaches this score (0-100; 101 turns it off).",
        ge=0,
        le=101,
    )
    settle_s: float = opt(0.3, "Seconds to wait after an action before observing (the UI redraws).", ge=0)
    canvas: str = opt(
        "document",
        "What Observation.canvas holds: 'document' (the live document read through WordOpenXML and "
        "summarized as WordSim does), 'text' (the Document control's text), 'none'.",
    )
    work_dir: str = opt(
        "",
        "Folder for the task documents opened in Word ('' : a lam-rl folder under the temp folder).",
    )
    max_steps: int = opt(
        100, "Hard cap on steps per episode (0: none); then steps fail with step_limit.", ge=0
    )
    type_keys_pause: float = opt(0.02, "Seconds between keys in keyboard_input (pywinauto's pause).", ge=0)

    def __post_init__(self) -> None:
        unknown = [t for t in self.control_types if t not in CONTROL_TYPES]
        if unknown or not self.control_types:
            raise ConfigError(
                f"windows.control_types must be a non-empty subset of {list(CONTROL_TYPES)}, got {unknown or '[]'}"
            )
        self.control_types = list(self.control_types)
        if self.order not in ORDERS:
            raise ConfigError(f"windows.order must be one of {list(ORDERS)}, got {self.order!r}")
        if self.canvas not in CANVAS:
            raise ConfigError(f"windows.canvas must be one of {list(CANVAS)}, got {self.canvas!r}")
        check_ranges(self, "windows")


@dataclass
class WAAConfig:
    url: str = opt("", "The in-VM server of a Windows Agent Arena / OSWorld image (http://HOST:5000).")
    allow_insecure: bool = opt(
        False,
        "Required: that server runs any command it is sent, with no authentication. Only use it on an "
        "isolated network, never on one others can reach.",
    )
    python: str = opt("python", "Python interpreter inside the VM (the server's own has pywinauto).")
    tree_source: str = opt(
        "execute",
        "Where the control tree comes from: 'execute' (a UIA dump run through /execute: exact control "
        "types) or 'accessibility' (the server's /accessibility?backend=uia XML: types inferred from "
        "pywinauto's wrapper classes).",
    )
    remote_dir: str = opt(
        "C:\\Users\\Public\\lam-rl", "Folder inside the VM where task documents are uploaded."
    )
    timeout_s: float = opt(120.0, "Timeout of one request to the in-VM server (seconds).", gt=0)
    window_title: str = opt(" - Word", "Substring of the application window's title.")

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigError(
                f"waa.url must be the server's http(s) URL (http://HOST:5000), got {self.url!r}"
            )
        if not self.allow_insecure:
            raise ConfigError(
                "the WAA/OSWorld adapter is off by default: their in-VM server executes any command sent "
                "to it without authentication. Pass --waa-allow-insecure (waa.allow_insecure=true) only for "
                "VMs on an isolated network."
            )
        if self.tree_source not in TREE_SOURCES:
            raise ConfigError(
                f"waa.tree_source must be one of {list(TREE_SOURCES)}, got {self.tree_source!r}"
            )
        check_ranges(self, "waa")
