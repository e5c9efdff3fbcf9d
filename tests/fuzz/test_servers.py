"""Standing fuzz suite, servers: random and malformed requests against the policy server (OpenAI
chat completions, models, health) and the reward server (score, health) on real Ray Serve over
loopback HTTP. Whatever comes in: no 5xx, a 4xx is OpenAI's error shape with one short line, a
200 is a well-formed answer, and the servers still answer a valid request afterwards.

Bounded for CI (350 requests, 10-20 s, after ~20 s to deploy both servers); ``LAM_FUZZ_EXAMPLES=N``
runs N examples per test instead (docs/reliability.md lists what longer runs tried).
"""

from __future__ import annotations

import json
import math
import os

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.common import examples

pytestmark = pytest.mark.e2e

TOKEN = "fuzz-token"
MAX_ERROR_BYTES = 1000  # an error body never quotes much of the input back


@pytest.fixture(scope="module")
def servers(ray_session, tiny_lam3, tmp_path_factory, repo_root):
    """A policy server and a reward server (both on the tiny 512-position model), token auth, behind
    the one HTTP proxy the job config's ``serve.http_port`` names."""
    from ray import serve

    from cluster import policy_server, reward_server
    from cluster.config import PolicyServeConfig, RewardServeConfig
    from cluster.serving import http_base
    from jobs.config import Config
    from lam_rl.algos.reward import build_reward_model
    from lam_rl.config import load_config
    from lam_rl.models import save_pretrained
    from lam_rl.models.factory import load_tokenizer

    tok = load_tokenizer(tiny_lam3)
    rm_path = save_pretrained(build_reward_model(tiny_lam3, tok), tok, tmp_path_factory.mktemp("rm") / "hf")
    cfg = load_config(
        Config, ["config=tiny", "serve.http_port=8459"], configs_dir=repo_root / "jobs" / "configs"
    )
    serve.shutdown()  # Serve's proxy options are fixed at its first start: start it afresh with cfg.serve
    os.environ["LAM_POLICY_TOKEN"] = os.environ["LAM_REWARD_TOKEN"] = TOKEN
    try:
        policy_server.deploy(
            PolicyServeConfig(max_new_tokens=4, cpus_per_replica=0.5),
            tiny_lam3,
            3,
            http=cfg.serve,
            app_name="fuzz-policy",
            route_prefix="/fuzz-policy",
        )
        reward_server.deploy(
            RewardServeConfig(max_items=8, cpus_per_replica=0.5),
            str(rm_path),
            5,
            http=cfg.serve,
            app_name="fuzz-rm",
            route_prefix="/fuzz-rm",
        )
    finally:
        os.environ.pop("LAM_POLICY_TOKEN", None)
        os.environ.pop("LAM_REWARD_TOKEN", None)
    urls = f"{http_base('/fuzz-policy')}/v1", f"{http_base('/fuzz-rm')}/v1"
    # one key, one proxy: both servers answer on serve.http_port
    assert urls == ("http://127.0.0.1:8459/fuzz-policy/v1", "http://127.0.0.1:8459/fuzz-rm/v1"), urls
    with httpx.Client(timeout=60) as http:
        for url in urls:  # and really answer there
            assert http.get(f"{url}/health").status_code == 200, url
        yield (http, *urls)
    policy_server.shutdown("fuzz-policy")
    serve.delete("fuzz-rm")
    ray_session.kill(ray_session.get_actor("fuzz-rm-versions"))


