"""Paired comparison of two models on the same held-out tasks (online task success).

Two models evaluated on the same task instances are compared task by task, not rate by rate: a
task both solved or both failed says nothing about which model is better, so the test looks only
at the *discordant* tasks, ``b`` (A solved it, B did not) and ``c`` (B solved it, A did not).

- **Exact McNemar test**: under "no difference" each discordant task is a fair coin, so
  ``min(b, c)`` is Binomial(b + c, 1/2); the two-sided p-value is twice its lower tail, capped at 1
  (``mcnemar_exact``). b=0, c=10 gives p = 2/1024 ~ 0.002; b = c gives p = 1.
- **Paired bootstrap interval** of the success difference (B's task success minus A's): the paired
  tasks are resampled with replacement (numpy, seeded), the difference of the two rates is taken
  on each resample, and the 2.5th and 97.5th percentiles are the 95% interval (``bootstrap_ci``).

Pairing is by task id within one request wording (split): a task missing on either side (not
played, or lost to infrastructure: a VM or the policy server failed) is left out of the pair on
both sides, so infrastructure never counts for or against a model. The verdict is the test's at
``alpha`` (0.05): *better* or *worse* (B against A) when p < alpha, else *not distinguishable*.

    from lam_rl.eval.paired import compare, task_successes
    row = compare(task_successes(outcomes_a), task_successes(outcomes_b))
    row["p"], row["ci_low"], row["ci_high"], row["verdict"]

``cluster/evaluate.py`` stores each model's per-task successes and the rows of ``PAIRS`` per split in
``results.json`` (``paired``); the report and ``bench/efficacy.py`` print them (docs/report.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lam_rl.eval.online import INFRA_FAILURES

PAIRS: tuple[tuple[str, str], ...] = (
    ("lam1", "lam2"),
    ("lam2", "lam3"),
    ("lam3", "lam4"),
    ("expert", "lam4"),
)
"""(A, B) pairs compared: each phase against the one before, and LAM4 against the expert (A)."""
ALPHA = 0.05
N_BOOT = 2000
NOT_RUN = "not run"
NO_SHARED = "no shared tasks"


def verdict_text(alpha: float = ALPHA) -> tuple[str, str, str]:
    return "better", "worse", f"not distinguishable at {alpha:g}"


def task_id_of(outcome: Mapping[str, Any]) -> str:
    """An outcome row's task id: its ``task`` spec's ``task_id`` (JSON or dict), else the last
    ``:``-separated part of its ``traj_id`` (evaluation ids end with the task id)."""
    task = outcome.get("task")
    if isinstance(task, str) and task:
        try:
            task = json.loads(task)
        except ValueError:
            task = None
    if isinstance(task, Mapping) and task.get("task_id"):
        return str(task["task_id"])
    return str(outcome["traj_id"]).rsplit(":", 1)[-1]


def task_successes(
    outcomes: Iterable[Mapping[str, Any]], task_of: Mapping[str, str] | None = None
) -> dict[str, bool]:
    """task id -> solved, from outcome rows (traj_id, success, failure_kind and ``task`` or
    ``task_of``: traj_id -> task id). Infrastructure failures are left out."""
    out: dict[str, bool] = {}
    for o in outcomes:
        if o.get("failure_kind") in INFRA_FAILURES:
            continue
        tid = task_of[o["traj_id"]] if task_of and o["traj_id"] in task_of else task_id_of(o)
        out[tid] = bool(o.get("success"))
    return out


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (1.0 when b + c = 0)."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def bootstrap_ci(
    a: Sequence[bool], b: Sequence[bool], *, level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of mean(b) - mean(a) over paired resamples of the tasks (same length)."""
    if len(a) != len(b) or not a:
        raise ValueError(f"need two equally long, non-empty outcome lists, got {len(a)} and {len(b)}")
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    tail = (1 - level) / 2
    lo, hi = np.quantile(means, [tail, 1 - tail])
    return float(lo), float(hi)


