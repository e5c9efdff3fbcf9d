"""`lam-rl env serve --agent windows|waa`: refusals with the fix named, and a real server process
running the Windows agent on the simulated desktop, driven over HTTP with the token."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

from jobs.cli import main
from lam_rl.env.client import VMClient
from lam_rl.env.tasks import make_task, reference_actions


def serve(*args: str):
    return CliRunner().invoke(main, ["env", "serve", *args], env={"LAM_VM_TOKEN": "tok-123"})


def test_serve_refuses_what_cannot_run_here():
    r = serve("--agent", "windows")
    assert r.exit_code != 0 and "needs Windows" in r.output and "--simulated" in r.output
    r = serve("--agent", "waa", "--waa-url", "http://127.0.0.1:9")
    assert r.exit_code != 0 and "off by default" in r.output and "--waa-allow-insecure" in r.output
    r = serve("--agent", "waa", "--waa-url", "http://127.0.0.1:9", "--waa-allow-insecure")
    assert r.exit_code != 0 and "cannot reach" in r.output
    r = serve("--agent", "windows", "--simulated", "--count", "2")
    assert r.exit_code != 0 and "--count must be 1" in r.output
    r = serve("--agent", "waa", "--simulated", "--waa-url", "http://x:5000", "--waa-allow-insecure")
    assert r.exit_code != 0 and "--simulated applies to --agent windows" in r.output


def test_serve_the_simulated_windows_agent(tmp_path, subprocess_env):
    ready = tmp_path / "ready.json"
    env = dict(subprocess_env, LAM_VM_TOKEN="serve-token-456")
    cmd = [sys.executable, "-m", "jobs.cli", "env", "serve", "--agent", "windows", "--simulated"]
    cmd += ["--port", "0", "--ready-file", str(ready), "--work-dir", str(tmp_path / "vm")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.1)
        (vm,) = json.loads(ready.read_text())["vms"]
        with VMClient(vm["url"], "serve-token-456", name=vm["name"], timeout_s=30) as client:
            assert client.health().agent == "windows-simulated"
            task = make_task("underline_text", 5)
            client.reset(task)
            for d in reference_actions(task):
                assert client.step(d.to_action()).ok
            assert client.evaluate().complete == "yes"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "serving 1 windows agent" in err and vm["name"] == "windows"
