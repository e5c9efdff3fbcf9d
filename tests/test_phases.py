"""The phase table (lam_rl/phases.py) is the one list of phases: every consumer derives from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from lam_rl import phases

ROOT = Path(__file__).resolve().parents[1]


def test_every_consumer_agrees_with_the_table():
    from cluster.sft import SFT_PHASES
    from jobs import JOBS
    from jobs.pipeline import CHECKS, STAGES
    from lam_rl.checkpoints import PHASE_IO
    from lam_rl.deploy.phases import PHASES as DEPLOY

    table = [p.name for p in phases.TABLE]
    # the pipeline: the table's stages in its order, with each job's input check
    assert [name for name, _, _ in STAGES] == [p.name for p in phases.TABLE if p.stage]
    assert [name for name, _, _ in STAGES][:3] == ["taskplan", "collect", "sft-plan"]
    assert set(CHECKS) == {name for name, _, _ in STAGES} - {"report"}
    # the registry: LAM_i from LAM_(i-1), as the rows read and write them
    assert PHASE_IO == {
        "plan": ("base", "lam1"),
        "imitate": ("lam1", "lam2"),
        "boost": ("lam2", "lam3"),
        "reward": ("lam3", "rm"),
        "ppo": ("lam3", "lam4"),
    }
    # jobs.sft's phases
    assert {k: p.name for k, p in SFT_PHASES.items()} == {
        "plan": "sft-plan",
        "imitate": "sft-imitate",
        "boost": "sft-boost",
    }
    # deployment: every row with a job and worker groups, in the table's order
    assert list(DEPLOY) == [n for n in table if phases.PHASES[n].module and phases.PHASES[n].groups]
    assert {"ppo-online", "pipeline"} <= set(DEPLOY) and "report" not in DEPLOY
    # the CLI: one entry per job module of the package, its config class from the rows
    modules = {
        p.stem for p in (ROOT / "jobs").glob("*.py") if "run_job(" in p.read_text() and p.stem != "__init__"
    }
    assert set(JOBS) == modules
    assert JOBS["sft"].endswith(":SFTJobConfig") and JOBS["collect"].endswith(":Config")
    # the classes the CLI hands the renderer: one per class a row names, each the one JOBS names
    from jobs.config import SCHEMAS

    assert {p.schema for p in phases.TABLE} <= set(SCHEMAS)
    for p in phases.TABLE:
        assert f"{SCHEMAS[p.schema].__module__}:{SCHEMAS[p.schema].__qualname__}" == p.schema_path()


def test_the_sft_job_accepts_exactly_the_tables_sft_phases(repo_root):
    import pytest

    from jobs.config import SFTJobConfig
    from lam_rl.config import ConfigError, load_config

    for key in phases.sft_phases():
        cfg = load_config(SFTJobConfig, [f"phase={key}"], configs_dir=repo_root / "jobs/configs")
        assert cfg.phase == key
    with pytest.raises(ConfigError, match="phase"):
        load_config(SFTJobConfig, ["phase=polish"], configs_dir=repo_root / "jobs/configs")


def test_resumable_state_and_names_come_from_the_config(repo_root, tmp_path):
    from jobs.config import PipelineConfig
    from lam_rl.config import load_config

    cfg = load_config(
        PipelineConfig,
        ["config=tiny", f"run.root={tmp_path}", "reward.output=rm-b", "ppo.output=lam4-x"],
        configs_dir=repo_root / "jobs/configs",
    )
    P = phases.PHASES
    assert P["sft-imitate"].state_dir(cfg) == cfg.run_dir / "train" / "lam2" / "ds"
    assert P["reward"].state_dir(cfg) == cfg.run_dir / "train" / "rm-b" / "ds"
    assert P["ppo"].learner_dir(cfg) == cfg.run_dir / "train" / "lam4-x"
    assert P["collect"].state_dir(cfg) is None
    assert phases.what_to_run("sft-imitate") == "jobs.collect and jobs.sft phase=plan"
    assert phases.what_to_run("sft-boost") == "jobs.collect and jobs.sft phase=imitate and jobs.explore"


# A new phase: one row (LAM5 from LAM4 by SFT, deployed on learners), before evaluate.
ADD_A_ROW = """
import dataclasses, json
from lam_rl import phases
row = phases.PhaseSpec(
    "sft-polish", "jobs.sft", "LAM5.", args=("phase=polish",), key="polish",
    reads=("checkpoint:lam4",), writes=("checkpoint:lam5",), train_dir="train/lam5",
    groups=("learner",), schema="SFTJobConfig",
)
i = [p.name for p in phases.TABLE].index("evaluate")
phases.TABLE = (*phases.TABLE[:i], row, *phases.TABLE[i:])
phases.PHASES = {p.name: p for p in phases.TABLE}
from cluster.sft import SFT_PHASES
from jobs.pipeline import STAGES
from lam_rl.checkpoints import PHASE_IO
from lam_rl.deploy.phases import PHASES
from jobs.config import SFTJobConfig
from lam_rl.config import load_config
polish = load_config(SFTJobConfig, ["phase=polish"]).phase
print(json.dumps({
    "polish": polish,
    "stages": [s[0] for s in STAGES], "io": PHASE_IO.get("polish"), "sft": sorted(SFT_PHASES),
    "deploy": list(PHASES), "argv": PHASES["sft-polish"].argv,
}))
"""


@pytest.mark.slow  # a fresh interpreter importing the jobs, cluster and Ray: ~30 s on a loaded machine
def test_a_new_row_shows_up_in_every_consumer(run_python):
    got = run_python(ADD_A_ROW)
    assert got["stages"][-3:] == ["sft-polish", "evaluate", "report"]
    assert got["io"] == ["lam4", "lam5"]
    assert got["polish"] == "polish"  # jobs.sft phase= takes it
    assert got["sft"] == ["boost", "imitate", "plan", "polish"]
    assert got["deploy"][-3:] == ["sft-polish", "evaluate", "pipeline"]
    assert got["argv"] == ["python", "-m", "jobs.sft", "phase=polish"]


def test_the_phase_names_are_written_once():
    """No other module of the code spells the list of phases (a phase name as a literal)."""
    hits = []
    for pkg in ("lam_rl", "cluster", "jobs"):
        for f in (ROOT / pkg).rglob("*.py"):
            if f.name == "phases.py" and f.parent.name == "lam_rl":
                continue
            text = f.read_text()
            hits += [
                f"{f.relative_to(ROOT)}: {n}"
                for n in ('"sft-imitate"', '"sft-boost"', '"imitate", "boost"', '"imitate": ')
                if n in text
            ]
    # the report's curves are keyed by W&B run names (sft-imitate, ppo-offline, ...), not by phases
    assert [h for h in hits if not h.startswith("lam_rl/eval/report.py")] == []
