"""Standing fuzz suite, the store's writer: trajectories with hostile values in any column (lone
surrogates, NUL, huge strings in any string field; NaN, inf, 1e300 in float columns; ints that
overflow their column; None inside lists; args nested deep, with NaN or non-JSON values; controls of
the wrong shape) sent through one ``StoreWriter`` among good ones. Whatever comes in:

- ``add()`` either refuses the trajectory (``InvalidRecord``, nothing queued) or queues it;
- ``flush()`` never raises for bad data: what Arrow cannot store is set aside (``rejected``,
  ``quarantine``) and everything else is committed, so the writer goes on;
- what was committed reads back as sent, the store opens and counts what it holds.

Bounded for CI (about 15 seconds); ``LAM_FUZZ_EXAMPLES=N`` runs N examples instead.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import event, given
from hypothesis import strategies as st

from lam_rl.store import InvalidRecord, TrajectoryStore
from lam_rl.store.records import Trajectory, new_traj_id
from lam_rl.store.synthetic import make_trajectory
from tests.fuzz.common import examples

odd_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.sampled_from(["\x00", "a\nb", "'; DROP TABLE steps; --", "\u202e", "x" * 100_000]),
)
numbers = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, float("nan"), float("inf"), 1e300, -0.0, 5e-324]),
    st.floats(),
)
nested = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, odd_text),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(odd_text, kids, max_size=3)),
    max_leaves=8,
)

STRING_FIELDS = ["request", "canvas", "thought", "control_text", "function", "error", "raw"]
OUTCOME_STRINGS = ["task_id", "family", "app", "template", "phase", "policy", "reason", "worker", "vm"]
FLOAT_FIELDS = ["latency_ms", "step_ms", "reward"]


def _deep(n: int) -> Any:
    x: Any = 1
    for _ in range(n):
        x = {"a": x}
    return x


@st.composite
def hostile(draw, i: int) -> Trajectory:
    t = make_trajectory(i, seed=11, steps=draw(st.integers(1, 3)), controls=3)
    t.outcome.traj_id = new_traj_id("fuzz")  # ids never repeat across examples
    for _ in range(draw(st.integers(1, 2))):
        s = t.steps[draw(st.integers(0, len(t.steps) - 1))]
        kind = draw(
            st.sampled_from(["step str", "outcome str", "float", "int", "list", "args", "controls", "extra"])
        )
        event(f"hostile: {kind}")
        if kind == "step str":
            setattr(s, draw(st.sampled_from(STRING_FIELDS)), draw(odd_text))
        elif kind == "outcome str":
            setattr(t.outcome, draw(st.sampled_from(OUTCOME_STRINGS)), draw(odd_text))
        elif kind == "float":
            setattr(s, draw(st.sampled_from(FLOAT_FIELDS)), draw(numbers))
        elif kind == "int":
            target, name = draw(
                st.sampled_from([(s, "control_label"), (t.outcome, "policy_version"), (t.outcome, "attempt")])
            )
            setattr(target, name, draw(st.one_of(numbers, st.none())))
        elif kind == "list":
            s.plan = draw(st.lists(st.one_of(odd_text, st.none()), max_size=3))
        elif kind == "args":
            s.args = draw(st.one_of(st.dictionaries(odd_text, nested, max_size=3), st.just({"d": _deep(2000)}),
                                    st.just({"o": object()})))  # fmt: skip
        elif kind == "controls":
            s.controls = draw(st.lists(st.one_of(
                st.none(),
                st.fixed_dictionaries({"label": numbers, "text": odd_text, "type": odd_text,
                                       "rect": st.lists(st.one_of(numbers, st.none()), max_size=4)}),
            ), max_size=3))  # fmt: skip
        else:
            target = draw(st.sampled_from([s, t.outcome]))
            target.extra = draw(st.one_of(st.dictionaries(odd_text, nested, max_size=3), nested))
    return t


def _same(a: Trajectory, b: Trajectory) -> None:
    f32 = lambda x: None if x is None else float(np.float32(x))  # noqa: E731
    assert (a.outcome.traj_id, a.outcome.task_id, a.outcome.reason, a.outcome.extra or {}) == (
        b.outcome.traj_id, b.outcome.task_id, b.outcome.reason, b.outcome.extra or {})  # fmt: skip
    assert len(a.steps) == len(b.steps)
    for x, y in zip(a.steps, b.steps, strict=True):
        assert (x.thought, x.request, x.raw, x.args, x.plan, x.control_label, x.extra or {}) == (
            y.thought, y.request, y.raw, y.args, y.plan, y.control_label, y.extra or {})  # fmt: skip
        assert [f32(v) for v in (x.reward, x.latency_ms)] == [f32(v) for v in (y.reward, y.latency_ms)]


@examples(25)
@given(data=st.data())
def test_the_writer_takes_anything_and_keeps_going(data):
    with tempfile.TemporaryDirectory() as d:  # a store per example: checks stay cheap on long runs
        check_writer(TrajectoryStore(Path(d) / "store").create(), data)


def check_writer(store: TrajectoryStore, data: st.DataObject) -> None:
    bad = [data.draw(hostile(k)) for k in range(data.draw(st.integers(1, 3)))]
    good = make_trajectory(9, seed=12, steps=2)
    good.outcome.traj_id = new_traj_id("fuzz-good")
    before = store.count("outcomes")
    w = store.writer(batch_size=100, background=False)
    queued = []
    for t in [*bad, good]:
        n = w.pending
        try:
            w.add(t)
            queued.append(t)
        except InvalidRecord as e:
            event("refused at add()")
            assert str(e) and w.pending == n
    result = w.close()  # never raises for bad data
    assert result.trajectories + result.rejected == len(queued) and w.totals.rejected == len(w.quarantine)
    if result.rejected:
        event("set aside at flush()")
    set_aside = {id(item) for item, _ in w.quarantine}
    committed = [t for t in queued if id(t) not in set_aside]
    assert good in committed
    assert store.count("outcomes") == before + len(committed)
    back = {t.traj_id: t for t in store.trajectories(traj_id=[t.traj_id for t in committed])}
    for t in committed:
        _same(back[t.traj_id], t)
    assert TrajectoryStore(store.uri, create=False).count("steps") >= sum(len(t.steps) for t in committed)
    assert math.isfinite(store.stats()["success_rate"])
