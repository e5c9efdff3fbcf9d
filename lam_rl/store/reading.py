"""Reads: filtered, projected scans of a pinned snapshot or a tag, as Arrow tables or record batches.

Every read is one or more *plans* (versions + selection; several tags give several plans, and a
trajectory selected by an earlier tag is not repeated by a later one). Trajectory-level filters
(``phase``, ``success``, ``policy_version``, ``family``, ``split``, ...) are evaluated on the
outcomes table; step reads push the ones ``steps`` repeats down into the Lance scan and keep only
steps of the selected winning outcomes (see ``store.py`` for why that is exactly-once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store import schemas
from lam_rl.store.errors import (
    EmptySelection,
    StoreError,
    corrupt,
    guarded,
    is_query_error,
    is_storage_error,
    query_error,
)
from lam_rl.store.records import Trajectory

if TYPE_CHECKING:
    from lam_rl.store.store import _Plan

READ_BATCH_ROWS = 4096


def _first_per(t: pa.Table, key: str) -> pa.Table:
    """Keep the first row of each value of ``key`` (exact duplicate rows from a retried commit)."""
    col = t.column(key)
    if len(pc.unique(col)) == t.num_rows:
        return t
    seen: set[Any] = set()
    keep = []
    for i, v in enumerate(col.to_pylist()):
        if v not in seen:
            seen.add(v)
            keep.append(i)
    return t.take(pa.array(keep, pa.int64()))


def _columns(table: str, columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        return schemas.public_columns(table)
    names = set(schemas.SCHEMAS[table].names)
    bad = [c for c in columns if c not in names]
    if bad:
        raise StoreError(
            f"unknown column(s) {', '.join(bad)} in {table}; columns: {', '.join(schemas.SCHEMAS[table].names)}"
        )
    return list(columns)


def _with(need: list[str], *cols: str) -> list[str]:
    return need + [c for c in cols if c not in need]


def _present(ds: Any, cols: list[str]) -> list[str]:
    """The columns of ``cols`` a dataset version has (an older schema lacks the ones added since)."""
    have = set(ds.schema.names)
    return [c for c in cols if c in have]


def _fill(b: pa.RecordBatch | pa.Table, table: str, cols: list[str]) -> Any:
    """``b`` with ``cols`` in order, columns an older schema lacks added as nulls (see schemas.ADDED)."""
    names = b.schema.names
    if all(c in names for c in cols):
        return b.select(cols)
    schema = schemas.SCHEMAS[table]
    arrays, fields = [], []
    for c in cols:
        if c in names:
            arrays.append(b.column(c))
            fields.append(b.schema.field(c))
        else:
            f = schema.field(c)
            arrays.append(pa.nulls(b.num_rows, f.type))
            fields.append(f)
    cls = pa.RecordBatch if isinstance(b, pa.RecordBatch) else pa.Table
    return cls.from_arrays(arrays, schema=pa.schema(fields))


class ReadMixin:
    """Read methods of :class:`~lam_rl.store.store.TrajectoryStore`."""

    # ------------------------------------------------------------------ public reads

    def steps(
        self,
        *,
        columns: Sequence[str] | None = None,
        version: Any = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        reward_model: str | None = None,
        reward_model_version: int | None = None,
        allow_empty: bool = False,
        **filters: Any,
    ) -> pa.Table:
        """Steps of the selected trajectories as one Arrow table.

        Filters: any trajectory-level key (``phase, success, policy, policy_version, family, app, split,
        task_id, traj_id, template, complete, failure_kind, attempt, worker, vm``) or step-level key
        (``step, function, status, valid, ok, control_text, control_label``); a list means "any of".
        ``where`` is a raw Lance SQL predicate on steps columns. ``reward_model`` fills ``reward`` from
        the rewards that model wrote (:meth:`write_rewards`). An empty result raises
        :class:`EmptySelection` unless ``allow_empty``.
        """
        return self.read(
            "steps",
            columns=columns,
            version=version,
            tag=tag,
            where=where,
            reward_model=reward_model,
            reward_model_version=reward_model_version,
            allow_empty=allow_empty,
            **filters,
        )

    def outcomes(
        self,
        *,
        columns: Sequence[str] | None = None,
        version: Any = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        allow_empty: bool = False,
        **filters: Any,
    ) -> pa.Table:
        """One row per selected trajectory (trajectory-level filters; ``where`` on outcomes columns)."""
        return self.read(
            "outcomes",
            columns=columns,
            version=version,
            tag=tag,
            where=where,
            allow_empty=allow_empty,
            **filters,
        )

    def taskplans(
        self,
        *,
        columns: Sequence[str] | None = None,
        version: Any = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        allow_empty: bool = False,
        **filters: Any,
    ) -> pa.Table:
        """Task-plan records (filters ``task_id, app, family, source, split, evolved_from``)."""
        return self.read(
            "taskplans",
            columns=columns,
            version=version,
            tag=tag,
            where=where,
            allow_empty=allow_empty,
            **filters,
        )

    @guarded
    def read(
        self, table: str, *, columns: Sequence[str] | None = None, allow_empty: bool = False, **kwargs: Any
    ) -> pa.Table:
        """``steps``/``outcomes``/``taskplans`` as one Arrow table (see :meth:`iter_batches`)."""
        cols = _columns(table, columns)
        batches = list(self.iter_batches(table, columns=cols, allow_empty=allow_empty, **kwargs))
        if not batches:
            return schemas.SCHEMAS[table].empty_table().select(cols)
        return pa.Table.from_batches(batches)

    def iter_batches(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        version: Any = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        batch_rows: int = READ_BATCH_ROWS,
        reward_model: str | None = None,
        reward_model_version: int | None = None,
        allow_empty: bool = False,
        **filters: Any,
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` as Arrow record batches (bounded memory).

        Args:
            table: ``steps``, ``outcomes`` or ``taskplans``.
            columns: projection (default: every column but the store's internal ``write_id``).
            version: a :class:`Snapshot` from :meth:`snapshot` (default: pin the latest versions now).
            tag: a tag name, or several (their trajectories, each once).
            where: raw Lance SQL predicate on ``table``'s columns.
            allow_empty: return nothing instead of raising :class:`EmptySelection`.
        """
        if table not in ("steps", "outcomes", "taskplans"):
            raise StoreError(f"cannot read '{table}': readable tables are steps, outcomes, taskplans")
        cols = _columns(table, columns)
        if allow_empty and not self.exists():  # nothing written yet: an empty read, nothing created
            return iter(())
        plans = self._plans(
            table,
            version=version,
            tag=tag,
            filters=filters,
            where=where,
            reward_model=reward_model,
            reward_model_version=reward_model_version,
        )
        return self._guard_empty(table, plans, self._scan(table, plans, cols, batch_rows), allow_empty)

    @guarded
    def count(self, table: str, **kwargs: Any) -> int:
        """How many rows a read would return (same arguments as :meth:`iter_batches`)."""
        key = {"steps": "step", "outcomes": "traj_id", "taskplans": "task_id"}.get(table, "traj_id")
        kwargs.setdefault("allow_empty", True)
        return sum(b.num_rows for b in self.iter_batches(table, columns=[key], **kwargs))

    def trajectories(
        self,
        *,
        version: Any = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        allow_empty: bool = False,
        **filters: Any,
    ) -> Iterator[Trajectory]:
        """Whole trajectories (outcome + steps in order), sorted by traj_id within each plan.

        Loads the selected steps into memory; stream :meth:`iter_batches` for very large selections.
        ``where`` applies to outcomes columns.
        """
        if allow_empty and not self.exists():
            return iter(())
        plans = self._plans("outcomes", version=version, tag=tag, filters=filters, where=where)
        return self._guard_empty("trajectories", plans, self._iter_trajectories(plans), allow_empty)

    # ------------------------------------------------------------------ random access (torch datasets)

    @guarded
    def resolve(
        self,
        table: str,
        *,
        version: Any = None,
        tag: str | Sequence[str] | None = None,
        where: str | None = None,
        reward_model: str | None = None,
        reward_model_version: int | None = None,
        **filters: Any,
    ) -> list[_Plan]:
        """Pin a read now: its plans (versions + selection) can be pickled and replayed anywhere."""
        base = "outcomes" if table == "trajectories" else table
        return self._plans(
            base,
            version=version,
            tag=tag,
            filters=filters,
            where=where,
            reward_model=reward_model,
            reward_model_version=reward_model_version,
        )

    @guarded
    def row_addresses(self, table: str, plans: list[_Plan]) -> list[np.ndarray]:
        """Lance row addresses of the selected rows of ``table`` (``steps``/``outcomes``), one array per
        plan, in storage order; a trajectory selected by an earlier plan is left out of later ones."""
        out: list[np.ndarray] = []
        emitted: list[pa.Array] = []
        for plan in plans:
            sel = self._select(plan, pa.concat_arrays(emitted) if emitted else None)
            emitted.append(sel.traj_ids)
            if len(sel.write_ids) == 0:
                out.append(np.zeros(0, dtype=np.uint64))
                continue
            if table == "steps":
                push = F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS + F.STEP_KEYS)
                ds, filter_ids = self.dataset("steps", plan.versions["steps"]), not sel.exact
            else:
                push = F.restrict(plan.selection, F.TRAJ_KEYS)
                ds, filter_ids = self.dataset("outcomes", plan.versions["outcomes"]), True
            parts = []
            seen: set[str] = set()
            for b in ds.to_batches(
                columns=["write_id"], filter=F.to_sql(push, plan.where), with_row_address=True
            ):
                if filter_ids:
                    b = b.filter(pc.is_in(b.column("write_id"), value_set=sel.write_ids))
                if table == "outcomes":  # exact duplicate rows from a retried commit: keep the first
                    wids = b.column("write_id").to_pylist()
                    keep = [i for i, w in enumerate(wids) if not (w in seen or seen.add(w))]
                    b = b.take(pa.array(keep, pa.int64()))
                parts.append(b.column("_rowaddr").to_numpy())
            out.append(np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64))
        return out

    @guarded
    def step_addresses_by_outcome(self, plan: _Plan, outcome_addresses: np.ndarray) -> list[np.ndarray]:
        """For each outcome row (by address), the addresses of its steps in step order."""
        if len(outcome_addresses) == 0:
            return []
        o = self.dataset("outcomes", plan.versions["outcomes"])._take_rows(
            outcome_addresses.tolist(), columns=["write_id"]
        )
        wids = o.column("write_id").combine_chunks()
        ds = self.dataset("steps", plan.versions["steps"])
        push = F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS)
        parts = []
        for b in ds.to_batches(columns=["write_id", "step"], filter=F.to_sql(push), with_row_address=True):
            b = b.filter(pc.is_in(b.column("write_id"), value_set=wids))
            if b.num_rows:
                parts.append(pa.Table.from_batches([b]))
        if not parts:
            return [np.zeros(0, dtype=np.uint64) for _ in range(len(wids))]
        st = pa.concat_tables(parts).sort_by([("write_id", "ascending"), ("step", "ascending")])
        keys = st.column("write_id").to_pylist()
        addrs = st.column("_rowaddr").to_numpy()
        spans: dict[str, tuple[int, int]] = {}
        start = 0
        for i in range(1, len(keys) + 1):
            if i == len(keys) or keys[i] != keys[start]:
                spans[keys[start]] = (start, i)
                start = i
        empty = np.zeros(0, dtype=np.uint64)
        return [addrs[slice(*spans[w])] if w in spans else empty for w in wids.to_pylist()]

    @guarded
    def take_rows(
        self,
        table: str,
        plan: _Plan,
        addresses: Sequence[int] | np.ndarray,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of ``table`` at the plan's version by Lance row address, in the order given."""
        cols = _columns(table, columns)
        need = list(cols)
        lookup = None
        if table == "steps" and plan.reward_model is not None and "reward" in cols:
            lookup = self._reward_lookup(
                plan.versions["rewards"], plan.reward_model, plan.reward_model_version
            )
            need = _with(need, "traj_id", "step")
        addrs = addresses.tolist() if isinstance(addresses, np.ndarray) else list(addresses)
        ds = self.dataset(table, plan.versions[table])
        t = ds._take_rows(addrs, columns=_present(ds, need))
        if lookup is not None:
            t = pa.Table.from_batches([lookup.apply(b) for b in t.to_batches()], schema=t.schema)
        return _fill(t, table, cols)

    # ------------------------------------------------------------------ internals

    def _guard_empty(
        self, what: str, plans: list[_Plan], it: Iterator[Any], allow_empty: bool
    ) -> Iterator[Any]:
        n = 0
        try:
            for item in it:
                n += 1
                yield item
        except (OSError, ValueError, RuntimeError) as e:
            if is_query_error(e, where=any(q.where for q in plans)):
                raise query_error(e) from None
            if is_storage_error(e):
                raise corrupt(self.uri, e, f"reading {what}") from None
            raise
        if n == 0 and not allow_empty:
            p = plans[0]
            sels = "; ".join(F.describe(q.selection, q.where) for q in plans)
            raise EmptySelection(
                f"no {what} match {sels} in {' + '.join(q.label for q in plans)} of {self.uri}; {p.hint}"
            )

    def _scan(
        self, table: str, plans: list[_Plan], cols: list[str], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        emitted: list[pa.Array] = []
        for plan in plans:
            exclude = pa.concat_arrays(emitted) if emitted else None
            if table == "taskplans":
                yield from self._scan_taskplans(plan, cols, batch_rows, exclude)
                t = self.dataset("taskplans", plan.versions["taskplans"])
                ids = t.to_table(columns=["task_id"], filter=F.to_sql(plan.selection, plan.where)).column(
                    "task_id"
                )
                emitted.append(ids.combine_chunks())
                continue
            sel = self._select(plan, exclude)
            if len(sel.write_ids) == 0:
                continue
            if table == "steps":
                yield from self._scan_steps(plan, sel, cols, batch_rows)
            else:
                yield from self._scan_outcomes(plan, sel, cols, batch_rows, exact=exclude is None)
            emitted.append(sel.traj_ids)

    def _scan_steps(
        self, plan: _Plan, sel: Any, cols: list[str], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        need = list(cols)
        if not sel.exact:
            need = _with(need, "write_id")
        lookup = None
        if plan.reward_model is not None and "reward" in cols:
            lookup = self._reward_lookup(
                plan.versions["rewards"], plan.reward_model, plan.reward_model_version
            )
            need = _with(need, "traj_id", "step")
        push = F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS + F.STEP_KEYS)
        ds = self.dataset("steps", plan.versions["steps"])
        sql = F.to_sql(push, plan.where)
        for b in ds.to_batches(columns=_present(ds, need), filter=sql, batch_size=batch_rows):
            if not sel.exact:
                b = b.filter(pc.is_in(b.column("write_id"), value_set=sel.write_ids))
            if b.num_rows == 0:
                continue
            if lookup is not None:
                b = lookup.apply(b)
            yield _fill(b, "steps", cols)

    def _scan_outcomes(
        self, plan: _Plan, sel: Any, cols: list[str], batch_rows: int, exact: bool
    ) -> Iterator[pa.RecordBatch]:
        winners = self._winners(plan.versions["outcomes"])
        filter_ids = not (winners.dup_free and exact)
        need = _with(list(cols), "write_id") if filter_ids else list(cols)
        ds = self.dataset("outcomes", plan.versions["outcomes"])
        seen: set[str] = set()
        sql = F.to_sql(F.restrict(plan.selection, F.TRAJ_KEYS), plan.where)
        for b in ds.to_batches(columns=_present(ds, need), filter=sql, batch_size=batch_rows):
            if filter_ids:
                b = b.filter(pc.is_in(b.column("write_id"), value_set=sel.write_ids))
                wids = b.column("write_id").to_pylist()
                keep = [i for i, w in enumerate(wids) if not (w in seen or seen.add(w))]
                if len(keep) < b.num_rows:
                    b = b.take(pa.array(keep, pa.int64()))
            if b.num_rows:
                yield _fill(b, "outcomes", cols)

    def _scan_taskplans(
        self, plan: _Plan, cols: list[str], batch_rows: int, exclude: pa.Array | None
    ) -> Iterator[pa.RecordBatch]:
        ds = self.dataset("taskplans", plan.versions["taskplans"])
        sel = F.restrict(plan.selection, F.TASKPLAN_KEYS)
        need = _with(list(cols), "task_id")
        seen: set[str] = set()
        sql = F.to_sql(sel, plan.where)
        for b in ds.to_batches(columns=_present(ds, need), filter=sql, batch_size=batch_rows):
            if exclude is not None and len(exclude):
                b = b.filter(pc.invert(pc.is_in(b.column("task_id"), value_set=exclude)))
            ids = b.column("task_id").to_pylist()
            keep = [i for i, t in enumerate(ids) if not (t in seen or seen.add(t))]
            if len(keep) < b.num_rows:
                b = b.take(pa.array(keep, pa.int64()))
            if b.num_rows:
                yield _fill(b, "taskplans", cols)

    def _iter_trajectories(self, plans: list[_Plan]) -> Iterator[Trajectory]:
        emitted: list[pa.Array] = []
        for plan in plans:
            sel = self._select(plan, pa.concat_arrays(emitted) if emitted else None)
            if len(sel.write_ids) == 0:
                continue
            emitted.append(sel.traj_ids)
            ods = self.dataset("outcomes", plan.versions["outcomes"])
            sql = F.to_sql(F.restrict(plan.selection, F.TRAJ_KEYS), plan.where)
            outs = ods.to_table(filter=sql)
            outs = _first_per(
                outs.filter(pc.is_in(outs.column("write_id"), value_set=sel.write_ids)), "write_id"
            )
            if outs.num_rows == 0:
                continue
            sds = self.dataset("steps", plan.versions["steps"])
            steps_sql = F.to_sql(F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS))
            st = sds.to_table(filter=steps_sql)
            st = st.filter(pc.is_in(st.column("write_id"), value_set=outs.column("write_id")))
            by_write: dict[str, list[dict[str, Any]]] = {}
            for row in st.to_pylist():
                by_write.setdefault(row["write_id"], []).append(row)
            for row in sorted(outs.to_pylist(), key=lambda r: r["traj_id"]):
                yield Trajectory.from_rows(row, by_write.get(row["write_id"], []))
