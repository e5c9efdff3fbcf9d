"""Values the operator's rules read: its constants and feature-gate defaults, Go-style parsing of
fields (versions, durations, integers), Kubernetes name and label syntax, cron schedules and time
zones. Nothing here knows a rule."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import Any

# The operator's feature gates and their defaults in v1.7.0 (alpha gates are off).
FEATURE_GATES: dict[str, bool] = {
    "RayClusterStatusConditions": True,
    "RayJobDeletionPolicy": True,
    "RayMultiHostIndexing": True,
    "RayServiceIncrementalUpgrade": True,
    "RayCronJob": False,
    "SidecarSubmitterRestart": False,
    "RayClusterNetworkPolicy": False,
    "GCSFaultToleranceEmbeddedStorage": False,
    "RayClusterMTLS": False,
    "RayClusterHistoryServer": False,
    "KubernetesWAS": False,
}

# A RayCluster's name makes its head Service's name (63 at most, minus "-head-svc" and the like); a
# RayJob's and a RayService's make their cluster's (6 characters more); a RayCronJob's its RayJobs'
# (11 more).
MAX_NAME = {"RayCluster": 53, "RayJob": 47, "RayService": 47, "RayCronJob": 36}

RAY_CONTAINER = 0  # the Ray container is the first of a pod template
FT_ANNOTATION = "ray.io/ft-enabled"
STORAGE_NS_ANNOTATION = "ray.io/external-storage-namespace"
INIT_TIMEOUT_ANNOTATION = "ray.io/initializing-timeout"
ORIGIN_LABEL = "ray.io/originated-from-crd"
CLUSTER_SELECTOR_KEY = "ray.io/cluster"
AUTOSCALER_V2_ENV = "RAY_enable_autoscaler_v2"
TLS_ENV = ("RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY", "RAY_TLS_CA_CERT")
TLS_VOLUME, TLS_MOUNT_PATH = "ray-tls", "/etc/ray/tls"
GCS_VOLUME, GCS_MOUNT_PATH = "gcs-storage", "/data/gcs"
COLLECTOR_CONTAINER = "ray-history-collector"
# env vars KubeRay injects into the history collector itself
COLLECTOR_MANAGED_ENV = (
    "POD_IP",
    "FQ_RAY_IP",
    "RAY_CLUSTER_NAME",
    "RAY_CLUSTER_NAMESPACE",
    "RAY_ROLE",
    "OWNER_KIND",
    "OWNER_NAME",
    "EVENTS_PORT",
)
_RESOURCE_PARAMS = ("num-cpus", "num-gpus", "memory", "resources")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


# --------------------------------------------------------------------------- value helpers


def _obj(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def _obj_or_none(x: Any) -> dict[str, Any] | None:
    """An optional object field: None when absent (or of the wrong type, a schema fault reported elsewhere)."""
    return x if isinstance(x, dict) else None


def _list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _negative(x: Any) -> int | None:
    """``x`` when it is a negative integer (the value a "not negative" rule reports), else None."""
    n = _int(x)
    return n if n is not None and n < 0 else None


def _str(x: Any) -> str:
    """A Go string field: absent (or of the wrong type, a schema fault reported elsewhere) is ''."""
    return x if isinstance(x, str) else ""


def _set(x: Any) -> bool:
    """A Go map value compared with '': present and not empty."""
    return x is not None and x != ""


def _env_index(name: str, env: list[Any]) -> int | None:
    for i, e in enumerate(env):
        if _obj(e).get("name") == name:
            return i
    return None


def go_version(text: str) -> tuple[int, ...] | None:
    """Kubernetes' generic version parse: 'v'? then two or more dot-separated numbers (the first without a
    leading zero), anything after them ignored; None when it does not parse."""
    m = re.match(r"^\s*v?([0-9]+(?:\.[0-9]+)+)", text)
    if not m:
        return None
    parts = m.group(1).split(".")
    if parts[0].startswith("0") and parts[0] != "0":
        return None
    return tuple(int(p) for p in parts)


def _at_least(version: tuple[int, ...], minimum: tuple[int, ...]) -> bool:
    n = max(len(version), len(minimum))
    return version + (0,) * (n - len(version)) >= minimum + (0,) * (n - len(minimum))


_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION = re.compile(r"^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+|0)$")


def go_duration(text: str) -> float | None:
    """Seconds of a Go duration ('90s', '1h30m', '-2m', '0'); None when Go's time.ParseDuration fails."""
    m = _DURATION.match(text)
    if not m:
        return None
    total = sum(
        float(num) * _DURATION_UNITS[unit]
        for num, unit in re.findall(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)", m.group(2))
    )
    return -total if m.group(1) == "-" else total


