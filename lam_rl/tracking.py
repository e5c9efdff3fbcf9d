"""The one place that talks to Weights & Biases.

One W&B *group* per pipeline run (the run name), one W&B *run* per phase/job (``job_type`` is the
phase). ``tracking.mode=auto`` logs online when this process has W&B credentials (``WANDB_API_KEY``,
``wandb login``'s netrc entry, or an ``api_key`` in wandb's settings; found by wandb's own lookup,
never verified against a server) and offline otherwise; ``WANDB_MODE``, when set, decides instead.
Offline runs are written under ``<run dir>/wandb/`` and can be uploaded later with ``wandb sync``.

Each run's curves have their own x axis, ``<run name>/step`` (``define_metric``). Lineage: every
final checkpoint the registry records and every store tag written while a Tracker is open become
W&B artifacts *by reference* (a URI, never a copy of the files), and each phase declares the
checkpoints and tags it reads (:meth:`Tracker.use_inputs`), so W&B's lineage graph shows the recipe
from the task-plan corpus to LAM4. docs/report.md ("W&B lineage") explains how versions match up.

Scalars are mirrored to ``<run dir>/metrics/<name>.jsonl`` so reports and tests can read them
without W&B; :func:`read_offline_run` reads a W&B offline file itself (history, artifacts, metrics).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import struct
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from lam_rl.config import ConfigError, check_choice, opt

if TYPE_CHECKING:
    from lam_rl.checkpoints import CheckpointEntry, CheckpointRegistry


@dataclass
class TrackingConfig:
    project: str = opt("lam-rl", "W&B project.")
    entity: str | None = opt(None, "W&B entity (team); None uses the account default.")
    mode: str = opt(
        "auto",
        "W&B mode: auto (WANDB_MODE if set, else online when this process has W&B credentials: "
        "WANDB_API_KEY, `wandb login`, an api_key in wandb's settings; else offline), online, offline "
        "or disabled.",
    )
    group: str | None = opt(None, "W&B group; defaults to the run name so one pipeline run is one group.")
    tags: list[str] = opt([], "Extra W&B tags.")

    def __post_init__(self) -> None:
        check_choice("tracking", "mode", self.mode, ["auto", "online", "offline", "disabled"])


log = logging.getLogger(__name__)

# WANDB_MODE values wandb accepts, and what each means here
_ENV_MODES = {
    "online": "online",
    "run": "online",
    "offline": "offline",
    "dryrun": "offline",
    "disabled": "disabled",
}


def resolve_mode(mode: str) -> str:
    """``auto`` -> ``WANDB_MODE`` if set, else ``online`` with W&B credentials, else ``offline``."""
    if mode != "auto":
        return mode
    env = os.environ.get("WANDB_MODE", "").strip().lower()
    if env:
        if env not in _ENV_MODES:
            raise ConfigError(
                f"WANDB_MODE={env!r} is not a W&B mode; use one of {', '.join(_ENV_MODES)} or unset it"
            )
        return _ENV_MODES[env]
    return "online" if has_credentials() else "offline"


def has_credentials() -> bool:
    """Whether this process has W&B credentials: ``WANDB_API_KEY`` (or an identity token file),
    ``wandb login``'s netrc entry, or an ``api_key`` in wandb's settings, for the configured
    ``base_url``. wandb's own lookup does the work; nothing is sent to a server."""
    from wandb.errors import AuthenticationError
    from wandb.sdk import wandb_setup
    from wandb.sdk.lib import wbauth

    settings = wandb_setup.singleton().settings
    try:
        found = wbauth.authenticate_session(
            host=wbauth.HostUrl(settings.base_url, app_url=settings.app_url),
            source="lam-rl",
            prompt=False,
            verify=False,
            update_session=False,
        )
    except AuthenticationError as e:
        raise ConfigError(
            f"W&B credentials are malformed ({e}); fix them (wandb login --relogin) or set tracking.mode=offline"
        ) from None
    return found is not None


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
        # this run's curves are drawn against its own step counter, not W&B's global _step
        self.step_metric = f"{name}/step"
        self._run.define_metric(self.step_metric, hidden=True)
        self._run.define_metric("*", step_metric=self.step_metric)
        _open(self)

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
            self._run.log({**metrics, self.step_metric: step}, step=step)

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

    # ------------------------------------------------------------------ lineage
    def produce(
        self, kind: str, name: str, uri: str | os.PathLike, *, key: Mapping[str, Any], **meta: Any
    ) -> None:
        """Log ``uri`` as an output of this run: artifact ``name`` of type ``kind`` (``model``,
        ``dataset``) holding one reference to ``uri``. ``key`` (e.g. the registry version and its
        time) goes into the reference's digest, so a consumer that rebuilds the same ``key`` points at
        the same W&B version; ``meta`` becomes the artifact's metadata."""
        self._artifact(kind, name, uri, key, meta, use=False)

    def use(
        self, kind: str, name: str, uri: str | os.PathLike, *, key: Mapping[str, Any], **meta: Any
    ) -> None:
        """Declare ``uri`` an input of this run (the same reference artifact as :meth:`produce`)."""
        self._artifact(kind, name, uri, key, meta, use=True)

    def produce_checkpoint(self, entry: CheckpointEntry, registry: CheckpointRegistry) -> None:
        if entry.final:  # intermediate checkpoints (step saves, online-PPO iterations) stay local
            name, uri, key, meta = _checkpoint_artifact(entry, registry)
            self.produce("model", name, uri, key=key, **meta)

    def produce_tag(self, store: Any, tag: str) -> None:
        name, uri, key, meta = _tag_artifact(store, store.get_tag(tag))
        self.produce("dataset", name, uri, key=key, **meta)

    def use_checkpoint(
        self, checkpoint: CheckpointEntry | str | os.PathLike, registry: CheckpointRegistry
    ) -> None:
        """An input checkpoint: a registry entry, or a folder path (matched to its registry entry
        when it has one, else referenced by its path alone)."""
        from lam_rl.checkpoints import CheckpointEntry

        entry = (
            checkpoint if isinstance(checkpoint, CheckpointEntry) else _entry_for_path(registry, checkpoint)
        )
        if entry is not None:
            name, uri, key, meta = _checkpoint_artifact(entry, registry)
            self.use("model", name, uri, key=key, **meta)
        else:
            path = Path(checkpoint).expanduser().resolve()
            self.use("model", artifact_name(path.name), path, key={}, path=str(path), external=True)

    def use_tag(self, store: Any, tag: str) -> None:
        name, uri, key, meta = _tag_artifact(store, store.get_tag(tag))
        self.use("dataset", name, uri, key=key, **meta)

    def use_inputs(
        self,
        *,
        checkpoints: Iterable[CheckpointEntry | str | os.PathLike | None] = (),
        registry: CheckpointRegistry | None = None,
        store: Any = None,
        tags: Iterable[str] = (),
    ) -> None:
        """Declare a phase's inputs: its checkpoints (None entries are skipped) and store tags."""
        checkpoints = [c for c in checkpoints if c is not None]
        if checkpoints and registry is None:  # a caller's mistake, not a W&B hiccup: fail loudly
            raise TypeError("Tracker.use_inputs: checkpoints need the registry they come from (registry=)")
        for c in checkpoints:
            self._guard(self.use_checkpoint, c, registry, what=f"checkpoint {c}")
        for t in tags:
            self._guard(self.use_tag, store, t, what=f"store tag {t}")

    def _artifact(
        self,
        kind: str,
        name: str,
        uri: str | os.PathLike,
        key: Mapping[str, Any],
        meta: dict[str, Any],
        *,
        use: bool,
    ) -> None:
        if self._run is None:
            return
        ref = as_uri(uri)
        meta = {"uri": ref, "run": self.run_dir.name, **meta}
        art = self._wandb.Artifact(artifact_name(name), type=kind, metadata=meta)
        _add_reference(art, ref, key, size=meta.get("bytes"))
        if not use:
            self._run.log_artifact(art)
        elif self.mode == "online":
            self._run.use_artifact(art)
        else:
            # wandb refuses use_artifact offline; this is what it does online for a new artifact object:
            # log it flagged use_after_commit, so `wandb sync` creates-or-finds the version by its
            # digest and records this run as its user
            self._run._log_artifact(art, is_user_created=True, use_after_commit=True)

    def _guard(self, fn, *args: Any, what: str) -> None:
        try:
            fn(*args)
        except Exception:  # lineage is bookkeeping: it never fails a training job
            log.warning("W&B lineage: could not log %s for run %s", what, self.name, exc_info=True)

    def finish(self) -> None:
        _close(self)
        if not self._mirror.closed:
            self._mirror.close()
        if self._run is not None:
            run_dir = Path(self._run.dir).parent
            self._run.finish()
            self._run = None
            _wait_for_exit_record(run_dir)

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


