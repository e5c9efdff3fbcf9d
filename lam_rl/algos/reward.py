"""The reward model (phase 4): the LAM3 backbone with a scalar head, trained by MSE.

Every step of a successful trajectory is labelled +1 and every step of a failed one -1
(docs/paper.md, phase 4); the head regresses that label with a mean-squared error, and the reward given to
PPO is ``sigmoid(score)`` in [0, 1]. Inputs are the step's Appendix C prompt (user turn) and the
action JSON (assistant turn), so the RM judges an action in its state. LoRA (r=8, alpha=32,
dropout 0.1) through PEFT is the paper's setting (``reward.lora``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lam_rl.algos.learner import Objective
from lam_rl.data.sft import Example, chat_prompt


def encode_scored(
    tokenizer, examples: Sequence[Example], labels: Sequence[float], max_len: int
) -> list[dict[str, Any]]:
    """(prompt, action) pairs -> input ids ending with the action; long prompts lose their oldest tokens."""
    texts_p = [chat_prompt(tokenizer, e.prompt) for e in examples]
    prompts = tokenizer(texts_p, add_special_tokens=False)["input_ids"]
    targets = tokenizer([e.target for e in examples], add_special_tokens=False)["input_ids"]
    out = []
    for p, t, y in zip(prompts, targets, labels, strict=True):
        t = [*t, tokenizer.eos_token_id]
        if len(t) + 2 > max_len:
            continue
        if len(p) + len(t) > max_len:
            p = p[:1] + p[len(p) - (max_len - len(t) - 1) :]
        out.append({"input_ids": p + t, "label": float(y)})
    return out


def auc(scores: Sequence[float], labels: Sequence[float]) -> float:
    """Area under the ROC curve of ``scores`` for positive labels (> 0); 0.5 when undefined."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y > 0]
    neg = [s for s, y in zip(scores, labels, strict=True) if y <= 0]
    if not pos or not neg:
        return 0.5
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


class RewardObjective(Objective):
    """MSE of the scalar head against +1/-1 step labels; held-out accuracy and AUC."""

    name = "reward"

    def __init__(self, pad_token_id: int) -> None:
        self.pad = pad_token_id

    def collate(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(e["input_ids"]) for e in examples)
        ids = torch.full((len(examples), width), self.pad, dtype=torch.long)
        mask = torch.zeros((len(examples), width), dtype=torch.long)
        for i, e in enumerate(examples):  # right padding: the head reads the last real token
            ids[i, : len(e["input_ids"])] = torch.tensor(e["input_ids"])
            mask[i, : len(e["input_ids"])] = 1
        labels = torch.tensor([e["label"] for e in examples], dtype=torch.float32)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}

    @staticmethod
    def scores(engine, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = engine(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        return out.logits.squeeze(-1).float()

    def loss(self, engine, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.mse_loss(self.scores(engine, batch), batch["labels"])

    def eval_metrics(self, engine, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        scores, labels, mse = [], [], 0.0
        for b in batches:
            s = self.scores(engine, b)
            mse += float(F.mse_loss(s, b["labels"], reduction="sum"))
            scores += s.tolist()
            labels += b["labels"].tolist()
        n = max(len(scores), 1)
        acc = sum((s > 0) == (y > 0) for s, y in zip(scores, labels, strict=True)) / n
        return {"loss": mse / n, "accuracy": acc, "auc": auc(scores, labels)}


def build_reward_model(backbone: str | os.PathLike, tokenizer):
    """A sequence-classification model (1 label) on the backbone's weights; the head starts fresh."""
    from transformers import AutoModelForSequenceClassification

    from lam_rl.algos.engine import new_head_load

    with new_head_load():  # the score head is new
        model = AutoModelForSequenceClassification.from_pretrained(  # fp32 whatever the checkpoint's dtype
            str(backbone), num_labels=1, local_files_only=True, dtype=torch.float32
        )
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


class RewardScorer:
    """Inference: rewards in [0, 1] for (prompt, action) pairs from a saved RM checkpoint."""

    def __init__(self, path: str | os.PathLike, device: str | None = None, dtype: str = "float32") -> None:
        from transformers import AutoModelForSequenceClassification

        from lam_rl.models.factory import DTYPES, load_tokenizer

        # the current CUDA device when there is one (a Ray Train worker's or a Serve replica's GPU)
        if device is None and torch.cuda.is_available():
            device = f"cuda:{torch.cuda.current_device()}"
        self.device = torch.device(device or "cpu")
        if self.device.type == "cpu" and dtype == "float16":  # no fp16 matmuls on CPU
            dtype = "float32"
        self.tokenizer = load_tokenizer(path)
        self.model = (
            AutoModelForSequenceClassification.from_pretrained(
                str(path), dtype=DTYPES[dtype], local_files_only=True
            )
            .to(self.device)
            .eval()
        )
        self.objective = RewardObjective(self.tokenizer.pad_token_id)

    @torch.inference_mode()
    def score(self, prompts: Sequence[str], actions: Sequence[str], max_len: int = 512) -> list[float]:
        if not prompts:
            return []
        examples = [Example(p, a) for p, a in zip(prompts, actions, strict=True)]
        enc = encode_scored(self.tokenizer, examples, [0.0] * len(examples), max_len)
        if len(enc) != len(examples):
            raise ValueError(f"an action is longer than the reward model's max length ({max_len} tokens)")
        batch = {k: v.to(self.device) for k, v in self.objective.collate(enc).items()}
        return torch.sigmoid(self.objective.scores(self.model, batch)).tolist()  # one device sync
