import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

from jobs.config import Config, PipelineConfig
from lam_rl.config import ConfigError, iter_fields, load_config, opt


def test_every_field_has_help():
    missing = [k for k, f in iter_fields(PipelineConfig) if not f.metadata.get("help")]
    assert missing == []


def test_yaml_then_dotlist(repo_root):
    cfg = load_config(
        PipelineConfig,
        ["config=tiny", "model.hidden=64", "run.seed=7"],
        configs_dir=repo_root / "jobs/configs",
    )
    assert cfg.model.hidden == 64 and cfg.run.seed == 7
    assert cfg.model.layers == 4  # from tiny.yaml
    small = load_config(PipelineConfig, ["config=small"], configs_dir=repo_root / "jobs/configs")
    assert small.model.hidden > cfg.model.hidden


@pytest.mark.parametrize(
    "arg, needle",
    [
        ("model.hiden=3", "model.hiden"),
        ("modle.hidden=3", "modle"),
        ("model.hidden=abc", "model.hidden"),
        ("tracking.mode=sometimes", "tracking.mode"),
        ("config=nope", "nope"),
        ("justaword", "justaword"),
        # found by tests/fuzz/test_configs.py: each raised something other than ConfigError
        ("agent=\x13", "agent"),
        ("run.seed={", "run.seed"),
        ("stages={a: 1}", "stages"),
        ("model=5", "'model'"),
    ],
)
def test_bad_keys_name_the_key(repo_root, arg, needle):
    with pytest.raises(ConfigError) as e:
        load_config(PipelineConfig, [arg], configs_dir=repo_root / "jobs/configs")
    assert needle in str(e.value)


def test_unknown_key_lists_valid_ones(repo_root):
    with pytest.raises(ConfigError) as e:
        load_config(Config, ["model.hiden=3"], configs_dir=repo_root / "jobs/configs")
    msg = str(e.value)
    assert "Did you mean 'model.hidden'" in msg and "layers" in msg and "intermediate" in msg


def test_bad_yaml_key_is_caught(tmp_path, repo_root):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  hiddn: 3\n")
    with pytest.raises(ConfigError, match="model.hiddn"):
        load_config(PipelineConfig, [f"config={bad}"], configs_dir=repo_root / "jobs/configs")


def test_opt_requires_help():
    with pytest.raises(ValueError):

        @dataclass
        class X:
            a: int = opt(1, "")


