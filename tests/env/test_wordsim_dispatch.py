"""WordSim's dispatch tables: every name a control spec, a shortcut, a dialog or the protocol uses
has exactly one handler, and every table entry is named by something (no dead handlers)."""

from __future__ import annotations

import dataclasses
from typing import Any

from lam_rl.env.protocol import FUNCTIONS
from lam_rl.env.wordsim import commands, dialog_ops, dialogs, functions, keyboard, menus, ribbon, ui
from lam_rl.env.wordsim.ribbon import C

# Acts a control spec may carry that ``click``/``set_text`` handle by area, not through ``ACTS``.
BY_AREA = {"document", "field", "prop", "comment_text"}
# Acts only controls built on the fly name (ui.py: backstage pages, tab strip, status bar, shapes).
BUILT_IN_UI = {"backstage", "backstage_back", "tab", "zoom_step", "shape"}


def _specs() -> list[C]:
    out: list[C] = []

    def walk(x: Any) -> None:
        if isinstance(x, C):
            out.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name))

    for module in (ribbon, menus, ui):
        for value in vars(module).values():
            walk(value)
    return out


def test_every_protocol_function_has_one_handler():
    assert set(functions.HANDLERS) == set(FUNCTIONS)


def test_every_act_and_command_named_has_a_handler_and_every_handler_is_named():
    specs = _specs()
    assert len(specs) > 200
    named = {s.act for s in specs} | {act for act, _ in keyboard.SHORTCUTS.values()}
    missing = named - set(commands.ACTS) - BY_AREA - {"menu", "show_on"}
    assert not missing, f"acts without a handler in commands.ACTS: {sorted(missing)}"
    unnamed = set(commands.ACTS) - named - BUILT_IN_UI
    assert not unnamed, f"ACTS entries nothing names: {sorted(unnamed)}"

    cmds = {s.arg for s in specs if s.act == "cmd"} | {
        a for act, a in keyboard.SHORTCUTS.values() if act == "cmd"
    }
    assert cmds == set(commands.COMMANDS) | set(keyboard.KEY_COMMANDS)
    assert not set(commands.COMMANDS) & set(keyboard.KEY_COMMANDS)


def test_every_dialog_has_its_initial_values_and_its_buttons_handlers():
    assert set(dialog_ops.DIALOG_INIT) == set(dialogs.DIALOGS)
    for did, spec in dialogs.DIALOGS.items():
        buttons = {f.key for f in spec.fields if f.type == "Button"}
        if buttons & {"ok", "apply"}:
            assert did in dialog_ops.DIALOG_OK, f"dialog {did!r} has an OK button but no DIALOG_OK entry"
        for key in buttons - {"ok", "apply", "cancel", "noop"}:
            assert key in dialog_ops.DIALOG_BUTTONS, f"dialog {did!r} button {key!r} has no handler"
    named_dialogs = {s.arg for s in _specs() if s.act == "dialog"}
    assert {dialog_ops.ALIASES.get(d, (d, None))[0] for d in named_dialogs} <= set(dialog_ops.DIALOG_INIT)
