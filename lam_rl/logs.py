"""Logging set-up and progress bars shared by jobs, workers and the CLI."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str | int = "INFO") -> None:
    """Configure the root logger once (idempotent); quiets chatty third-party loggers."""
    if isinstance(level, str):
        level = getattr(logging, level.upper(), logging.INFO)
    root = logging.getLogger()
    if not any(getattr(h, "_lam_rl", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        handler._lam_rl = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "PIL", "matplotlib", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar that stays quiet in CI logs unless LAM_PROGRESS=1 (set by make demo)."""
    disable = kwargs.pop("disable", None)
    if disable is None:
        disable = os.environ.get("LAM_PROGRESS", "1" if sys.stderr.isatty() else "0") == "0"
    return tqdm(iterable, disable=disable, dynamic_ncols=True, **kwargs)
