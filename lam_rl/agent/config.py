"""Configuration of the prompt format and the control filter."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError, opt


@dataclass
class AgentConfig:
    top_k_controls: int = opt(
        12,
        "Controls kept by the relevance filter besides the tab row and an open dialog's controls "
        "(0 keeps every control: the full list, as the small config does).",
        ge=0,
    )
    keep_dialog: bool = opt(True, "Always keep every control of an open dialog or menu.")
    max_history: int = opt(4, "Previous actions shown in the prompt (most recent last).", ge=0)
    plan_steps: int = opt(3, "Plan steps shown in the prompt and kept in the target's plan.", ge=0)
    canvas_chars: int = opt(
        160, "Characters of the document summary (canvas) kept in the prompt (0: none).", ge=0
    )
    thought_words: int = opt(8, "Words of the thought kept in training targets (0: drop thoughts).", ge=0)
    max_prompt_tokens: int = opt(
        256, "Token budget of a prompt; sections are trimmed (canvas, history, plan, controls) to fit.", ge=64
    )
    max_target_tokens: int = opt(
        96, "Token budget of a target action; longer plans/thoughts are trimmed.", ge=1
    )
    arg_labels: bool = opt(
        False,
        "List labelled candidate arguments in the prompt (the request's quoted phrases and values, the "
        "document's paragraph openings) and accept a label ('@1') for an argument's text; training "
        "targets use the label when the text is a candidate. For tiny models, which pick a label but "
        "do not learn to copy text; off for models that copy (docs/rollouts.md, 'Argument labels').",
    )

    def __post_init__(self) -> None:
        if self.max_prompt_tokens < 64:
            raise ConfigError("config key 'agent.max_prompt_tokens' must be at least 64")
        if self.top_k_controls < 0:
            raise ConfigError("config key 'agent.top_k_controls' must be >= 0 (0 keeps every control)")