# ---------------------------------------------------------------------- lineage helpers

# Trackers open in this process, innermost last: the registry and tag hooks report to the innermost.
_OPEN: list[Tracker] = []
_ARTIFACT_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def _open(tracker: Tracker) -> None:
    from lam_rl import checkpoints
    from lam_rl.store import tags

    if _on_register not in checkpoints.REGISTER_HOOKS:
        checkpoints.REGISTER_HOOKS.append(_on_register)
    if _on_tag not in tags.TAG_HOOKS:
        tags.TAG_HOOKS.append(_on_tag)
    _OPEN.append(tracker)


def _close(tracker: Tracker) -> None:
    if tracker in _OPEN:
        _OPEN.remove(tracker)


def _on_register(registry: CheckpointRegistry, entry: CheckpointEntry) -> None:
    if _OPEN:
        tr = _OPEN[-1]
        tr._guard(tr.produce_checkpoint, entry, registry, what=f"checkpoint {entry.name}")


def _on_tag(store: Any, tag: str) -> None:
    if _OPEN:
        tr = _OPEN[-1]
        tr._guard(tr.produce_tag, store, tag, what=f"store tag {tag}")


def artifact_name(name: str) -> str:
    """A W&B artifact name (letters, digits, ``-_.``) for a checkpoint or tag name."""
    return _ARTIFACT_CHARS.sub("-", name) or "unnamed"


