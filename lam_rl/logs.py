"""Logging set-up and progress bars shared by jobs, workers and the CLI."""

from __future__ import annotations

import logging
import math
import os
import sys
import time
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


def in_ci() -> bool:
    """Whether this runs under CI (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def progress(iterable: Iterable[T] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on a terminal (stderr a TTY), quiet in logs and CI; LAM_PROGRESS=1 forces it on, 0 off.

    For loops over items (rollouts, scoring); a training loop's progress is :class:`StepProgress`."""
    disable = kwargs.pop("disable", None)
    if disable is None:
        disable = os.environ.get("LAM_PROGRESS", "1" if sys.stderr.isatty() else "0") == "0"
    return tqdm(iterable, disable=disable, dynamic_ncols=True, **kwargs)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _rate(value: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


class StepProgress:
    """Progress of a training loop (SFT, the reward model, PPO), shown by its rank 0 only.

    On a terminal (stderr a TTY, outside CI, ``LAM_PROGRESS`` not ``0``) it is a tqdm bar with the loss
    and tokens/s; anywhere else (Ray workers, whose output the driver prints, log files, CI) it is a
    log line at the first update, at every multiple of ``every`` steps and at the last step::

        sft-plan: step 40/200 (20%) | loss 1.234 | 6.61k tokens/s | 0:31 elapsed | ETA 2:04

    ``every=0`` picks about 20 lines per run (5 under CI, ``CI=true``). ``update`` takes the loss,
    the tokens processed since the previous update (or a rate, ``tokens_per_s``) and any other
    figures to show (``reward=0.31``). The ETA is the remaining steps at the mean rate so far.
    """

    LINES, LINES_CI = 20, 5

    def __init__(
        self,
        name: str,
        total: int,
        *,
        every: int = 0,
        start: int = 0,
        enabled: bool = True,
        unit: str = "step",
        logger: logging.Logger | None = None,
    ) -> None:
        self.name, self.total, self.start, self.unit = name, max(int(total), 1), int(start), unit
        self.enabled = enabled
        self.log = logger or logging.getLogger(__name__)
        lines = self.LINES_CI if in_ci() else self.LINES
        self.every = max(1, every or math.ceil((self.total - self.start) / lines))
        self.t0 = self._last_t = time.monotonic()
        self._tokens = 0
        self._shown = self.start
        self.lines: list[str] = []  # what was shown (tests and callers read it)
        terminal = sys.stderr.isatty() and not in_ci() and os.environ.get("LAM_PROGRESS") != "0"
        self.bar = (
            tqdm(total=self.total, initial=self.start, desc=name, unit=unit, dynamic_ncols=True)
            if enabled and terminal
            else None
        )

    def update(
        self,
        step: int,
        *,
        loss: float | None = None,
        tokens: int = 0,
        tokens_per_s: float | None = None,
        **figures: float,
    ) -> str | None:
        """Record that ``step`` (1-based, of ``total``) is done; returns the line shown, if any."""
        if not self.enabled:
            return None
        now = time.monotonic()
        self._tokens += tokens
        if tokens_per_s is None and self._tokens:
            tokens_per_s = self._tokens / max(now - self._last_t, 1e-9)
        parts = [] if loss is None else [f"loss {loss:.4g}"]
        parts += [f"{k} {v:.3g}" for k, v in figures.items()]
        if tokens_per_s is not None:
            parts.append(f"{_rate(tokens_per_s)} tokens/s")
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix_str(" | ".join(parts), refresh=True)
            if step >= self.total:
                self.bar.close()
            return None
        first = self._shown == self.start
        if not (first or step >= self.total or step // self.every > self._shown // self.every):
            return None
        done = step - self.start
        elapsed = now - self.t0
        eta = (self.total - step) * elapsed / done if done > 0 else float("nan")
        line = " | ".join(
            [
                f"{self.name}: {self.unit} {step}/{self.total} ({100 * step / self.total:.0f}%)",
                *parts,
                f"{_duration(elapsed)} elapsed",
                f"ETA {_duration(eta)}",
            ]
        )
        self.log.info("%s", line)
        self.lines.append(line)
        self._shown, self._last_t, self._tokens = step, now, 0
        return line

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
