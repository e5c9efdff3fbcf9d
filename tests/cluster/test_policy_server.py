"""The policy server on Ray Serve: batching, the OpenAI-compatible API (streaming, seed, stop, n,
400s for what it does not support), hot swap mid-collection."""

import os
import threading
import time

import pytest

from cluster import policy_server
from cluster.collect import checkpoint_spec, run_rollouts
from cluster.config import PolicyServeConfig, ServeConfig
from cluster.rollout import WorkItem
from lam_rl.env.tasks import sample_tasks
from lam_rl.store import TrajectoryStore

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.config import ModelConfig
    from lam_rl.models.corpus import project_corpus

    root = tmp_path_factory.mktemp("ckpt")
    tok = train_tokenizer(project_corpus(["Make the title bold."] * 20), 600)
    paths = []
    for seed in (1, 2):  # 1024 positions: the LLM-expert episode sends ~720-token prompts
        model = build_model(
            ModelConfig(hidden=64, layers=2, heads=4, kv_heads=4, intermediate=128, max_seq_len=1024),
            tok,
            seed=seed,
        )
        paths.append(save_pretrained(model, tok, root / f"v{seed}"))
    return paths


def test_openai_client_and_llm_expert_against_own_server(api, cfg_factory):
    from openai import AuthenticationError, OpenAI

    from lam_rl.agent.episode import run_episode
    from lam_rl.agent.policy import LMPolicy, openai_generate
    from lam_rl.agent.prompt import PromptBuilder
    from lam_rl.env.client import VMClient
    from lam_rl.env.wordsim import WordSim

    client = _client(api)
    assert [m.id for m in client.models.list().data] == ["lam"]
    r = client.chat.completions.create(
        model="lam", messages=[{"role": "user", "content": "Bold it"}], max_tokens=8
    )
    assert r.object == "chat.completion" and r.system_fingerprint == "7"
    assert r.usage.completion_tokens >= 1 and r.choices[0].finish_reason in ("stop", "length")
    with pytest.raises(AuthenticationError):
        OpenAI(base_url=api, api_key="wrong").models.list()
    # the "LLM expert" path: any OpenAI-compatible endpoint drives an episode (here: our own server)
    gen = openai_generate(api, TOKEN, "lam", max_tokens=24)
    policy = LMPolicy(gen, PromptBuilder(cfg_factory().agent), name="llm-expert")
    task = sample_tasks(1, 5, split="train")[0]
    traj = run_episode(VMClient.in_process(WordSim("t")), policy, task, traj_id="llm:1", phase="collect")
    assert traj.outcome.num_steps >= 1 and traj.outcome.policy_version == 7
    assert all(s.raw is not None for s in traj.steps)  # malformed answers recorded as invalid, no crash


def test_swap_mid_collection_takes_effect_for_new_episodes(ray_session, checkpoints, cfg_factory):
    cfg = cfg_factory("fleet.local=4", "policy.max_new_tokens=16", "rollout.max_invalid=2")
    policy_server.deploy(cfg.policy, checkpoints[0], 1, http=cfg.serve, app_name="policy")
    tasks = sample_tasks(24, 9, split="train")
    items = [WorkItem(f"swap:{t.task_id}", t.model_dump(mode="json")) for t in tasks]
    swapped_at = []

    handle = policy_server.serve.get_app_handle("policy")

    def swap():  # once collection is under way: after the server has answered 12 requests
        while handle.info.remote().result()["served"] < 12:
            time.sleep(0.1)
        policy_server.swap_checkpoint(checkpoints[1], 2)
        swapped_at.append(time.time())

    t = threading.Thread(target=swap)
    t.start()
    try:
        spec = checkpoint_spec(cfg, "lam", str(checkpoints[0] / "tokenizer.json"))
        s = run_rollouts(cfg, items, spec, phase="explore")
    finally:
        t.join()
        info = handle.info.remote().result()
        policy_server.shutdown()
    outs = (
        TrajectoryStore(cfg.store_uri)
        .outcomes(columns=["traj_id", "policy_version", "failure_kind", "created_at", "duration_s"])
        .to_pylist()
    )
    assert len(outs) == 24 and s.retries == 0  # no request was lost or failed
    assert not [o for o in outs if o["failure_kind"] == "policy_error"]
    versions = {o["policy_version"] for o in outs}
    assert versions == {1, 2}, versions
    for o in outs:  # episodes that started after the swap ran on the new version
        started = o["created_at"].timestamp() - o["duration_s"]
        if started > swapped_at[0] + 0.5:
            assert o["policy_version"] == 2
    assert info["version"] == 2 and info["loaded"] == [1, 2]


