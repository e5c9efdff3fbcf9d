"""Configuration of the task-plan corpus (phase 0a, read by ``lam_rl.data.taskplan``). The collection and
exploration sections are rollouts run by ``cluster/``: they live in ``cluster/config.py``."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError, opt


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
