"""Batched generation from an HF checkpoint (no Ray): what the policy server runs per batch.

Prompts are wrapped in the tokenizer's chat template as one user turn, left-padded, and
decoded greedily (``temperature=0``) or by sampling; the answer is the text up to EOS.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from lam_rl.models.factory import load_model, load_tokenizer


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # stop | length


class Generator:
    """One loaded checkpoint that turns batches of prompts into answers."""

    def __init__(
        self, path: str | os.PathLike, *, version: int = 0, device: str | None = None, dtype: str = "float32"
    ) -> None:
        self.path = Path(path)
        self.version = version
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if self.device.type == "cpu" and dtype == "float16":
            dtype = "float32"
        self.tokenizer = load_tokenizer(self.path)
        self.tokenizer.padding_side = "left"
        self.model = load_model(self.path, dtype=dtype).to(self.device).eval()
        self._lock = threading.Lock()
        self.loaded_at = time.time()

    def chat_text(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    @torch.inference_mode()
    def generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int = 96,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        chat: bool = True,
    ) -> list[Generation]:
        if not prompts:
            return []
        texts = [self.chat_text([{"role": "user", "content": p}]) if chat else p for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device
        )
        kwargs = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
        }
        if temperature > 0:
            kwargs.update(do_sample=True, temperature=temperature, top_p=top_p)
        else:
            kwargs.update(do_sample=False)
        with self._lock:  # generate is not re-entrant on one model
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        results = []
        eos = self.tokenizer.eos_token_id
        for row, plen in zip(out[:, width:].tolist(), prompt_lens, strict=True):
            stop = eos in row
            ids = row[: row.index(eos)] if stop else row
            ids = [t for t in ids if t != self.tokenizer.pad_token_id]
            results.append(
                Generation(
                    text=self.tokenizer.decode(ids, skip_special_tokens=True),
                    prompt_tokens=int(plen),
                    completion_tokens=len(ids) + (1 if stop else 0),
                    finish_reason="stop" if stop else "length",
                )
            )
        return results
