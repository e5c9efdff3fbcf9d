"""The config class of every job: shared sections plus each job's own.

``Config`` holds every section, so one YAML file (``jobs/configs/tiny.yaml``) configures the whole
pipeline and every job; a job's class adds the top-level switches it needs (``phase=`` for SFT).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lam_rl.config import ModelConfig, RayConfig, RunConfig, TokenizerConfig, TrackingConfig, opt
from lam_rl.deploy import DeployConfig
from lam_rl.env.config import EnvConfig, ExpertConfig
from lam_rl.store.config import StoreConfig


@dataclass
class Config:
    run: RunConfig = opt(RunConfig, "Run name, output directory and seed.")
    model: ModelConfig = opt(ModelConfig, "The policy model (built from config or loaded from a folder).")
    tokenizer: TokenizerConfig = opt(TokenizerConfig, "The tokenizer (trained locally unless given).")
    store: StoreConfig = opt(StoreConfig, "The trajectory store.")
    tracking: TrackingConfig = opt(TrackingConfig, "Weights & Biases tracking.")
    ray: RayConfig = opt(RayConfig, "Ray connection (embedded or a cluster).")
    deploy: DeployConfig = opt(DeployConfig, "Kubernetes deployment (image, storage, resources per role).")
    env: EnvConfig = opt(EnvConfig, "WordSim VM agents: serving, latency and fault injection, client timeouts.")
    expert: ExpertConfig = opt(ExpertConfig, "The scripted expert (phase 0b) and its seeded error model.")

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
