"""The run's tokenizer and base model (LAM0), created once per run directory."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from transformers import PreTrainedTokenizerBase

from lam_rl.models.config import ModelConfig, TokenizerConfig
from lam_rl.models.corpus import project_corpus
from lam_rl.models.factory import build_model, count_parameters, load_tokenizer, save_pretrained
from lam_rl.models.tokenizer import train_tokenizer

log = logging.getLogger(__name__)


def ensure_tokenizer(
    cfg: TokenizerConfig, model: ModelConfig, run_dir: Path, texts: Iterable[str] = ()
) -> PreTrainedTokenizerBase:
    """The tokenizer of this run: a given folder, the model's own, or one trained and saved once."""
    if cfg.path:
        return load_tokenizer(cfg.path)
    if model.name_or_path:
        return load_tokenizer(model.name_or_path)
    path = run_dir / "tokenizer"
    if (path / "tokenizer.json").exists():
        return load_tokenizer(path)
    tok = train_tokenizer(project_corpus(texts), cfg.vocab_size, cfg.min_frequency)
    path.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(path)
    log.info("trained a %d-token byte-level BPE tokenizer -> %s", len(tok), path)
    return load_tokenizer(path)


def ensure_base_model(
    model_cfg: ModelConfig,
    tok_cfg: TokenizerConfig,
    run_dir: Path,
    seed: int = 0,
    texts: Iterable[str] = (),
) -> tuple[Path, int]:
    """Save the starting checkpoint (LAM0) under ``<run dir>/checkpoints/base``; return (path, params)."""
    path = run_dir / "checkpoints" / "base"
    tok = ensure_tokenizer(tok_cfg, model_cfg, run_dir, texts)
    if (path / "config.json").exists():
        from lam_rl.models.factory import load_model

        return path, count_parameters(load_model(path))
    model = build_model(model_cfg, tok, seed=seed)
    save_pretrained(model, tok, path)
    n = count_parameters(model)
    from lam_rl.checkpoints import CheckpointRegistry

    CheckpointRegistry(run_dir / "checkpoints").register("base", path, phase="base", parameters=n)
    log.info("base model: %.2fM parameters -> %s", n / 1e6, path)
    return path, n
