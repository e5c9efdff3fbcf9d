"""The job-level config: every section, composed, plus each job's own top-level switches.

``Config`` holds every section, so one YAML file (``jobs/configs/tiny.yaml``) configures the whole
pipeline and every job; a job's class adds the top-level switches it needs (``phase=`` for SFT,
``stages=``/``force=`` for the pipeline). Each section class lives beside the code that reads it:

- ``lam_rl/<package>/config.py`` and ``lam_rl/tracking.py`` for the sections the library reads
  (agent, env and expert, store, taskplan, learner/sft/reward/ppo, model and tokenizer, tracking),
- ``lam_rl/deploy/config.py`` for the deployment,
- ``cluster/config.py`` for the sections only the Ray side reads (serving, fleet, rollout, ray, and
  the rollout phases collect, explore, eval),
- this module for ``run`` (name, output folder, seed), which every job reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cluster.config import (
    CollectConfig,
    EvalConfig,
    ExploreConfig,
    FleetConfig,
    PolicyServeConfig,
    RayConfig,
    RewardServeConfig,
    RolloutConfig,
    ServeConfig,
)
from lam_rl.agent.config import AgentConfig
from lam_rl.algos.config import LearnerConfig, PPOConfig, RewardConfig, SFTConfig
from lam_rl.config import SEED_MAX, ConfigError, check_choice, opt
from lam_rl.data.config import TaskPlanConfig
from lam_rl.deploy.config import DeployConfig
from lam_rl.env.config import EnvConfig, ExpertConfig
from lam_rl.models.config import ModelConfig, TokenizerConfig
from lam_rl.phases import sft_phases, stages
from lam_rl.store.config import StoreConfig
from lam_rl.tracking import TrackingConfig


@dataclass
class RunConfig:
    name: str = opt("tiny", "Run name: outputs go to <root>/<name> and it names the W&B group.")
    root: str = opt("runs", "Directory (or URI for the store) under which run directories are created.")
    seed: int = opt(0, "Global random seed (task sampling, model init, data order).", ge=0, le=SEED_MAX)
    log_level: str = opt("INFO", "Python logging level for the driver and workers.")

    @property
    def dir(self) -> Path:
        return Path(self.root) / self.name


@dataclass
class Config:
    run: RunConfig = opt(RunConfig, "Run name, output directory and seed.")
    model: ModelConfig = opt(ModelConfig, "The policy model (built from config or loaded from a folder).")
    tokenizer: TokenizerConfig = opt(TokenizerConfig, "The tokenizer (trained locally unless given).")
    store: StoreConfig = opt(StoreConfig, "The trajectory store.")
    tracking: TrackingConfig = opt(TrackingConfig, "Weights & Biases tracking.")
    ray: RayConfig = opt(RayConfig, "Ray connection (embedded or a cluster).")
    deploy: DeployConfig = opt(DeployConfig, "Kubernetes deployment (image, storage, resources per role).")
    env: EnvConfig = opt(
        EnvConfig, "WordSim VM agents: serving, latency and fault injection, client timeouts."
    )
    expert: ExpertConfig = opt(ExpertConfig, "The scripted expert (phase 0b) and its seeded error model.")
    taskplan: TaskPlanConfig = opt(TaskPlanConfig, "Phase 0a: the task-plan corpus and its evolution.")
    collect: CollectConfig = opt(
        CollectConfig, "Phase 0b: expert trajectories and held-out reference trajectories."
    )
    explore: ExploreConfig = opt(
        ExploreConfig, "Phase 3: LAM2 retries the expert's failures (self-boosting)."
    )
    agent: AgentConfig = opt(AgentConfig, "Prompt format: control filter, history, plan, token budgets.")
    fleet: FleetConfig = opt(FleetConfig, "The VMs rollout workers drive (real VMs by URL or local WordSim).")
    rollout: RolloutConfig = opt(RolloutConfig, "Episodes, retries and leases of the rollout workers.")
    serve: ServeConfig = opt(
        ServeConfig, "Ray Serve's HTTP proxy (host, port), shared by the policy and reward servers."
    )
    policy: PolicyServeConfig = opt(
        PolicyServeConfig, "The policy server (Ray Serve): batching, decoding, API token."
    )
    learner: LearnerConfig = opt(
        LearnerConfig, "DeepSpeed learners on Ray Train (shared by SFT, RM and PPO)."
    )
    sft: SFTConfig = opt(SFTConfig, "Phases 1-3: supervised fine-tuning data and optimiser.")
    reward: RewardConfig = opt(RewardConfig, "Phase 4: the reward model.")
    reward_serve: RewardServeConfig = opt(RewardServeConfig, "The reward-model server (Ray Serve).")
    eval: EvalConfig = opt(EvalConfig, "Evaluation: which checkpoints, offline and/or online.")
    ppo: PPOConfig = opt(PPOConfig, "Phase 4: PPO (offline as in the paper, or online in VMs).")

    @property
    def run_dir(self) -> Path:
        return self.run.dir

    @property
    def store_uri(self) -> str:
        return self.store.uri or str(self.run.dir / "store")


@dataclass
class PipelineConfig(Config):
    stages: list[str] = opt(
        [], "Run only these pipeline stages (empty: all). Stages whose output exists are skipped anyway."
    )
    force: list[str] = opt([], "Stages to re-run even when their output exists.")

    def __post_init__(self) -> None:
        known = [p.name for p in stages()]
        for key in ("stages", "force"):
            for name in getattr(self, key):
                if name not in known:
                    raise ConfigError(
                        f"config key '{key}' names an unknown pipeline stage '{name}'. Stages: {', '.join(known)}"
                    )


@dataclass
class SFTJobConfig(Config):
    phase: str = opt("imitate", "SFT phase: plan (LAM1, task -> plan), imitate (LAM2) or boost (LAM3).")

    def __post_init__(self) -> None:
        check_choice("", "phase", self.phase, list(sft_phases()))  # the phase table's SFT rows


# The config classes by name, as the phase table's rows name them (``PhaseSpec.schema``): what callers
# hand to code below jobs/ that must build a job's config (the deployment renderer, ``InfraCheck``).
SCHEMAS: dict[str, type] = {cls.__name__: cls for cls in (Config, PipelineConfig, SFTJobConfig)}
