"""A ``fleet.vms`` list is checked before anything starts: entries that are not VM URLs or name one VM
twice fail at config load; VMs that are unreachable, refuse the token or speak another protocol fail
``check_vms`` (the real-VM branch of ``start_fleet``) with one error naming every one of them.

Real WordSim agent servers on loopback; no Ray (the real-VM branch starts no actor).
"""

from __future__ import annotations

import http.server
import socket
import threading

import pytest

from cluster.config import FleetConfig
from cluster.fleet import _CHECKED, check_vms, start_fleet
from lam_rl.config import ConfigError
from lam_rl.env.config import EnvConfig
from lam_rl.env.fleet import serve_many

# quick to give up on a closed port (two connection attempts), still real timeouts
ENV = EnvConfig(timeout_s=5.0, connect_retries=1, backoff_s=0.05)


@pytest.mark.parametrize(
    ("vms", "first", "second"),
    [
        (["http://10.0.0.4:8700", "HTTP://10.0.0.4:8700"], 0, 1),  # scheme case
        (["http://vm-a.corp:8700", "http://VM-A.corp:8700/"], 0, 1),  # host case, trailing slash
        (["http://10.0.0.5", "http://10.0.0.4:8700", "http://10.0.0.5:80/"], 0, 2),  # default port
        (["https://vm-b", "https://vm-b:443"], 0, 1),
        (["http://[::1]:8700", "http://[::1]:8700//"], 0, 1),
        ([" http://10.0.0.4:8700", "http://10.0.0.4:8700 "], 0, 1),
    ],
)
def test_a_vm_listed_twice_is_refused_naming_both_entries(vms, first, second):
    with pytest.raises(ConfigError) as e:
        FleetConfig(vms=vms)
    msg = str(e.value)
    assert "'fleet.vms'" in msg and "same VM twice" in msg and "list each VM once" in msg, msg
    assert f"[{first}] {vms[first]!r} and [{second}] {vms[second]!r}" in msg, msg


@pytest.mark.parametrize(
    "vms",
    [
        ["http://localhost:8700", "http://127.0.0.1:8700"],  # different names: documented as not the same
        ["http://10.0.0.4:8700", "http://10.0.0.4:8701", "https://10.0.0.4"],
        ["http://10.0.0.4:8700/a", "http://10.0.0.4:8700/b"],
    ],
)
def test_distinct_vms_pass(vms):
    assert FleetConfig(vms=vms).vms == vms


@pytest.mark.parametrize(
    "bad",
    [
        "10.0.0.4:8700",
        "ftp://10.0.0.4",
        "http://",
        "http://:8700",
        "http://10.0.0.4:99999",
        "http://10.0.0.4:0",
        "http://10.0.0.4:port",
        "http://10.0.0.4:8700?x=1",
        "http://user@10.0.0.4:8700",
        "http://10.0 .0.4:8700",
        "",
        8700,
    ],
)
def test_an_entry_that_is_not_a_vm_url_is_refused_naming_its_index(bad):
    with pytest.raises(ConfigError) as e:
        FleetConfig(vms=["http://10.0.0.9:8700", bad])
    msg = str(e.value)
    assert "'fleet.vms'" in msg and "not http(s) URLs with a host" in msg and "http://HOST:PORT" in msg, msg
    assert f"[1] {bad!r}" in msg and "[0]" not in msg, msg


def test_the_loader_reports_the_list_problem_as_a_config_error(cfg_factory):
    with pytest.raises(ConfigError, match="same VM twice"):
        cfg_factory("fleet.vms=[http://10.0.0.4:8700,http://10.0.0.4:8700/]")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _NotAVM(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b"<html>a web server, not a VM agent</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def vms(monkeypatch):
    """Two WordSim agents with the job's token, one with another token, a web server that is not a VM
    agent, and a closed port."""
    monkeypatch.setenv("LAM_TEST_FLEET_TOKEN", "good-token")
    good = serve_many(2, token="good-token", cfg=ENV)
    other = serve_many(1, token="another-token", cfg=ENV, name_prefix="other")
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAVM)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    _CHECKED.clear()
    try:
        yield {
            "good": good.urls,
            "wrong_token": other.urls[0],
            "web": f"http://127.0.0.1:{web.server_address[1]}",
            "closed": f"http://127.0.0.1:{closed_port()}",
        }
    finally:
        web.shutdown()
        web.server_close()
        good.stop()
        other.stop()
        _CHECKED.clear()


def test_every_bad_vm_is_named_in_one_error_before_anything_starts(vms):
    listed = [vms["good"][0], vms["closed"], vms["wrong_token"], vms["good"][1], vms["web"]]
    fleet = FleetConfig(vms=listed, token_env="LAM_TEST_FLEET_TOKEN")
    with pytest.raises(ConfigError) as e:
        start_fleet(fleet, ENV)
    msg = str(e.value)
    assert "\n" not in msg, msg
    assert "3 of 5 VMs failed the health check" in msg, msg
    assert f"[1] {vms['closed']} unreachable" in msg, msg
    assert f"[2] {vms['wrong_token']} refuses the token (HTTP 401)" in msg, msg
    assert f"[4] {vms['web']} does not speak the VM agent protocol" in msg, msg
    assert vms["good"][0] not in msg and vms["good"][1] not in msg, msg
    assert "LAM_TEST_FLEET_TOKEN" in msg and "leave them out of fleet.vms" in msg, msg
    assert not _CHECKED  # a failed list is probed again next time


def test_good_vms_give_their_endpoints_and_are_probed_once(vms):
    fleet = FleetConfig(vms=[u + "/" for u in vms["good"]], token_env="LAM_TEST_FLEET_TOKEN")
    eps = check_vms(fleet, ENV)
    assert [(ep.name, ep.url, ep.host) for ep in eps] == [
        ("vm-0", vms["good"][0], None),
        ("vm-1", vms["good"][1], None),
    ]
    got = start_fleet(fleet, ENV)  # remembered: no second probe, same endpoints
    assert got.token == "good-token" and got.host is None
    assert [ep.url for ep in got.endpoints] == vms["good"]
