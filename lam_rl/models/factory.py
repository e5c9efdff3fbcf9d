"""Build, load and save policy models.

``build_model`` makes a fresh Llama-architecture causal LM from ``ModelConfig`` (tiny for CPU,
small for a GPU); ``model.name_or_path`` instead loads any local Hugging Face folder (a real user
brings Qwen or Mistral). Nothing here reaches a model hub: loads pass ``local_files_only``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from lam_rl.config import ConfigError, ModelConfig

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def llama_config(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden,
        intermediate_size=cfg.intermediate,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.kv_heads,
        max_position_embeddings=cfg.max_seq_len,
        rope_theta=cfg.rope_theta,
        tie_word_embeddings=cfg.tie_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def check_local_folder(path: str | os.PathLike, what: str = "model") -> Path:
    p = Path(path)
    if not p.is_dir():
        raise ConfigError(
            f"{what} folder '{path}' does not exist. Pass a local Hugging Face folder "
            "(hub downloads are disabled) or leave model.name_or_path unset to build one from config."
        )
    if what == "model" and not (p / "config.json").exists():
        raise ConfigError(f"model folder '{path}' has no config.json: it is not a save_pretrained folder")
    return p


def build_model(cfg: ModelConfig, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> PreTrainedModel:
    """A fresh model from config, or the weights in ``cfg.name_or_path``."""
    if cfg.name_or_path:
        return load_model(cfg.name_or_path)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(llama_config(cfg, tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def load_model(path: str | os.PathLike, dtype: str = "float32") -> PreTrainedModel:
    check_local_folder(path)
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=DTYPES[dtype], local_files_only=True)


def load_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerBase:
    check_local_folder(path, "tokenizer")
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tok.pad_token is None:  # real models (Mistral, Llama) often ship without one
        tok.pad_token = tok.eos_token
    return tok


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_pretrained(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, path: str | os.PathLike
) -> Path:
    """Save model + tokenizer as one HF folder, atomically (written aside, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
