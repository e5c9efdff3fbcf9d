"""Reads: filtered, projected scans of a pinned snapshot or a tag, as Arrow tables or record batches.

Every read is one or more *plans* (versions + selection; several tags give several plans, and a
trajectory selected by an earlier tag is not repeated by a later one). Trajectory-level filters
(``phase``, ``success``, ``policy_version``, ``family``, ``split``, ...) are evaluated on the
outcomes table; step reads push the ones ``steps`` repeats down into the Lance scan and keep only
steps of the selected winning outcomes (see ``store.py`` for why that is exactly-once).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from lam_rl.store import filters as F
from lam_rl.store import schemas
from lam_rl.store.core import Plan, Query, Selected, StoreCore, first_per, nothing_matches
from lam_rl.store.errors import (
    StoreError,
    corrupt,
    guarded,
    is_query_error,
    is_storage_error,
    query_error,
)
from lam_rl.store.records import Trajectory
from lam_rl.store.rewards import reward_lookup

READ_BATCH_ROWS = 4096


def columns_of(table: str, columns: Sequence[str] | None) -> list[str]:
    """The columns a read of ``table`` returns: ``columns`` checked, or every public column."""
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


def _unseen(b: pa.RecordBatch, key: str, seen: set[Any]) -> pa.RecordBatch:
    """``b`` less the rows whose ``key`` is in ``seen`` or repeats an earlier row of ``b`` (exact
    duplicate rows of a retried commit, read batch by batch); ``seen`` gains the keys kept."""
    keys = b.column(key).to_pylist()
    keep = [i for i, k in enumerate(keys) if not (k in seen or seen.add(k))]
    return b if len(keep) == b.num_rows else b.take(pa.array(keep, pa.int64()))


def _present(ds: Any, cols: list[str]) -> list[str]:
    """The columns of ``cols`` a dataset version has (an older schema lacks the ones added since)."""
    have = set(ds.schema.names)
    return [c for c in cols if c in have]


def fill_missing(b: pa.RecordBatch | pa.Table, table: str, cols: list[str]) -> Any:
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


class Reader:
    """The reads of a :class:`~lam_rl.store.store.TrajectoryStore`, over its :class:`StoreCore`.

    Every read takes the selection keywords of :class:`~lam_rl.store.core.Query` (``version``,
    ``tag``, ``where``, ``reward_model``, ``reward_model_version`` and filters) as ``**query``.
    """

    def __init__(self, core: StoreCore):
        self.core = core
        self.uri = core.uri

    # ------------------------------------------------------------------ public reads

    def steps(
        self, *, columns: Sequence[str] | None = None, allow_empty: bool = False, **query: Any
    ) -> pa.Table:
        """Steps of the selected trajectories as one Arrow table.

        Filters: any trajectory-level key (``phase, success, policy, policy_version, family, app, split,
        task_id, traj_id, template, complete, failure_kind, attempt, worker, vm``) or step-level key
        (``step, function, status, valid, ok, control_text, control_label``); a list means "any of".
        ``where`` is a raw Lance SQL predicate on steps columns. ``reward_model`` fills ``reward`` from
        the rewards that model wrote (:meth:`write_rewards`). An empty result raises
        :class:`EmptySelection` unless ``allow_empty``.
        """
        return self.read("steps", columns=columns, allow_empty=allow_empty, **query)

    def outcomes(
        self, *, columns: Sequence[str] | None = None, allow_empty: bool = False, **query: Any
    ) -> pa.Table:
        """One row per selected trajectory (trajectory-level filters; ``where`` on outcomes columns)."""
        return self.read("outcomes", columns=columns, allow_empty=allow_empty, **query)

    def taskplans(
        self, *, columns: Sequence[str] | None = None, allow_empty: bool = False, **query: Any
    ) -> pa.Table:
        """Task-plan records (filters ``task_id, app, family, source, split, evolved_from``)."""
        return self.read("taskplans", columns=columns, allow_empty=allow_empty, **query)

    @guarded
    def read(
        self, table: str, *, columns: Sequence[str] | None = None, allow_empty: bool = False, **query: Any
    ) -> pa.Table:
        """``steps``/``outcomes``/``taskplans`` as one Arrow table (see :meth:`iter_batches`)."""
        cols = columns_of(table, columns)
        batches = list(self.iter_batches(table, columns=cols, allow_empty=allow_empty, **query))
        if not batches:
            return schemas.SCHEMAS[table].empty_table().select(cols)
        return pa.Table.from_batches(batches)

    def iter_batches(
        self,
        table: str,
        *,
        columns: Sequence[str] | None = None,
        batch_rows: int = READ_BATCH_ROWS,
        allow_empty: bool = False,
        **query: Any,
    ) -> Iterator[pa.RecordBatch]:
        """Stream ``table`` as Arrow record batches (bounded memory).

        Args:
            table: ``steps``, ``outcomes`` or ``taskplans``.
            columns: projection (default: every column but the store's internal ``write_id``).
            allow_empty: return nothing instead of raising :class:`EmptySelection`.
            query: what to read (:class:`~lam_rl.store.core.Query`): ``version`` (a :class:`Snapshot`
                from :meth:`snapshot`; default: pin the latest versions now), ``tag`` (a name, or
                several: their trajectories, each once), ``where`` (a raw Lance SQL predicate on
                ``table``'s columns), ``reward_model``/``reward_model_version``, and filters.
        """
        if table not in ("steps", "outcomes", "taskplans"):
            raise StoreError(f"cannot read '{table}': readable tables are steps, outcomes, taskplans")
        cols = columns_of(table, columns)
        if allow_empty and not self.core.exists():  # nothing written yet: an empty read, nothing created
            return iter(())
        plans = self.core.plans(table, Query.of(**query))
        return self._guard_empty(table, plans, self._scan(table, plans, cols, batch_rows), allow_empty)

    @guarded
    def count(self, table: str, **kwargs: Any) -> int:
        """How many rows a read would return (same arguments as :meth:`iter_batches`)."""
        key = {"steps": "step", "outcomes": "traj_id", "taskplans": "task_id"}.get(table, "traj_id")
        kwargs.setdefault("allow_empty", True)
        return sum(b.num_rows for b in self.iter_batches(table, columns=[key], **kwargs))

    def trajectories(self, *, allow_empty: bool = False, **query: Any) -> Iterator[Trajectory]:
        """Whole trajectories (outcome + steps in order), sorted by traj_id within each plan.

        Loads the selected steps into memory; stream :meth:`iter_batches` for very large selections.
        ``where`` applies to outcomes columns.
        """
        if allow_empty and not self.core.exists():
            return iter(())
        plans = self.core.plans("outcomes", Query.of(**query))
        return self._guard_empty("trajectories", plans, self._iter_trajectories(plans), allow_empty)

    # ------------------------------------------------------------------ random access (torch datasets)

    @guarded
    def resolve(self, table: str, **query: Any) -> list[Plan]:
        """Pin a read now: its plans (versions + selection) can be pickled and replayed anywhere."""
        return self.core.plans("outcomes" if table == "trajectories" else table, Query.of(**query))

    @guarded
    def row_addresses(self, table: str, plans: list[Plan]) -> list[np.ndarray]:
        """Lance row addresses of the selected rows of ``table`` (``steps``/``outcomes``), one array per
        plan, in storage order; a trajectory selected by an earlier plan is left out of later ones."""
        out: list[np.ndarray] = []
        for plan, sel in self.core.selected(plans):
            if len(sel.write_ids) == 0:
                out.append(np.zeros(0, dtype=np.uint64))
                continue
            if table == "steps":
                push = F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS + F.STEP_KEYS)
                ds, filter_ids = self.core.dataset("steps", plan.versions["steps"]), not sel.exact
            else:
                push = F.restrict(plan.selection, F.TRAJ_KEYS)
                ds, filter_ids = self.core.dataset("outcomes", plan.versions["outcomes"]), True
            parts = []
            seen: set[str] = set()
            for b in ds.to_batches(
                columns=["write_id"], filter=F.to_sql(push, plan.where), with_row_address=True
            ):
                if filter_ids:
                    b = b.filter(pc.is_in(b.column("write_id"), value_set=sel.write_ids))
                if table == "outcomes":  # exact duplicate rows from a retried commit: keep the first
                    b = _unseen(b, "write_id", seen)
                parts.append(b.column("_rowaddr").to_numpy())
            out.append(np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64))
        return out

    @guarded
    def step_addresses_by_outcome(self, plan: Plan, outcome_addresses: np.ndarray) -> list[np.ndarray]:
        """For each outcome row (by address), the addresses of its steps in step order."""
        if len(outcome_addresses) == 0:
            return []
        o = self.core.dataset("outcomes", plan.versions["outcomes"])._take_rows(
            outcome_addresses.tolist(), columns=["write_id"]
        )
        wids = o.column("write_id").combine_chunks()
        ds = self.core.dataset("steps", plan.versions["steps"])
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
        plan: Plan,
        addresses: Sequence[int] | np.ndarray,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """Rows of ``table`` at the plan's version by Lance row address, in the order given."""
        cols = columns_of(table, columns)
        need = list(cols)
        lookup = None
        if table == "steps" and plan.reward_model is not None and "reward" in cols:
            lookup = reward_lookup(self.core, plan)
            need = _with(need, "traj_id", "step")
        addrs = addresses.tolist() if isinstance(addresses, np.ndarray) else list(addresses)
        ds = self.core.dataset(table, plan.versions[table])
        t = ds._take_rows(addrs, columns=_present(ds, need))
        if lookup is not None:
            t = pa.Table.from_batches([lookup.apply(b) for b in t.to_batches()], schema=t.schema)
        return fill_missing(t, table, cols)

    # ------------------------------------------------------------------ internals

    def _guard_empty(
        self, what: str, plans: list[Plan], it: Iterator[Any], allow_empty: bool
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
            raise nothing_matches(what, plans, self.uri)

    def _scan(
        self, table: str, plans: list[Plan], cols: list[str], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        if table == "taskplans":
            yield from self._scan_taskplans(plans, cols, batch_rows)
            return
        for plan, sel in self.core.selected(plans):
            if len(sel.write_ids) == 0:
                continue
            if table == "steps":
                yield from self._scan_steps(plan, sel, cols, batch_rows)
            else:
                yield from self._scan_outcomes(plan, sel, cols, batch_rows)

    def _scan_steps(
        self, plan: Plan, sel: Selected, cols: list[str], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        need = list(cols)
        if not sel.exact:
            need = _with(need, "write_id")
        lookup = None
        if plan.reward_model is not None and "reward" in cols:
            lookup = reward_lookup(self.core, plan)
            need = _with(need, "traj_id", "step")
        push = F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS + F.STEP_KEYS)
        ds = self.core.dataset("steps", plan.versions["steps"])
        sql = F.to_sql(push, plan.where)
        for b in ds.to_batches(columns=_present(ds, need), filter=sql, batch_size=batch_rows):
            if not sel.exact:
                b = b.filter(pc.is_in(b.column("write_id"), value_set=sel.write_ids))
            if b.num_rows == 0:
                continue
            if lookup is not None:
                b = lookup.apply(b)
            yield fill_missing(b, "steps", cols)

    def _scan_outcomes(
        self, plan: Plan, sel: Selected, cols: list[str], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        winners = self.core.winners(plan.versions["outcomes"])
        filter_ids = not (winners.dup_free and sel.alone)
        need = _with(list(cols), "write_id") if filter_ids else list(cols)
        ds = self.core.dataset("outcomes", plan.versions["outcomes"])
        seen: set[str] = set()
        sql = F.to_sql(F.restrict(plan.selection, F.TRAJ_KEYS), plan.where)
        for b in ds.to_batches(columns=_present(ds, need), filter=sql, batch_size=batch_rows):
            if filter_ids:
                b = _unseen(
                    b.filter(pc.is_in(b.column("write_id"), value_set=sel.write_ids)), "write_id", seen
                )
            if b.num_rows:
                yield fill_missing(b, "outcomes", cols)

    def _scan_taskplans(
        self, plans: list[Plan], cols: list[str], batch_rows: int
    ) -> Iterator[pa.RecordBatch]:
        need = _with(list(cols), "task_id")
        seen: set[str] = set()  # task ids given already, by this plan or an earlier one
        for plan in plans:
            ds = self.core.dataset("taskplans", plan.versions["taskplans"])
            sql = F.to_sql(F.restrict(plan.selection, F.TASKPLAN_KEYS), plan.where)
            for b in ds.to_batches(columns=_present(ds, need), filter=sql, batch_size=batch_rows):
                b = _unseen(b, "task_id", seen)
                if b.num_rows:
                    yield fill_missing(b, "taskplans", cols)

    def _iter_trajectories(self, plans: list[Plan]) -> Iterator[Trajectory]:
        for plan, sel in self.core.selected(plans):
            if len(sel.write_ids) == 0:
                continue
            ods = self.core.dataset("outcomes", plan.versions["outcomes"])
            sql = F.to_sql(F.restrict(plan.selection, F.TRAJ_KEYS), plan.where)
            outs = ods.to_table(filter=sql)
            outs = first_per(
                outs.filter(pc.is_in(outs.column("write_id"), value_set=sel.write_ids)), "write_id"
            )
            if outs.num_rows == 0:
                continue
            sds = self.core.dataset("steps", plan.versions["steps"])
            steps_sql = F.to_sql(F.restrict(plan.selection, F.TRAJ_KEYS_IN_STEPS))
            st = sds.to_table(filter=steps_sql)
            st = st.filter(pc.is_in(st.column("write_id"), value_set=outs.column("write_id")))
            by_write: dict[str, list[dict[str, Any]]] = {}
            for row in st.to_pylist():
                by_write.setdefault(row["write_id"], []).append(row)
            for row in sorted(outs.to_pylist(), key=lambda r: r["traj_id"]):
                yield Trajectory.from_rows(row, by_write.get(row["write_id"], []))
