"""``lam-rl env``: the task suite and WordSim VM agents from the command line (no Ray, no torch).

lam-rl env tasks [--json]                       the task families and their tab/dialog coverage
lam-rl env sample -n 5 --seed 0 --split eval    task instances as JSON lines
lam-rl env try bold_text --seed 3 --out shots/  play the expert on one instance, save screenshots
lam-rl env serve --port 8700                    one WordSim VM agent (token: LAM_VM_TOKEN or --token-file)
lam-rl env serve --count 8 --base-port 8700     eight of them in one process (ports 8700-8707)
lam-rl env serve --count 1000 --layout paths --port 8700 --latency-ms 2000
                                                1,000 on one port, at /vms/wordsim-N, 2 s steps
lam-rl env serve --agent windows --host 0.0.0.0 the Windows UIA agent driving Word (docs/windows.md)
lam-rl env openapi --out docs/env-openapi.json  the protocol's OpenAPI spec
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click


def _fail(msg: str) -> None:
    raise click.ClickException(msg)


@click.group("env")
def env() -> None:
    """WordSim VMs, the task suite and the scripted expert."""


@env.command("tasks")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per family.")
def tasks_cmd(as_json: bool) -> None:
    """List the task families with the tabs and dialogs they cover."""
    from lam_rl.env.tasks import list_families

    fams = list_families()
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in fams], indent=1))
        return
    width = max(len(f.name) for f in fams)
    click.echo(f"{'family':<{width}}  {'tab':<13} {'dialog':<19} steps  description")
    for f in fams:
        click.echo(
            f"{f.name:<{width}}  {', '.join(f.tabs):<13} {', '.join(f.dialogs) or '-':<19} {f.steps:>5}  {f.description}"
        )
    tabs = sorted({t for f in fams for t in f.tabs})
    dialogs = sorted({d for f in fams for d in f.dialogs})
    click.echo(
        f"\n{len(fams)} families over {len(tabs)} tabs ({', '.join(tabs)}) and {len(dialogs)} dialogs ({', '.join(dialogs)}); plus 'composite' (2-3 families in one request)."
    )


@env.command("sample")
@click.option("-n", "count", default=10, show_default=True, help="Number of tasks.")
@click.option("--seed", default=0, show_default=True, help="Sampling seed.")
@click.option("--split", type=click.Choice(["train", "eval", "all"]), default="train", show_default=True)
@click.option("--family", "families", multiple=True, help="Restrict to these families (repeatable).")
@click.option("--composite-fraction", default=0.0, show_default=True, help="Share of composite tasks.")
def sample_cmd(
    count: int, seed: int, split: str, families: tuple[str, ...], composite_fraction: float
) -> None:
    """Print task instances (TaskSpec JSON, one a line)."""
    from lam_rl.config import ConfigError
    from lam_rl.env.tasks import sample_tasks

    try:
        tasks = sample_tasks(
            count, seed, split=split, families=list(families) or None, composite_fraction=composite_fraction
        )
    except ConfigError as e:
        _fail(str(e))
    for t in tasks:
        click.echo(t.model_dump_json())


@env.command("try")
@click.argument("family")
@click.option("--seed", default=0, show_default=True, help="Task instance seed.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="Directory for step_NN.png and trajectory.json.",
)
@click.option(
    "--noise/--no-noise",
    default=True,
    show_default=True,
    help="The expert's error model (default rates) or a perfect expert.",
)
@click.option("--expert-seed", default=0, show_default=True, help="Seed of the expert's error model.")
@click.option("--max-steps", default=20, show_default=True, help="Step limit.")
def try_cmd(family: str, seed: int, out_dir: str, noise: bool, expert_seed: int, max_steps: int) -> None:
    """Play the expert on one instance of FAMILY and save a screenshot of every step."""
    from lam_rl.config import ConfigError
    from lam_rl.env.client import VMClient
    from lam_rl.env.config import ExpertConfig
    from lam_rl.env.expert import ExpertPolicy
    from lam_rl.env.tasks import make_task
    from lam_rl.env.wordsim import WordSim

    try:
        task = make_task(family, seed)
    except ConfigError as e:
        _fail(str(e))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("step_*.png"):
        old.unlink()
    vm = VMClient.in_process(WordSim("try", max_steps=max_steps + 1))
    expert = ExpertPolicy(ExpertConfig(noise=noise), seed=expert_seed)
    obs = vm.reset(task)
    expert.reset(task)
    click.echo(f"task {task.task_id} [{task.template}]: {task.request}")
    for line in task.plan:
        click.echo(f"  plan {line}")
    (out / "step_00.png").write_bytes(vm.screenshot())
    steps: list[dict[str, Any]] = []
    for i in range(1, max_steps + 1):
        d = expert.act(obs)
        action = d.to_action()
        rec: dict[str, Any] = {"step": i, "decision": d.model_dump(mode="json")}
        if action is not None:
            res = vm.step(action)
            obs = res.observation
            rec.update(ok=res.ok, error=res.error, error_code=res.error_code, result=res.result)
            shown = f"[{d.control_label}] {d.control_name} {d.function} {json.dumps(d.args)}"
            click.echo(
                f"  {i:>2}. {shown} -> {'ok' if res.ok else 'FAILED: ' + str(res.error)}{'  FINISH' if d.status == 'FINISH' else ''}"
            )
        else:
            click.echo(f"  {i:>2}. (no action) {d.thought}  FINISH")
        (out / f"step_{i:02d}.png").write_bytes(vm.screenshot())
        steps.append(rec)
        if d.status == "FINISH":
            break
    verdict = vm.evaluate()
    record = {
        "task": task.model_dump(mode="json"),
        "steps": steps,
        "expert_errors": expert.errors,
        "verdict": verdict.model_dump(mode="json"),
    }
    (out / "trajectory.json").write_text(json.dumps(record, indent=1))
    click.echo(f"verdict: {verdict.complete} ({verdict.reason})")
    if expert.errors:
        click.echo(f"expert errors: {', '.join(expert.errors)}")
    click.echo(f"wrote {len(steps) + 1} screenshots and trajectory.json to {out}")


def _token(token_file: str | None) -> str:
    tok = os.environ.get("LAM_VM_TOKEN", "").strip()
    if tok:
        return tok
    if token_file:
        p = Path(token_file).expanduser()
        if not p.is_file():
            _fail(f"token file {p} does not exist")
        tok = p.read_text().strip()
        if tok:
            return tok
        _fail(f"token file {p} is empty")
    _fail(
        "no VM token: set LAM_VM_TOKEN or pass --token-file FILE "
        "(create one with: python -c 'import secrets; print(secrets.token_urlsafe(32))' > FILE)"
    )
    return ""  # unreachable


@env.command("serve")
@click.option("--host", default=None, help="Interface to bind [env.host: 127.0.0.1].")
@click.option(
    "--port", type=int, default=None, help="Port of a single VM [env.port: 8700]; 0 picks a free one."
)
@click.option("--count", default=1, show_default=True, help="Number of WordSim VMs in this process.")
@click.option(
    "--base-port",
    type=int,
    default=None,
    help="First port with --count (then +1, +2, ...); 0: free ports. With --layout paths: the one port.",
)
@click.option(
    "--layout",
    type=click.Choice(["ports", "paths"]),
    default="ports",
    show_default=True,
    help="ports: a port per VM; paths: all VMs on one port, each at /vms/NAME (hundreds per process).",
)
@click.option("--token-file", default=None, help="File holding the bearer token (LAM_VM_TOKEN wins).")
@click.option(
    "--latency-ms", type=float, default=None, help="Extra latency of every step (ms) [env.latency_ms]."
)
@click.option(
    "--latency-jitter-ms",
    type=float,
    default=None,
    help="Uniform random jitter added to each step's latency (ms) [env.latency_jitter_ms].",
)
@click.option("--crash-rate", type=float, default=None, help="Probability that a request crashes the VM.")
@click.option("--hang-rate", type=float, default=None, help="Probability that a request hangs the VM.")
@click.option("--http500-rate", type=float, default=None, help="Probability of an injected HTTP 500.")
@click.option("--slow-reset-rate", type=float, default=None, help="Probability that a reset is slow.")
@click.option(
    "--max-steps", type=int, default=None, help="Hard step cap per episode inside the VM (0: none)."
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write {vms: [{name, url}]} here once serving.",
)
@click.option(
    "--name-prefix", default="wordsim", show_default=True, help="VM names are PREFIX-0, PREFIX-1, ..."
)
@click.option(
    "--agent",
    "agent_kind",
    type=click.Choice(["wordsim", "windows", "waa"]),
    default="wordsim",
    show_default=True,
    help="WordSim; the Windows UIA agent driving Word on this machine; or a WAA/OSWorld VM through its "
    "in-VM server (docs/windows.md).",
)
@click.option(
    "--simulated", is_flag=True, help="--agent windows on a simulated Windows desktop (off Windows)."
)
@click.option("--work-dir", default=None, help="--agent windows|waa: folder for the task documents.")
@click.option(
    "--canvas",
    type=click.Choice(["document", "text", "none"]),
    default="document",
    show_default=True,
    help="--agent windows|waa: the observation's canvas (the live document summarized, its text, nothing).",
)
@click.option("--waa-url", default=None, help="--agent waa: the in-VM server, http://HOST:5000.")
@click.option(
    "--waa-allow-insecure",
    is_flag=True,
    help="--agent waa: accept that the in-VM server runs any command without authentication.",
)
@click.option(
    "--waa-tree",
    type=click.Choice(["execute", "accessibility"]),
    default="execute",
    show_default=True,
    help="--agent waa: control tree from a UIA dump through /execute, or from /accessibility.",
)
def serve_cmd(
    host: str | None,
    port: int | None,
    count: int,
    base_port: int | None,
    layout: str,
    token_file: str | None,
    latency_ms: float | None,
    latency_jitter_ms: float | None,
    crash_rate: float | None,
    hang_rate: float | None,
    http500_rate: float | None,
    slow_reset_rate: float | None,
    max_steps: int | None,
    ready_file: str | None,
    name_prefix: str,
    agent_kind: str,
    simulated: bool,
    work_dir: str | None,
    canvas: str,
    waa_url: str | None,
    waa_allow_insecure: bool,
    waa_tree: str,
) -> None:
    """Serve VM agents (WordSim, or one Windows/WAA agent) over HTTP until Ctrl-C/SIGTERM."""
    from lam_rl.config import ConfigError
    from lam_rl.env.config import EnvConfig
    from lam_rl.env.fleet import serve_many

    given = {
        "host": host,
        "latency_ms": latency_ms,
        "latency_jitter_ms": latency_jitter_ms,
        "crash_rate": crash_rate,
        "hang_rate": hang_rate,
        "http500_rate": http500_rate,
        "slow_reset_rate": slow_reset_rate,
        "max_steps": max_steps,
        "token_file": token_file,
    }
    try:
        cfg = EnvConfig(**{k: v for k, v in given.items() if v is not None})
    except ConfigError as e:
        _fail(str(e))
    if count < 1:
        _fail("--count must be at least 1")
    first = base_port if base_port is not None else (port if port is not None else cfg.port)
    if layout == "paths" and not 0 <= first <= 65535:
        _fail(f"port {first} is out of range (0-65535)")
    if layout == "ports" and not 0 <= first <= 65535 - count:
        _fail(f"ports {first}..{first + count - 1} are out of range (or use --layout paths: one port)")
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: binding {cfg.host}: the VM agent is reachable from other machines; only the token protects it",
            err=True,
        )
    token = _token(cfg.token_file)
    try:
        if agent_kind == "wordsim":
            fleet = serve_many(
                count,
                token=token,
                host=cfg.host,
                base_port=first,
                cfg=cfg,
                name_prefix=name_prefix,
                layout=layout,
            )
        else:
            from lam_rl.env.fleet import serve_one
            from lam_rl.env.windows.serve import build_agent

            if count != 1:
                _fail(f"--agent {agent_kind} drives one desktop: --count must be 1")
            if layout != "ports":
                _fail(f"--agent {agent_kind} drives one desktop on its own port: leave out --layout paths")
            try:
                agent = build_agent(
                    agent_kind,
                    name=agent_kind if name_prefix == "wordsim" else name_prefix,
                    simulated=simulated,
                    work_dir=work_dir,
                    canvas=canvas,
                    waa_url=waa_url,
                    waa_allow_insecure=waa_allow_insecure,
                    waa_tree=waa_tree,
                    max_steps=max_steps,
                )
            except ConfigError as e:
                _fail(str(e))
            fleet = serve_one(agent, token=token, host=cfg.host, port=first, cfg=cfg)
    except OSError as e:
        _fail(f"{e} (is another server using the port? pick another with --port/--base-port, or 0)")
    except ValueError as e:  # a --name-prefix that cannot be a URL path segment (--layout paths)
        _fail(f"{e} (--name-prefix)")
    for vm in fleet:
        click.echo(f"{vm.name} {vm.url}")
    if ready_file:
        tmp = Path(ready_file).with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "vms": [{"name": vm.name, "url": vm.url} for vm in fleet],
                    "pid": os.getpid(),
                    "layout": layout,
                }
            )
        )
        tmp.replace(ready_file)
    what = "WordSim VM(s)" if agent_kind == "wordsim" else f"{agent_kind} agent"
    click.echo(f"serving {count} {what}; Ctrl-C to stop", err=True)
    sys.stdout.flush()
    fleet.wait()


@env.command("openapi")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the spec here (default: stdout).",
)
def openapi_cmd(out_path: str | None) -> None:
    """Print (or write) the VM protocol's OpenAPI spec."""
    from lam_rl.env.server import openapi_spec

    text = json.dumps(openapi_spec(), indent=1, sort_keys=True) + "\n"
    if out_path:
        Path(out_path).write_text(text)
        click.echo(f"wrote {out_path}")
    else:
        click.echo(text, nl=False)
