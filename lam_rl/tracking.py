"""The one place that talks to Weights & Biases.

One W&B *group* per pipeline run (the run name), one W&B *run* per phase/job (``job_type`` is the
phase). Offline mode unless ``WANDB_API_KEY`` is set (``tracking.mode=auto``); offline runs are
written under ``<run dir>/wandb/`` and can be uploaded later with ``wandb sync``.

Scalars are mirrored to ``<run dir>/metrics/<name>.jsonl`` so reports and tests can read them
without W&B; :func:`read_offline_history` reads the W&B offline file itself.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lam_rl.config import TrackingConfig

log = logging.getLogger(__name__)


def resolve_mode(mode: str) -> str:
    if mode == "auto":
        return "online" if os.environ.get("WANDB_API_KEY") else "offline"
    return mode


class Tracker:
    """A W&B run for one job, plus a local JSONL mirror of its scalars.

    Usable as a context manager; ``finish`` is idempotent. ``mode='disabled'`` keeps the local
    mirror and skips W&B entirely.
    """

    def __init__(
        self,
        cfg: TrackingConfig,
        *,
        run_dir: str | os.PathLike,
        name: str,
        job_type: str,
        config: dict[str, Any] | None = None,
        group: str | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.name = name
        self.mode = resolve_mode(cfg.mode)
        self._step = 0
        self._run = None
        metrics_dir = self.run_dir / "metrics"
        metrics_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = metrics_dir / f"{name}.jsonl"
        self._mirror = self.metrics_path.open("a", encoding="utf-8")
        if self.mode == "disabled":
            return
        import wandb  # heavy import only when tracking for real

        os.environ.setdefault("WANDB_SILENT", "true")
        os.environ.setdefault("WANDB_CONSOLE", "off")
        self._wandb = wandb
        self._run = wandb.init(
            project=cfg.project,
            entity=cfg.entity,
            group=group or cfg.group or self.run_dir.name,
            job_type=job_type,
            name=f"{self.run_dir.name}/{name}",
            dir=str(self.run_dir),
            config=config or {},
            tags=list(cfg.tags),
            mode=self.mode,
            reinit="create_new",
            settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
        )

    # ------------------------------------------------------------------ logging
    def log(self, metrics: dict[str, Any], step: int | None = None) -> None:
        """Log scalar metrics at ``step`` (a monotonically increasing counter by default)."""
        if step is None:
            step = self._step
        self._step = max(self._step, step + 1)
        row = {"_step": step, "_time": time.time()}
        row.update({k: _scalar(v) for k, v in metrics.items()})
        self._mirror.write(json.dumps(row) + "\n")
        self._mirror.flush()
        if self._run is not None:
            self._run.log(metrics, step=step)

    def table(self, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Log a table (the paper's Table 3/4 shapes, per-family success, ...)."""
        out = self.run_dir / "metrics" / f"{self.name}.{key.replace('/', '_')}.table.json"
        out.write_text(json.dumps({"columns": list(columns), "rows": [list(r) for r in rows]}, default=str))
        if self._run is not None:
            self._run.log({key: self._wandb.Table(columns=list(columns), data=[list(r) for r in rows])})

    def image(self, key: str, path: str | os.PathLike, caption: str | None = None) -> None:
        if self._run is not None:
            self._run.log({key: self._wandb.Image(str(path), caption=caption)})

    def summary(self, **values: Any) -> None:
        path = self.run_dir / "metrics" / f"{self.name}.summary.json"
        current = json.loads(path.read_text()) if path.exists() else {}
        current.update({k: _scalar(v) for k, v in values.items()})
        path.write_text(json.dumps(current, indent=2, default=str))
        if self._run is not None:
            for k, v in values.items():
                self._run.summary[k] = v

    @property
    def run_path(self) -> str | None:
        """The directory W&B writes this run to (``.../wandb/offline-run-*``), if any."""
        if self._run is None:
            return None
        return str(Path(self._run.dir).parent)

    def finish(self) -> None:
        if not self._mirror.closed:
            self._mirror.close()
        if self._run is not None:
            self._run.finish()
            self._run = None

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


def _scalar(v: Any) -> Any:
    if hasattr(v, "item") and callable(v.item):
        try:
            return v.item()
        except (ValueError, RuntimeError):
            return str(v)
    return v


# ---------------------------------------------------------------------- reading back


def read_jsonl_metrics(path: str | os.PathLike) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def find_offline_runs(run_dir: str | os.PathLike) -> list[Path]:
    """The W&B offline run files (``run-*.wandb``) under a run directory, oldest first."""
    return sorted(Path(run_dir).glob("wandb/offline-run-*/run-*.wandb"))


_BLOCK = 32768
_HEADER = 7  # ':W&B' + magic (2 bytes) + version (1 byte)


def _records(path: Path) -> Iterator[bytes]:
    """Yield the raw records of a W&B transaction log (LevelDB log format behind a W&B header)."""
    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a W&B transaction log")
    pos, pending = _HEADER, b""
    while pos + 7 <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < 7:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind == 1:  # FULL
            yield chunk
        elif kind == 2:  # FIRST
            pending = chunk
        elif kind == 3:  # MIDDLE
            pending += chunk
        elif kind == 4:  # LAST
            yield pending + chunk
            pending = b""


def read_offline_history(run_file: str | os.PathLike) -> list[dict[str, Any]]:
    """The history rows (``run.log`` calls) recorded in a W&B offline ``.wandb`` file."""
    from wandb.proto import wandb_internal_pb2 as pb

    rows = []
    for raw in _records(Path(run_file)):
        rec = pb.Record()
        rec.ParseFromString(raw)
        if rec.WhichOneof("record_type") == "history":
            row = {}
            for item in rec.history.item:
                key = item.key or "/".join(item.nested_key)
                row[key] = json.loads(item.value_json)
            rows.append(row)
    return rows
