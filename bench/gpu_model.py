"""The model side of ``gpu_smoke.py``: the Qwen2.5-0.5B-shaped Llama it trains (built here, no hub),
its SFT examples, and the FLOP counts and device peak its MFU figure divides.

Driver-side only: nothing here runs inside a Ray worker.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import wordsim_examples

# Qwen2.5-0.5B's shape as a Llama: hidden, layers, heads, kv heads, MLP, vocabulary
SHAPES = {"0.5b": (896, 24, 14, 2, 4864, 151936), "tiny": (64, 2, 4, 2, 128, 0)}
# dense bf16 peak FLOP/s by device name (datasheets, without sparsity)
PEAK_BF16 = [
    ("H200", 989.4e12),
    ("H100 PCIe", 756.0e12),
    ("H100", 989.4e12),
    ("A100", 312.0e12),
    ("L40S", 362.1e12),
    ("A10G", 70.0e12),
    ("L4", 121.0e12),
]


def agent_config(smoke: bool):
    from lam_rl.agent.config import AgentConfig

    if smoke:  # the tiny config's prompts (~250 tokens)
        return AgentConfig(top_k_controls=12, max_prompt_tokens=256, max_history=3, plan_steps=1)
    return AgentConfig(top_k_controls=0, max_prompt_tokens=1536, max_target_tokens=128)  # the full list


def build(work: Path, smoke: bool, on_gpu: bool) -> tuple[Path, list[dict[str, Any]], list[tuple[str, str]]]:
    """A model of the chosen shape and a tokenizer trained here, saved as an HF folder; SFT examples."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from lam_rl.data.sft import encode
    from lam_rl.models import save_pretrained, train_tokenizer
    from lam_rl.models.corpus import project_corpus

    examples = wordsim_examples(40 if smoke else 400, agent_cfg=agent_config(smoke))
    tok = train_tokenizer(
        project_corpus(e.prompt + "\n" + e.target for e in examples), 1024 if smoke else 8192
    )
    hidden, layers, heads, kv, inter, vocab = SHAPES["tiny" if smoke else "0.5b"]
    config = LlamaConfig(
        vocab_size=max(vocab, len(tok)),  # Qwen's vocabulary size; ids past the tokenizer's are never fed
        hidden_size=hidden,
        intermediate_size=inter,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        max_position_embeddings=2048,
        rope_theta=1e6,
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    with torch.device("cuda" if on_gpu else "cpu"):  # a 0.5B random init is quick on the GPU
        model = LlamaForCausalLM(config)
    if on_gpu:
        model = model.to(torch.bfloat16)  # half the bytes to write and read back
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    path = save_pretrained(model.cpu(), tok, work / "lm")
    del model
    data = encode(tok, examples, 256 if smoke else 2048)
    return path, data, [(e.prompt, e.target) for e in examples]


def count_parameters(path: Path) -> tuple[int, dict[str, int]]:
    from transformers import AutoConfig

    c = AutoConfig.from_pretrained(str(path), local_files_only=True)
    head_dim = c.hidden_size // c.num_attention_heads
    attn = c.hidden_size * head_dim * (2 * c.num_attention_heads + 2 * c.num_key_value_heads)
    mlp = 3 * c.hidden_size * c.intermediate_size
    per_layer = attn + mlp + 2 * c.hidden_size
    n = c.num_hidden_layers * per_layer + c.vocab_size * c.hidden_size + c.hidden_size
    shape = {"layers": c.num_hidden_layers, "hidden": c.hidden_size, "vocab": c.vocab_size}
    return n, shape


def flops_per_token(n_params: int, shape: dict[str, int], seq_len: float) -> float:
    """Training FLOPs per token: 6 per parameter (forward + backward matmuls; the tied embedding is the
    LM head's matmul) plus attention scores, 12 x layers x hidden x sequence length (PaLM's count)."""
    return 6 * n_params + 12 * shape["layers"] * shape["hidden"] * seq_len


def device_peak(on_gpu: bool, override_tflops: float | None) -> tuple[float, str, float]:
    """(peak FLOP/s used for MFU, where it comes from, a matmul measured now in FLOP/s)."""
    import torch

    dtype = torch.bfloat16 if on_gpu else torch.float32
    dev = "cuda" if on_gpu else "cpu"
    n = 8192 if on_gpu else 1024
    a, b = torch.randn(n, n, device=dev, dtype=dtype), torch.randn(n, n, device=dev, dtype=dtype)
    for _ in range(3):
        a @ b
    if on_gpu:
        torch.cuda.synchronize()
    reps, t = 0, time.perf_counter()
    while time.perf_counter() - t < 1.0:
        a @ b
        reps += 1
        if on_gpu and reps % 10 == 0:
            torch.cuda.synchronize()
    if on_gpu:
        torch.cuda.synchronize()
    measured = 2 * n**3 * reps / (time.perf_counter() - t)
    if override_tflops:
        return override_tflops * 1e12, "--peak-tflops", measured
    if on_gpu:
        name = torch.cuda.get_device_name()
        for key, peak in PEAK_BF16:
            if key in name:
                return peak, f"{name} datasheet (bf16 dense)", measured
        return measured, f"{name}: bf16 matmul measured now (no datasheet figure known)", measured
    return measured, "fp32 matmul measured now (CPU)", measured
