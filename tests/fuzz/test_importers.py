"""Standing fuzz suite, importers: UFO dataflow records and GUI-360 lines generated from the real shapes
(tests/store/fixtures) with mutations: fields missing, extra, null or of the wrong type; huge and odd
strings (lone surrogates, NUL, quotes, newlines, right-to-left marks); NaN, inf, huge ints; deep
nesting; bytes that are not UTF-8; lines shuffled and repeated. Whatever comes in:

- no uncaught exception: a bad record is an issue (file, line, field) that is counted, or the whole
  import is a clear ``ConfigError`` (nothing to import, ``--strict``);
- rejected input changes no store: a new URI is not created, an existing store keeps its versions;
- what is imported reads back as parsed: the fields kept (``extra`` with its floats, args, sub_scores,
  controls, the plan) round-trip exactly.

Bounded for CI (about 25 seconds); ``LAM_FUZZ_EXAMPLES=N`` runs N examples per test instead
(docs/reliability.md lists what longer runs tried).
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from lam_rl.config import ConfigError
from lam_rl.store import TrajectoryStore
from lam_rl.store.importers import ImportIssue, import_path, read_records
from lam_rl.store.records import Trajectory
from tests.fuzz.common import examples

FIX = Path(__file__).resolve().parents[1] / "store" / "fixtures"
UFO_RECORDS = [
    json.loads(p.read_text())
    for p in sorted((FIX / "ufo_results").rglob("*.json"))
    + sorted((FIX / "ufo_dataflow" / "execution_pass").glob("*.json"))
]
UFO_FOLDERS = [
    "execution_pass",
    "execution_fail",
    "execution_unsure",
    "instantiation_pass",
    "instantiation_fail",
    "misc",
]
GUI_LINES = [
    json.loads(x) for x in (FIX / "gui360" / "part-0.jsonl").read_text().splitlines()[:3]
]  # word_4s_1


# ---------------------------------------------------------------- hostile values

odd_chars = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates: valid JSON escapes, not valid text
    st.sampled_from(["\x00", "\n", "\r", '"', "'", "\\", "\u202e", "\ufeff", "\U0001f600", "\u0301"]),
)
odd_text = st.one_of(
    st.text(odd_chars, max_size=30),
    st.builds(
        lambda c, n: c * n, st.sampled_from(["x", "é", "\U0001f600", "\ud800"]), st.integers(10_000, 200_000)
    ),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -0.0, 5e-324]),
)


def _deep(depth: int, leaf: Any) -> Any:
    x = leaf
    for i in range(depth):
        x = [x] if i % 2 else {"k": x}
    return x


values = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    odd_text,
    st.lists(st.one_of(st.none(), numbers, odd_text), max_size=4),
    st.dictionaries(odd_text, st.one_of(st.none(), numbers, odd_text), max_size=3),
    st.builds(_deep, st.integers(5, 300), st.one_of(st.none(), numbers, odd_text)),
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indexes) into a JSON value."""
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw, base: Any, max_mutations: int = 3) -> Any:
    """``base`` with 0..``max_mutations`` mutations at random places: delete, null, replace with a
    hostile value, add an unknown field."""
    rec = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, max_mutations))):
        paths = [p for p in _paths(rec) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = rec
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        op = draw(st.sampled_from(["delete", "null", "replace", "replace", "add"]))
        event(f"mutation: {op}")
        if op == "delete":
            del parent[key]
        elif op == "null":
            parent[key] = None
        elif op == "replace":
            parent[key] = draw(values)
        elif isinstance(parent, dict):
            parent[draw(odd_text)] = draw(values)
        else:
            parent.append(draw(values))
    return rec


def _dump(rec: Any, draw_bytes: bool) -> bytes:
    """JSON as a file holds it (NaN as UTF-8 JSON's extension; surrogates escaped), or, sometimes, raw
    surrogate bytes: a file that is not UTF-8 at all."""
    text = json.dumps(rec, ensure_ascii=not draw_bytes)
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------- the checks


def _versions(store: TrajectoryStore) -> dict[str, int]:
    return store.snapshot().to_dict()


def _kept(t: Trajectory) -> Any:
    """The fields an import keeps, as a reader sees them (float32 columns compared apart)."""
    o = t.outcome
    return (
        o.traj_id,
        o.task_id,
        o.success,
        o.complete,
        o.reason,
        o.failure_kind,
        o.sub_scores,
        o.extra,
        o.template,
        [(s.step, s.thought, s.request, s.function, s.args, s.control_label, s.control_text, s.status, s.plan,
          s.ok, s.raw, s.canvas, s.controls, s.extra) for s in t.steps],
    )  # fmt: skip


def _control(c: Any) -> dict:
    return {
        "label": c["label"],
        "text": c["text"],
        "type": c["type"],
        "rect": c["rect"],
        "window": c.get("window"),
    }


def check_import(fmt: str, src: Path, existing: TrajectoryStore) -> None:
    """Import ``src`` into a new URI and into ``existing``; check the three properties."""
    parsed = list(read_records(fmt, src))  # never raises for bad records: they are issues
    trajs = {x.traj_id: x for x in parsed if isinstance(x, Trajectory)}
    with tempfile.TemporaryDirectory() as d:
        uri = Path(d) / "new"
        try:
            report = import_path(TrajectoryStore(uri), fmt, src)
        except ConfigError as e:
            event(f"{fmt}: rejected ({type(e).__name__})")
            assert str(e)
            assert not uri.exists(), "a rejected import created a store"
            before = _versions(existing)
            with pytest.raises(ConfigError):
                import_path(existing, fmt, src)
            assert _versions(existing) == before, "a rejected import changed the store"
            return
        event(
            f"{fmt}: imported {min(report.trajectories, 3)} trajectories, issues {min(len(report.issues), 3)}"
        )
        assert report.records >= 1 and all(isinstance(i, ImportIssue) and str(i) for i in report.issues)
        assert report.trajectories == len(trajs)
        store = TrajectoryStore(uri, create=False)
        back = {t.traj_id: t for t in store.trajectories(allow_empty=True)}
        assert sorted(back) == sorted(trajs)
        for tid, t in trajs.items():
            b = back[tid]
            for s in b.steps:
                s.controls = [_control(c) for c in s.controls]
            for s in t.steps:
                s.controls = [_control(c) for c in s.controls]
            assert _kept(b) == _kept(t), tid
            assert math.isclose(b.outcome.duration_s, t.outcome.duration_s, rel_tol=1e-6)


@pytest.fixture(scope="module")
def existing(tmp_path_factory) -> TrajectoryStore:
    """A store with data in it (the importers' own fixtures)."""
    s = TrajectoryStore(tmp_path_factory.mktemp("fuzz") / "store")
    import_path(s, "ufo-dataflow", FIX / "ufo_results")
    return s


@examples(30)
@given(data=st.data())
def test_ufo_records(existing, data):
    rec = data.draw(mutated(data.draw(st.sampled_from(UFO_RECORDS))))
    folder = data.draw(st.sampled_from(UFO_FOLDERS))
    raw = _dump(rec, data.draw(st.integers(0, 9)) == 0)
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "results" / folder).mkdir(parents=True)
        (Path(d) / "results" / folder / "task.json").write_bytes(raw)
        check_import("ufo-dataflow", Path(d) / "results", existing)


@examples(30)
@given(data=st.data())
def test_gui360_lines(existing, data):
    lines = [data.draw(mutated(line, max_mutations=2)) for line in GUI_LINES]
    order = data.draw(st.permutations(range(len(lines))))
    repeat = data.draw(st.lists(st.sampled_from(range(len(lines))), max_size=1))
    raw = b"\n".join(_dump(lines[i], data.draw(st.integers(0, 19)) == 0) for i in [*order, *repeat])
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "part.jsonl").write_bytes(raw + b"\n")
        check_import("gui360", Path(d) / "part.jsonl", existing)


def test_the_unmutated_shapes_import():
    """The bases the fuzzers mutate are themselves well-formed (else every example is a rejection)."""
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "r" / "execution_pass").mkdir(parents=True)
        for i, rec in enumerate(UFO_RECORDS):
            (Path(d) / "r" / "execution_pass" / f"{i}.json").write_text(json.dumps(rec))
        (Path(d) / "g.jsonl").write_text("\n".join(json.dumps(x) for x in GUI_LINES))
        s = TrajectoryStore(Path(d) / "s")
        assert not import_path(s, "ufo-dataflow", Path(d) / "r").issues
        assert not import_path(s, "gui360", Path(d) / "g.jsonl").issues
