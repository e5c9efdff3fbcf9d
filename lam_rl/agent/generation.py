"""Batched generation from an HF checkpoint (no Ray): what the policy server runs per batch.

Prompts are wrapped in the tokenizer's chat template as one user turn (or passed as they are),
left-padded and decoded in one ``model.generate`` call. Each row of a batch carries its own
decoding settings (``Request``): greedy (``temperature=0``) or sampled with its own temperature,
top-p and seed, its own token budget, up to a few stop strings, and optionally a callback that
receives the answer's text as it is generated (streaming). Rows never influence each other's
samples: each sampled row draws from its own ``torch.Generator``, so the same seed and the same
request give the same answer whatever else shares the batch (up to float rounding differences
between batch shapes, which move a sample only when a draw falls on a probability boundary).

A request that cannot fit the model's context (prompt tokens + ``max_new_tokens`` over the
model's positions) is refused before anything runs (``ContextError``); ``generate`` clamps the
token budget to the room left instead, so library callers (offline evaluation) keep working.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import LogitsProcessor, LogitsProcessorList, StoppingCriteria, StoppingCriteriaList

from lam_rl.models.factory import load_model, load_tokenizer

log = logging.getLogger(__name__)


@dataclass
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # stop | length


@dataclass
class Request:
    """One row of a batch: the prompt (already formatted unless ``chat``) and how to decode it."""

    prompt: str
    max_new_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None  # sampled rows without one draw a random seed
    stop: Sequence[str] = ()  # the answer ends before the first of these; they are not included
    on_text: Callable[[str], None] | None = None  # streaming: each new piece of text, in order
    on_done: Callable[[Generation], None] | None = None  # called once, as soon as this row is finished


class ContextError(ValueError):
    """A prompt (plus the tokens asked for) does not fit the model's context."""


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
        self.max_positions = context_length(self.model.config, self.tokenizer)
        eos = self.model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {int(t) for t in [self.tokenizer.eos_token_id, *eos] if t is not None}

    def chat_text(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def room(self, prompt_tokens: int) -> int:
        """How many tokens can still be generated after a prompt of ``prompt_tokens``."""
        return self.max_positions - prompt_tokens

    def check_fits(self, prompt_tokens: int, max_new_tokens: int) -> None:
        """Raise ``ContextError`` (with the numbers) when prompt + budget exceed the context."""
        limit = self.max_positions
        if prompt_tokens >= limit:
            raise ContextError(
                f"This model's maximum context length is {limit} tokens. However, your messages "
                f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages."
            )
        if prompt_tokens + max_new_tokens > limit:
            raise ContextError(
                f"This model's maximum context length is {limit} tokens. However, you requested "
                f"{prompt_tokens + max_new_tokens} tokens ({prompt_tokens} in the messages, "
                f"{max_new_tokens} in the completion). Please reduce the length of the messages or completion."
            )

    def generate(
        self,
        prompts: list[str],
        *,
        max_new_tokens: int = 96,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] = (),
        chat: bool = True,
    ) -> list[Generation]:
        """The same settings for every prompt (each row seeded with ``seed`` when given); the token
        budget is clamped to the room each prompt leaves in the context."""
        if not prompts:
            return []
        texts = [self.chat_text([{"role": "user", "content": p}]) if chat else p for p in prompts]
        requests = []
        for text in texts:
            budget = min(max_new_tokens, self.room(self.count_tokens(text)))
            requests.append(Request(text, max(budget, 1), temperature, top_p, seed, tuple(stop)))
        return self.run(requests)

    @torch.inference_mode()
    def run(self, requests: Sequence[Request]) -> list[Generation]:
        """Generate every request in one batch (prompts used as given: format them first)."""
        if not requests:
            return []
        for i, r in enumerate(requests):
            check_request(r, i)
        enc = self.tokenizer(
            [r.prompt for r in requests], return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.device)
        prompt_lens = [int(n) for n in enc["attention_mask"].sum(dim=1).tolist()]
        for i, (r, n) in enumerate(zip(requests, prompt_lens, strict=True)):
            try:
                self.check_fits(n, r.max_new_tokens)
            except ContextError as e:
                raise ContextError(f"request {i}: {e}") from None
        rows = _Rows(self, requests, prompt_lens)
        with self._lock:  # generate is not re-entrant on one model
            self.model.generate(
                **enc,
                max_new_tokens=max(r.max_new_tokens for r in requests),
                do_sample=False,  # _RowSampler has already chosen each row's token
                temperature=None,
                top_p=None,
                top_k=None,
                logits_processor=LogitsProcessorList([_RowSampler(requests, self.device)]),
                stopping_criteria=StoppingCriteriaList([rows]),
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=sorted(self.eos_ids),
            )
        return rows.finish_all()


def context_length(config, tokenizer) -> int:
    """The model's maximum positions (config), else the tokenizer's ``model_max_length``."""
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    if isinstance(value, int) and 0 < value < 10**7:
        return value
    raise ValueError("cannot tell the model's context length: its config has no max_position_embeddings")


def check_request(r: Request, index: int = 0) -> None:
    """Raise ``ValueError`` naming what is wrong with one row's decoding settings."""
    if not (isinstance(r.max_new_tokens, int) and r.max_new_tokens >= 1):
        raise ValueError(f"request {index}: max_new_tokens must be an integer >= 1, got {r.max_new_tokens!r}")
    if not (math.isfinite(r.temperature) and r.temperature >= 0):
        raise ValueError(f"request {index}: temperature must be a finite number >= 0, got {r.temperature!r}")
    if not (math.isfinite(r.top_p) and 0 < r.top_p <= 1):
        raise ValueError(f"request {index}: top_p must be in (0, 1], got {r.top_p!r}")
    if any(not isinstance(s, str) or not s for s in r.stop):
        raise ValueError(f"request {index}: stop strings must be non-empty strings")


