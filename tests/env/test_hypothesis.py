"""Property test: random (and malformed) action sequences against a real VM server never crash it
(no HTTP 500), a failed step changes nothing, and the state stays consistent after every step."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lam_rl.env.protocol import FUNCTIONS, StepResult
from lam_rl.env.tasks import list_families, make_task
from lam_rl.env.wordsim.dialogs import DIALOGS
from lam_rl.env.wordsim.menus import MENUS
from lam_rl.env.wordsim.ribbon import MAIN_TABS, RIBBON

from .conftest import TOKEN

NAMES = sorted(
    {c.text for groups in RIBBON.values() for _, cs in groups for c in cs}
    | {c.text for m in MENUS.values() for c in m.items}
    | {f.name for d in DIALOGS.values() for f in d.fields if "{" not in f.name}
    | set(MAIN_TABS)
    | {
        "Table Design",
        "Table Layout",
        "Shape Format",
        "Header & Footer",
        "Page 1 content",
        "Rectangle 1",
        "Text Box 1",
    }
    | {"Header -Section 1-", "Footer -Section 1-", "Comment", "Post comment", "Back", "Save", "Undo", "Redo"}
)
KEYS = [
    "^b",
    "^i",
    "{ENTER}",
    "^z",
    "^y",
    "{ESC}",
    "^a{DELETE}",
    "^h",
    "^d",
    "^k",
    "{TAB}",
    "+{END}",
    "^{END}x",
    "{BACKSPACE 3}",
    "^c",
    "^v",
    "^s",
    "{F12}",
    "%{F4}",
    "{VK_CONTROL}e",
    "^{ENTER}",
    "{(}",
]
FAMILIES = [f.name for f in list_families()]

values = st.one_of(
    st.text(max_size=25),
    st.sampled_from(NAMES + KEYS + ["12", '1.5"', "150%", "Arial", "left", "Landscape"]),
    st.integers(-5, 400),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
)
arg_dicts = st.dictionaries(
    st.sampled_from(
        [
            "text",
            "keys",
            "button",
            "double",
            "number",
            "rows",
            "columns",
            "wheel_dist",
            "control_focus",
            "bogus",
        ]
    ),
    values,
    max_size=3,
)
actions = st.fixed_dictionaries(
    {"function": st.sampled_from([*FUNCTIONS, *["click_input"] * 6, "", "bogus", "CLICK"])},
    optional={
        "control_label": st.one_of(st.none(), st.integers(-3, 170)),
        "control_name": st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=12)),
        "control_type": st.sampled_from([None, "Button", "ComboBox", "Edit", "TabItem", "ListItem", "Weird"]),
        "args": arg_dicts,
    },
)
payloads = st.one_of(
    actions.map(lambda a: json.dumps(a).encode()),
    st.builds(
        lambda k: json.dumps({"function": "keyboard_input", "args": {"keys": k}}).encode(),
        st.sampled_from(KEYS),
    ),
    st.builds(
        lambda n: json.dumps({"control_name": n, "function": "click_input"}).encode(), st.sampled_from(NAMES)
    ),
    st.binary(max_size=30),
    st.sampled_from(
        [
            b"{}",
            b'{"function": 3}',
            b"[]",
            b"null",
            b'{"function": "click_input", "args": 7}',
            b'{"control_label": "x", "function": "texts"}',
        ]
    ),
)


@settings(
    max_examples=70,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    family=st.sampled_from(FAMILIES),
    seed=st.integers(0, 50),
    steps=st.lists(payloads, min_size=1, max_size=25),
)
def test_random_actions_never_break_the_vm(fleet, family, seed, steps):
    vm = fleet[1]
    agent = vm.agent
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    with httpx.Client(base_url=vm.url, headers=headers, timeout=10) as http:
        task = make_task(family, seed)
        assert (
            http.post("/v1/reset", content=json.dumps({"task": task.model_dump(mode="json")})).status_code
            == 200
        )
        for body in steps:
            before = agent.fingerprint()
            r = http.post("/v1/step", content=body)
            assert r.status_code in (200, 400, 422), (r.status_code, r.text[:300])
            if r.status_code != 200:  # malformed JSON (400) or a body that is not an Action (422)
                assert r.json()["code"] == "bad_request"
                assert agent.fingerprint() == before
                continue
            res = StepResult.model_validate_json(r.content)
            if not res.ok:
                assert res.error_code and res.error
                assert agent.fingerprint() == before, (body, res.error_code)
            agent.check_invariants()
            obs = res.observation
            assert [c.label for c in obs.controls] == list(range(1, len(obs.controls) + 1))
        assert http.get("/v1/observation").status_code == 200
        assert http.post("/v1/evaluate").json()["complete"] in ("yes", "no", "unsure")
        assert http.get("/v1/screenshot").status_code == 200
