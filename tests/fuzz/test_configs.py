"""Standing fuzz suite, configs: every job's schema loaded from random command-line overrides and random
YAML files (valid and mistyped keys, strings/ints/floats/bools/lists/dicts/null where any of them is
expected, NaN and infinities, huge and negative numbers, out-of-range values, unicode, interpolations,
whole sections overridden at once; YAML that is empty, a scalar, a list, binary, deeply nested, tagged,
anchored, with duplicate keys or a BOM).

Whatever comes in: ``load_config`` returns a config of the job's class whose every number lies in its
key's declared range, or raises ``ConfigError`` with a one-line message; any other exception is a bug.
Nothing is written (the fuzz runs in an empty working directory, which must stay empty).

Bounded for CI (~30 s on two idle cores); ``LAM_FUZZ_EXAMPLES=N`` runs N examples per test instead.
"""

from __future__ import annotations

import ast
import math
import typing
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import jobs.config as jc
from lam_rl.config import ConfigError, load_config, numeric_type, range_problem, to_yaml
from tests.fuzz.common import examples

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "jobs" / "configs"


def job_schemas() -> dict[str, type]:
    """Every job's config class, from ``run_job(Schema, ...)`` in jobs/*.py (a new job is fuzzed too)."""
    found = {}
    for path in sorted((ROOT / "jobs").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_job" and node.args:
                found[path.stem] = getattr(jc, node.args[0].id)
    return found


SCHEMAS = job_schemas()
DISTINCT = sorted({s for s in SCHEMAS.values()}, key=lambda s: s.__name__)


def keys_of(schema: type, prefix: str = "") -> list[str]:
    """Every dotted key of ``schema``: sections and leaves."""
    out = []
    hints = typing.get_type_hints(schema)
    for f in fields(schema):
        out.append(prefix + f.name)
        typ = hints[f.name]
        if isinstance(typ, type) and is_dataclass(typ):
            out += keys_of(typ, f"{prefix}{f.name}.")
    return out


KEYS = sorted({k for s in DISTINCT for k in keys_of(s)})

weird_text = st.text(
    st.one_of(
        st.characters(),
        st.sampled_from(["\x00", "\n", "\t", "=", ".", "$", "{", "}", "[", "]", ",", ":", "'"]),
    ),
    max_size=24,
)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1, 2, 7, 65536, 2**31, 2**63, 2**64, 1e-300, 1e300, -0.0, 0.5, 1.5]),
)
scalars = st.one_of(numbers, st.booleans(), st.none(), weird_text)
value_text = st.one_of(
    numbers.map(lambda v: "nan" if isinstance(v, float) and math.isnan(v) else str(v)),
    st.sampled_from(
        [
            "",
            "null",
            "true",
            "[]",
            "{}",
            "[a, b]",
            "[1, [2, [3]]]",
            "{lr: 5}",
            "{cpu: 2, memory: 8Gi, gpu: -1}",
            "${ppo.lr}",
            "${nope.nope}",
            "${oc.env:HOME}",
            "???",
            ".inf",
            "-.inf",
            ".nan",
            "1e999",
            "0x10",
            "'quoted'",
            '"dq"',
            "é漢字🙂",
            "a=b=c",
            "\\",
        ]
    ),
    weird_text,
)
key_text = st.one_of(
    st.sampled_from(KEYS),
    st.sampled_from(KEYS).map(lambda k: k + ".extra"),
    st.sampled_from(KEYS).map(lambda k: k.upper()),
    st.sampled_from(
        ["config", "run", "model", "ppo", "deploy.learner", "sft.optim", "stages", "phase", "mode"]
    ),
    weird_text,
)
argument = st.one_of(
    st.tuples(key_text, value_text).map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.sampled_from(
        ["config=tiny", "config=small", "config=nope", "config=", "--config=tiny", "justaword", "="]
    ),
    weird_text,
)


def check_outcome(schema: type, argv: list[str]) -> None:
    try:
        cfg = load_config(schema, argv, configs_dir=CONFIGS)
    except ConfigError as e:
        msg = str(e)
        assert msg and "Traceback" not in msg, msg
        return
    assert isinstance(cfg, schema)
    for key, value, typ, rng in numeric_values(cfg):
        assert range_problem(key, value, typ, rng) is None, (key, value, argv)
    to_yaml(cfg)  # what a job writes next to its outputs


def numeric_values(cfg, prefix: str = ""):
    hints = typing.get_type_hints(type(cfg))
    for f in fields(cfg):
        value, typ = getattr(cfg, f.name), hints[f.name]
        if is_dataclass(value):
            yield from numeric_values(value, f"{prefix}{f.name}.")
        elif numeric_type(typ) is not None:
            yield f"{prefix}{f.name}", value, numeric_type(typ), f.metadata.get("range")


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield work
    assert list(work.iterdir()) == [], "loading a config wrote files"


def test_every_job_schema_is_fuzzed():
    assert {"pipeline", "sft", "ppo", "collect", "evaluate"} <= set(SCHEMAS)
    assert set(DISTINCT) == {
        jc.Config,
        jc.PipelineConfig,
        jc.SFTJobConfig,
    }  # ppo's mode is ppo.mode: no class


@examples(150)
@given(schema=st.sampled_from(DISTINCT), argv=st.lists(argument, max_size=5))
def test_any_command_line_gives_a_config_or_a_config_error(empty_cwd, schema, argv):
    check_outcome(schema, argv)


def nested(keys: list[str], value) -> dict:
    """``{"a": {"b": value}}`` for the key ``a.b``."""
    out: dict = value
    for part in reversed(keys):
        out = {part: out}
    return out


yaml_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(weird_text, inner, max_size=3),
    max_leaves=6,
)
structured_yaml = st.lists(st.tuples(st.sampled_from(KEYS), yaml_values), max_size=6).map(
    lambda items: yaml.safe_dump(
        _merge_all([nested(k.split("."), v) for k, v in items]), allow_unicode=True, sort_keys=False
    )
)
raw_yaml = st.one_of(
    st.sampled_from(
        [
            "",
            "---\n",
            "5\n",
            "- a\n- b\n",
            "ppo: 5\n",
            "ppo:\n  lr: .nan\n",
            "ppo:\n  lr: 1\n  lr: 2\n",
            "model: &m {hidden: 64}\nsft: *m\n",
            "a: !!python/object/apply:os.system ['echo pwned']\n",
            "ppo: !!binary aGVsbG8=\n",
            "\ufeffrun:\n  seed: 3\n",
            "run:\n\tseed: 1\n",
            "[" * 200 + "]" * 200 + "\n",
            "{" * 50 + "\n",
            "model:\n  hidden: ${model.layers}\n",
            "model:\n  hidden: ${model.hidden}\n",
            "stages: {a: 1}\n",
            "deploy:\n  learner: [1, 2]\n",
        ]
    ),
    weird_text,
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
)


def _merge_all(dicts: list[dict]) -> dict:
    out: dict = {}
    for d in dicts:
        _merge_into(out, d)
    return out


def _merge_into(a: dict, b: dict) -> None:
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            _merge_into(a[k], v)
        else:
            a[k] = v


@examples(120)
@given(
    schema=st.sampled_from(DISTINCT),
    text=st.one_of(structured_yaml, raw_yaml),
    argv=st.lists(argument, max_size=2),
)
def test_any_yaml_file_gives_a_config_or_a_config_error(tmp_path_factory, empty_cwd, schema, text, argv):
    path = tmp_path_factory.mktemp("yaml") / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check_outcome(schema, [f"config={path}", *argv])
