"""The phases a cluster runs: the rows of the phase table (``lam_rl.phases``) with worker groups.

A phase is a job module plus the per-job switches the table sets (``phase=plan``); the user's
config file and overrides come on top. ``tests/infra`` checks that every ``jobs/*.py`` has an entry,
so a new job cannot ship without a manifest.
"""

from __future__ import annotations

from lam_rl.config import ConfigError
from lam_rl.phases import GROUPS, TABLE, PhaseSpec

__all__ = ["Phase", "PHASES", "GROUPS", "get_phase", "phases_for_module"]

# A deployable phase: a row of the phase table with the Ray worker groups it needs.
Phase = PhaseSpec

PHASES: dict[str, Phase] = {p.name: p for p in TABLE if p.module and p.groups}


def get_phase(name: str) -> Phase:
    try:
        return PHASES[name]
    except KeyError:
        raise ConfigError(f"unknown phase {name!r}. Phases: {', '.join(PHASES)}") from None


def phases_for_module(module: str) -> list[Phase]:
    """Registry entries that run ``module`` (``jobs.sft`` has three)."""
    return [p for p in PHASES.values() if p.module == module]