def compare(
    a: Mapping[str, bool],
    b: Mapping[str, bool],
    *,
    alpha: float = ALPHA,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Any]:
    """One paired comparison row of B against A over the task ids both have."""
    shared = sorted(set(a) & set(b))
    row: dict[str, Any] = {
        "tasks": len(shared),
        "only_a": len(set(a) - set(b)),
        "only_b": len(set(b) - set(a)),
    }
    if not shared:
        return row | {
            "a_tsr": None, "b_tsr": None, "diff": None, "ci_low": None, "ci_high": None,
            "b": 0, "c": 0, "p": None, "verdict": NO_SHARED,
        }  # fmt: skip
    xa = [bool(a[t]) for t in shared]
    xb = [bool(b[t]) for t in shared]
    n_b = sum(x and not y for x, y in zip(xa, xb, strict=True))  # A solved, B not
    n_c = sum(y and not x for x, y in zip(xa, xb, strict=True))  # B solved, A not
    p = mcnemar_exact(n_b, n_c)
    lo, hi = bootstrap_ci(xa, xb, n_boot=n_boot, seed=seed)
    better, worse, same = verdict_text(alpha)
    verdict = same if p >= alpha else (better if n_c > n_b else worse)
    return row | {
        "a_tsr": sum(xa) / len(xa),
        "b_tsr": sum(xb) / len(xb),
        "diff": (sum(xb) - sum(xa)) / len(xa),
        "ci_low": lo,
        "ci_high": hi,
        "b": n_b,
        "c": n_c,
        "p": p,
        "verdict": verdict,
    }


def compare_models(
    per_task: Mapping[str, Mapping[str, bool]],
    pairs: Sequence[tuple[str, str]] = PAIRS,
    *,
    alpha: float = ALPHA,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """``model -> {task id: solved}`` -> one row per (A, B) pair; a pair with a model that was not
    evaluated is a ``not run`` row naming it."""
    rows = []
    for a, b in pairs:
        missing = [m for m in (a, b) if m not in per_task]
        if missing:
            rows.append(
                {"model_a": a, "model_b": b, "tasks": 0, "verdict": f"{NOT_RUN} ({', '.join(missing)})"}
            )
            continue
        rows.append(
            {"model_a": a, "model_b": b}
            | compare(per_task[a], per_task[b], alpha=alpha, n_boot=n_boot, seed=seed)
        )
    return rows


def compare_splits(
    by_split: Mapping[str, Mapping[str, Mapping[str, Any]]], *, seed: int = 0, alpha: float = ALPHA
) -> dict[str, list[dict[str, Any]]]:
    """``split -> model -> online metrics`` (each with ``per_task``, as cluster/evaluate.py writes
    them) -> ``split -> rows``: each request wording compared on its own."""
    return {
        split: compare_models(
            {m: r["per_task"] for m, r in rows.items() if isinstance(r.get("per_task"), Mapping)},
            seed=seed,
            alpha=alpha,
        )
        for split, rows in by_split.items()
    }


HEADER = [
    "Split",
    "A",
    "B",
    "Tasks paired",
    "A TSR",
    "B TSR",
    "Diff (B - A)",
    "95% CI",
    "b",
    "c",
    "p",
    "Verdict",
]


def table_rows(
    paired: Mapping[str, Sequence[Mapping[str, Any]]], names: Mapping[str, str] | None = None
) -> list[list[str]]:
    """The rows of the "paired comparisons" table (``HEADER``), as text."""
    names = names or {}

    def pct(v: Any) -> str:
        return "-" if v is None else f"{100 * v:.1f}%"

    out = []
    for split, rows in paired.items():
        for r in rows:
            done = r.get("p") is not None
            out.append([
                split,
                names.get(r["model_a"], r["model_a"]),
                names.get(r["model_b"], r["model_b"]),
                str(r.get("tasks", 0)),
                pct(r.get("a_tsr")),
                pct(r.get("b_tsr")),
                f"{100 * r['diff']:+.1f} pts" if done else "-",
                f"[{100 * r['ci_low']:+.1f}, {100 * r['ci_high']:+.1f}] pts" if done else "-",
                str(r.get("b", "-")) if done else "-",
                str(r.get("c", "-")) if done else "-",
                f"{r['p']:.3g}" if done else "-",
                r.get("verdict", "-"),
            ])  # fmt: skip
    return out


def markdown(
    paired: Mapping[str, Sequence[Mapping[str, Any]]], names: Mapping[str, str] | None = None
) -> str:
    """The table as Markdown (what bench/efficacy.py prints; the report builds the same rows)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += [
        "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table_rows(paired, names)
    ]
    return "\n".join(lines)


def summary_values(paired: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, float]:
    """The W&B summary keys of the comparisons that ran: ``paired/<split>/<B>_vs_<A>/{p,diff,ci_low,ci_high}``."""
    out: dict[str, float] = {}
    for split, rows in paired.items():
        for r in rows:
            if r.get("p") is None:
                continue
            key = f"paired/{split}/{r['model_b']}_vs_{r['model_a']}"
            out |= {f"{key}/{k}": r[k] for k in ("p", "diff", "ci_low", "ci_high")}
    return out