# ------------------------------------------------------------------------------------- strategies
surrogates = st.characters(categories=["Cs"])
short_text = st.text(max_size=12) | st.text(st.characters(codec="utf-8") | surrogates, max_size=6)
long_text = st.builds(
    lambda word, n: word * n,
    st.sampled_from(["word ", "x", "\u00e9\u4e2d", "<|end|>"]),
    st.sampled_from([50, 400, 3000, 25000]),
)
keys = (
    st.sampled_from(["role", "content", "name", "type", "text", "x", "\ud800", "", "items", "prompt"])
    | short_text
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    short_text,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
numbers = (
    st.sampled_from([0, 0.0, 0.5, 1, 2, 5, 5.5, -1, math.nan, math.inf, -math.inf, 1e308, True, "0.5", None])
    | st.floats()
)
budgets = st.sampled_from([1, 2, 4, 0, -1, 200, 508, 512, 4096, 2**31, 2**64, 1.5, "4", True, None])
roles = st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "robot", "", "USER"])
text_part = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "input_audio"]), "text": short_text}
)
content = short_text | long_text | st.lists(text_part, max_size=3) | json_values
message = st.fixed_dictionaries(
    {"role": roles | json_values, "content": content},
    optional={"name": short_text, "tool_call_id": short_text, "extra": json_values},
)
chat_body = st.fixed_dictionaries(
    {"messages": st.lists(message, max_size=4) | json_values},
    optional={
        "model": short_text | json_values,
        "temperature": numbers,
        "top_p": numbers,
        "max_tokens": budgets,
        "max_completion_tokens": budgets,
        "n": st.sampled_from([1, 2, 3, 0, -1, 17, 1000, 1.0, "2", None, True]),
        "stream": st.booleans() | json_values,
        "stream_options": st.fixed_dictionaries({"include_usage": st.booleans() | json_values}) | json_values,
        "stop": short_text | st.lists(short_text, max_size=6) | json_values,
        "seed": st.integers(-(2**65), 2**65) | json_values,
        "user": short_text | json_values,
        "logprobs": st.booleans() | json_values,
        "tools": json_values,
        "tool_choice": st.sampled_from(["none", "auto"]) | json_values,
        "response_format": st.sampled_from([{"type": "text"}, {"type": "json_object"}]) | json_values,
        "presence_penalty": numbers,
        "logit_bias": json_values,
        "frobnicate": json_values,
    },
)
score_item = st.fixed_dictionaries(
    {"prompt": short_text | long_text | json_values, "action": short_text | long_text | json_values},
    optional={"reward": json_values},
)
score_body = st.fixed_dictionaries({"items": st.lists(score_item, max_size=10) | json_values}) | json_values

# Valid requests, and valid requests with one thing broken: most of what a real client gets wrong.
clean_text = st.text(st.characters(codec="utf-8"), max_size=30)
valid_message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["system", "developer", "user", "assistant"]),
        "content": clean_text
        | st.lists(
            st.fixed_dictionaries({"type": st.just("text"), "text": clean_text}), min_size=1, max_size=2
        ),
    }
)
valid_chat = st.fixed_dictionaries(
    {"messages": st.lists(valid_message, min_size=1, max_size=3)},
    optional={
        "model": clean_text,
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0.05, 1),
        "max_tokens": st.integers(1, 6),
        "n": st.integers(1, 3),
        "stream": st.booleans(),
        "stop": st.text(st.characters(codec="utf-8"), min_size=1, max_size=3)
        | st.lists(st.text(st.characters(codec="utf-8"), min_size=1, max_size=3), max_size=4),
        "seed": st.integers(-(2**63), 2**63),
        "user": clean_text,
        "logprobs": st.just(False),
        "presence_penalty": st.just(0),
    },
)
valid_score = st.fixed_dictionaries(
    {
        "items": st.lists(
            st.fixed_dictionaries(
                {
                    "prompt": st.text(st.characters(codec="utf-8"), min_size=1, max_size=200),
                    "action": st.text(st.characters(codec="utf-8"), min_size=1, max_size=60),
                }
            ),
            min_size=1,
            max_size=4,
        )
    }
)
wild = json_values | numbers | budgets | long_text | st.sampled_from(["\ud800", "\x00", "", "user"])


def broken(valid, paths):
    """``valid`` with the value at one of ``paths`` ("a.0.b"; a missing index means the first) replaced."""

    def apply(body, path, value):
        node = body
        *parents, last = path.split(".")
        for key in parents:
            node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
            if not isinstance(node, dict | list):
                return body
        if isinstance(node, list):
            if node:
                node[int(last) % len(node)] = value
        else:
            node[last] = value
        return body

    return st.builds(apply, valid, st.sampled_from(paths), wild)


CHAT_PATHS = [
    "model",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "stream",
    "stream_options",
    "stop",
    "seed",
    "user",
    "logprobs",
    "tools",
    "frobnicate",
    "messages",
    "messages.0",
    "messages.0.role",
    "messages.0.content",
    "messages.0.name",
    "messages.0.content.0",
]
SCORE_PATHS = ["items", "items.0", "items.0.prompt", "items.0.action", "items.0.reward", "extra"]
chat_bodies = valid_chat | broken(valid_chat, CHAT_PATHS) | chat_body | json_values
score_bodies = valid_score | broken(valid_score, SCORE_PATHS) | score_body


def encode(body) -> bytes:
    """JSON as a sloppy client might send it: NaN/Infinity literals, escaped lone surrogates."""
    return json.dumps(body, allow_nan=True).encode()


