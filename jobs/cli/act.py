"""``lam-rl act``: a trained LAM acts on a request of your own, in WordSim or on a VM. No Ray.

    lam-rl act "Make 'Revenue summary' bold" --model runs/tiny/checkpoints/lam4 --template list
    lam-rl act "Insert a table with 3 rows and 4 columns" --model DIR --vm http://10.40.4.4:8700

Prints each step's thought and action, stops at FINISH or the step limit, writes the trajectory's
viewer page and, when the request has the form of a task family (lam_rl.env.tasks.match), the
verifier's verdict; otherwise it says that no verifier applies. ``--template`` starts from a
WordSim template document in this process; ``--vm`` drives the VM agent at URL (its token in
$LAM_VM_TOKEN). Bad input (no or no complete model folder, an unreachable VM, an empty request, an
unknown template) is one line on stderr and exit status 2, before anything is written.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import click

from jobs.cli import config_errors

TOKEN_ENV = "LAM_VM_TOKEN"


def _agent_config(model: Path, config: str | None):
    """The prompt format the model was trained with: ``--config`` (a job config name or YAML file),
    else the run's saved job config when MODEL is <run>/checkpoints/<name>, else the defaults."""
    from omegaconf import OmegaConf

    from lam_rl.agent.config import AgentConfig
    from lam_rl.config import ConfigError

    if config:
        import jobs
        from jobs.config import Config
        from lam_rl.config import load_config

        return load_config(Config, [f"config={config}"], configs_dir=jobs.CONFIGS_DIR).agent
    for path in sorted((model.parent.parent / "configs").glob("*.yaml")):
        try:
            section = (OmegaConf.to_container(OmegaConf.load(path)) or {}).get("agent")
        except Exception:  # noqa: BLE001 - an unreadable saved config says nothing about the agent
            continue
        if isinstance(section, dict):
            known = {f.name for f in dataclasses.fields(AgentConfig)}
            try:
                return AgentConfig(**{k: v for k, v in section.items() if k in known})
            except (TypeError, ConfigError):
                continue
    return AgentConfig()


def _check_model(model: str | None) -> Path:
    from lam_rl.checkpoints import is_complete_hf
    from lam_rl.config import ConfigError

    if not model:
        raise ConfigError("--model DIR is required: a checkpoint folder such as runs/tiny/checkpoints/lam4")
    path = Path(model)
    if not path.is_dir():
        raise ConfigError(
            f"--model {model}: no such folder; give a checkpoint folder such as runs/tiny/checkpoints/lam4"
        )
    if not is_complete_hf(path):
        raise ConfigError(
            f"--model {model} is not a complete checkpoint folder (config.json, weights and tokenizer); "
            "give one the registry lists, e.g. runs/tiny/checkpoints/lam4"
        )
    return path


def _open_vm(vm_url: str | None, name: str):
    """A VMClient: the VM agent at ``vm_url`` (checked with /v1/health) or an in-process WordSim."""
    from lam_rl.config import ConfigError
    from lam_rl.env.client import VMClient, VMError
    from lam_rl.env.config import EnvConfig

    if vm_url is None:
        from lam_rl.env.wordsim import WordSim

        return VMClient.in_process(WordSim(name))
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise ConfigError(f"--vm {vm_url}: no token; set {TOKEN_ENV} to the VM agent's bearer token")
    cfg = EnvConfig()
    try:
        client = VMClient.from_config(vm_url.rstrip("/"), token, dataclasses.replace(cfg, connect_retries=1))
    except ValueError as e:  # not an http(s) URL
        raise ConfigError(f"--vm {vm_url}: the VM agent cannot be used ({e}); give its http(s) URL") from None
    try:
        client.health()
    except VMError as e:
        client.close()
        first = " ".join(str(e).split())[:200]
        raise ConfigError(
            f"--vm {vm_url}: the VM agent cannot be used ({first}); start it (lam-rl env serve) and check "
            f"the URL and {TOKEN_ENV}"
        ) from None
    return client


class _Printing:
    """The policy, printing each step's thought and action as it decides them."""

    def __init__(self, policy, echo) -> None:
        self.policy, self.echo, self.i = policy, echo, 0
        self.name = policy.name

    @property
    def version(self) -> int:
        return self.policy.version

    def reset(self, task) -> None:
        self.i = 0
        self.policy.reset(task)

    def act(self, obs):
        from lam_rl.eval.viewer import action_text

        out = self.policy.act(obs)
        if out.valid:
            d = out.decision
            row = {"function": d.function, "args": d.args, "control_label": d.control_label}
            row["control_text"] = d.control_name
            self.echo(f"step {self.i}: {d.thought or '(no thought)'}")
            self.echo(f"  action: {action_text(row)} [{d.status}]")
        else:
            self.echo(f"step {self.i}: invalid answer ({' '.join(str(out.error).split())[:160]})")
        self.i += 1
        return out

    def record(self, decision, control) -> None:
        self.policy.record(decision, control)


