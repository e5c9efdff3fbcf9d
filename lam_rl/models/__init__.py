"""Tokenizer and model factory: tiny Llama models built from config, or any local HF folder."""

from lam_rl.models.factory import build_model, count_parameters, load_model, load_tokenizer, save_pretrained
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