def test_job_exits_nonzero_naming_the_key(repo_root, subprocess_env, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", f"run.root={tmp_path}", "model.hiden=64"],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "model.hiden" in out.stderr and "hidden" in out.stderr
    assert not (tmp_path / "tiny").exists(), "nothing may be written on bad input"


def test_job_help_lists_keys(repo_root, subprocess_env):
    out = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", "--help"],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0
    assert "model.hidden" in out.stdout and "W&B mode" in out.stdout
    assert "Actor learning rate (critic uses critic_lr). Must be in (0, 1]." in out.stdout


def test_a_job_makes_a_relative_run_root_absolute(tmp_path, monkeypatch, repo_root):
    """Ray workers do not share the driver's working directory: `make demo` runs with run.root=runs."""
    from cluster.runtime import job_main
    from jobs.config import Config

    monkeypatch.chdir(tmp_path)
    seen = []
    job_main(
        Config,
        seen.append,
        name="probe",
        configs_dir=repo_root / "jobs" / "configs",
        argv=["config=tiny", "run.root=runs", "tracking.mode=disabled"],
        needs_ray=False,
    )
    assert seen[0].run.root == str(tmp_path / "runs")
    assert seen[0].run_dir == tmp_path / "runs" / "tiny" and seen[0].store_uri.startswith(str(tmp_path))


# --------------------------------------------------------------------------- numeric ranges


def job_schemas(repo_root) -> dict[str, type]:
    """Every job's config class, found in jobs/*.py (``run_job(Schema, ...)``), so a new job is covered."""
    import ast

    import jobs.config as jc

    found = {}
    for path in sorted((repo_root / "jobs").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_job" and node.args:
                found[path.stem] = getattr(jc, node.args[0].id)
    return found


def numeric_keys(schema: type):
    """(dotted key, field, int|float) for every numeric leaf of ``schema``."""
    import typing
    from dataclasses import fields, is_dataclass

    from lam_rl.config import numeric_type

    def walk(cls, prefix):
        hints = typing.get_type_hints(cls)
        for f in fields(cls):
            typ = hints[f.name]
            if isinstance(typ, type) and is_dataclass(typ):
                yield from walk(typ, f"{prefix}{f.name}.")
            elif numeric_type(typ) is not None:
                yield f"{prefix}{f.name}", f, numeric_type(typ)

    return list(walk(schema, ""))


def bad_values(rng, typ) -> list:
    """Values ``rng`` must refuse: NaN and infinities (floats), each side's first value outside, 2**64."""
    out: list = [float("nan"), float("inf"), float("-inf")] if typ is float else [2**64, -(2**64)]
    step = 1 if typ is int else 0.5
    if rng.ge is not None:
        out.append(typ(rng.ge - step))
    if rng.gt is not None:
        out.append(typ(rng.gt))
    if rng.le is not None:
        out.append(typ(rng.le + step))
    if rng.lt is not None:
        out.append(typ(rng.lt))
    return out


def test_every_numeric_key_of_every_job_schema_declares_a_range(repo_root):
    schemas = job_schemas(repo_root)
    assert {"taskplan", "collect", "sft", "explore", "reward", "ppo", "evaluate", "pipeline"} <= set(schemas)
    missing = sorted(
        {
            f"{job}: {key}"
            for job, s in schemas.items()
            for key, f, _ in numeric_keys(s)
            if "range" not in f.metadata
        }
    )
    assert missing == []
    assert len(numeric_keys(schemas["pipeline"])) > 100


def test_nan_inf_and_out_of_range_values_are_rejected_for_every_numeric_key(repo_root):
    """Every bad value of every key of every job schema through the check the loader makes; and each
    key once (a bad value, rotating over the kinds) set in its schema's whole merged config, where the
    loader's walk must find it (the loader end to end: the tests below)."""
    from omegaconf import OmegaConf

    from lam_rl.config import _check_node_ranges, range_problem

    seen: set[str] = set()
    for job, schema in job_schemas(repo_root).items():
        node = OmegaConf.structured(schema)
        _check_node_ranges(schema, node)  # the defaults pass
        for key, f, typ in numeric_keys(schema):
            rng = f.metadata["range"]
            values = bad_values(rng, typ)
            for v in values:
                problem = range_problem(key, v, typ, rng)
                assert problem and f"'{key}'" in problem and rng.phrase() in problem, (key, v, problem)
                assert f"got {repr(v) if isinstance(v, float) else v}" in problem, (key, v, problem)
            if key in seen:
                continue
            v = values[len(seen) % len(values)]
            seen.add(key)
            good = OmegaConf.select(node, key)
            OmegaConf.update(node, key, v, merge=False)
            with pytest.raises(ConfigError) as e:
                _check_node_ranges(schema, node)
            assert str(e.value) == range_problem(key, v, typ, rng), (job, key)
            OmegaConf.update(node, key, good, merge=False)
    assert len(seen) > 100


@pytest.mark.parametrize(
    "arg, message",
    [
        ("ppo.lr=-1", "config key 'ppo.lr' must be in (0, 1], got -1.0"),
        ("policy.top_p=5", "config key 'policy.top_p' must be in (0, 1], got 5.0"),
        ("ppo.gamma=2", "config key 'ppo.gamma' must be in [0, 1], got 2.0"),
        (
            "collect.composite_fraction=7",
            "config key 'collect.composite_fraction' must be in [0, 1], got 7.0",
        ),
        ("sft.optim.lr=nan", "config key 'sft.optim.lr' must be a finite number in (0, 1], got nan"),
        ("env.timeout_s=inf", "config key 'env.timeout_s' must be a finite number > 0, got inf"),
        ("model.heads=0", "config key 'model.heads' must be >= 1, got 0"),
        ("run.seed=-3", "config key 'run.seed' must be in [0, 4294967295], got -3"),
        ("learner.zero_stage=4", "config key 'learner.zero_stage' must be in [0, 3], got 4"),
        ("rollout.max_steps=99999999999999999999", "config key 'rollout.max_steps' must be a 64-bit integer"),
    ],
)
def test_out_of_range_values_name_the_key_the_value_and_the_range(repo_root, arg, message):
    with pytest.raises(ConfigError) as e:
        load_config(PipelineConfig, ["config=tiny", arg], configs_dir=repo_root / "jobs/configs")
    assert message in str(e.value)


def test_yaml_nan_and_out_of_range_values_are_rejected(tmp_path, repo_root):
    for text, key in [
        ("ppo:\n  lr: .nan\n", "ppo.lr"),
        ("reward:\n  optim:\n    lr: .inf\n", "reward.optim.lr"),
        ("env:\n  crash_rate: 1.5\n", "env.crash_rate"),
    ]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(PipelineConfig, [f"config={bad}"], configs_dir=repo_root / "jobs/configs")


def test_boundaries_and_unset_optionals_load(repo_root):
    cfg = load_config(
        PipelineConfig,
        ["ppo.gamma=0", "ppo.lr=1", "policy.top_p=1", "collect.composite_fraction=1", "ray.num_cpus=null"],
        configs_dir=repo_root / "jobs/configs",
    )
    assert cfg.ppo.gamma == 0 and cfg.policy.top_p == 1 and cfg.ray.num_cpus is None


def test_help_shows_each_range():
    from lam_rl.config import describe

    rows = {key: text for key, _, text in describe(PipelineConfig)}
    assert rows["ppo.lr"].endswith("Must be in (0, 1].")
    assert rows["model.hidden"].endswith("Must be >= 1.")
    assert "Must be" not in rows["policy.dtype"]


def test_a_range_is_checked_where_it_is_declared():
    from lam_rl.env.config import EnvConfig

    with pytest.raises(ValueError, match="outside its own range"):

        @dataclass
        class X:
            a: float = opt(2.0, "a probability", ge=0, le=1)

    with pytest.raises(ConfigError, match="'env.crash_rate' must be in \\[0, 1\\], got 2"):
        EnvConfig(crash_rate=2)  # built in code (lam-rl env serve), not by the loader


# ----------------------------------------------------------------------------- one key per switch, rules at load


@pytest.mark.parametrize(
    "args, needle",
    [
        # a switch has one key: the old top-level `mode=` and the never-read `model.dtype` name the one that is
        (["mode=online"], "unknown config key 'mode'.*'ppo.mode'"),
        (["mode=online", "ppo.mode=offline"], "unknown config key 'mode'.*'ppo.mode'"),
        (["model.dtype=bfloat16"], "unknown config key 'model.dtype'.*'policy.dtype'"),
        (["sft.lr=1e-4"], "unknown config key 'sft.lr'.*'sft.optim.lr'"),
        # Serve has one HTTP proxy: its host and port are serve.*, no longer a pair per server
        (["policy.http_port=1"], r"unknown config key 'policy.http_port'.*Did you mean 'serve.http_port'\?"),
        (["reward_serve.http_port=9000"], "unknown config key 'reward_serve.http_port'.*'serve.http_port'"),
        (["policy.http_host=0.0.0.0"], "unknown config key 'policy.http_host'.*'serve.http_host'"),
        (
            ["reward_serve.http_host=0.0.0.0"],
            "unknown config key 'reward_serve.http_host'.*'serve.http_host'",
        ),
        (["serve.http_port=0"], "'serve.http_port' must be"),
        (["serve.http_port=65536"], "'serve.http_port' must be"),
        # rules that were checked at run time (or not at all) hold when the config loads
        (
            ["ppo.mode=offline", "ppo.algo=grpo"],
            r"'ppo.algo' \(grpo\) is an online algorithm.*ppo.mode=online",
        ),
        (["ppo.algo=rloo"], r"'ppo.algo' \(rloo\) is an online algorithm"),
        (["ppo.mode=online"], "'ppo.iterations' must be >= 1 for online PPO.*ppo.iterations=4"),
        (["ppo.mode=online", "ppo.iterations=0"], "'ppo.iterations' must be >= 1 for online PPO"),
        (["stages=[sft]"], "config key 'stages' names an unknown pipeline stage 'sft'. Stages: taskplan, "),
        (["force=[nope]"], "config key 'force' names an unknown pipeline stage 'nope'"),
    ],
)
def test_one_key_per_switch_and_every_rule_at_load(repo_root, args, needle):
    with pytest.raises(ConfigError, match=needle):
        load_config(PipelineConfig, ["config=tiny", *args], configs_dir=repo_root / "jobs/configs")


@pytest.mark.parametrize(
    "args",
    [
        ["ppo.mode=online", "ppo.iterations=1"],
        ["ppo.mode=online", "ppo.algo=grpo"],  # TRL's trainers: 0 is one pass over the training states
        ["ppo.mode=offline", "ppo.iterations=0"],  # offline: 0 is one pass over the recorded states
        ["stages=[sft-imitate,ppo]", "force=[ppo]"],
        ["serve.http_port=8459", "serve.http_host=0.0.0.0"],
    ],
)
def test_the_rules_let_valid_pairs_through(repo_root, args):
    load_config(PipelineConfig, ["config=tiny", *args], configs_dir=repo_root / "jobs/configs")


def test_a_bad_pair_exits_2_before_anything_runs(repo_root, subprocess_env, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "jobs.ppo", f"run.root={tmp_path}", "ppo.mode=offline", "ppo.algo=grpo"],
        cwd=repo_root,
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert "ppo.algo" in out.stderr and "ppo.mode=online" in out.stderr
    assert not (tmp_path / "tiny").exists(), "nothing may be written on bad input"


# ----------------------------------------------------------------------------- loading is light


def test_loading_every_jobs_config_imports_no_heavy_module(run_python):
    """`lam-rl config`, `--help` and the renderer load configs: no lance, pyarrow, torch or ray for that."""
    code = r"""
import importlib, json, sys
from jobs import CONFIGS_DIR, JOBS
from lam_rl.config import load_config
loaded = []
for job, path in sorted(JOBS.items()):
    module, cls = path.split(":")
    load_config(getattr(importlib.import_module(module), cls), ["config=tiny"], configs_dir=CONFIGS_DIR)
    loaded.append(job)
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"lance", "pyarrow", "torch", "ray", "transformers", "wandb"})
print(json.dumps({"loaded": loaded, "heavy": heavy}))
"""
    result = run_python(code)
    assert {"pipeline", "ppo", "sft", "collect"} <= set(result["loaded"]), result
    assert result["heavy"] == [], f"loading a config imported {result['heavy']}"


# ----------------------------------------------------------------------------- the documented examples load

# `python -m jobs.<job> ...` and `lam-rl <job> ...` command lines in the docs, up to the end of the line
# (a trailing backslash continues it); `...`, `<x>`, `KEY=VALUE` and the like are placeholders.
COMMAND = re.compile(r"(?:python -m jobs\.(\w+)|lam-rl (?:run |config )?(\w+))((?:[^\n`]|\\\n)*)")
ASSIGN_ONLY = re.compile(r"(?<![\w.=/-])([a-z_]\w*(?:\.\w+)+=[^\s`]+)")
ASSIGN = re.compile(r"""(?:"([\w.]+=[^"]*)"|'([\w.]+=[^']*)'|(?<![\w.=/-])([a-z_][\w]*(?:\.\w+)+=\S+))""")


def _documented_examples(repo_root) -> list[tuple[str, str, list[str]]]:
    import lam_rl.config

    texts = {
        "lam_rl/config.py": lam_rl.config.__doc__ or "",
        "README.md": (repo_root / "README.md").read_text(),
    }
    texts.update({f"docs/{p.name}": p.read_text() for p in sorted((repo_root / "docs").glob("*.md"))})
    from jobs import JOBS

    # the loader's docstring shows overrides without a command: any job takes them
    found = [("lam_rl/config.py", "pipeline", ASSIGN_ONLY.findall(texts.pop("lam_rl/config.py")))]
    for where, text in texts.items():
        for m in COMMAND.finditer(text):
            job = m.group(1) or m.group(2)
            if job not in JOBS:
                continue
            line, _, comment = m.group(3).partition("#")
            if comment.strip().startswith("error"):
                continue  # a line that shows a rejected input
            line = line.replace("\\\n", " ")
            args = [a or b or c for a, b, c in ASSIGN.findall(line)]
            args = [a for a in args if not re.search(r"<|\.\.\.|KEY|VALUE|\$\{?\w|PATH", a)]
            if args:
                found.append((where, job, args))
    return found


def test_every_documented_key_value_example_loads(repo_root):
    """The dotted `key=value` overrides of the command lines in lam_rl/config.py's docstring, README.md and
    docs/*.md load with their job's config (a renamed key or a rule the docs break fails here)."""
    import importlib

    from jobs import JOBS

    examples = _documented_examples(repo_root)
    assert len(examples) >= 25, examples  # the scan finds the docs' command lines
    assert any(where == "lam_rl/config.py" for where, _, _ in examples)
    bad = []
    for where, job, args in examples:
        module, cls = JOBS[job].split(":")
        schema = getattr(importlib.import_module(module), cls)
        try:
            load_config(schema, ["config=tiny", *args], configs_dir=repo_root / "jobs/configs")
        except ConfigError as e:
            bad.append(f"{where}: jobs.{job} {' '.join(args)}: {e}")
    assert bad == [], "\n".join(bad)
