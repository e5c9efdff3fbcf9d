"""``lam-rl act``: a (tiny, untrained) LAM acts on the user's own request in WordSim (in process) or
on a VM agent over HTTP; the verifier's verdict when the request has a family's form; bad input is
one line and exit 2 with nothing written."""

from __future__ import annotations

import socket

import pytest
from click.testing import CliRunner

from jobs.cli import main
from lam_rl.env.fleet import serve_many

TOKEN = "act-test-token-0123456789"


def act(*args: str, env: dict[str, str] | None = None):
    # a short answer budget: an untrained model's answers are invalid at any length
    args = (*args, "--max-new-tokens", "8")
    return CliRunner().invoke(main, ["act", *args], env=env or {}, catch_exceptions=False)


def steps(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith("step ")]


@pytest.fixture(scope="module")
def vm():
    f = serve_many(1, token=TOKEN)
    yield f.urls[0]
    f.stop()


def test_request_of_a_family_in_wordsim(tiny_lam3, tmp_path):
    out = tmp_path / "page.html"
    r = act("Make 'Revenue summary' bold", "--model", str(tiny_lam3), "--template", "list",
            "--max-steps", "2", "--out", str(out))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "task family: bold_text" in r.output and '"text": "Revenue summary"' in r.output
    assert 1 <= len(steps(r.output)) <= 2  # stops at FINISH or the step limit
    verdict = next(ln for ln in r.output.splitlines() if ln.startswith("verdict:"))
    # an untrained model does not make the phrase bold: the verifier says so, naming the phrase
    assert verdict.startswith("verdict: failure") and "Revenue summary" in verdict
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Make &#x27;Revenue summary&#x27; bold" in page
    assert page.count('class="step') >= len(steps(r.output))


def test_request_of_no_family_says_no_verifier_applies(tiny_lam3, tmp_path):
    r = act("Write me a poem about spreadsheets", "--model", str(tiny_lam3), "--max-steps", "2",
            "--out", str(tmp_path / "p.html"))  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "verdict: no verifier applies: the request matches none of the" in r.output
    assert "task family:" not in r.output and (tmp_path / "p.html").exists()


def test_on_a_vm_agent_over_http(tiny_lam3, tmp_path, vm):
    r = act("Insert a table with 3 rows and 4 columns", "--model", str(tiny_lam3), "--vm", vm,
            "--max-steps", "2", "--out", str(tmp_path / "vm.html"), env={"LAM_VM_TOKEN": TOKEN})  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"VM: {vm}" in r.output and "task family: insert_table" in r.output
    assert "verdict: failure" in r.output and (tmp_path / "vm.html").exists()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_bad_input_is_one_line_and_exit_2(tiny_lam3, tmp_path, vm):
    incomplete = tmp_path / "half"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    out = tmp_path / "never.html"
    model = ["--model", str(tiny_lam3), "--out", str(out)]
    token = {"LAM_VM_TOKEN": TOKEN}
    cases = [
        (["   ", *model], {}, "the request is empty"),
        (["Make 'Risks' bold", "--out", str(out)], {}, "--model DIR is required"),
        (["Make 'Risks' bold", "--model", str(tmp_path / "nope"), "--out", str(out)], {}, "no such folder"),
        (
            ["Make 'Risks' bold", "--model", str(incomplete), "--out", str(out)],
            {},
            "not a complete checkpoint",
        ),
        (["Make 'Risks' bold", *model, "--template", "poster"], {}, "--template poster: no such template"),
        (
            ["Make 'Risks' bold", *model, "--vm", f"http://127.0.0.1:{_closed_port()}"],
            token,
            "cannot be used",
        ),
        (["Make 'Risks' bold", *model, "--vm", vm], {}, "no token; set LAM_VM_TOKEN"),
        (
            ["Make 'Risks' bold", *model, "--vm", vm],
            {"LAM_VM_TOKEN": "wrong-token-0123456789"},
            "cannot be used",
        ),
        (["Make 'Risks' bold", *model, "--vm", "ftp://example"], token, "cannot be used"),
    ]
    for args, env, message in cases:
        r = CliRunner().invoke(main, ["act", *args], env=env)
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code == 2, (args, r.output)
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], (args, r.output)
        assert not out.exists()
