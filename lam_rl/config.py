"""Typed configuration: OmegaConf structured configs built from dataclasses.

Every job has one config class (a dataclass whose fields are sections); every field carries
help text (``opt(default, "help")``). A job's config is resolved in three layers:

1. the dataclass defaults,
2. a YAML file (``config=tiny`` picks ``jobs/configs/tiny.yaml``; ``config=path.yaml`` any file),
3. dotlist overrides from the command line (``model.hidden=64 sft.optim.lr=1e-4``).

An unknown or mistyped key raises :class:`ConfigError` naming the key and listing the valid
ones, before anything runs; so does a number outside its key's declared range (``opt(..., ge=0,
le=1)``), a NaN or an infinity, naming the key, the value and the range.

This module is the loader only. A section class lives next to the code that reads it (``ModelConfig``
in ``lam_rl/models/config.py``, ``TrackingConfig`` in ``lam_rl/tracking.py``, the Ray-side sections
in ``cluster/config.py``); the job-level ``Config`` that composes them is ``jobs/config.py``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import os
import re
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

T = TypeVar("T")

__all__ = [
    "ConfigError",
    "opt",
    "Range",
    "check_ranges",
    "load_config",
    "to_dict",
    "describe",
]


class ConfigError(ValueError):
    """A configuration problem a user can fix; the message says what and how."""


INT64_MAX = 2**63 - 1
SEED_MAX = 2**32 - 1  # numpy's legacy seeding takes 32 bits


@dataclass(frozen=True)
class Range:
    """The interval a numeric config key must lie in; ``None`` bounds are open (infinite).

    Every int/float field declares one (``opt(1e-5, "help", gt=0, le=1)``); the loader checks every
    value against it once, before the config objects are built, and ``--help`` prints it. Floats must
    also be finite (NaN is never accepted; +inf only where a key says ``allow_inf=True``) and ints
    must fit in 64 bits.
    """

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    allow_inf: bool = False

    def __post_init__(self) -> None:
        if self.ge is not None and self.gt is not None or self.le is not None and self.lt is not None:
            raise ValueError("a range takes one lower bound (ge or gt) and one upper bound (le or lt)")

    def __str__(self) -> str:
        lo, hi = (self.ge, "[") if self.gt is None else (self.gt, "(")
        up, close = (self.le, "]") if self.lt is None else (self.lt, ")")
        left = f"{hi}{_num(lo)}" if lo is not None else "(-inf"
        right = f"{_num(up)}{close}" if up is not None else "inf)"
        return f"{left}, {right}"

    def phrase(self) -> str:
        """How a message says it: ``>= 0``, ``> 0``, ``<= 1`` or ``in (0, 1]``."""
        lower = [f"{op} {_num(b)}" for op, b in ((">=", self.ge), (">", self.gt)) if b is not None]
        upper = [f"{op} {_num(b)}" for op, b in (("<=", self.le), ("<", self.lt)) if b is not None]
        if lower and upper:
            return f"in {self}"
        return (lower or upper or ["a number"])[0]

    def contains(self, value: float) -> bool:
        if math.isnan(value) or (math.isinf(value) and not (self.allow_inf and value > 0)):
            return False
        return not (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
            or (self.lt is not None and value >= self.lt)
        )


def _num(x: float) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def opt(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    allow_inf: bool = False,
    **kwargs: Any,
) -> Any:
    """A dataclass field with help text. Mutable defaults become factories.

    Numeric fields declare their range with ``ge``/``gt`` (lower bound, inclusive/exclusive) and
    ``le``/``lt`` (upper bound); ``allow_inf=True`` lets a float key take +inf.
    """
    if not help:
        raise ValueError("every config field needs help text")
    meta: dict[str, Any] = {"help": help}
    if any(b is not None for b in (ge, gt, le, lt)) or allow_inf:
        rng = Range(ge, gt, le, lt, allow_inf)
        if isinstance(default, (int, float)) and not isinstance(default, bool) and not rng.contains(default):
            raise ValueError(f"default {default!r} lies outside its own range {rng}")
        meta["range"] = rng
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta, **kwargs)
    if is_dataclass(default) and not isinstance(default, type):
        return field(default_factory=lambda d=default: dataclasses.replace(d), metadata=meta, **kwargs)
    if isinstance(default, type) and is_dataclass(default):
        return field(default_factory=default, metadata=meta, **kwargs)
    return field(default=default, metadata=meta, **kwargs)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def numeric_type(typ: Any) -> type | None:
    """int or float when a field's annotation is one of them (``int | None`` included), else None."""
    args = [a for a in typing.get_args(typ) if a is not type(None)] if typing.get_args(typ) else [typ]
    return args[0] if len(args) == 1 and args[0] in (int, float) else None