def as_uri(path_or_uri: str | os.PathLike) -> str:
    """``s3://``, ``az://``, ``gs://``... as they are (less any credentials or query string);
    a local path as an absolute ``file://`` URI."""
    s = os.fspath(path_or_uri)
    parts = urlsplit(s)
    if len(parts.scheme) > 1 and parts.scheme != "file":  # one letter: a Windows drive, not a scheme
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    if parts.scheme == "file":
        s = parts.path
    return Path(s).expanduser().resolve().as_uri()


def _add_reference(art: Any, ref: str, key: Mapping[str, Any], size: int | None) -> None:
    """One manifest entry: ``ref`` with a digest of (ref, key), nothing uploaded or copied.

    wandb's own ``add_reference(checksum=False)`` also records only the URI, but its s3/gs handlers
    need boto3/google-cloud-storage even then, and a ``file://`` folder is walked file by file; an
    entry built here works for every store URI and never touches the data."""
    from wandb.sdk.artifacts.artifact_manifest_entry import ArtifactManifestEntry

    ident = json.dumps({"ref": ref, **key}, sort_keys=True, default=str)
    digest = base64.b64encode(hashlib.md5(ident.encode()).digest()).decode()
    path = ref.rstrip("/").rsplit("/", 1)[-1] or art.name
    art.manifest.add_entry(ArtifactManifestEntry(path=path, ref=ref, digest=digest, size=size))


def _checkpoint_artifact(
    entry: CheckpointEntry, registry: CheckpointRegistry
) -> tuple[str, Path, dict, dict]:
    """(name, uri, key, meta) of a registered checkpoint; the same for its producer and its users."""
    path = Path(entry.path).expanduser().resolve()
    run = Path(registry.root).expanduser().resolve().parent.name
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else None
    key = {"registry": str(Path(registry.root).expanduser().resolve()), "version": entry.version}
    key["created_at"] = entry.created_at
    meta = {
        "run": run,
        "registry_version": entry.version,
        "phase": entry.phase,
        "step": entry.step,
        "path": str(path),
        "bytes": size,
        **{k: v for k, v in entry.info.items() if k not in ("path", "run", "bytes")},
    }
    return entry.name, path, key, meta


