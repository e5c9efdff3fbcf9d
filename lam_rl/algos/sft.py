"""Supervised fine-tuning (phases 1-3): next-token loss on target tokens only."""

from __future__ import annotations

from typing import Any

import torch

from lam_rl.algos.learner import Objective


class SFTObjective(Objective):
    """Causal-LM loss with labels -100 on prompt tokens (TRL's collator pads and masks)."""

    name = "sft"

    def __init__(self, pad_token_id: int) -> None:
        from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

        self._collator = DataCollatorForLanguageModeling(pad_token_id=pad_token_id)

    def collate(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return self._collator(examples)

    def loss(self, engine, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return engine(**batch).loss

    def eval_metrics(self, engine, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        total, tokens = 0.0, 0
        for batch in batches:
            k = int((batch["labels"][:, 1:] != -100).sum())
            total += float(engine(**batch).loss) * k
            tokens += k
        return {"loss": total / max(tokens, 1)}
