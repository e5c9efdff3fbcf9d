"""The executor dispatches UFO's functions to the pywinauto wrapper methods of the matched element
(recorded elements log every call), checks arguments like WordSim, and maps failures to codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lam_rl.env.protocol import Action
from lam_rl.env.windows.config import WindowsAgentConfig
from lam_rl.env.windows.controls import collect
from lam_rl.env.windows.executor import ActionFailure, execute
from lam_rl.env.windows.local import PywinautoDesktop
from lam_rl.env.windows.simulated import ElementNotEnabled, load_tree, static_modules

FIXTURE = Path(__file__).parent / "fixtures" / "word_font_dialog.json"


class Env:
    def __init__(self, with_popup: bool = True, **cfg):
        roots = load_tree(FIXTURE)
        self.roots = roots if with_popup else roots[:1]
        self.modules = static_modules(self.roots)
        self.desktop = PywinautoDesktop(modules=self.modules)
        self.cfg = WindowsAgentConfig(**cfg)
        self.found = collect(self.desktop.windows(), self.cfg)
        self.summaries: list[str] = []

    def get(self, text, ctype=None):
        return next(
            f for f in self.found if f.control.text == text and (ctype is None or f.control.type == ctype)
        )

    def run(self, function, target=None, **args):
        hit = self.get(*target) if isinstance(target, tuple) else (self.get(target) if target else None)
        return execute(
            self.desktop, Action(function=function, args=args), hit, self.found, self.cfg, self.summaries
        )

    def fails(self, code, function, target=None, **args):
        with pytest.raises(ActionFailure) as e:
            self.run(function, target, **args)
        assert e.value.code == code, e.value.message
        return e.value


def test_functions_call_the_wrapper_methods():
    env = Env()
    env.run("click_input", "Bold")
    env.run("click_input", "Italic", button="right", double=True)
    assert env.get("Bold").element.calls == [("click_input", {"button": "left", "double": False})]
    assert env.get("Italic").element.calls == [("click_input", {"button": "right", "double": True})]
    env.run("set_edit_text", "Font Size", text="14")
    assert env.get("Font Size").element.calls == [("set_edit_text", {"text": "14"})]
    env.run("keyboard_input", "Search", keys="margins{ENTER}")
    assert env.get("Search").element.calls == [
        ("set_focus", {}),
        ("type_keys", {"keys": "margins{ENTER}", "with_spaces": True}),
    ]
    env.run("keyboard_input", "Search", keys="^b", control_focus=False)
    env.run("keyboard_input", keys="{ESC}")
    assert env.modules["pywinauto.keyboard"].sent == ["^b", "{ESC}"]
    env.run("wheel_mouse_input", "Page 1 content", wheel_dist=-3)
    assert env.get("Page 1 content").element.calls == [("wheel_mouse_input", {"wheel_dist": -3})]
    env.run("wheel_mouse_input", wheel_dist=2)
    assert env.roots[0].calls == [("wheel_mouse_input", {"wheel_dist": 2})]
    assert env.run("texts", ("Font", "Edit")) == ["Calibri (Body)"]
    assert env.run("summary", "Page 1 content", text="112 words") == "112 words"
    assert env.summaries == ["112 words"]


def test_arguments_are_checked_before_anything_is_touched():
    env = Env()
    env.fails("bad_args", "click_input", "Bold", button="left", clicks=2)
    env.fails("bad_args", "click_input", "Bold", button="side")
    env.fails("bad_args", "click_input", "Bold", double="yes")
    env.fails("bad_args", "set_edit_text", "Font Size")
    env.fails("bad_args", "set_edit_text", "Font Size", text=14)
    env.fails("bad_args", "wheel_mouse_input", "Page 1 content", wheel_dist=True)
    env.fails("bad_args", "wheel_mouse_input", "Page 1 content", wheel_dist=5000)
    env.fails("bad_args", "keyboard_input", "Search", keys="{VK_NOPE")
    env.fails("bad_args", "insert_table", rows=0, columns=3)
    env.fails("bad_args", "select_text", text="  ")
    env.fails("unknown_function", "drag_and_drop", "Bold")
    env.fails("bad_function", "set_edit_text", "Bold", text="x")
    env.fails("bad_function", "select_text", "Bold", text="Quarterly")
    env.fails("unknown_control", "click_input")
    assert all(not f.element.calls for f in env.found)
    assert env.modules["pywinauto.keyboard"].sent == []


BAD_ARGS = [
    ("click_input", {"clicks": 2}),
    ("click_input", {"double": "yes"}),
    ("click_input", {"double": 1}),
    ("click_input", {"button": True}),
    ("set_edit_text", {}),
    ("set_edit_text", {"text": 14}),
    ("set_edit_text", {"text": None}),
    ("keyboard_input", {"keys": ["a"]}),
    ("keyboard_input", {"keys": "a", "control_focus": 0}),
    ("wheel_mouse_input", {"wheel_dist": True}),
    ("wheel_mouse_input", {"wheel_dist": 1.5}),
    ("texts", {"x": 1}),
    ("summary", {"text": b"x"}),
    ("select_text", {"text": "a", "b": 1, "a": 2}),
    ("select_table", {"number": False}),
    ("insert_table", {"rows": 2}),
    ("insert_table", {"rows": True, "columns": 2}),
]


@pytest.mark.parametrize(("function", "args"), BAD_ARGS)
def test_bad_arguments_get_wordsims_words(function, args):
    """The executor and WordSim answer a bad argument with the same code and message (one check)."""
    from lam_rl.env.protocol import ARGS
    from lam_rl.env.windows.executor import check_args
    from lam_rl.env.wordsim.functions import parse_args
    from lam_rl.env.wordsim.state import ActionError

    with pytest.raises(ActionFailure) as real:
        check_args(function, args)
    with pytest.raises(ActionError) as sim:
        parse_args(args, ARGS[function])
    assert (real.value.code, real.value.message) == (sim.value.code, sim.value.message)


def test_modal_dialog_blocks_the_main_window():
    env = Env(with_popup=False)  # the Font dialog is the active window
    err = env.fails("blocked_by_dialog", "click_input", "Bold")
    assert "'Font' dialog" in err.message and not err.touched
    env.run("click_input", "OK")
    assert env.get("OK").element.calls == [("click_input", {"button": "left", "double": False})]
    assert env.run("texts", ("Font", "Edit")) == ["Calibri (Body)"]  # reading is allowed
    env.fails("blocked_by_dialog", "select_text", text="Quarterly")
    # a non-modal popup menu blocks nothing
    Env().run("click_input", "Bold")


def test_element_failures_become_error_codes():
    env = Env(keep_disabled=True)
    env.fails("disabled", "click_input", "Cut")

    def refuse(**kw):
        raise ElementNotEnabled("greyed out")

    env.get("Bold").element.click_input = refuse
    err = env.fails("disabled", "click_input", "Bold")
    assert err.touched and "ElementNotEnabled" in err.message

    def com_error(**kw):
        raise RuntimeError("(-2147352567, 'Exception occurred.')")

    env.get("Italic").element.click_input = com_error
    err = env.fails("action_failed", "click_input", "Italic")
    assert "'Italic' (Button)" in err.message and "RuntimeError" in err.message
    # Word's COM is needed for select_text: a recorded tree has none
    err = env.fails("unavailable", "select_text", text="Quarterly")
    assert "win32com.client" in err.message and "lam-rl[windows]" in err.message