# ---------------------------------------------------------------- the OpenAI API as clients use it

TOKEN = "test-token"


@pytest.fixture(scope="module")
def api(ray_session, checkpoints):
    """One policy server for the OpenAI-API tests: token auth, a 512-position model, half a CPU."""
    from cluster.serving import http_base

    os.environ["LAM_POLICY_TOKEN"] = TOKEN
    try:
        cfg = PolicyServeConfig(max_new_tokens=24, cpus_per_replica=0.5)
        http = ServeConfig(http_port=8457)
        policy_server.deploy(
            cfg, checkpoints[0], 7, http=http, app_name="policy-openai", route_prefix="/openai"
        )
    finally:
        os.environ.pop("LAM_POLICY_TOKEN", None)
    yield f"{http_base('/openai')}/v1"
    policy_server.shutdown("policy-openai")


def _client(base):
    from openai import OpenAI

    return OpenAI(base_url=base, api_key=TOKEN, max_retries=0, timeout=60)


def _post(base, body: bytes | dict, token: str | None = TOKEN):
    import json

    import httpx

    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{base}/chat/completions", content=content, headers=headers, timeout=60)


MSG = [{"role": "user", "content": "Make the title bold."}]


def test_stream_answers_server_sent_events_with_the_official_client(api):
    client = _client(api)
    whole = client.chat.completions.create(model="lam", messages=MSG, max_tokens=16, temperature=0)
    chunks = list(
        client.chat.completions.create(
            model="lam",
            messages=MSG,
            max_tokens=16,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks and all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1 and chunks[0].system_fingerprint == "7"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content  # the same greedy answer, streamed
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == whole.usage.total_tokens
    if whole.usage.completion_tokens > 4:  # tokens arrive as generated, not as one piece at the end
        assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2
    raw = _post(api, {"messages": MSG, "max_tokens": 4, "stream": True})  # the wire format itself
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/event-stream")
    lines = [x for x in raw.text.split("\n") if x]
    assert all(x.startswith("data: ") for x in lines) and lines[-1] == "data: [DONE]"


def test_seed_makes_sampling_reproducible(api):
    client = _client(api)

    def ask(seed):
        r = client.chat.completions.create(
            model="lam", messages=MSG, max_tokens=12, temperature=1.0, seed=seed
        )
        return r.choices[0].message.content

    first = ask(1234)
    assert first == ask(1234)
    # batched with other requests (other seeds, greedy ones) the seeded answer stays the same
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, [1234, 1, 2, 3, 1234, None, 4, 1234]))
    assert answers[0] == answers[4] == answers[7] == first
    assert len({first, *answers[1:4], answers[6]}) >= 3  # other seeds sample other answers


def test_stop_strings_end_the_answer_and_are_not_included(api):
    client = _client(api)
    ask = {"model": "lam", "messages": MSG, "max_tokens": 24, "temperature": 1.0, "seed": 11}
    whole = client.chat.completions.create(**ask)  # seeded sampling: varied text, reproducible
    text = whole.choices[0].message.content
    k = next(i for i in range(2, len(text) - 1) if "\ufffd" not in text[i : i + 2])
    stop = text[k : k + 2]
    cut = text[: text.index(stop)]
    assert len(cut) < len(text)
    r = client.chat.completions.create(**ask, stop=[stop, "never-in-here"])
    assert r.choices[0].message.content == cut and r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens <= whole.usage.completion_tokens
    streamed = client.chat.completions.create(**ask, stop=stop, stream=True)
    parts = [c.choices[0] for c in streamed if c.choices]
    assert "".join(p.delta.content or "" for p in parts) == cut and parts[-1].finish_reason == "stop"


