"""Errors of the trajectory store. All are :class:`lam_rl.config.ConfigError` subclasses: they are
problems a user can fix (a missing tag, an empty selection, a malformed record), and each message
says what to run or change."""

from __future__ import annotations

from lam_rl.config import ConfigError


class StoreError(ConfigError):
    """Base class of the store's user-facing errors."""


class StoreNotFound(StoreError):
    """No store exists at the URI (and the caller asked not to create one)."""


class SchemaMismatch(StoreError):
    """A dataset was written with a schema version this lam-rl cannot read."""


class TagNotFound(StoreError):
    """A read or a command named a tag that does not exist."""


class TagScopeError(StoreError):
    """A tag was read from a table its selection does not apply to (a task-plan tag read as steps)."""


class TagExists(StoreError):
    """``tag(name)`` without ``replace=True`` for a name that is taken."""


class EmptySelection(StoreError):
    """A read or a tag selects no rows."""


class InvalidRecord(StoreError):
    """A record (step, outcome, task plan, reward) breaks the schema's rules."""


# Which command produces data named like this (tags are named '<phase>-<policy>' by the jobs).
_PRODUCERS = (
    ("taskplan", "python -m jobs.taskplan (phase 0a) or `lam-rl store import`"),
    ("plan", "python -m jobs.taskplan (phase 0a) or `lam-rl store import`"),
    ("collect", "python -m jobs.collect (phase 0b: expert trajectories)"),
    ("expert", "python -m jobs.collect (phase 0b: expert trajectories)"),
    ("explore", "python -m jobs.explore (phase 3: self-boosting)"),
    ("boost", "python -m jobs.explore (phase 3: self-boosting)"),
    ("reward", "python -m jobs.reward (phase 4: reward model scores)"),
    ("rm", "python -m jobs.reward (phase 4: reward model scores)"),
    ("ppo", "python -m jobs.ppo (phase 4)"),
    ("eval", "python -m jobs.evaluate"),
    ("import", "lam-rl store import --format ufo-dataflow|gui360 PATH --store URI"),
)


def producer_hint(name: str) -> str:
    """What to run first to get data called ``name`` (a tag or a phase)."""
    low = name.lower()
    for key, cmd in _PRODUCERS:
        if low.startswith(key) or f"-{key}" in low:
            return f"run {cmd} first"
    return (
        "run the job that produces it first (python -m jobs.pipeline runs every phase), or create the "
        "tag from existing data with `lam-rl store tag NAME --store URI [--phase ...]`"
    )
