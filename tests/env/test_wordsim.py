"""WordSim's UI: labels, contextual tabs, menus, modal dialogs, impossible actions, keyboard, canvas, screenshots."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from lam_rl.env.protocol import Action, Control, Observation
from lam_rl.env.tasks import make_task
from lam_rl.env.wordsim import WordSim
from lam_rl.env.wordsim.ui import H, W


def fresh(family: str = "bold_text", seed: int = 1) -> tuple[WordSim, Observation]:
    sim = WordSim()
    obs = sim.reset(make_task(family, seed))
    return sim, obs


def click(name: str, ctype: str | None = None, label: int | None = None) -> Action:
    return Action(control_name=name, control_type=ctype, control_label=label, function="click_input")


def names(obs: Observation) -> list[str]:
    return [c.text for c in obs.controls]


def test_observation_shape_and_labels():
    sim, obs = fresh()
    assert 60 <= len(obs.controls) <= 150
    assert [c.label for c in obs.controls] == list(range(1, len(obs.controls) + 1))
    types = {c.type for c in obs.controls}
    assert {"TabItem", "Button", "ComboBox", "ListItem", "Document", "ScrollBar", "Edit"} <= types
    for tab in ("File", "Home", "Insert", "Design", "Layout", "References", "Review", "View"):
        assert any(c.text == tab and c.type == "TabItem" for c in obs.controls)
    for c in obs.controls:
        x0, y0, x1, y1 = c.rect
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H, c
    assert obs.window.endswith(" - Word") and obs.dialog is None
    # the same UI state gives the same labels; a different tab renumbers
    assert sim.observe().model_dump() == obs.model_dump()
    res = sim.step(click("Insert", "TabItem"))
    assert res.ok and "Bold" not in names(res.observation) and "Shapes" in names(res.observation)
    res = sim.step(click("Home", "TabItem"))
    assert res.observation.controls == obs.controls


def test_fast_controls_match_validated_models():
    sim, obs = fresh()
    for c in obs.controls[:20]:
        assert Control.model_validate(c.model_dump()) == c
    assert Observation.model_validate_json(obs.model_dump_json()) == obs


def test_label_wins_then_name_and_type():
    sim, obs = fresh()
    bold = next(c for c in obs.controls if c.text == "Bold")
    sim.step(Action(function="select_text", args={"text": sim.task.params["text"]}))
    r = sim.step(Action(control_label=bold.label, control_name="Italic", function="click_input"))
    assert r.ok and r.control.text == "Bold"  # an in-range label is authoritative
    r = sim.step(Action(control_label=999, control_name="Italic", function="click_input"))
    assert r.ok and r.control.text == "Italic"  # out of range: the name decides
    r = sim.step(
        Action(control_name="font", control_type="ComboBox", function="set_edit_text", args={"text": "Arial"})
    )
    assert r.ok and r.control.type == "ComboBox"


@pytest.mark.parametrize(
    "action, code",
    [
        (Action(control_label=4000, function="click_input"), "unknown_control"),
        (Action(control_name="No Such Button", function="click_input"), "unknown_control"),
        (Action(control_name="Bold", function="set_edit_text", args={"text": "x"}), "bad_function"),
        (Action(control_name="Bold", function="click_input", args={"button": "sideways"}), "bad_args"),
        (Action(control_name="Bold", function="click_input", args={"clicks": 2}), "bad_args"),
        (Action(function="select_text", args={"text": "not in this document at all"}), "not_found"),
        (Action(function="select_table", args={"number": 3}), "not_found"),
        (Action(function="keyboard_input", args={"keys": "{NOPE}"}), "bad_args"),
        (Action(function="insert_table", args={"rows": 0, "columns": 2}), "bad_args"),
        (Action(function="launch_rocket"), "unknown_function"),
        (Action(control_name="Font Size", function="set_edit_text", args={"text": "huge"}), "bad_args"),
    ],
)
def test_impossible_actions_change_nothing(action, code):
    sim, obs = fresh()
    before = sim.fingerprint()
    r = sim.step(action)
    assert not r.ok and r.error_code == code and r.error
    assert sim.fingerprint() == before
    assert r.observation.controls == obs.controls and r.observation.canvas == obs.canvas
    sim.check_invariants()


def test_contextual_tabs_follow_the_selection():
    sim, obs = fresh("table_style", 0)
    assert "Table Design" not in names(obs)
    r = sim.step(Action(function="select_table", args={"number": 1}))
    assert {"Table Design", "Table Layout"} <= set(names(r.observation))
    r = sim.step(click("Table Design", "TabItem"))
    assert any(c.type == "ListItem" and c.text.startswith("Grid Table") for c in r.observation.controls)
    r = sim.step(Action(function="select_text", args={"text": sim.doc.paragraphs()[0][1].text[:5]}))
    assert "Table Design" not in names(r.observation)  # selection left the table: back to Home
    assert "Bold" in names(r.observation)


def test_menus_open_close_and_submenus():
    sim, _ = fresh()
    sim.step(click("Insert", "TabItem"))
    r = sim.step(click("Page Number"))
    menu = [c for c in r.observation.controls if c.window == "Page Number"]
    assert [c.text for c in menu][:2] == ["Top of Page", "Bottom of Page"]
    r = sim.step(click("Bottom of Page"))
    assert any(c.text == "Plain Number 2" and c.window == "Bottom of Page" for c in r.observation.controls)
    r = sim.step(click("Shapes"))  # clicking elsewhere closes the menus and acts
    assert not any(c.window in ("Page Number", "Bottom of Page") for c in r.observation.controls)
    assert any(c.window == "Shapes" for c in r.observation.controls)
    r = sim.step(Action(function="keyboard_input", args={"keys": "{ESC}"}))
    assert not any(c.window == "Shapes" for c in r.observation.controls)


def test_modal_dialog_blocks_the_main_window():
    sim, _ = fresh()
    r = sim.step(click("Replace"))
    assert r.observation.dialog == "Find and Replace"
    assert {"Find what", "Replace with", "Replace All"} <= set(names(r.observation))
    before = sim.fingerprint()
    r = sim.step(click("Bold"))
    assert not r.ok and r.error_code == "blocked_by_dialog" and sim.fingerprint() == before
    r = sim.step(click("Cancel"))
    assert r.ok and r.observation.dialog is None


def test_dialog_fields_validate_and_depend_on_each_other():
    sim, _ = fresh("watermark_custom", 0)
    for a in (click("Design", "TabItem"), click("Watermark"), click("Custom Watermark...")):
        assert sim.step(a).ok
    r = sim.step(
        Action(control_name="Text", control_type="ComboBox", function="set_edit_text", args={"text": "X"})
    )
    assert r.error_code == "disabled"  # Text is disabled until "Text watermark" is chosen
    assert sim.step(click("Text watermark", "RadioButton")).ok
    assert sim.step(
        Action(
            control_name="Text", control_type="ComboBox", function="set_edit_text", args={"text": "SECRET"}
        )
    ).ok
    r = sim.step(Action(control_name="Color", function="set_edit_text", args={"text": "Mauve"}))
    assert r.error_code == "bad_args" and "choices" in r.error
    assert sim.step(click("OK")).ok
    assert sim.doc.watermark.text == "SECRET"


def test_find_replace_dialog_counts_and_button_turns_into_close():
    sim, _ = fresh("find_replace", 0)
    p = sim.task.params
    sim.step(click("Replace"))
    sim.step(Action(control_name="Find what", function="set_edit_text", args={"text": p["old"]}))
    sim.step(Action(control_name="Replace with", function="set_edit_text", args={"text": p["new"]}))
    assert "Cancel" in names(sim.observe()) and "Close" not in names(sim.observe())
    r = sim.step(click("Replace All", "Button"))
    assert r.observation.dialog == "Microsoft Word"
    assert sim.ui.message == f"All done. We made {p['count']} replacements."
    r = sim.step(click("OK"))
    assert "Close" in names(r.observation) and "Cancel" not in names(r.observation)


def test_keyboard_shortcuts_typing_and_undo():
    sim, _ = fresh("append_paragraph", 0)
    text0 = sim.doc.text()
    # pywinauto syntax: ( ) group keys, {(} types a parenthesis
    r = sim.step(Action(function="keyboard_input", args={"keys": "^{END}{ENTER}Hello (world) {(}ok{)}"}))
    assert r.ok and sim.doc.text() == text0 + "\nHello world (ok)"
    sim.step(Action(function="keyboard_input", args={"keys": "+{HOME}^b"}))
    assert all(r.fmt.bold for r in sim.doc.paragraphs()[-1][1].runs)
    sim.step(Action(control_name="Undo", function="click_input"))
    assert not any(r.fmt.bold for r in sim.doc.paragraphs()[-1][1].runs)
    sim.step(Action(function="keyboard_input", args={"keys": "{VK_CONTROL}z"}))
    assert sim.doc.text() == text0
    sim.step(Action(function="keyboard_input", args={"keys": "^y"}))
    assert sim.doc.text() != text0
    r = sim.step(Action(function="keyboard_input", args={"keys": "^h"}))
    assert r.observation.dialog == "Find and Replace"


def test_texts_and_summary_return_results():
    sim, _ = fresh()
    r = sim.step(Action(function="texts"))
    assert r.ok and r.result == [sim.doc.text()]
    r = sim.step(Action(control_name="Font", control_type="ComboBox", function="texts"))
    assert r.result[0] in (
        "Calibri",
        "Calibri Light",
    )  # the font at the caret (Title lines use Calibri Light)
    r = sim.step(Action(function="summary", args={"text": "done"}))
    assert r.ok and r.result == "done" and sim.state.summaries == ["done"]


def test_backstage_and_save_as_dialog():
    sim, _ = fresh()
    r = sim.step(click("File", "TabItem"))
    assert "Bold" not in names(r.observation) and "Save As" in names(r.observation)
    sim.step(click("Save As", "ListItem"))
    r = sim.step(click("Browse"))
    assert r.observation.dialog == "Save As"
    sim.step(Action(control_name="File name", function="set_edit_text", args={"text": "bad:name"}))
    r = sim.step(click("Save"))
    assert r.observation.dialog == "Microsoft Word"  # invalid name: a message, nothing saved
    sim.step(click("OK"))
    sim.step(Action(control_name="File name", function="set_edit_text", args={"text": "Plan.docx"}))
    r = sim.step(click("Save"))
    assert r.observation.window == "Plan - Word" and sim.state.saved[-1].name == "Plan"
    assert "Bold" in names(r.observation)


def test_step_limit():
    sim = WordSim(max_steps=2)
    sim.reset(make_task("bold_text", 0))
    assert sim.step(click("Bold")).ok and sim.step(click("Bold")).ok
    r = sim.step(click("Bold"))
    assert not r.ok and r.error_code == "step_limit"


def test_canvas_puts_the_selection_first():
    sim, obs = fresh()
    target = sim.task.params["text"]
    assert obs.canvas.startswith("caret:")
    sim.step(Action(function="select_text", args={"text": target}))
    r = sim.step(click("Bold"))
    assert r.observation.canvas.startswith(f'sel: "{target}"')
    assert f"<b>{target}</>" in r.observation.canvas
    assert "page: Letter Portrait" in r.observation.canvas


def test_screenshot_is_a_png_of_the_window():
    sim, _ = fresh("insert_comment", 2)
    png = sim.screenshot()
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (W, H)
    sim.step(click("Replace"))
    assert sim.screenshot() != png


def test_screenshot_draws_text_with_line_breaks_on_one_line():
    # a text box, a table cell and a message can hold a typed line break; the renderer fits such
    # text on one line (a screenshot used to fail with Pillow's "can't measure multiline text")
    sim, obs = fresh("textbox_bold", 0)
    box = next(c for c in obs.controls if c.text == "Text Box 1")
    assert sim.step(click(box.text, "Button")).ok
    assert sim.step(Action(function="keyboard_input", args={"keys": "one{ENTER}two"})).ok
    assert any("one\ntwo" in s.text for s in sim.doc.shapes)
    png = Image.open(io.BytesIO(sim.screenshot()))
    assert png.size == (W, H)
