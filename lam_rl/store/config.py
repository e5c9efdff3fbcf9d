"""Configuration of the trajectory store."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import opt


@dataclass
class StoreConfig:
    uri: str | None = opt(
        None,
        "Root URI of the trajectory store: a local path or s3://, az://, gs:// (None: <run dir>/store).",
    )
    storage_options: dict[str, str] = opt(
        {}, "Options passed through to Lance for object stores (credentials, region, endpoint)."
    )
