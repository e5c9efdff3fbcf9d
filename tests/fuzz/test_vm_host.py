"""Fuzz of a VM host's routing (``serve_many(..., layout="paths")``): any request target under or
beside ``/vms/<name>`` (encoded slashes and dots, empty, long or non-ASCII names, case, repeated
slashes), any token, method and body, through raw sockets. Never a 5xx or a traceback; error bodies
are the protocol's one-line ``{code, message}`` of at most 1 KB; a 2xx only for a real VM's real
route (or its public OpenAPI document); a rejected or misrouted request changes no VM."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lam_rl.env.fleet import serve_many
from lam_rl.env.tasks import make_task
from tests.fuzz.common import examples
from tests.fuzz.test_vm_protocol import ENDPOINTS, METHODS, TOKEN, TOKENS, raw_request

NAMES = ["wordsim-0", "wordsim-1", "wordsim-2"]
SEGMENTS = st.one_of(
    st.sampled_from(
        NAMES + ["wordsim-3", "WORDSIM-0", "", ".", "..", "%2e%2e", "wordsim-0%2F..", "a" * 3000]
    ),
    st.text(max_size=12).map(lambda t: urllib.parse.quote(t, safe="", errors="surrogatepass")),
)
PREFIXES = st.sampled_from(
    ["/vms/", "/vms/", "/vms/", "/VMS/", "//vms/", "/vms", "/v1/", "/", "/vms/wordsim-0/../"]
)
SUFFIXES = st.one_of(
    *[st.sampled_from([p for _, p in ENDPOINTS])] * 3,
    st.sampled_from(
        ["", "/", "/v1", "/openapi.json", "/v1/health/", "//v1/health", "/%76%31/health", "/v1/%2e%2e/step"]
    ),
    st.text(max_size=10).map(lambda t: "/" + urllib.parse.quote(t, safe="/", errors="surrogatepass")),
)


@pytest.fixture(scope="module")
def host():
    with serve_many(len(NAMES), token=TOKEN, layout="paths") as f:
        yield f


def test_any_target_on_a_vm_host(host):
    task = make_task("insert_table", 1)
    for vm in host:
        vm.agent.reset(task)
    addr = ("127.0.0.1", host.port)
    seen: dict[int, int] = {}

    @examples(150)
    @given(
        method=METHODS,
        prefix=PREFIXES,
        segment=SEGMENTS,
        suffix=SUFFIXES,
        auth=TOKENS,
        body=st.sampled_from([b"", b"{}", b'{"function": "texts"}', b"{not json", b"\xff" * 10]),
    )
    def run(method, prefix, segment, suffix, auth, body):
        target = (prefix + segment + suffix).encode("utf-8", "surrogatepass")
        auth_kind, token = auth
        headers = [(b"Host", b"127.0.0.1"), (b"Content-Length", str(len(body)).encode())]
        if auth_kind != "none":
            headers.append((b"Authorization", token))
        if body:
            headers.append((b"Content-Type", b"application/json"))
        before = [vm.agent.observe().model_dump() for vm in host]
        ans = raw_request(addr, method, target, headers, body)
        assert ans is not None, target  # every VM is alive: nothing is dropped
        seen[ans.status] = seen.get(ans.status, 0) + 1
        assert ans.status < 500, (target, ans.status, ans.body[:300])
        path = urllib.parse.unquote(target.split(b"?")[0].decode("utf-8", "surrogateescape"))
        # 400s also come from the HTTP parser itself; a HEAD answer has no body
        if ans.status > 400 and method != b"HEAD":
            err = json.loads(ans.body)
            assert set(err) == {"code", "message"} and len(ans.body) <= 1024 and "\n" not in err["message"]
        if 200 <= ans.status < 300:
            served = {f"/vms/{n}{p}" for n in NAMES for _, p in ENDPOINTS} | {
                f"/vms/{n}/openapi.json" for n in NAMES
            }
            assert path in served, (target, ans.status)
            if path.endswith("/v1/step") and ans.status == 200:  # a real step on a real VM: it may change it
                return
        assert [vm.agent.observe().model_dump() for vm in host] == before, target

    run()
    print(f"\nVM host routing: {dict(sorted(seen.items()))}")
    assert all(vm.agent.health().task_id == task.task_id for vm in host)
