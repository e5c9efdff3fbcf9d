"""Build, load and save policy models.

``build_model`` makes a fresh Llama-architecture causal LM from ``ModelConfig`` (tiny for CPU,
small for a GPU); ``model.name_or_path`` instead loads a real model (Qwen, Mistral, ...) from a local
Hugging Face folder or by its hub id (``lam_rl.models.hub``: from the local cache when hub access is
off, downloaded as transformers does when it is on).
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

from lam_rl.config import ConfigError
from lam_rl.models.config import ModelConfig
from lam_rl.models.hub import resolve_pretrained

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


def check_local_folder(path: str | os.PathLike, what: str = "model") -> str:
    """``path`` checked loadable: a save_pretrained folder, or a hub id (in the local cache when hub
    access is off); returns what ``from_pretrained`` should load. Raises ConfigError otherwise."""
    return resolve_pretrained(path, what)


def _from_pretrained(loader, name_or_path: str | os.PathLike, what: str, **kwargs):
    src = resolve_pretrained(name_or_path, what)
    try:  # a local folder never touches the network; a hub id downloads unless HF_HUB_OFFLINE
        return loader(src, local_files_only=Path(src).is_dir(), **kwargs)
    except OSError as e:  # not on the hub, gated without HF_TOKEN, no network
        raise ConfigError(f"cannot load {what} '{name_or_path}': {str(e).splitlines()[0]}") from None


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
    """A causal LM from a save_pretrained folder or a hub id."""
    return _from_pretrained(AutoModelForCausalLM.from_pretrained, path, "model", dtype=DTYPES[dtype])


def load_tokenizer(path: str | os.PathLike) -> PreTrainedTokenizerBase:
    """A tokenizer from a save_pretrained folder or a hub id; a pad token is set when it has none."""
    tok = _from_pretrained(AutoTokenizer.from_pretrained, path, "tokenizer")
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
