"""Labelling, filtering and matching over a recorded Word UIA tree (fixtures/word_font_dialog.json:
elements written with pywinauto's properties: control_type, name, automation_id, class_name,
rectangle, is_enabled/is_visible, children)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lam_rl.config import ConfigError
from lam_rl.env.protocol import Action
from lam_rl.env.windows.config import WindowsAgentConfig
from lam_rl.env.windows.controls import ResolveError, active_window, collect, partial_ratio, resolve
from lam_rl.env.windows.local import PywinautoDesktop
from lam_rl.env.windows.simulated import load_tree, static_modules

FIXTURE = Path(__file__).parent / "fixtures" / "word_font_dialog.json"

MAIN = [
    ("AutoSave", "Button"),
    ("Save", "Button"),
    ("Search", "Edit"),
    ("File Tab", "Button"),
    ("Home", "TabItem"),
    ("Insert", "TabItem"),
    ("Design", "TabItem"),
    ("Layout", "TabItem"),
    ("Format Painter", "Button"),
    ("Font", "ComboBox"),
    ("Font", "Edit"),
    ("Open", "Button"),
    ("Font Size", "ComboBox"),
    ("Bold", "Button"),
    ("Italic", "Button"),
    ("Strikethrough", "Button"),
    ("Font Color", "MenuItem"),
    ("Font Settings", "Button"),
    ("Normal", "ListItem"),
    ("No Spacing", "ListItem"),
    ("Heading 1", "ListItem"),
    ("More", "Button"),
    ("Page 1 content", "Document"),
    ("Vertical Scroll Bar", "ScrollBar"),
    ("Line up", "Button"),
    ("Page 1 of 1", "Button"),
    ("112 words", "Button"),
    ("", "Button"),
    ("Zoom In", "Button"),
]
DIALOG = [
    ("Font", "TabItem"),
    ("Advanced", "TabItem"),
    ("Font:", "ComboBox"),
    ("Size:", "ComboBox"),
    ("OK", "Button"),
    ("Cancel", "Button"),
]
POPUP = [
    ("Automatic", "ListItem"),
    ("Red", "ListItem"),
    ("Dark Red", "ListItem"),
    ("More Colors...", "MenuItem"),
]


@pytest.fixture
def roots():
    return load_tree(FIXTURE)


def listed(found):
    return [(f.control.text, f.control.type, f.control.window) for f in found]


def test_labels_in_traversal_order_filtered_to_ufo_types(roots):
    found = collect(roots, WindowsAgentConfig())
    want = [(t, ty, None) for t, ty in MAIN] + [(t, ty, "Font") for t, ty in DIALOG]
    want += [(t, ty, "Font Color") for t, ty in POPUP]
    assert listed(found) == want
    assert [f.control.label for f in found] == list(range(1, len(want) + 1))
    # dropped: SplitButton/CheckBox/Slider/Thumb/Text/List/Tab/Pane types, disabled Cut/Copy/Redo,
    # the scrolled-out Heading 2, and the Document's children
    texts = {f.control.text for f in found}
    assert not texts & {"Undo", "Paste", "Underline", "Cut", "Copy", "Redo", "Heading 2", "Strikethrough "}
    assert "https://example.com/q3" not in texts
    # rectangles relative to the main window (at 100, 50 on the screen)
    bold = next(f for f in found if f.control.text == "Bold")
    assert bold.control.rect == (106, 88, 126, 108) and bold.automation_id == "Bold"
    assert [f.modal for f in found if f.control.window == "Font"] == [True] * len(DIALOG)
    assert not any(f.modal for f in found if f.control.window == "Font Color")
    assert active_window(found) == ("Font Color", False)
    assert active_window(collect(roots[:1], WindowsAgentConfig())) == ("Font", True)


def test_ufo_order_groups_by_control_type(roots):
    cfg = WindowsAgentConfig(order="ufo")
    found = collect(roots, cfg)
    types = [f.control.type for f in found]
    rank = {t: i for i, t in enumerate(cfg.control_types)}
    assert types == sorted(types, key=rank.__getitem__)
    assert [f.control.text for f in found if f.control.type == "TabItem"] == [
        "Home",
        "Insert",
        "Design",
        "Layout",
        "Font",
        "Advanced",
    ]
    assert found[0].control.text == "AutoSave" and found[0].control.label == 1
    assert len(found) == len(collect(roots, WindowsAgentConfig()))


def test_filter_switches(roots):
    base = {(t, ty) for t, ty, _ in listed(collect(roots, WindowsAgentConfig()))}
    more = {
        (t, ty)
        for t, ty, _ in listed(collect(roots, WindowsAgentConfig(keep_disabled=True, keep_invisible=True)))
    }
    assert more - base == {
        ("Cut", "Button"),
        ("Copy", "Button"),
        ("Redo", "Button"),
        ("Heading 2", "ListItem"),
    }
    deep = listed(collect(roots, WindowsAgentConfig(descend_into_document=True)))
    assert ("https://example.com/q3", "Hyperlink", None) in deep
    named = listed(collect(roots, WindowsAgentConfig(drop_unnamed=True)))
    assert ("", "Button", None) not in named and len(named) == len(base) - 1
    only = listed(collect(roots, WindowsAgentConfig(control_types=["TabItem", "Document"])))
    assert [t for t, _, _ in only] == [
        "Home",
        "Insert",
        "Design",
        "Layout",
        "Page 1 content",
        "Font",
        "Advanced",
    ]
    screen = collect(roots, WindowsAgentConfig(relative_rects=False))
    assert next(f for f in screen if f.control.text == "Bold").control.rect == (206, 138, 226, 158)
    capped = collect(roots, WindowsAgentConfig(max_elements=10))
    assert 0 < len(capped) < 10
    with pytest.raises(ConfigError, match="control_types"):
        WindowsAgentConfig(control_types=["Button", "CheckBox"])
    with pytest.raises(ConfigError, match="order"):
        WindowsAgentConfig(order="alphabetical")


def test_matching_label_then_name_then_fuzzy(roots):
    cfg = WindowsAgentConfig()
    found = collect(roots, cfg)

    def hit(**kw):
        f = resolve(Action(function="click_input", **kw), found, cfg)
        return (f.control.label, f.control.text, f.control.type, f.control.window) if f else None

    assert hit(control_label=14) == (14, "Bold", "Button", None)
    assert hit(control_label=14, control_name="Italic") == (14, "Bold", "Button", None)  # label wins
    assert hit(control_label=999, control_name="Italic")[1] == "Italic"
    assert hit(control_name="  font   size ")[1:3] == ("Font Size", "ComboBox")  # case/space-insensitive
    # "Font" is a ComboBox and an Edit in the ribbon and a TabItem in the open dialog/popup order:
    assert hit(control_name="Font", control_type="Edit")[1:3] == ("Font", "Edit")
    assert hit(control_name="Font", control_type="TabItem")[1:] == ("Font", "TabItem", "Font")
    assert hit(control_name="Font")[1:3] == ("Font", "ComboBox")
    # fuzzy, as UFO's executor: partial_ratio(control_text, name) >= 70, best score first
    assert hit(control_name="More Colors")[1] == "More Colors..."
    assert hit(control_name="Strikethru")[1] == "Strikethrough"
    assert hit(control_name="Zoom In button")[1] == "Zoom In"
    assert hit(control_name="Insert Citation")[1] == "Insert"  # as lenient as UFO's partial_ratio
    assert hit() is None
    with pytest.raises(ResolveError) as e:
        resolve(Action(function="click_input", control_name="Watermark gallery"), found, cfg)
    assert e.value.code == "unknown_control"
    with pytest.raises(ResolveError, match="out of range"):
        resolve(Action(function="click_input", control_label=0), found, cfg)
    strict = WindowsAgentConfig(fuzzy_threshold=101)
    with pytest.raises(ResolveError):
        resolve(Action(function="click_input", control_name="Strikethru"), found, strict)


def test_active_window_wins_among_equal_names(roots):
    found = collect(roots[:1], WindowsAgentConfig())  # main window + the Font dialog, no popup
    f = resolve(Action(function="click_input", control_name="Font"), found, WindowsAgentConfig())
    assert (f.control.type, f.control.window) == ("TabItem", "Font")  # the open dialog's control first
    f = resolve(
        Action(function="click_input", control_name="Font", control_type="ComboBox"),
        found,
        WindowsAgentConfig(),
    )
    assert (f.control.type, f.control.window) == ("ComboBox", None)
    f = resolve(Action(function="click_input", control_name="ok"), found, WindowsAgentConfig())
    assert f.control.window == "Font"


def test_partial_ratio_matches_fuzzywuzzy_values():
    # reference values from fuzzywuzzy 0.18's fuzz.partial_ratio (difflib backend), which UFO uses
    cases = [
        ("Bold", "Bold", 100),
        ("Bold", "Bold Italic", 100),
        ("Strikethrough", "Strikethru", 90),
        ("Insert", "Design", 25),
        ("this is a test", "this is a test!", 100),
        ("fuzzy wuzzy was a bear", "wuzzy fuzzy was a bear", 91),
        ("Cancel", "Track Changes", 67),
        ("Search", "Watermark gallery", 50),
        ("Font Size", "font size", 78),
    ]
    assert [partial_ratio(a, b) for a, b, _ in cases] == [want for _, _, want in cases]
    assert partial_ratio("", "Bold") == 0


def test_adapter_lists_the_same_tree_through_pywinauto_lookalikes(roots):
    modules = static_modules(roots)
    desktop = PywinautoDesktop(modules=modules)
    wins = desktop.windows()
    assert [w.window_text() for w in wins] == ["Quarterly Report - Word", "Font Color"]
    assert listed(collect(wins, WindowsAgentConfig())) == listed(collect(roots, WindowsAgentConfig()))
    desktop.send_keys("^b")
    assert modules["pywinauto.keyboard"].sent == ["^b"]
