"""Configuration of the policy model and its tokenizer (read by ``lam_rl.models``)."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError, opt


@dataclass
class ModelConfig:
    name_or_path: str | None = opt(
        None,
        "A Hugging Face model to start from instead of building a fresh Llama-architecture model from the "
        "fields below: a local save_pretrained folder or a hub id (org/name; from the local HF cache when "
        "HF_HUB_OFFLINE=1, else downloaded).",
    )
    hidden: int = opt(128, "Hidden size of the Llama model built from config.", ge=1)
    layers: int = opt(4, "Number of transformer layers.", ge=1)
    heads: int = opt(4, "Number of attention heads.", ge=1)
    kv_heads: int = opt(4, "Number of key/value heads (grouped-query attention when < heads).", ge=1)
    intermediate: int = opt(352, "MLP intermediate size.", ge=1)
    max_seq_len: int = opt(512, "Maximum sequence length (positions) of the model.", ge=1)
    tie_embeddings: bool = opt(True, "Tie input and output embeddings (saves parameters in tiny models).")
    rope_theta: float = opt(10000.0, "RoPE base frequency.", gt=0)

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ConfigError(
                f"config key 'model.hidden' ({self.hidden}) must be divisible by model.heads ({self.heads})"
            )
        if self.heads % self.kv_heads:
            raise ConfigError(
                f"config key 'model.heads' ({self.heads}) must be divisible by model.kv_heads ({self.kv_heads})"
            )


@dataclass
class TokenizerConfig:
    path: str | None = opt(
        None,
        "A tokenizer to use as is: a local folder or a hub id (as model.name_or_path). When unset a "
        "byte-level BPE tokenizer is trained on the project's own text and saved in the run directory (or "
        "taken from model.name_or_path if set).",
    )
    vocab_size: int = opt(2048, "Vocabulary size of the locally trained byte-level BPE tokenizer.", ge=256)
    min_frequency: int = opt(2, "Minimum pair frequency for a BPE merge.", ge=0)