def derive_seed(seed: int, index: int) -> int:
    """A distinct, reproducible seed for the ``index``-th sample of a request seeded with ``seed``."""
    return (seed + index * 0x9E3779B97F4A7C15) % (1 << 64) if index else seed


class _RowSampler(LogitsProcessor):
    """Chooses each row's next token itself (greedy, or temperature + top-p sampling from the row's
    own generator) and hands ``generate`` a one-hot score, so greedy decoding picks exactly that."""

    def __init__(self, requests: Sequence[Request], device: torch.device) -> None:
        self.rows = []
        for i, r in enumerate(requests):
            if r.temperature > 0:
                seed = r.seed if r.seed is not None else secrets.randbits(63)
                g = torch.Generator(device=device)
                g.manual_seed(int(seed) % (1 << 64))
                self.rows.append((i, float(r.temperature), float(r.top_p), g))

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        choice = scores.argmax(dim=-1)
        for i, temperature, top_p, g in self.rows:
            logits = scores[i].float()
            # shifted so the best token is at 0: a tiny temperature gives -inf elsewhere, never inf/NaN
            probs = torch.softmax((logits - logits.max()) / temperature, dim=-1)
            if not bool(torch.isfinite(probs).all()):  # a model emitting NaN logits: fall back to greedy
                continue
            if top_p < 1.0:
                sorted_p, order = torch.sort(probs, descending=True)
                keep = torch.cumsum(sorted_p, dim=-1) - sorted_p < top_p  # the smallest set reaching top_p
                probs = torch.zeros_like(probs).scatter_(0, order[keep], sorted_p[keep])
            choice[i] = torch.multinomial(probs, 1, generator=g)[0]
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, choice[:, None], 0.0)
        return out


@dataclass
class _Row:
    request: Request
    prompt_tokens: int
    ids: list[int] = field(default_factory=list)
    text: str = ""
    sent: int = 0  # characters already given to on_text
    checked: int = 0  # characters already searched for stop strings
    result: Generation | None = None


class _Rows(StoppingCriteria):
    """Per-row bookkeeping of one batched generate: each row's tokens, its EOS, stop strings and
    token budget, streaming callbacks; tells ``generate`` which rows are finished."""

    def __init__(self, gen: Generator, requests: Sequence[Request], prompt_lens: list[int]) -> None:
        self.gen = gen
        self.rows = [_Row(r, n) for r, n in zip(requests, prompt_lens, strict=True)]

    def __call__(self, input_ids: torch.LongTensor, scores, **kwargs) -> torch.BoolTensor:
        last = input_ids[:, -1].tolist()
        for row, token in zip(self.rows, last, strict=True):
            if row.result is None:
                self._step(row, int(token))
        return torch.tensor([r.result is not None for r in self.rows], device=input_ids.device)

    def _step(self, row: _Row, token: int) -> None:
        r = row.request
        row.ids.append(token)
        if token in self.gen.eos_ids:
            self._finish(row, "stop", len(row.ids) - 1)
            return
        if r.stop or r.on_text:
            row.text = self._decode(row.ids)
        if r.stop:
            longest = max(len(s) for s in r.stop)
            start = max(0, row.checked - longest + 1)
            hits = [p for p in (row.text.find(s, start) for s in r.stop) if p >= 0]
            row.checked = len(row.text.rstrip("\ufffd"))  # a partial character may still change
            if hits:
                row.text = row.text[: min(hits)]
                self._finish(row, "stop", len(row.ids), decoded=True)
                return
        if len(row.ids) >= r.max_new_tokens:
            self._finish(row, "length", len(row.ids))
            return
        if r.on_text:
            hold = max((len(s) for s in r.stop), default=1) - 1  # a stop string may be starting
            safe = len(row.text) - hold
            while safe > row.sent and row.text[safe - 1] == "\ufffd":  # an incomplete UTF-8 sequence
                safe -= 1
            if safe > row.sent:
                self._emit(row, row.text[row.sent : safe])

    def _decode(self, ids: list[int]) -> str:
        return self.gen.tokenizer.decode(ids, skip_special_tokens=True)

    def _finish(self, row: _Row, reason: str, keep: int, decoded: bool = False) -> None:
        r = row.request
        if not decoded:
            row.text = self._decode(row.ids[:keep])
        if r.on_text and len(row.text) > row.sent:
            self._emit(row, row.text[row.sent :])
        row.result = Generation(row.text, row.prompt_tokens, len(row.ids), reason)
        if r.on_done:
            try:
                r.on_done(row.result)
            except Exception:  # noqa: BLE001 - a consumer's failure must not stop the batch
                log.exception("generation on_done callback failed")

    def _emit(self, row: _Row, piece: str) -> None:
        row.sent += len(piece)
        try:
            row.request.on_text(piece)  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - a consumer's failure must not stop the batch
            log.exception("generation on_text callback failed")

    def finish_all(self) -> list[Generation]:
        """Rows still open when generate returned ran out of tokens."""
        for row in self.rows:
            if row.result is None:
                self._finish(row, "length", len(row.ids))
        return [row.result for row in self.rows]  # type: ignore[misc]
