"""The recipes in docs/store.md: pandas and DuckDB over the store, and DuckDB over the raw datasets
with the documented visibility rule (checked against the store on data with orphans and races)."""

from __future__ import annotations

import duckdb
import pandas as pd

from lam_rl.store.encode import EncodedTrajectories

VISIBLE_STEPS = """
    WITH o AS (SELECT * FROM outcomes QUALIFY row_number() OVER (PARTITION BY traj_id ORDER BY write_id) = 1)
    SELECT s.traj_id, s.step FROM steps s JOIN o USING (write_id)
"""


def test_duckdb_visibility_rule_matches_the_store(store, trajs):
    store.write(trajs[:20])
    store.core.append("steps", EncodedTrajectories.of(trajs[20:25]).steps, retries=0)  # a crashed write
    race = EncodedTrajectories.of(trajs[:4])
    store.core.append("steps", race.steps, retries=0)
    store.core.append("outcomes", race.outcomes, retries=0)  # a losing racer
    steps, outcomes = store.dataset("steps"), store.dataset("outcomes")  # noqa: F841 (DuckDB reads them)
    got = sorted(duckdb.sql(VISIBLE_STEPS).fetchall())
    want = sorted((r["traj_id"], r["step"]) for r in store.steps(columns=["traj_id", "step"]).to_pylist())
    assert got == want
    assert len(steps.to_table(columns=["step"])) > len(want)  # the raw table holds invisible rows


def test_pandas_and_duckdb_over_store_reads(store, trajs):
    store.write(trajs)
    df = store.outcomes(phase="collect").to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 60
    rate = df.groupby("family").success.mean()
    assert rate["bold_text"] == sum(t.outcome.success for t in trajs if t.outcome.family == "bold_text") / 10
    steps = store.steps(columns=["family", "function"])  # noqa: F841
    rows = dict(duckdb.sql("SELECT function, count(*) FROM steps GROUP BY 1").fetchall())
    assert sum(rows.values()) == store.count("steps")
