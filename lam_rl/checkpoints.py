"""The checkpoint registry: every HF checkpoint a run produces, with a monotonically rising version.

Checkpoints are ``save_pretrained`` folders (model + tokenizer, loadable with plain
transformers) under ``<run dir>/checkpoints/``; the registry (``registry.jsonl`` there) names them
(``lam1`` ... ``lam4``, ``rm``, intermediate ``lam2@step40``), gives each a version the policy
server swaps by, and records what data it was trained on.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lam_rl.config import ConfigError
from lam_rl.phases import phase_io

log = logging.getLogger(__name__)

# Which checkpoint each training phase starts from and produces (LAM_i from LAM_(i-1)), from the
# phase table (lam_rl/phases.py).
PHASE_IO: dict[str, tuple[str, str]] = phase_io()


@dataclass
class CheckpointEntry:
    name: str
    version: int
    path: str
    phase: str = ""
    step: int = 0
    final: bool = True
    created_at: float = field(default_factory=time.time)
    info: dict[str, Any] = field(default_factory=dict)


# Called with (registry, entry) after every registration, in the registering process. The W&B
# Tracker subscribes while it is open, so each checkpoint becomes a W&B artifact where it is made.
# A hook that raises is logged and skipped: the registration itself has already happened.
REGISTER_HOOKS: list[Callable[[CheckpointRegistry, CheckpointEntry], None]] = []


def is_complete_hf(path: str | os.PathLike) -> bool:
    p = Path(path)
    has_weights = (
        any(p.glob("*.safetensors")) or any(p.glob("pytorch_model*.bin")) or any(p.glob("adapter_model*"))
    )
    return p.is_dir() and (p / "config.json").exists() and has_weights


class CheckpointRegistry:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.path = self.root / "registry.jsonl"

    @contextmanager
    def _locked(self):
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".registry.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def entries(self) -> list[CheckpointEntry]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            if line.strip():
                out.append(CheckpointEntry(**json.loads(line)))
        return out

    def register(
        self,
        name: str,
        path: str | os.PathLike,
        *,
        phase: str = "",
        step: int = 0,
        final: bool = True,
        **info: Any,
    ) -> CheckpointEntry:
        if not is_complete_hf(path):
            raise ConfigError(f"checkpoint folder {path} is incomplete (no config.json or weights)")
        with self._locked():
            version = max((e.version for e in self.entries()), default=0) + 1
            entry = CheckpointEntry(name, version, str(path), phase, step, final, info=info)
            with self.path.open("a") as f:
                f.write(json.dumps(asdict(entry)) + "\n")
        for hook in list(REGISTER_HOOKS):
            try:
                hook(self, entry)
            except Exception:  # a hook (W&B) must never undo or fail a registration
                log.warning("checkpoint registry hook %r failed for %s", hook, entry.name, exc_info=True)
        return entry

    def latest(self, name: str, final_only: bool = True) -> CheckpointEntry | None:
        cands = [e for e in self.entries() if e.name == name and (e.final or not final_only)]
        cands = [e for e in cands if is_complete_hf(e.path)]
        return max(cands, key=lambda e: e.version) if cands else None

    def by_version(self, version: int) -> CheckpointEntry | None:
        return next((e for e in self.entries() if e.version == version), None)

    def require(self, name: str, what_to_run: str) -> CheckpointEntry:
        entry = self.latest(name)
        if entry is None:
            raise ConfigError(f"checkpoint '{name}' does not exist in {self.root}; run {what_to_run} first")
        return entry


def resolve_checkpoint(
    spec: str, registry: CheckpointRegistry, what_to_run: str = "the earlier phase"
) -> Path:
    """A checkpoint by registry name (``lam2``), ``name@version`` or a folder path; checked complete."""
    if spec.startswith((".", "/", "~")) or os.sep in spec:
        p = Path(spec).expanduser()
        if not is_complete_hf(p):
            raise ConfigError(f"checkpoint path {spec} is missing or incomplete (no config.json/weights)")
        return p
    if "@" in spec:
        name, ver = spec.split("@", 1)
        e = registry.by_version(int(ver))
        if e is None or e.name != name:
            raise ConfigError(f"no checkpoint {spec} in {registry.path}")
        return Path(e.path)
    return Path(registry.require(spec, what_to_run).path)
