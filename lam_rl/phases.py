"""The phases of the recipe, written once: what each runs, reads, writes and keeps to resume.

Every consumer reads this table: the pipeline's stage order and resumable state (``jobs.pipeline``),
the job list of ``lam-rl config`` (``jobs.JOBS``), the checkpoint registry's start/result pairs
(``lam_rl.checkpoints.PHASE_IO``), the SFT driver's phases (``cluster.sft``) and the deployment
renderer's phases (``lam_rl.deploy.phases.PHASES``). A new phase is one row here (plus its job).

Names that a config can change (``reward.output``, ``ppo.output``) are written as ``{section.key}``
templates and filled from the run's config by :func:`expand`; ``reads`` and ``writes`` name the
defaults (``checkpoint:<name>``, ``tag:<name>``) and are what the README's pipeline table shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

__all__ = [
    "CONFIG_MODULE",
    "GROUPS",
    "LEARNER_STATE",
    "PHASES",
    "TABLE",
    "PhaseSpec",
    "command",
    "expand",
    "job_schemas",
    "phase_io",
    "sft_phases",
    "stages",
    "what_to_run",
    "writers",
]

# The module holding every job's config class; a row's ``schema`` is a class name in it.
CONFIG_MODULE = "jobs.config"

# Ray worker groups (deploy.<group> in the config): CPU rollout workers, GPU learners, GPU servers.
GROUPS = ("rollout", "learner", "serve")

# The folder a learner keeps its resumable DeepSpeed state in, under its train dir.
LEARNER_STATE = "ds"


@dataclass(frozen=True)
class PhaseSpec:
    name: (
        str  # the pipeline stage and deploy phase name (`stages=[sft-plan]`, `lam-rl infra render sft-plan`)
    )
    module: str  # the job module that runs it; "" for the report (a pipeline step, not a job)
    description: str
    args: tuple[str, ...] = ()  # the job's own switches for this phase (`phase=plan`)
    key: str = ""  # the phase's short name in the checkpoint registry and `jobs.sft phase=` ("plan")
    reads: tuple[str, ...] = ()  # `checkpoint:<name>` / `tag:<name>` it reads (defaults)
    writes: tuple[str, ...] = ()  # `checkpoint:<name>` / `tag:<name>` it writes (defaults)
    train_dir: str | None = None  # its learner's folder under the run dir (template), state in LEARNER_STATE
    groups: tuple[str, ...] = ()  # the Ray worker groups it needs on a cluster; () = not deployed
    stage: bool = True  # a stage of the pipeline (in this table's order)
    schema: str = "Config"  # its job's config class in CONFIG_MODULE
    # the W&B run its job's driver logs to (one Tracker, opened by jobs.run_main); None: the job
    # tracks inside its Ray Train workers (SFT, PPO) or not at all (the pipeline)
    run: str | None = None

    @property
    def job_type(self) -> str:
        """The W&B job type of its runs: the job's name (the report's own name)."""
        return self.job or self.name

    @property
    def job(self) -> str:
        return self.module.rsplit(".", 1)[-1]

    @property
    def argv(self) -> list[str]:
        """``python -m <module> <args>``, without the config and overrides."""
        return ["python", "-m", self.module, *self.args]

    def schema_path(self) -> str:
        """``"module:Class"`` of its job's config (what ``lam-rl config <job>`` loads)."""
        return f"{CONFIG_MODULE}:{self.schema}"

    def checkpoints(self, which: str) -> list[str]:
        """The checkpoint names it reads (``which="reads"``) or writes."""
        return [r.split(":", 1)[1] for r in getattr(self, which) if r.startswith("checkpoint:")]

    def state_dir(self, cfg: Any) -> Path | None:
        """The learner's resumable state (``<run dir>/<train_dir>/ds``); None: the phase trains nothing."""
        if self.train_dir is None:
            return None
        return Path(cfg.run_dir) / expand(self.train_dir, cfg) / LEARNER_STATE

    def learner_dir(self, cfg: Any) -> Path:
        """The folder its learner writes into (checkpoints, ``ds/``)."""
        assert self.train_dir is not None, f"phase {self.name} has no learner"
        return Path(cfg.run_dir) / expand(self.train_dir, cfg)


_KEY = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def expand(template: str, cfg: Any) -> str:
    """``"train/{reward.output}"`` with the config's values filled in."""
    return _KEY.sub(lambda m: str(reduce(getattr, m.group(1).split("."), cfg)), template)


