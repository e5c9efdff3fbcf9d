import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lam_rl.agent import AgentConfig, HistoryItem, PromptBuilder, format_target, ground, parse_decision
from lam_rl.env.protocol import Control, Decision, Observation
from lam_rl.models import train_tokenizer
from lam_rl.models.corpus import project_corpus

TABS = ["File", "Home", "Insert", "Design", "Layout", "References", "Review", "View"]
HOME = [
    "Bold",
    "Italic",
    "Underline",
    "Font",
    "Font Size",
    "Text Highlight Color",
    "Bullets",
    "Numbering",
    "Center",
    "Align Left",
    "Align Right",
    "Justify",
    "Line and Paragraph Spacing",
    "Replace",
    "Find",
    "Styles",
    "Heading 1",
    "Heading 2",
    "Title",
    "Normal",
    "Copy",
    "Paste",
    "Cut",
    "Format Painter",
]


def observation(extra: list[str] = ()) -> Observation:
    controls = []
    names = [(t, "TabItem") for t in TABS] + [(n, "Button") for n in HOME] + [(n, "Button") for n in extra]
    names.append(("Document", "Document"))
    for i, (text, typ) in enumerate(names, start=1):
        controls.append(Control(label=i, text=text, type=typ, rect=(i, 0, i + 10, 10)))
    return Observation(controls=controls, canvas="Title: Quarterly results | Body: Sales grew by 10% " * 5)


def test_filter_keeps_tabs_and_relevant_controls():
    obs = observation()
    p = PromptBuilder(AgentConfig(top_k_controls=3)).build(obs, "Make 'Sales' bold", plan=["(1) Click Bold."])
    kept = {c.text for c in p.controls}
    assert set(TABS) <= kept and "Bold" in kept and "Document" in kept
    assert "Format Painter" not in kept
    labels = [c.label for c in p.controls]
    assert labels == sorted(labels), "controls keep traversal order"
    assert "<User Request:> Make 'Sales' bold" in p.text and p.text.startswith("<Available Control Item:>")


def test_full_list_when_top_k_zero():
    obs = observation()
    p = PromptBuilder(AgentConfig(top_k_controls=0)).build(obs, "anything")
    assert len(p.controls) == len(obs.controls)


def test_budget_is_respected_and_request_kept():
    tok = train_tokenizer(project_corpus([observation().model_dump_json()] * 5), vocab_size=800)
    count = lambda s: len(tok(s)["input_ids"])  # noqa: E731
    cfg = AgentConfig(top_k_controls=20, max_prompt_tokens=170, canvas_chars=400)
    hist = [
        HistoryItem("Home", "TabItem", "click_input"),
        HistoryItem("Font Size", "ComboBox", "set_edit_text", {"text": "14"}),
    ]
    p = PromptBuilder(cfg, count).build(
        observation(), "Set the font size of the title to 14", hist, ["(1) a", "(2) b"]
    )
    assert p.tokens is not None and p.tokens <= 170
    assert "Set the font size of the title to 14" in p.text
    big = PromptBuilder(
        AgentConfig(top_k_controls=20, max_prompt_tokens=2000, canvas_chars=400), count
    ).build(observation(), "Set the font size of the title to 14", hist, ["(1) a", "(2) b"])
    assert big.tokens > p.tokens and "<Document:>" in big.text


def test_target_roundtrip():
    d = Decision(
        thought="Open the Home tab to find the Bold button now please",
        control_label=2,
        control_name="Home",
        function="click_input",
        args={"button": "left", "double": False},
        plan=["(2) Click Bold.", "(3) x", "(4) y", "(5) z"],
    )
    cfg = AgentConfig(thought_words=4, plan_steps=2)
    text = format_target(d, cfg)
    obj = json.loads(text)
    assert list(obj) == ["thought", "control_label", "control_name", "function", "args", "status", "plan"]
    assert obj["thought"] == "Open the Home tab" and len(obj["plan"]) == 2
    parsed = parse_decision("some prefix " + text + " trailing")
    assert (
        parsed.valid and parsed.decision.control_name == "Home" and parsed.decision.args["button"] == "left"
    )


def test_parse_rejects_malformed():
    for bad in [
        "",
        "no json here",
        "{",
        '{"function": "rm_rf", "control_name": "x"}',
        '{"function": "click_input"}',
        '{"function": "click_input", "control_label": "abc"}',
        '{"status": "maybe", "control_name": "x"}',
        '{"function": "click_input", "control_name": "Bold", "args": [1]}',
        "[1, 2]",
    ]:
        p = parse_decision(bad)
        assert not p.valid and p.error, bad
    ok = parse_decision('{"function": "", "status": "finish"}')
    assert ok.valid and ok.decision.status == "FINISH"
    assert parse_decision('{"function":"click_input","control_label":"7"}').decision.control_label == 7


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_never_raises(text):
    parse_decision(text)
    parse_decision("{" + text)
    parse_decision('{"function": "click_input", "control_name": ' + json.dumps(text) + "}")


def test_grounding_prefers_name_over_wrong_label():
    obs = observation()
    bold = next(c for c in obs.controls if c.text == "Bold")
    g = ground(Decision(control_label=bold.label, control_name="Bold", function="click_input"), obs)
    assert g.how == "label" and g.action.control_label == bold.label
    g = ground(Decision(control_label=3, control_name="Bold", function="click_input"), obs)
    assert g.how == "name" and g.action.control_label == bold.label
    g = ground(Decision(control_label=None, control_name="bolt", function="click_input"), obs)
    assert g.how == "fuzzy" and g.action.control_name == "Bold"
    g = ground(Decision(control_label=999, control_name="Nonexistent thing", function="click_input"), obs)
    assert g.action is None and "Nonexistent" in g.error
    g = ground(Decision(control_label=2, function="click_input"), obs)
    assert g.how == "label-only" and g.action.control_name == "Home"
    assert ground(Decision(function="", status="FINISH"), obs).action is None