def test_n_choices_are_honoured(api):
    client = _client(api)
    r = client.chat.completions.create(model="lam", messages=MSG, max_tokens=10, temperature=1.0, n=3, seed=7)
    assert [c.index for c in r.choices] == [0, 1, 2]
    texts = [c.message.content for c in r.choices]
    assert len(set(texts)) >= 2  # three samples, not one answer copied
    again = client.chat.completions.create(
        model="lam", messages=MSG, max_tokens=10, temperature=1.0, n=3, seed=7
    )
    assert [c.message.content for c in again.choices] == texts
    assert r.usage.completion_tokens >= 3  # usage counts every choice's tokens
    single = client.chat.completions.create(model="lam", messages=MSG, max_tokens=10, temperature=0)
    assert r.usage.prompt_tokens == single.usage.prompt_tokens


BAD = [
    # (what, raw body or dict, words the one-line message must contain)
    (
        "temperature NaN",
        b'{"messages": [{"role": "user", "content": "hi"}], "temperature": NaN}',
        "temperature",
    ),
    ("top_p Infinity", b'{"messages": [{"role": "user", "content": "hi"}], "top_p": Infinity}', "top_p"),
    ("lone surrogate", b'{"messages": [{"role": "user", "content": "a\\ud800b"}]}', "surrogate"),
    ("surrogate in a key", b'{"messages": [{"role": "user", "content": "x"}], "\\udc00": 1}', "unicode"),
    ("unknown role", {"messages": [{"role": "robot", "content": "hi"}]}, "robot"),
    ("tool role", {"messages": [{"role": "tool", "content": "hi", "tool_call_id": "1"}]}, "tool"),
    ("huge role", {"messages": [{"role": "r" * 20000, "content": "hi"}]}, "role"),
    ("max_tokens past the context", {"messages": MSG, "max_tokens": 4096}, "context length"),
    ("20k-char prompt", {"messages": [{"role": "user", "content": "word " * 4000}]}, "context length"),
    ("unknown field", {"messages": MSG, "frobnicate": True}, "frobnicate"),
    ("unsupported logprobs", {"messages": MSG, "logprobs": True}, "logprobs"),
    (
        "unsupported tools",
        {"messages": MSG, "tools": [{"type": "function", "function": {"name": "f"}}]},
        "tools",
    ),
    ("n too large", {"messages": MSG, "n": 1000}, "n"),
    ("five stops", {"messages": MSG, "stop": ["a", "b", "c", "d", "e"]}, "stop"),
    ("empty stop", {"messages": MSG, "stop": [""]}, "stop"),
    (
        "image part",
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
        "image_url",
    ),
    ("no messages", {"messages": []}, "messages"),
    ("not JSON", b"{not json", "JSON"),
    ("not UTF-8", b"\x80", "JSON"),
    ("an infinite number", b"1e310", "object"),
    ("a list body", b"[]", "object"),
    ("negative temperature", {"messages": MSG, "temperature": -1}, "temperature"),
    ("huge seed", {"messages": MSG, "seed": 2**70}, "seed"),
    ("unknown message field", {"messages": [{"role": "user", "content": "hi", "mood": "x" * 20000}]}, "mood"),
]


@pytest.mark.parametrize("what,body,words", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_are_400_with_a_short_message_naming_the_problem(api, what, body, words):
    r = _post(api, body)
    assert r.status_code == 400, (what, r.status_code, r.text[:300])
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert words.lower() in err["message"].lower(), err["message"]
    assert "\n" not in err["message"] and len(r.content) < 1000  # one line; the input is not echoed


def test_handle_callers_get_their_own_context_error(api):
    handle = policy_server.serve.get_app_handle("policy-openai")
    too_long = handle.generate.remote("word " * 3000)
    fine = handle.generate.remote("Make the title bold.", max_new_tokens=4)
    with pytest.raises(Exception, match="maximum context length is 1024"):
        too_long.result()
    r = fine.result()  # the request beside it is answered
    assert r["version"] == 7 and r["completion_tokens"] <= 4
    clamped = handle.generate.remote("word " * 250, max_new_tokens=5000).result()  # ~1008 tokens
    assert clamped["prompt_tokens"] + clamped["completion_tokens"] <= 1024


def test_bad_requests_leave_the_server_answering(api):
    assert _post(api, {"messages": MSG}, token=None).status_code == 401
    assert _post(api, {"messages": MSG}, token="wrong").status_code == 401
    for _, body, _ in BAD[:4]:
        _post(api, body)
    r = _post(api, {"messages": MSG, "max_tokens": 4})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["role"] == "assistant"
