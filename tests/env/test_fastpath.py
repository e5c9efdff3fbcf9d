"""The VM host's fast path (``server.FastPath``) answers the hot protocol requests byte for byte as
the FastAPI app does: the same status, headers and body for a table of good and bad requests, played
in the same order against two WordSim VMs, one app with the fast path and one without it. Good hot
requests never reach the FastAPI app; every other request does."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

from lam_rl.env.protocol import Action
from lam_rl.env.server import FastPath, create_app
from lam_rl.env.tasks import make_task
from lam_rl.env.wordsim import WordSim

from .conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}
JSON = {**AUTH, "Content-Type": "application/json"}
TASK = make_task("insert_table", 1).model_dump(mode="json")
CLICK = Action(control_name="Insert", control_type="TabItem", function="click_input").model_dump(mode="json")
BAD_TASK = dict(TASK, template="no_such_template")


def _j(v) -> bytes:
    return json.dumps(v).encode()


# (method, path, headers, body, answered by the fast path)
REQUESTS = [
    ("GET", "/v1/health", AUTH, None, True),
    ("GET", "/v1/observation", AUTH, None, True),
    ("POST", "/v1/evaluate", AUTH, None, True),
    ("POST", "/v1/reset", JSON, _j({"task": TASK}), True),
    (
        "POST",
        "/v1/reset",
        {**AUTH, "Content-Type": "Application/JSON; charset=utf-8"},
        _j({"task": TASK}),
        True,
    ),
    ("POST", "/v1/reset", JSON, _j({"task": BAD_TASK}), True),  # the agent's 422 bad_task
    ("POST", "/v1/step", JSON, _j(CLICK), True),
    ("GET", "/v1/observation", AUTH, None, True),
    ("POST", "/v1/step", JSON, _j({"function": "summary", "args": {"text": "done"}}), True),
    ("POST", "/v1/step", JSON, _j({"control_name": "x" * 3000, "function": "click_input"}), True),
    ("POST", "/v1/step", JSON, _j({"control_name": "Nope\u00e9", "function": "click_input"}), True),
    ("POST", "/v1/evaluate", AUTH, None, True),
    ("GET", "/v1/health?x=1", AUTH, None, True),
    # refused by the checks: the FastAPI app answers
    ("GET", "/v1/health", {}, None, False),
    ("GET", "/v1/observation", {"Authorization": f"Bearer {TOKEN}x"}, None, False),
    ("POST", "/v1/step", {"Authorization": TOKEN, "Content-Type": "application/json"}, _j(CLICK), False),
    ("POST", "/v1/step", {"Authorization": "Basic abc"}, b"{not json", False),
    ("POST", "/v1/step", AUTH, _j(CLICK), False),  # no Content-Type: 415
    ("POST", "/v1/step", {**AUTH, "Content-Type": "text/plain"}, _j(CLICK), False),
    ("POST", "/v1/step", {**AUTH, "Content-Type": "application/x+json"}, _j(CLICK), False),
    ("POST", "/v1/step", JSON, b"{not json", False),
    ("POST", "/v1/step", JSON, b"", False),
    ("POST", "/v1/step", JSON, b'{"function": "click_input", "control_name": NaN}', False),
    ("POST", "/v1/step", JSON, b'{"function": "click_input", "control_name": "\\ud800"}', False),
    ("POST", "/v1/step", JSON, b"\xff\xfe{}", False),
    ("POST", "/v1/step", JSON, b"[" * 5000 + b"]" * 5000, False),
    ("POST", "/v1/step", JSON, b"[]", False),
    ("POST", "/v1/step", JSON, _j({"function": 5, "args": []}), False),
    ("POST", "/v1/step", JSON, _j({"function": "click_input", "bogus": 1}), False),
    ("POST", "/v1/reset", JSON, _j({"task": {"task_id": "x"}}), False),
    ("POST", "/v1/reset", JSON, _j({}), False),
    (
        "POST",
        "/v1/step",
        JSON,
        b'{"function": "summary", "args": {"text": "' + b"x" * 1_100_000 + b'"}}',
        False,
    ),
    ("POST", "/v1/step", {**JSON, "Content-Length": "12x"}, _j(CLICK), False),
    ("GET", "/v1/step", AUTH, None, False),
    ("POST", "/v1/health", AUTH, None, False),
    ("HEAD", "/v1/health", AUTH, None, False),
    ("GET", "/v1/health/", AUTH, None, False),
    ("GET", "/v1/nothing", AUTH, None, False),
    ("GET", "/openapi.json", {}, None, False),
    ("GET", "/v1/screenshot", AUTH, None, False),
    ("GET", "/v1/observation", AUTH, None, True),
]


def _without_fast_path():
    app = create_app(WordSim(), TOKEN)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not FastPath]
    return app


def _answer(client: TestClient, method, path, headers, body):
    r = client.request(method, path, headers=headers, content=body)
    content = r.content
    if path.startswith("/v1/health") and r.status_code == 200:  # uptime differs by a few ms
        content = re.sub(rb'"uptime_s":[0-9.e+-]+', b'"uptime_s":0', content)
    heads = [(k, v) for k, v in r.headers.raw if not (k == b"content-length" and b"uptime_s" in r.content)]
    return r.status_code, heads, content


def test_fast_path_answers_byte_for_byte_as_the_fastapi_app():
    fast, slow = create_app(WordSim(), TOKEN), _without_fast_path()
    with TestClient(fast, raise_server_exceptions=False) as cf, TestClient(slow) as cs:
        cf.get("/openapi.json")  # builds the middleware stack
        node = fast.middleware_stack
        while not isinstance(node, FastPath):
            node = node.app
        inner, reached = node.app, []

        async def counting(scope, receive, send):
            reached.append(scope["path"])
            await inner(scope, receive, send)

        node.app = counting
        statuses = set()
        for i, (method, path, headers, body, hot) in enumerate(REQUESTS):
            reached.clear()
            got, want = _answer(cf, method, path, headers, body), _answer(cs, method, path, headers, body)
            assert got == want, (i, method, path, got[0], want[0], got[2][:300], want[2][:300])
            assert (not reached) is hot, (i, method, path, got[0], reached)
            statuses.add(got[0])
    assert {200, 400, 401, 404, 405, 413, 415, 422} <= statuses
