"""Configuration of the trajectory store."""

from __future__ import annotations

import re
from dataclasses import dataclass

from lam_rl.config import ConfigError, opt

# URI schemes Lance opens (its object_store providers); a local path has none.
SCHEMES = ("file", "file-object-store", "memory", "s3", "s3+ddb", "az", "abfss", "gs", "oss", "hf")
# Azure container / S3 and GCS bucket names: 3-63 lowercase letters, digits and hyphens (dots for buckets).
_CONTAINER = {"az": r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", "abfss": r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]"}
_BUCKET = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"


def check_uri(uri: str, key: str = "store.uri") -> None:
    """Refuse a ``store.uri`` (or ``key``) whose form no object store accepts (checked at load, no network)."""
    if "://" not in uri:
        return
    scheme, rest = uri.split("://", 1)
    if scheme.lower() not in SCHEMES:
        raise ConfigError(
            f"config key '{key}': scheme '{scheme}://' is not one the store opens ({', '.join(SCHEMES)}); "
            "write az://CONTAINER/PREFIX, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or a local path"
        )
    scheme = scheme.lower()
    if scheme in ("az", "abfss", "s3", "s3+ddb", "gs"):
        name = rest.split("/", 1)[0]
        if scheme == "abfss":
            name = name.split("@", 1)[0]
        what = "container" if scheme in ("az", "abfss") else "bucket"
        if not re.fullmatch(_CONTAINER.get(scheme, _BUCKET), name):
            raise ConfigError(
                f"config key '{key}': '{name}' in {uri} is not a valid {what} name (3-63 lowercase "
                f"letters, digits and hyphens); write {scheme}://{what.upper()}/PREFIX"
            )


@dataclass
class StoreConfig:
    uri: str | None = opt(
        None,
        "Root URI of the trajectory store: a local path or s3://, az://, gs:// (None: <run dir>/store).",
    )
    storage_options: dict[str, str] = opt(
        {}, "Options passed through to Lance for object stores (credentials, region, endpoint)."
    )
    batch_size: int = opt(
        256, "Trajectories per commit of the batched writer (each commit costs ~30 ms: batch them).", ge=1
    )
    flush_interval_s: float = opt(
        5.0,
        "The writer commits a partial batch once its oldest trajectory has waited this long (seconds).",
        gt=0,
    )
    max_pending_steps: int = opt(
        20000, "The writer also commits when this many steps are queued (bounds its memory).", ge=1
    )
    commit_retries: int = opt(
        3, "Retries of a failed Lance append (with backoff) before the error is raised.", ge=0
    )
    writer_name: str = opt(
        "lam-rl-store-writer",
        "Name of the shared Ray writer actor rollout workers send trajectories to (one per store).",
    )

    def __post_init__(self) -> None:
        if self.uri:
            check_uri(str(self.uri))
        if self.batch_size < 1:
            raise ConfigError(f"config key 'store.batch_size' must be >= 1, got {self.batch_size}")
        if self.flush_interval_s <= 0:
            raise ConfigError(f"config key 'store.flush_interval_s' must be > 0, got {self.flush_interval_s}")
        if self.max_pending_steps < 1:
            raise ConfigError(
                f"config key 'store.max_pending_steps' must be >= 1, got {self.max_pending_steps}"
            )
        if self.commit_retries < 0:
            raise ConfigError(f"config key 'store.commit_retries' must be >= 0, got {self.commit_retries}")