def range_problem(key: str, value: Any, typ: type, rng: Range | None) -> str | None:
    """Why ``value`` is not acceptable for the numeric key ``key`` (None when it is)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None  # None: an Optional key left unset; types are OmegaConf's business
    within = f" {rng.phrase()}" if rng is not None else ""
    if isinstance(value, float) and not math.isfinite(value) and (rng is None or not rng.contains(value)):
        return f"config key '{key}' must be a finite number{within}, got {value!r}"
    if typ is int and abs(value) > INT64_MAX:
        return f"config key '{key}' must be a 64-bit integer{within}, got {value}"
    if rng is not None and not rng.contains(value):
        return f"config key '{key}' must be {rng.phrase()}, got {value!r}"
    return None


def check_ranges(obj: Any, section: str = "") -> None:
    """Check a section built in code (not through :func:`load_config`) against its fields' ranges."""
    hints = _hints(type(obj))
    for f in fields(obj):
        typ = numeric_type(hints[f.name])
        if typ is not None:
            key = f"{section}.{f.name}" if section else f.name
            problem = range_problem(key, getattr(obj, f.name), typ, f.metadata.get("range"))
            if problem:
                raise ConfigError(problem)


def _check_node_ranges(schema: type, node: Any, prefix: str = "") -> None:
    """The loader's range check: every numeric leaf of a merged config, before any object is built
    (so no ``__post_init__`` ever sees an out-of-range, NaN or infinite number)."""
    hints = _hints(schema)
    for f in fields(schema):
        typ, key = hints[f.name], f"{prefix}{f.name}"
        if isinstance(typ, type) and is_dataclass(typ):
            sub = node[f.name]
            if sub is not None:
                _check_node_ranges(typ, sub, key + ".")
            continue
        num = numeric_type(typ)
        if num is not None:
            problem = range_problem(key, node[f.name], num, f.metadata.get("range"))
            if problem:
                raise ConfigError(problem)


def check_choice(section: str, name: str, value: Any, choices: Sequence[Any]) -> None:
    """Validation helper for ``__post_init__``: a value must be one of ``choices``."""
    if value not in choices:
        key = f"{section}.{name}" if section else name
        raise ConfigError(f"config key '{key}' must be one of {list(choices)}, got {value!r}")


# --------------------------------------------------------------------------- loading


def _field_help(cls: type) -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in fields(cls)}


def _section_class(schema: type, dotted: str) -> type | None:
    """The dataclass that owns ``dotted`` (a.b.c -> the class of a.b), or None."""
    cls: Any = schema
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not (isinstance(cls, type) and is_dataclass(cls)):
            return None
        hints = typing.get_type_hints(cls)
        if part not in hints:
            return None
        cls = hints[part]
    return cls if isinstance(cls, type) and is_dataclass(cls) else None


def _unknown_key_error(schema: type, key: str, where: str) -> ConfigError:
    owner = _section_class(schema, key)
    leaf = key.split(".")[-1]
    prefix = key.rsplit(".", 1)[0] if "." in key else ""
    if owner is None:
        # an unknown section: report the first part that does not exist
        cls: Any = schema
        parts = key.split(".")
        for i, part in enumerate(parts):
            names = [f.name for f in fields(cls)] if is_dataclass(cls) else []
            if part not in names:
                leaf, prefix = part, ".".join(parts[:i])
                owner = cls
                break
            cls = typing.get_type_hints(cls)[part]
    valid = sorted(f.name for f in fields(owner)) if owner is not None and is_dataclass(owner) else []
    # a key of that name in another section (`mode=` for `ppo.mode`) before a near spelling here (`model`)
    elsewhere = [k for k, _ in iter_fields(schema) if k.rsplit(".", 1)[-1] == leaf and k != key]
    near = elsewhere or [
        f"{(prefix + '.') if prefix else ''}{n}" for n in difflib.get_close_matches(leaf, valid, n=1)
    ]
    hint = f" Did you mean {' or '.join(repr(k) for k in near)}?" if near else ""
    scope = f"under '{prefix}'" if prefix else "at the top level"
    return ConfigError(f"unknown config key '{key}' ({where}). Valid keys {scope}: {', '.join(valid)}.{hint}")