def _tag_artifact(store: Any, info: Any) -> tuple[str, str, dict, dict]:
    """(name, uri, key, meta) of a store tag: artifact ``store-<tag>`` referencing the store."""
    created = info.created_at.isoformat() if info.created_at else None
    key = {
        "tag": info.name,
        "versions": dict(info.versions),
        "selection": info.selection,
        "created_at": created,
    }
    meta = {
        "tag": info.name,
        "store_versions": dict(info.versions),
        "store_version": max(info.versions.values(), default=0),
        "selection": info.selection,
        "counts": dict(info.counts),
        "created_at": created,
    }
    if info.reward_model:
        meta |= {"reward_model": info.reward_model, "reward_model_version": info.reward_model_version}
    if info.note:
        meta["note"] = info.note
    return f"store-{info.name}", store.uri, key, meta


def _entry_for_path(registry: CheckpointRegistry | None, path: str | os.PathLike) -> CheckpointEntry | None:
    if registry is None:
        return None
    want = Path(path).expanduser().resolve()
    same = [e for e in registry.entries() if e.final and Path(e.path).expanduser().resolve() == want]
    return max(same, key=lambda e: e.version) if same else None


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
    """Yield the raw records of a W&B transaction log (LevelDB log format behind a W&B header).

    wandb 0.31 has no Python reader of its own (its Go core reads these files), so this is one.
    A torn tail (a run killed mid-write) ends the iteration instead of yielding half a record."""
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
        if pos + 7 + length > len(data):
            return
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


def _wait_for_exit_record(run_dir: Path, timeout_s: float = 60.0) -> None:
    """``run.finish()`` returns before wandb's core has written the run's last records; wait until
    the transaction log ends with its exit record, so whoever reads it next (a report, a test,
    ``wandb sync``) sees the whole run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        files = list(run_dir.glob("*.wandb"))
        try:
            if files and any(r.WhichOneof("record_type") == "exit" for r in read_offline_records(files[0])):
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    log.warning("W&B run %s: no exit record after %.0f s; its file may be incomplete", run_dir, timeout_s)


def read_offline_records(run_file: str | os.PathLike) -> Iterator[Any]:
    """The ``wandb_internal_pb2.Record`` protos of a W&B offline ``.wandb`` file, in order."""
    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2 as pb

    for raw in _records(Path(run_file)):
        rec = pb.Record()
        try:
            rec.ParseFromString(raw)
        except DecodeError:
            continue
        yield rec


@dataclass
class OfflineArtifact:
    """One artifact record of an offline run: logged as an output, or (``used``) as an input."""

    name: str
    type: str
    digest: str
    used: bool
    metadata: dict[str, Any]
    entries: list[dict[str, Any]]  # path, ref, digest, size, local_path (empty for references)


@dataclass
class OfflineRun:
    """What an offline ``.wandb`` file holds, decoded with wandb's own protos."""

    path: Path
    name: str = ""
    job_type: str = ""
    group: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[OfflineArtifact] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # define_metric: name/glob, step_metric
    finished: bool = False

    @property
    def produced(self) -> list[OfflineArtifact]:
        return [a for a in self.artifacts if not a.used]

    @property
    def used(self) -> list[OfflineArtifact]:
        return [a for a in self.artifacts if a.used]


def read_offline_run(run_file: str | os.PathLike) -> OfflineRun:
    out = OfflineRun(Path(run_file))
    for rec in read_offline_records(run_file):
        kind = rec.WhichOneof("record_type")
        if kind == "run":
            out.name, out.job_type, out.group = rec.run.display_name, rec.run.job_type, rec.run.run_group
        elif kind == "history":
            row = {}
            for item in rec.history.item:
                row[item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
            out.history.append(row)
        elif kind == "artifact":
            a = rec.artifact
            entries = [
                {"path": e.path, "ref": e.ref, "digest": e.digest, "size": e.size, "local_path": e.local_path}
                for e in a.manifest.contents
            ]
            meta = json.loads(a.metadata) if a.metadata else {}
            out.artifacts.append(OfflineArtifact(a.name, a.type, a.digest, a.use_after_commit, meta, entries))
        elif kind == "metric":
            m = rec.metric
            out.metrics.append(
                {
                    "name": m.name or m.glob_name,
                    "glob": bool(m.glob_name),
                    "step_metric": m.step_metric,
                    "hidden": m.options.hidden,
                }
            )
        elif kind == "exit":
            out.finished = True
    return out


def read_offline_history(run_file: str | os.PathLike) -> list[dict[str, Any]]:
    """The history rows (``run.log`` calls) recorded in a W&B offline ``.wandb`` file."""
    return read_offline_run(run_file).history
