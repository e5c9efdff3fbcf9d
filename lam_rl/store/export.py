"""Exporters: a store read -> Parquet or JSONL, written to a temporary file and renamed into place
(an interrupted export leaves no half-written file).

- Parquet keeps the Arrow schema as is (``args``, ``sub_scores`` and ``task`` stay JSON strings).
- JSONL writes one object a line; JSON-string columns are decoded into objects, timestamps are ISO
  8601. ``table="trajectories"`` writes one line per trajectory: ``{...outcome, "steps": [...]}``.

A progress bar counts the rows written (on a terminal; quiet under CI).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from lam_rl.logs import progress
from lam_rl.store.errors import StoreError

if TYPE_CHECKING:
    from lam_rl.store.store import TrajectoryStore

FORMATS = ("parquet", "jsonl")
JSON_COLUMNS = ("args", "sub_scores", "task", "extra")


@dataclass
class ExportResult:
    path: str
    format: str
    table: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "table": self.table, "rows": self.rows}


def _default(o: Any) -> Any:
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(o).__name__} as JSON")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for k in JSON_COLUMNS:
        v = row.get(k)
        if isinstance(v, str) and v:
            with contextlib.suppress(json.JSONDecodeError):
                row[k] = json.loads(v)
    return row


def infer_format(path: str | Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise StoreError(f"unknown export format {fmt!r}; formats: {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    raise StoreError(
        f"cannot tell the export format from {path!r}: give --format parquet|jsonl or a .parquet/.jsonl name"
    )


def export(
    store: TrajectoryStore,
    path: str | Path,
    *,
    table: str = "steps",
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    allow_empty: bool = False,
    show_progress: bool | None = None,
    **read_kwargs: Any,
) -> ExportResult:
    """Write ``table`` (``steps``/``outcomes``/``taskplans``, or ``trajectories`` as JSONL) to ``path``.

    ``read_kwargs`` are the read's selection: ``version``, ``tag``, ``where`` and filters such as
    ``phase="collect", success=True``. Raises :class:`EmptySelection` when nothing matches, and
    :class:`StoreError` naming ``path`` when it cannot be written.
    """
    fmt = infer_format(path, fmt)
    if table == "trajectories" and fmt != "jsonl":
        raise StoreError("table 'trajectories' exports as nested JSONL only: use --format jsonl")
    if table not in ("steps", "outcomes", "taskplans", "trajectories"):
        raise StoreError(f"cannot export table {table!r}: use steps, outcomes, taskplans or trajectories")
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(f"cannot write {out}: {e.strerror or e}") from None
    if out.is_dir():
        raise StoreError(f"cannot write {out}: it is a directory; give a file name")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    rows = 0
    disable = None if show_progress is None else not show_progress
    bar = progress(unit=" rows", unit_scale=True, desc=f"export {table}", disable=disable)
    try:
        if table == "trajectories":
            with _output(tmp, out) as fh:
                for traj in store.trajectories(allow_empty=allow_empty, **read_kwargs):
                    row = asdict(traj.outcome) | {"steps": [asdict(s) for s in traj.steps]}
                    fh.write(json.dumps(row, default=_default, ensure_ascii=False) + "\n")
                    rows += 1
                    bar.update(1)
        else:
            batches = store.iter_batches(table, columns=columns, allow_empty=allow_empty, **read_kwargs)
            if fmt == "parquet":
                writer = None
                try:
                    for b in batches:
                        if writer is None:
                            writer = _parquet_writer(tmp, out, b.schema)
                        writer.write_batch(b)
                        rows += b.num_rows
                        bar.update(b.num_rows)
                    if writer is None:  # allow_empty and nothing matched: an empty file with the schema
                        from lam_rl.store import schemas
                        from lam_rl.store.reading import columns_of

                        pq.write_table(
                            schemas.SCHEMAS[table].empty_table().select(columns_of(table, columns)), tmp
                        )
                finally:
                    if writer is not None:
                        writer.close()
            else:
                with _output(tmp, out) as fh:
                    for b in batches:
                        for row in b.to_pylist():
                            fh.write(json.dumps(_decode(row), default=_default, ensure_ascii=False) + "\n")
                        rows += b.num_rows
                        bar.update(b.num_rows)
        try:
            os.replace(tmp, out)
        except OSError as e:
            raise StoreError(f"cannot write {out}: {e.strerror or e}") from None
    finally:
        bar.close()
        if tmp.exists():
            tmp.unlink()
    return ExportResult(str(out), fmt, table, rows)


@contextlib.contextmanager
def _output(tmp: Path, out: Path):
    """The temporary output file; a failure to open or write it names ``out`` (not the store)."""
    try:
        fh = tmp.open("w", encoding="utf-8")
    except OSError as e:
        raise StoreError(f"cannot write {out}: {e.strerror or e}") from None
    with fh:
        yield _Writes(fh, out)


class _Writes:
    def __init__(self, fh: Any, out: Path):
        self.fh, self.out = fh, out

    def write(self, text: str) -> None:
        try:
            self.fh.write(text)
        except OSError as e:
            raise StoreError(f"cannot write {self.out}: {e.strerror or e}") from None


def _parquet_writer(tmp: Path, out: Path, schema: Any) -> pq.ParquetWriter:
    try:
        return pq.ParquetWriter(tmp, schema)
    except OSError as e:
        raise StoreError(f"cannot write {out}: {e}") from None
