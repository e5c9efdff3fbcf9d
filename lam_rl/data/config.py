"""Configuration of the data phases: the task-plan corpus (0a), expert collection (0b), exploration (3)."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import SEED_MAX, ConfigError, opt


@dataclass
class TaskPlanConfig:
    num_tasks: int = opt(
        2000, "Single-family task instances sampled from the suite for the corpus (train split).", ge=1
    )
    evolved_fraction: float = opt(
        0.6,
        "Evolved (harder, composite) tasks added per sampled task (the paper: 47k evolved of 77k).",
        ge=0,
        le=5,
    )
    tokenizer_samples: int = opt(
        300,
        "Tasks played in-process with the reference actions to give the tokenizer real prompts and actions.",
        ge=0,
    )
    llm_base_url: str | None = opt(
        None,
        "An OpenAI-compatible endpoint that rewrites evolved tasks and plans (None: templated evolution).",
    )
    llm_model: str = opt("gpt-4o", "Model name sent to the evolution endpoint.")
    llm_api_key_env: str = opt("OPENAI_API_KEY", "Environment variable holding the evolution endpoint's key.")
    llm_max_tasks: int = opt(
        200, "Evolved tasks rewritten by the LLM at most (the rest stay templated).", ge=0
    )
    tag: str = opt("taskplan", "Store tag of the corpus.")

    def __post_init__(self) -> None:
        if self.num_tasks < 1 or not 0 <= self.evolved_fraction <= 5:
            raise ConfigError("taskplan.num_tasks must be >= 1 and taskplan.evolved_fraction in [0, 5]")


@dataclass
class CollectConfig:
    num_tasks: int = opt(2000, "Training tasks the expert plays (phase 0b).", ge=1)
    eval_tasks: int = opt(
        300, "Held-out tasks played by the noiseless expert: the reference trajectories.", ge=0
    )
    composite_fraction: float = opt(0.2, "Fraction of composite (2-3 family) tasks.", ge=0, le=1)
    families: list[str] = opt([], "Only these task families (empty: all); also the online PPO task pool.")
    seed: int = opt(
        1, "Seed of the task sample (the corpus uses run.seed; keep them apart).", ge=0, le=SEED_MAX
    )
    tag: str = opt("collect-expert", "Store tag of the expert's trajectories.")
    eval_tag: str = opt("reference-eval", "Store tag of the held-out reference trajectories.")


@dataclass
class ExploreConfig:
    checkpoint: str = opt("lam2", "Policy that retries the expert's failures (registry name or path).")
    source_tag: str = opt("collect-expert", "Store tag whose failed trajectories are retried.")
    attempts: int = opt(2, "Attempts per failed task (sampled decoding makes them differ).", ge=1)
    temperature: float = opt(
        0.7, "Sampling temperature of the exploring policy (0: greedy, one attempt suffices).", ge=0
    )
    max_tasks: int = opt(0, "Retry at most this many failed tasks (0: all).", ge=0)
    tag: str = opt(
        "explore-lam2", "Store tag of the exploration trajectories (phase 3 trains on its successes)."
    )
