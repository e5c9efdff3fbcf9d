"""The document model, editing operations and the key syntax, below the UI."""

from __future__ import annotations

import pytest

from lam_rl.env.wordsim import editing as ed
from lam_rl.env.wordsim.document import (
    Comment,
    Document,
    InvariantError,
    Paragraph,
    Run,
    check_invariants,
    effective_fmt,
    find_text,
    selected_text,
)
from lam_rl.env.wordsim.keys import KeySyntaxError, escape_text, parse_keys
from lam_rl.env.wordsim.templates import TEMPLATES, build_template, template_fingerprint


def doc_of(*texts: str) -> Document:
    d = Document()
    for t in texts:
        d.blocks.append(Paragraph([Run(t)] if t else [], pid=d.new_id()))
    return d


def test_find_and_select_across_paragraphs():
    d = doc_of("Alpha beta", "Gamma delta")
    a, b = find_text(d, "beta\nGamma")
    ed.select(d, a, b)
    assert selected_text(d) == "beta\nGamma"
    assert find_text(d, "ALPHA") is not None and find_text(d, "ALPHA", match_case=True) is None
    assert find_text(d, "zeta") is None


def test_bold_splits_runs_and_toggles_back():
    d = doc_of("The quick brown fox")
    ed.select(d, *find_text(d, "quick brown"))
    ed.toggle_fmt(d, "bold")
    p = d.blocks[0]
    assert [r.text for r in p.runs] == ["The ", "quick brown", " fox"]
    assert effective_fmt(p, p.runs[1]).bold and not effective_fmt(p, p.runs[0]).bold
    ed.toggle_fmt(d, "bold")
    assert [r.text for r in p.runs] == ["The quick brown fox"]  # merged again after toggling off
    check_invariants(d)


def test_caret_in_a_word_formats_the_word():
    d = doc_of("one two three")
    ed.select(d, (0, 5))
    ed.toggle_fmt(d, "italic")
    assert [r.text for r in d.blocks[0].runs if r.fmt.italic] == ["two"]


def test_typing_replaces_selection_and_enter_splits():
    d = doc_of("Hello world")
    ed.select(d, *find_text(d, "world"))
    ed.insert_text(d, "there\nNew line")
    assert [p.text for _, p in d.paragraphs()] == ["Hello there", "New line"]
    check_invariants(d)


def test_delete_across_paragraphs_merges_and_moves_anchors():
    d = doc_of("First para", "Second para")
    d.comments.append(Comment(1, "Ann", "note", d.blocks[1].pid, 7, 11))
    ed.select(d, *find_text(d, "para\nSecond "))
    ed.delete_selection(d)
    assert [p.text for _, p in d.paragraphs()] == ["First para"]
    c = d.comments[0]
    assert c.pid == d.blocks[0].pid and d.blocks[0].text[c.start : c.end] == "para"
    check_invariants(d)


def test_track_changes_keeps_deleted_text_marked():
    d = doc_of("keep this text")
    d.track_changes = True
    ed.select(d, *find_text(d, "this "))
    ed.delete_selection(d)
    ed.insert_text(d, "new ")
    p = d.blocks[0]
    assert d.text(final=False) == "keep this new text"
    assert d.text(final=True) == "keep new text"
    assert {r.rev for r in p.runs} == {None, "del:You", "ins:You"}


def test_copy_paste_and_case():
    d = doc_of("Apple pie", "")
    ed.select(d, *find_text(d, "Apple"))
    clip = ed.copy_selection(d)
    ed.select(d, (1, 0))
    ed.paste(d, clip)
    assert d.blocks[1].text == "Apple"
    ed.select(d, *find_text(d, "pie"))
    ed.change_case(d, "upper")
    assert d.blocks[0].text == "Apple PIE"


def test_caret_moves():
    d = doc_of("one two", "three")
    ed.select(d, (0, 0))
    ed.move(d, "END", ctrl=True)
    assert d.sel.a == (1, 5)
    ed.move(d, "HOME", shift=True)
    assert selected_text(d) == "three"
    ed.move(d, "LEFT")
    ed.move(d, "LEFT")
    assert d.sel.a == (0, 7)


def test_invariants_catch_bad_state():
    d = doc_of("abc")
    d.sel.a = (0, 9)
    with pytest.raises(InvariantError):
        check_invariants(d)


def test_clone_is_deep():
    d = build_template("comments", 3)
    c = d.clone()
    c.blocks[0].runs[0].text = "changed"
    c.comments[0].text = "changed"
    assert d.blocks[0].runs[0].text != "changed" and d.comments[0].text != "changed"


def test_templates_are_deterministic_and_varied():
    for name in TEMPLATES:
        a, b = build_template(name, 11), build_template(name, 11)
        assert template_fingerprint(a) == template_fingerprint(b)
        check_invariants(a)
        prints = {template_fingerprint(build_template(name, s)) for s in range(40)}
        assert len(prints) >= 10, name


@pytest.mark.parametrize(
    "keys, combos",
    [
        ("^b", ["ctrl+b"]),
        ("{VK_CONTROL}c", ["ctrl+c"]),
        ("^{END}{ENTER}", ["ctrl+end", "enter"]),
        ("+{RIGHT 3}", ["shift+right"] * 3),
        ("{VK_SHIFT down}ab{VK_SHIFT up}c", ["shift+a", "shift+b", "c"]),
        ("^(ab)", ["ctrl+a", "ctrl+b"]),
        ("a{+}b~", ["a", "+", "b", "enter"]),
        ("%{F4}", ["alt+f4"]),
    ],
)
def test_key_syntax(keys, combos):
    assert [k.combo for k in parse_keys(keys)] == combos


@pytest.mark.parametrize("bad", ["{ENTER", "^", "{NOPE}", "(ab", "a)", "{ENTER x}", "{}"])
def test_bad_key_syntax(bad):
    with pytest.raises(KeySyntaxError):
        parse_keys(bad)


def test_escape_text_round_trips():
    text = "Costs (Q3) + 5% ~ {x}"
    assert "".join(k.key for k in parse_keys(escape_text(text))) == text
