"""The phases a cluster runs: one entry per job invocation, with the worker groups it needs.

A phase is a job module plus the per-job switches the registry sets (``phase=plan``); the user's
config file and overrides come on top. ``tests/infra`` checks that every ``jobs/*.py`` has an entry,
so a new job cannot ship without a manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError

__all__ = ["Phase", "PHASES", "GROUPS", "get_phase", "phases_for_module"]

# Ray worker groups (deploy.<group> in the config): CPU rollout workers, GPU learners, GPU servers.
GROUPS = ("rollout", "learner", "serve")


@dataclass(frozen=True)
class Phase:
    name: str
    module: str
    args: tuple[str, ...]
    groups: tuple[str, ...]
    description: str
    # "module:Class" of the job's typed config; None: the one `lam-rl config` knows for this job
    # (jobs.cli.JOBS), else the root Config that every job's config extends
    schema: str | None = None

    @property
    def job(self) -> str:
        return self.module.rsplit(".", 1)[-1]

    def schema_path(self) -> str:
        if self.schema:
            return self.schema
        from jobs.cli import JOBS

        return JOBS.get(self.job, "jobs.config:Config")

    @property
    def argv(self) -> list[str]:
        """``python -m <module> <args>``, without the config and overrides."""
        return ["python", "-m", self.module, *self.args]


_ALL: list[Phase] = [
    Phase(
        "taskplan", "jobs.taskplan", (), ("rollout",), "Phase 0a: task-plan corpus (tasks, plans, evolution)."
    ),
    Phase(
        "collect",
        "jobs.collect",
        (),
        ("rollout",),
        "Phase 0b: task-action trajectories by the expert in VMs.",
    ),
    Phase("sft-plan", "jobs.sft", ("phase=plan",), ("learner",), "Phase 1: task-plan pretraining (LAM1)."),
    Phase(
        "sft-imitate",
        "jobs.sft",
        ("phase=imitate",),
        ("learner",),
        "Phase 2: imitation of the expert (LAM2).",
    ),
    Phase(
        "explore",
        "jobs.explore",
        (),
        ("rollout", "serve"),
        "Phase 3a: LAM2 retries the expert's failures in VMs (self-boosting).",
    ),
    Phase(
        "sft-boost", "jobs.sft", ("phase=boost",), ("learner",), "Phase 3b: SFT on the new successes (LAM3)."
    ),
    Phase("reward", "jobs.reward", (), ("learner",), "Phase 4a: reward model on all trajectories."),
    Phase(
        "ppo",
        "jobs.ppo",
        ("mode=offline",),
        ("learner", "serve"),
        "Phase 4b: offline PPO with reward-model scores (LAM4).",
    ),
    Phase(
        "ppo-online",
        "jobs.ppo",
        ("mode=online",),
        ("rollout", "learner", "serve"),
        "Phase 4b online: PPO with rollouts in VMs.",
    ),
    Phase(
        "evaluate",
        "jobs.evaluate",
        (),
        ("rollout", "serve"),
        "Offline metrics and online task success in VMs.",
    ),
    Phase(
        "pipeline",
        "jobs.pipeline",
        (),
        GROUPS,
        "Every phase in order, resumable.",
    ),
]

PHASES: dict[str, Phase] = {p.name: p for p in _ALL}


def get_phase(name: str) -> Phase:
    try:
        return PHASES[name]
    except KeyError:
        raise ConfigError(f"unknown phase {name!r}. Phases: {', '.join(PHASES)}") from None


def phases_for_module(module: str) -> list[Phase]:
    """Registry entries that run ``module`` (``jobs.sft`` has three)."""
    return [p for p in _ALL if p.module == module]
