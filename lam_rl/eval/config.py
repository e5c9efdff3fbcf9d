"""Configuration of the evaluation phase."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import opt


@dataclass
class EvalConfig:
    models: list[str] = opt(
        ["lam1", "lam2", "lam3", "lam4"],
        "Checkpoints to evaluate (registry names or paths); missing ones are skipped.",
    )
    expert: bool = opt(
        True, "Also evaluate the scripted expert (the paper's GPT-4o row), with its default noise."
    )
    offline: bool = opt(True, "Offline metrics on the held-out reference trajectories (teacher forcing).")
    online: bool = opt(True, "Online metrics: each model acts in WordSim VMs on the held-out tasks.")
    max_tasks: int = opt(0, "Evaluate on at most this many held-out tasks (0: all reference tasks).", ge=0)
    batch_size: int = opt(32, "Prompts per generation batch in offline evaluation.", ge=1)
    max_new_tokens: int = opt(96, "Tokens generated per answer at most.", ge=1)
    tag_prefix: str = opt("eval", "Online evaluation trajectories are tagged <prefix>-<model>.")
