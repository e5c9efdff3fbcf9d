"""Tokenizer and model factory: tiny Llama models built from config, or any local HF folder.

The factory and tokenizer names are imported on first use (they need torch and transformers), so
``lam_rl.models.config`` stays light for the config loader.
"""

from typing import TYPE_CHECKING

from lam_rl.lazy import lazy_exports

if TYPE_CHECKING:
    from lam_rl.models.factory import (
        build_model,
        count_parameters,
        load_model,
        load_tokenizer,
        save_pretrained,
    )
    from lam_rl.models.tokenizer import CHAT_TEMPLATE, SPECIAL_TOKENS, train_tokenizer

__all__ = [
    "CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "build_model",
    "count_parameters",
    "load_model",
    "load_tokenizer",
    "save_pretrained",
    "train_tokenizer",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(
            ["build_model", "count_parameters", "load_model", "load_tokenizer", "save_pretrained"], "factory"
        ),
        **dict.fromkeys(["CHAT_TEMPLATE", "SPECIAL_TOKENS", "train_tokenizer"], "tokenizer"),
    },
)
