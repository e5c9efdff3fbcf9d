"""Errors of the trajectory store. All are :class:`lam_rl.config.ConfigError` subclasses: they are
problems a user can fix (a missing tag, an empty selection, a malformed record), and each message
says what to run or change."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from lam_rl.config import ConfigError

_F = TypeVar("_F", bound=Callable[..., Any])


class StoreError(ConfigError):
    """Base class of the store's user-facing errors."""


class StoreNotFound(StoreError):
    """No store exists at the URI (and the caller asked not to create one, or only read from it)."""


class StoreCorrupt(StoreError):
    """The store at the URI cannot be read: a table is missing, unreadable or truncated, or the URI is
    not a store at all (a file). Nothing is repaired or created; the message names the table."""


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


_LANCE_MARKERS = ("LanceError", "lance error", "External error", "Not found:", "Not a directory")


_IO_MARKERS = ("LanceError(IO)", "Not found", "No such file", "failed to fill", "Not a directory")
_QUERY_MARKERS = ("parser error", "Unterminated string", "No field named")


def is_query_error(e: BaseException, *, where: bool = False) -> bool:
    """Lance refusing a query it was given (a ``where=`` predicate naming no column, bad SQL).

    Lance says "Invalid user input"; older pylance releases name only the parser or schema error,
    so a ``ValueError`` that is not about I/O, from a read that carried a ``where``, counts too."""
    if isinstance(e, ConfigError) or not isinstance(e, (ValueError, OSError, RuntimeError)):
        return False
    msg = str(e)
    if msg.startswith("Invalid user input"):
        return True
    if not where:
        return False
    if any(m in msg for m in _QUERY_MARKERS):  # older pylance may file these under LanceError(IO)
        return True
    return isinstance(e, ValueError) and not isinstance(e, OSError) and not any(m in msg for m in _IO_MARKERS)


def query_error(e: BaseException) -> StoreError:
    msg = short_error(e).removeprefix("Invalid user input: ")
    return StoreError(f"the store cannot run this query: {msg}; fix the where= / --where predicate")


def is_storage_error(e: BaseException) -> bool:
    """An error from Lance or the file system under it (not a user error of ours)."""
    if isinstance(e, ConfigError) or is_query_error(e):
        return False
    if isinstance(e, OSError):
        return True
    if isinstance(e, (ValueError, RuntimeError)):  # pyarrow.ArrowInvalid is a ValueError
        msg = str(e)
        return any(m in msg for m in _LANCE_MARKERS)
    return False


def short_error(e: BaseException, limit: int = 240) -> str:
    """The first line of a Lance/OS error without the Rust source location, for one-line messages."""
    msg = " ".join(str(e).split())
    for noise in ("External error: ", "LanceError(IO): ", "Generic LocalFileSystem error: "):
        msg = msg.replace(noise, "")
    cut = msg.find(", /")  # ", /home/runner/work/lance/.../file.rs:12:34" or ", /rustc/..."
    if cut > 0:
        msg = msg[:cut]
    msg = msg.strip() or type(e).__name__
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def corrupt(uri: str, e: BaseException, what: str = "") -> StoreCorrupt:
    """A :class:`StoreCorrupt` for a storage error ``e`` met while reading ``what`` of the store at ``uri``."""
    where = f" ({what})" if what else ""
    return StoreCorrupt(
        f"the trajectory store at {uri} is damaged or unreadable{where}: {short_error(e)}; restore it "
        "from a copy or point --store/store.uri at a good store (nothing was changed)"
    )


def guarded(fn: _F) -> _F:
    """Decorate a store method: a Lance or file-system error becomes one :class:`StoreCorrupt` line."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except (OSError, ValueError, RuntimeError) as e:
            if is_query_error(e):
                raise query_error(e) from None
            if is_storage_error(e):
                raise corrupt(self.uri, e, fn.__name__) from None
            raise

    return wrapper  # type: ignore[return-value]


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