def _page(traj, out: Path) -> Path:
    """The viewer page of the episode (screens replayed in WordSim)."""
    from lam_rl.eval.viewer import TrajectoryView, atomic_write, render_html, replay_screens

    outcome = dataclasses.asdict(traj.outcome)
    task = outcome.get("task") or {}
    if isinstance(task, str):
        task = json.loads(task)
    elif not isinstance(task, dict):
        task = task.model_dump()
    outcome["task"] = task
    steps: list[dict[str, Any]] = []
    for s in traj.steps:
        row = dataclasses.asdict(s)
        row["controls"] = [c if isinstance(c, dict) else c.model_dump() for c in row["controls"]]
        steps.append(row)
    view = TrajectoryView(
        outcome, steps, replay_screens(task, steps), store_uri="(lam-rl act: not stored)", task=task
    )
    return atomic_write(out, render_html(view))


@click.command("act")
@click.argument("request")
@click.option("--model", "model", metavar="DIR", help="A checkpoint folder (runs/<run>/checkpoints/<name>).")
@click.option("--vm", "vm_url", metavar="URL", help=f"Drive the VM agent at URL (token in ${TOKEN_ENV}).")
@click.option(
    "--template", default=None,
    help="The WordSim template document to start from (line, essay, list, table, comments, shape, textbox, "
    "report); default: one that fits a matched task, else report.",
)  # fmt: skip
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None, help="The template's content seed.")
@click.option("--max-steps", type=click.IntRange(1, 100), default=12, show_default=True, help="Step limit.")
@click.option("--max-new-tokens", type=click.IntRange(1, 4096), default=96, show_default=True,
              help="Tokens generated per answer at most.")  # fmt: skip
@click.option("--config", "config", default=None,
              help="Job config (name or YAML) whose agent section the model was trained with "
              "(default: the run's saved config next to the model, else the defaults).")  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False), default="act.html", show_default=True,
              help="The viewer page to write.")  # fmt: skip
@config_errors
def act(
    request: str,
    model: str | None,
    vm_url: str | None,
    template: str | None,
    seed: int | None,
    max_steps: int,
    max_new_tokens: int,
    config: str | None,
    out: str,
) -> None:
    """A trained LAM acts on REQUEST: each step's thought and action, the viewer page, the verdict."""
    from lam_rl.config import ConfigError
    from lam_rl.env.protocol import MAX_REQUEST_CHARS
    from lam_rl.env.wordsim.templates import TEMPLATES

    text = " ".join(request.split())
    if not text:
        raise ConfigError(
            "the request is empty; say what to do, e.g. lam-rl act \"Make 'Risks' bold\" --model DIR"
        )
    if len(text) > MAX_REQUEST_CHARS:
        raise ConfigError(f"the request has {len(text)} characters; at most {MAX_REQUEST_CHARS}")
    if template is not None and template not in TEMPLATES:
        raise ConfigError(f"--template {template}: no such template; one of {', '.join(TEMPLATES)}")
    path = _check_model(model)
    agent_cfg = _agent_config(path, config)
    vm = _open_vm(vm_url, "act")
    try:
        _run(text, path, agent_cfg, vm, template, seed, max_steps, max_new_tokens, Path(out))
    finally:
        vm.close()


def _run(text, path, agent_cfg, vm, template, seed, max_steps, max_new_tokens, out: Path) -> None:
    from lam_rl.agent.episode import EpisodeLimits, run_episode
    from lam_rl.agent.generation import Generator
    from lam_rl.agent.policy import LMPolicy
    from lam_rl.data.sft import agent_builder
    from lam_rl.env.tasks.match import match_request

    match = match_request(text, template, seed)
    task = match.task
    gen = Generator(path)
    policy = LMPolicy(
        lambda prompt, pinned: (gen.generate([prompt], max_new_tokens=max_new_tokens)[0].text, 0),
        agent_builder(agent_cfg, gen.tokenizer),
        name=path.name,
    )
    where = vm.base_url if vm.base_url.startswith("http") else "WordSim (in process)"
    click.echo(f"request: {text}")
    click.echo(f"document: template {task.template}, seed {task.seed}; VM: {where}; model: {path}")
    if match.verifiable:
        click.echo(f"task family: {task.family} {json.dumps(match.values, ensure_ascii=False)}")
    traj = run_episode(
        vm, _Printing(policy, click.echo), task, traj_id=task.task_id, phase="act", split="act",
        limits=EpisodeLimits(max_steps=max_steps),
    )  # fmt: skip
    o = traj.outcome
    ended = (
        "FINISH"
        if any(s.status == "FINISH" for s in traj.steps)
        else f"stopped ({o.failure_kind or 'no FINISH'})"
    )
    click.echo(f"{ended} after {o.num_steps} steps ({o.num_invalid} invalid)")
    if match.verifiable:
        click.echo(f"verdict: {'success' if o.success else 'failure'} (complete: {o.complete}): {o.reason}")
    else:
        click.echo(f"verdict: no verifier applies: {match.why}")
    click.echo(f"page: {_page(traj, out)}")