def _split_argv(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    config_name = None
    rest: list[str] = []
    for arg in argv:
        if arg.startswith("config=") or arg.startswith("--config="):
            config_name = arg.split("=", 1)[1]
        elif "=" not in arg:
            raise ConfigError(
                f"cannot parse argument {arg!r}: overrides are key=value (e.g. model.hidden=64); "
                "use config=NAME for a packaged config (tiny, small) or config=PATH.yaml, and --help to list keys"
            )
        else:
            rest.append(arg)
    return config_name, rest


def resolve_yaml(config_name: str | None, configs_dir: Path | None) -> Path | None:
    """The YAML file ``config=NAME`` names. A bare name (``tiny``) is a config in ``configs_dir`` (the
    packaged ``jobs/configs``; any folder-like object, e.g. an ``importlib.resources`` traversable),
    else a file of that name; a path (``my.yaml``, ``conf/x.yaml``) is a file, else the packaged config
    of that file name. ``None`` picks ``$LAM_CONFIG`` or ``tiny`` (no file without ``configs_dir``)."""
    if config_name is None:
        config_name = os.environ.get("LAM_CONFIG", "tiny")
        if configs_dir is None:
            return None
    path = Path(config_name).expanduser()
    candidates: list = [path]
    if configs_dir is not None and config_name and path.name == config_name:
        packaged = configs_dir / (config_name if path.suffix in (".yaml", ".yml") else f"{config_name}.yaml")
        candidates.insert(0 if path.suffix == "" else 1, packaged)
    for cand in candidates:
        if cand.is_file():
            return cand  # type: ignore[return-value]
    names = (
        sorted(x.name[: -len(".yaml")] for x in configs_dir.iterdir() if x.name.endswith(".yaml"))
        if configs_dir is not None and configs_dir.is_dir()
        else []
    )
    where = f"packaged configs: {', '.join(names)}; " if names else ""
    raise ConfigError(
        f"config '{config_name}' not found: it is not a packaged config and there is no file "
        f"{path.absolute()} ({where}config=PATH.yaml takes a file of your own)"
    )


def _merge(base: DictConfig, other: Any, schema: type, where: str) -> DictConfig:
    try:
        return OmegaConf.merge(base, other)  # type: ignore[return-value]
    except (ConfigKeyError, ConfigAttributeError) as e:
        key = getattr(e, "full_key", None) or str(e)
        raise _unknown_key_error(schema, str(key), where) from None
    except ValidationError as e:
        key = getattr(e, "full_key", None) or _keys_of(schema, other)
        msg = (str(e.msg or "") or str(e) or "wrong type").splitlines()[0]
        if msg == "None":  # OmegaConf says nothing when a value replaces a whole section
            msg = "a section takes key: value pairs, not a single value or a list"
        raise ConfigError(f"bad value for config key '{key}' ({where}): {msg}") from None
    except OmegaConfBaseException as e:
        key = getattr(e, "full_key", None)
        at = f" at key '{key}'" if key else ""
        raise ConfigError(f"invalid configuration{at} ({where}): {str(e).splitlines()[0]}") from None
    except (TypeError, ValueError) as e:  # e.g. a mapping where a list goes (stages: {a: 1})
        raise ConfigError(
            f"invalid configuration under '{_keys_of(schema, other)}' ({where}): {str(e).splitlines()[0]} "
            "(a section, a list and a single value cannot replace one another)"
        ) from None


def _keys_of(schema: type, other: Any) -> str:
    """The config key an override or a YAML document sets, for messages: its path down the schema's
    sections as long as it names one key (``a.{b,c}`` when it sets several)."""
    parts: list[str] = []
    cls: Any = schema
    while isinstance(other, (dict, DictConfig)) and isinstance(cls, type) and is_dataclass(cls):
        keys = [str(k) for k in other]
        if len(keys) != 1 or keys[0] not in {f.name for f in fields(cls)}:
            if keys:
                parts.append(keys[0] if len(keys) == 1 else "{" + ",".join(keys[:6]) + "}")
            break
        parts.append(keys[0])
        cls, other = _hints(cls)[keys[0]], other[keys[0]]
    return ".".join(parts) or "the top level"


@functools.cache
def _template(schema: type) -> DictConfig:
    """The schema's defaults as a DictConfig, built once (merges copy it, nothing mutates it)."""
    return OmegaConf.structured(schema)


def load_config(
    schema: type[T],
    argv: Sequence[str] = (),
    *,
    configs_dir: Path | None = None,
) -> T:
    """Resolve ``schema`` from defaults, a YAML file and dotlist overrides; return the dataclass."""
    config_name, overrides = _split_argv(argv)
    base: DictConfig = _template(schema)
    yaml_path = resolve_yaml(config_name, configs_dir)
    if yaml_path is not None:
        try:
            with yaml_path.open("r", encoding="utf-8") as f:
                loaded = OmegaConf.load(f)
        except Exception as e:  # noqa: BLE001 - yaml errors come in many types
            raise ConfigError(f"cannot read config file {yaml_path}: {e}") from None
        base = _merge(base, loaded, schema, f"in {yaml_path}")
    for item in overrides:
        key = item.split("=", 1)[0]
        if not re.fullmatch(r"[A-Za-z_][\w.]*", key):
            raise ConfigError(f"bad override key {key!r}: keys look like section.name")
        try:  # the value is YAML: a control character or a broken flow collection does not parse
            parsed = OmegaConf.from_dotlist([item])
        except Exception as e:  # noqa: BLE001 - yaml and OmegaConf errors come in many types
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ConfigError(f"cannot parse the value of override {item!r}: {first}") from None
        base = _merge(base, parsed, schema, "on the command line")
    try:
        _check_node_ranges(schema, base)
    except OmegaConfBaseException as e:  # an interpolation that does not resolve, a missing value
        key = getattr(e, "full_key", None)
        raise ConfigError(
            f"invalid configuration{f' at key {key!r}' if key else ''}: {str(e).splitlines()[0]}"
        ) from None
    try:
        obj = OmegaConf.to_object(base)
    except ConfigError:
        raise
    except OmegaConfBaseException as e:
        if isinstance(e.__cause__, ConfigError):
            raise e.__cause__ from None
        raise ConfigError(f"invalid configuration: {e}") from None
    return obj  # type: ignore[return-value]


def to_dict(cfg: Any) -> dict[str, Any]:
    """A plain dict of a config dataclass (for W&B and for writing next to outputs)."""
    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)  # type: ignore[return-value]


