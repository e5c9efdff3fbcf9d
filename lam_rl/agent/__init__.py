"""The agent side of a LAM: prompt format, control filter, output parsing, grounding, policies."""

from lam_rl.agent.config import AgentConfig
from lam_rl.agent.grounding import Grounded, ground
from lam_rl.agent.parse import Parsed, parse_decision
from lam_rl.agent.prompt import HistoryItem, Prompt, PromptBuilder, filter_controls, format_target

__all__ = [
    "AgentConfig",
    "Grounded",
    "HistoryItem",
    "Parsed",
    "Prompt",
    "PromptBuilder",
    "filter_controls",
    "format_target",
    "ground",
    "parse_decision",
]
