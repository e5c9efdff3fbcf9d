"""Every benchmark runs in CI, so none can break unseen: ``bench/<name>.py --smoke --json`` (tiny sizes,
seconds) must exit 0 with one JSON object carrying the headline keys as the last line of stdout.

The benches are discovered (every ``bench/*.py`` with a ``__main__`` block), not listed, so a new one
is covered the day it lands. They run two at a time (``LAM_BENCH_PARALLEL``): much of a smoke run is
Ray starting up and servers waiting on each other, which overlaps well even on two cores.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = sorted(
    p.stem for p in (ROOT / "bench").glob("*.py") if 'if __name__ == "__main__":' in p.read_text()
)
KEYS = ("name", "value", "unit", "baseline", "ratio", "goal")
# Two at a time: Ray gives a node 30 s to start, which three concurrent starts on two cores can miss.
PARALLEL = int(os.environ.get("LAM_BENCH_PARALLEL", "2"))


def run_smoke(name: str, env: dict[str, str]) -> dict:
    t0 = time.monotonic()
    try:
        out = subprocess.run(
            [sys.executable, f"bench/{name}.py", "--smoke", "--json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        rc, stdout, stderr = out.returncode, out.stdout, out.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
        stdout, stderr = (x.decode() if isinstance(x, bytes) else x for x in (stdout, stderr))
    return {"rc": rc, "stdout": stdout, "stderr": stderr, "seconds": time.monotonic() - t0}


@pytest.fixture(scope="module")
def smoke_runs(subprocess_env) -> dict[str, dict]:
    tmp = tempfile.mkdtemp(prefix="lbs-", dir="/tmp")  # the benches' scratch folders; short (socket paths)
    env = dict(subprocess_env, LAM_PROGRESS="0", PYTHONUNBUFFERED="1", TMPDIR=tmp)
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            futures = {name: pool.submit(run_smoke, name, env) for name in BENCHES}
            runs = {name: f.result() for name, f in futures.items()}
        for name, run in runs.items():  # shown with -s (or -rP): what each smoke run costs
            print(f"bench/{name}.py --smoke --json: exit {run['rc']}, {run['seconds']:.0f} s")
        return runs
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_benches_are_found():
    assert {"env", "store", "learner", "rollout", "serving", "efficacy", "online_ppo", "fleet"} <= set(BENCHES)
    assert "common" not in BENCHES


@pytest.mark.e2e
@pytest.mark.parametrize("name", BENCHES)
def test_bench_smoke_prints_its_json_last(smoke_runs, name):
    run = smoke_runs[name]
    tail = f"\n--- stdout ---\n{run['stdout'][-2000:]}\n--- stderr ---\n{run['stderr'][-4000:]}"
    assert run["rc"] == 0, (
        f"bench/{name}.py --smoke --json: exit {run['rc']} after {run['seconds']:.0f} s{tail}"
    )
    lines = run["stdout"].rstrip("\n").splitlines()
    assert lines, f"no output{tail}"
    result = json.loads(lines[-1])
    assert isinstance(result, dict) and set(KEYS) <= set(result), (result, tail)
    for key in ("value", "baseline", "ratio"):
        v = result[key]
        assert isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v), (key, v)
    assert result["smoke"] is True if "smoke" in result else True


def test_emit_keeps_the_json_last_whatever_prints_after_it(tmp_path):
    """The guarantee is structural: after the JSON line nothing else reaches stdout (a late print, a
    write to file descriptor 1 as Ray's atexit handlers or C code do)."""
    script = tmp_path / "late.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'bench')!r})\n"
        "from common import emit\n"
        "emit({'name': 'x', 'value': 2.0, 'unit': 'u', 'baseline': 1.0, 'ratio': 2.0, 'goal': 'g'}, True)\n"
        "print('a late warning')\n"
        "os.write(1, b'(raylet) a late C-level line\\n')\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=dict(os.environ)
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["ratio"] == 2.0, out.stdout
    assert "a late warning" in out.stderr and "a late C-level line" in out.stderr