raw_bodies = st.binary(max_size=40) | st.sampled_from(
    [b"", b"{", b"null", b"[]", b'"x"', b"1e999", b'{"messages": [{"role": "user", "content": "\\udfff"}]}']
)
headers = st.sampled_from(
    [
        *[{"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}] * 6,
        {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/plain"},
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": "Bearer wrong", "Content-Type": "application/json"},
        {},
    ]
)
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


# --------------------------------------------------------------------------------------- checks
def check_error(r: httpx.Response) -> None:
    event(f"HTTP {r.status_code}")  # pytest --hypothesis-show-statistics shows the mix
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert len(r.content) <= MAX_ERROR_BYTES, r.text[:300]
        message = r.json()["error"]["message"]
        assert isinstance(message, str) and message and "\n" not in message


def check_chat(r: httpx.Response, body) -> None:
    check_error(r)
    if r.status_code != 200:
        return
    n = body.get("n", 1) if isinstance(body, dict) else 1
    n = 1 if n is None else n
    if r.headers["content-type"].startswith("text/event-stream"):
        lines = [x for x in r.text.split("\n") if x]
        assert lines[-1] == "data: [DONE]" and all(x.startswith("data: ") for x in lines), r.text[-300:]
        chunks = [json.loads(x[6:]) for x in lines[:-1]]
        assert not [c for c in chunks if "error" in c]
        finished = {ch["index"] for c in chunks for ch in c["choices"] if ch["finish_reason"]}
        assert finished == set(range(n))
        return
    out = r.json()
    assert [c["index"] for c in out["choices"]] == list(range(n))
    assert all(isinstance(c["message"]["content"], str) for c in out["choices"])
    assert out["usage"]["total_tokens"] == out["usage"]["prompt_tokens"] + out["usage"]["completion_tokens"]


def still_answers(http, policy, rm) -> None:
    ok = http.post(
        f"{policy}/chat/completions", headers=AUTH, json={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["role"] == "assistant"
    score = http.post(f"{rm}/score", headers=AUTH, json={"items": [{"prompt": "a", "action": "{}"}]})
    assert score.status_code == 200 and 0.0 <= score.json()["scores"][0] <= 1.0
    assert http.get(f"{policy}/health").json()["ok"] and http.get(f"{rm}/health").json()["ok"]


# ---------------------------------------------------------------------------------------- tests
@examples(200)
@given(body=chat_bodies, raw=st.none() | st.none() | raw_bodies, hdrs=headers)
def test_chat_completions_never_5xx(servers, body, raw, hdrs):
    http, policy, _ = servers
    r = http.post(
        f"{policy}/chat/completions", content=raw if raw is not None else encode(body), headers=hdrs
    )
    check_chat(r, body if raw is None else None)


@examples(100)
@given(body=score_bodies, raw=st.none() | st.none() | raw_bodies, hdrs=headers)
def test_reward_score_never_5xx(servers, body, raw, hdrs):
    http, _, rm = servers
    r = http.post(f"{rm}/score", content=raw if raw is not None else encode(body), headers=hdrs)
    check_error(r)
    if r.status_code == 200:
        out = r.json()
        assert len(out["scores"]) == len(body["items"]) and out["version"] == 5
        assert all(0.0 <= s <= 1.0 for s in out["scores"])


@examples(50)
@given(
    app=st.sampled_from(["policy", "rm"]),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    path=st.sampled_from(["/health", "/models", "/score", "/chat/completions", "/completions", "/x", ""]),
    query=st.sampled_from(["", "?a=1", "?\u00e9=%ff", "?" + "q" * 3000]),
    hdrs=headers,
)
def test_other_endpoints_and_methods_never_5xx(servers, app, method, path, query, hdrs):
    http, policy, rm = servers
    base = policy if app == "policy" else rm
    r = http.request(method, f"{base}{path}{query}", headers=hdrs)
    check_error(r)


def test_servers_answer_after_the_fuzzing(servers):
    still_answers(*servers)


def test_a_later_start_on_another_port_is_logged_not_silent(servers, caplog):
    """Serve keeps the proxy of its first start; asking for another port says so and changes nothing."""
    from cluster.config import ServeConfig
    from cluster.serving import http_base, start_serve

    http, policy, rm = servers
    with caplog.at_level("WARNING", logger="cluster.serving"):
        start_serve(ServeConfig(http_port=8460))
    assert "already runs on 127.0.0.1:8459" in caplog.text and "serve.http_port" in caplog.text
    assert http_base("/fuzz-rm") == "http://127.0.0.1:8459/fuzz-rm"
    still_answers(http, policy, rm)