def to_yaml(cfg: Any) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def describe(schema: type, prefix: str = "", defaults: Any = None) -> list[tuple[str, str, str]]:
    """(key, default, help) for every leaf field, for ``--help`` output; a numeric key's help ends
    with its range (``Must be in (0, 1].``).

    Defaults come from an instance, so a section whose default is a customised instance (the
    reward model's ``OptimConfig(lr=2e-5, ...)``) shows its own values, not its class's.
    """
    rows: list[tuple[str, str, str]] = []
    hints = typing.get_type_hints(schema)
    helps = _field_help(schema)
    defaults = schema() if defaults is None else defaults
    for f in fields(schema):
        typ = hints[f.name]
        key = f"{prefix}{f.name}"
        if isinstance(typ, type) and is_dataclass(typ):
            rows.extend(describe(typ, key + ".", getattr(defaults, f.name)))
        else:
            rng = f.metadata.get("range")
            text = f"{helps[f.name]} Must be {rng.phrase()}." if rng is not None else helps[f.name]
            rows.append((key, repr(getattr(defaults, f.name)), text))
    return rows


def iter_fields(schema: type, prefix: str = ""):
    """Yield (dotted key, dataclasses.Field) for every field, sections included."""
    hints = typing.get_type_hints(schema)
    for f in fields(schema):
        yield f"{prefix}{f.name}", f
        typ = hints[f.name]
        if isinstance(typ, type) and is_dataclass(typ):
            yield from iter_fields(typ, f"{prefix}{f.name}.")