TABLE: tuple[PhaseSpec, ...] = (
    PhaseSpec(
        "taskplan",
        "jobs.taskplan",
        "Phase 0a: task-plan corpus (tasks, plans, evolution).",
        writes=("tag:taskplan", "checkpoint:base"),
        groups=("rollout",),
        run="taskplan",
    ),
    PhaseSpec(
        "collect",
        "jobs.collect",
        "Phase 0b: task-action trajectories by the expert in VMs.",
        writes=("tag:collect-expert", "tag:reference-eval"),
        groups=("rollout",),
        run="collect",
    ),
    PhaseSpec(
        "sft-plan",
        "jobs.sft",
        "Phase 1: task-plan pretraining (LAM1).",
        args=("phase=plan",),
        key="plan",
        reads=("checkpoint:base", "tag:taskplan"),
        writes=("checkpoint:lam1",),
        train_dir="train/lam1",
        groups=("learner",),
        schema="SFTJobConfig",
    ),
    PhaseSpec(
        "sft-imitate",
        "jobs.sft",
        "Phase 2: imitation of the expert (LAM2).",
        args=("phase=imitate",),
        key="imitate",
        reads=("checkpoint:lam1", "tag:collect-expert"),
        writes=("checkpoint:lam2",),
        train_dir="train/lam2",
        groups=("learner",),
        schema="SFTJobConfig",
    ),
    PhaseSpec(
        "explore",
        "jobs.explore",
        "Phase 3a: LAM2 retries the expert's failures in VMs (self-boosting).",
        reads=("checkpoint:lam2", "tag:collect-expert"),
        writes=("tag:explore-lam2",),
        groups=("rollout", "serve"),
        run="explore",
    ),
    PhaseSpec(
        "sft-boost",
        "jobs.sft",
        "Phase 3b: SFT on the new successes (LAM3).",
        args=("phase=boost",),
        key="boost",
        reads=("checkpoint:lam2", "tag:collect-expert", "tag:explore-lam2"),
        writes=("checkpoint:lam3",),
        train_dir="train/lam3",
        groups=("learner",),
        schema="SFTJobConfig",
    ),
    PhaseSpec(
        "reward",
        "jobs.reward",
        "Phase 4a: reward model on all trajectories.",
        key="reward",
        reads=("checkpoint:lam3", "tag:collect-expert", "tag:explore-lam2"),
        writes=("checkpoint:rm", "tag:rewards"),
        train_dir="train/{reward.output}",
        groups=("learner",),
        run="reward-scoring",
    ),
    PhaseSpec(
        "ppo",
        "jobs.ppo",
        "Phase 4b: offline PPO with reward-model scores (LAM4).",
        args=("ppo.mode=offline",),
        key="ppo",
        reads=("checkpoint:lam3", "checkpoint:rm", "tag:collect-expert", "tag:explore-lam2"),
        writes=("checkpoint:lam4",),
        train_dir="train/{ppo.output}",
        groups=("learner", "serve"),
    ),
    PhaseSpec(
        "ppo-online",
        "jobs.ppo",
        "Phase 4b online: PPO with rollouts in VMs.",
        args=("ppo.mode=online", "ppo.iterations=4"),
        reads=("checkpoint:lam3", "checkpoint:rm"),
        writes=("checkpoint:lam4",),
        train_dir="train/{ppo.output}",
        groups=("rollout", "learner", "serve"),
        stage=False,  # the pipeline's `ppo` stage runs it with ppo.mode=online
    ),
    PhaseSpec(
        "evaluate",
        "jobs.evaluate",
        "Offline metrics and online task success in VMs.",
        reads=(
            "checkpoint:lam1",
            "checkpoint:lam2",
            "checkpoint:lam3",
            "checkpoint:lam4",
            "tag:reference-eval",
        ),
        groups=("rollout", "serve"),
        run="evaluate",
    ),
    PhaseSpec("report", "", "Tables, curves, per-family success, rendered trajectories.", run="report"),
    PhaseSpec(
        "pipeline",
        "jobs.pipeline",
        "Every phase in order, resumable.",
        groups=GROUPS,
        stage=False,
        schema="PipelineConfig",
    ),
)

PHASES: dict[str, PhaseSpec] = {p.name: p for p in TABLE}


def stages() -> list[PhaseSpec]:
    """The pipeline's stages, in order."""
    return [p for p in TABLE if p.stage]


def phase_io() -> dict[str, tuple[str, str]]:
    """Training phase key -> (checkpoint it starts from, checkpoint it produces): LAM_i from LAM_(i-1)."""
    return {
        p.key: (p.checkpoints("reads")[0], p.checkpoints("writes")[0])
        for p in TABLE
        if p.key and p.checkpoints("reads") and p.checkpoints("writes")
    }


def sft_phases() -> dict[str, PhaseSpec]:
    """``jobs.sft phase=<key>`` -> its row (plan, imitate, boost)."""
    return {p.key: p for p in TABLE if p.module == "jobs.sft"}


def command(p: PhaseSpec) -> str:
    """How a user runs the phase: ``jobs.sft phase=plan``."""
    return " ".join([p.module, *p.args])


def writers(refs: list[str] | tuple[str, ...]) -> list[PhaseSpec]:
    """The pipeline stages that write any of ``refs`` (``checkpoint:lam1``, ``tag:taskplan``), in order."""
    return [p for p in stages() if p.module and set(p.writes) & set(refs)]


def what_to_run(name: str) -> str:
    """What writes the inputs of phase ``name``: ``jobs.collect and jobs.sft phase=plan``."""
    return " and ".join(command(p) for p in writers(PHASES[name].reads))


def job_schemas() -> dict[str, str]:
    """Job name -> ``"module:Class"`` of its config, for every job a row runs."""
    out: dict[str, str] = {}
    for p in TABLE:
        if p.module:
            out.setdefault(p.job, p.schema_path())
    return out