def _go_atoi(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[-+]?\d+", text) else None


def qualified_name_errors(key: str) -> list[str]:
    """Kubernetes' IsQualifiedName: an optional DNS subdomain prefix and '/', then a name of at most 63
    alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric."""
    parts = key.split("/")
    if len(parts) > 2:
        return ["a qualified name has at most one '/' (an optional DNS subdomain prefix, then the name)"]
    errs = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("the prefix before '/' must not be empty")
        elif len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix):
            errs.append(f"the prefix {prefix!r} must be a DNS subdomain (lowercase, at most 253 characters)")
    if not name:
        errs.append("the name part must not be empty")
    elif len(name) > 63:
        errs.append(f"the name part is {len(name)} characters long, more than 63")
    if name and not _QUALIFIED.match(name):
        errs.append("the name part must be alphanumerics, '-', '_' or '.', starting and ending alphanumeric")
    return errs


def label_value_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append(f"{len(value)} characters long, more than 63")
    if not _LABEL_VALUE.match(value):
        errs.append("must be empty or alphanumerics, '-', '_' or '.', starting and ending alphanumeric")
    return errs


# --------------------------------------------------------------------------- cron (robfig/cron v3)

_CRON_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    (
        "month",
        1,
        12,
        {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
    ),
    ("day of week", 0, 6, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
)
_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def _cron_number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    n = _go_atoi(text)
    if n is None:
        raise ValueError(f"failed to parse int from {text!r}")
    if n < 0:
        raise ValueError(f"negative number ({n}) not allowed: {text!r}")
    return n


def cron_error(spec: str) -> str | None:
    """Why the operator's cron parser (standard 5 fields or a descriptor such as '@hourly' or '@every
    1h') rejects ``spec``; None when it accepts it."""
    if not spec:
        return "empty spec string"
    if spec.startswith("@"):
        if spec in _CRON_DESCRIPTORS:
            return None
        if spec.startswith("@every "):
            every = spec[len("@every ") :]
            return None if go_duration(every) is not None else f"failed to parse duration {every!r}"
        return f"unrecognized descriptor: {spec}"
    fields = spec.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields (minute hour day-of-month month day-of-week), found {len(fields)}"
    for text, (what, lo, hi, names) in zip(fields, _CRON_FIELDS, strict=True):
        for expr in text.split(","):
            try:
                range_step = expr.split("/")
                low_high = range_step[0].split("-")
                if low_high[0] in ("*", "?"):
                    start, end = lo, hi
                else:
                    start = _cron_number(low_high[0], names)
                    if len(low_high) == 1:
                        end = start
                    elif len(low_high) == 2:
                        end = _cron_number(low_high[1], names)
                    else:
                        raise ValueError(f"too many hyphens: {expr!r}")
                step = 1
                if len(range_step) == 2:
                    step = _cron_number(range_step[1], {})
                    if len(low_high) == 1:
                        end = hi
                elif len(range_step) > 2:
                    raise ValueError(f"too many slashes: {expr!r}")
                if start < lo:
                    raise ValueError(f"beginning of range ({start}) below minimum ({lo}): {expr!r}")
                if end > hi:
                    raise ValueError(f"end of range ({end}) above maximum ({hi}): {expr!r}")
                if start > end:
                    raise ValueError(f"beginning of range ({start}) beyond end of range ({end}): {expr!r}")
                if step == 0:
                    raise ValueError(f"step of range should be a positive number: {expr!r}")
            except ValueError as e:
                return f"{what} field: {e}"
    return None


def time_zone_error(name: str) -> str | None:
    """Why Go's time.LoadLocation (with its embedded zone database) rejects ``name``; None if it loads."""
    if name in ("UTC", "Local"):
        return None
    if name.startswith(("/", "\\")) or ".." in name:
        return f"invalid time zone {name!r}"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if not _tz_database():  # no zone database here (no system one, no tzdata package): cannot tell
            return None
        return f"unknown time zone {name!r} (an IANA name such as 'America/New_York' or 'UTC')"
    return None


@functools.lru_cache(maxsize=1)
def _tz_database() -> bool:
    return bool(zoneinfo.available_timezones())


def _needs_gate(name: str) -> str:
    return (
        f"needs the operator's {name} feature gate (alpha, off by default; pass --feature-gates {name}=true "
        "if your operator runs with it)"
    )
