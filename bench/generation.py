"""What per-row decoding costs in a batched generate: streaming, stop strings and seeds vs plain HF.

    .venv/bin/python bench/generation.py [--json] [--smoke] [--batch 32] [--tokens 32] [--repeats 3]

The policy server decodes every row of a batch with its own settings (``lam_rl.agent.generation``):
a logits processor picks each row's token (greedy, or sampled from the row's own seeded
generator) and a stopping criterion keeps each row's budget, stop strings and streaming callback.
This runs one batch of Appendix C prompts (WordSim reference runs, the tiny config's prompt
settings and model shape) through plain ``model.generate`` (greedy: the baseline) and through
``Generator.run`` greedy, greedy with every row streamed and carrying two stop strings, and sampled
with a seed per row, all in this process, best of ``--repeats`` each. Headline: generated
tokens/s with every row streamed / the baseline's (goal >= 0.9: token streaming costs < 10%).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SMOKE_HELP, emit, tiny_checkpoint, wordsim_examples  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--batch", type=int, default=32, help="prompts per batch")
    ap.add_argument("--tokens", type=int, default=32, help="new tokens per prompt")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each mode (the best counts)")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    shape, tasks = (160, 4, 2048), 8  # hidden, layers, vocab: the tiny config's shape
    if args.smoke:
        args.batch, args.tokens, args.repeats = 4, 4, 1
        shape, tasks = (32, 1, 512), 2

    import torch

    from jobs.config import Config
    from lam_rl.agent.generation import Generator, Request
    from lam_rl.config import load_config

    torch.set_num_threads(1)  # as a policy-server replica runs (cpus_per_replica=1)
    work = Path(tempfile.mkdtemp(prefix="lam-bench-generation-"))
    gen = Generator(tiny_checkpoint(work / "lm", hidden=shape[0], layers=shape[1], vocab=shape[2]))
    cfg = load_config(Config, ["config=tiny"], configs_dir=ROOT / "jobs" / "configs")
    prompts = [e.prompt for e in wordsim_examples(tasks, agent_cfg=cfg.agent)]
    texts = [gen.chat_text([{"role": "user", "content": p}]) for p in prompts]
    texts = [t for t in texts if gen.count_tokens(t) + args.tokens <= gen.max_positions]  # what fits
    texts = (texts * args.batch)[: args.batch]
    eos = gen.tokenizer.eos_token_id

    def plain() -> int:
        enc = gen.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            out = gen.model.generate(
                **enc, max_new_tokens=args.tokens, do_sample=False, pad_token_id=gen.tokenizer.pad_token_id
            )
        rows = out[:, enc["input_ids"].shape[1] :].tolist()
        return sum((row.index(eos) + 1) if eos in row else len(row) for row in rows)

    def ours(**settings) -> int:
        streamed = []
        stream = settings.pop("stream", False)
        requests = [
            Request(
                t,
                args.tokens,
                seed=i if settings.get("temperature") else None,
                on_text=streamed.append if stream else None,
                **settings,
            )
            for i, t in enumerate(texts)
        ]
        return sum(g.completion_tokens for g in gen.run(requests))

    modes = {
        "plain HF greedy (baseline)": plain,
        "Generator.run greedy": lambda: ours(),
        "Generator.run greedy, every row streamed, 2 stop strings": lambda: ours(
            stream=True, stop=("\u241e", "zz-none")
        ),
        "Generator.run sampled, a seed per row": lambda: ours(temperature=1.0),
    }
    best: dict[str, float] = {}
    for _ in range(args.repeats):  # interleaved, so load changes hit every mode alike
        for name, run in modes.items():
            t = time.perf_counter()
            tokens = run()
            best[name] = max(best.get(name, 0.0), tokens / (time.perf_counter() - t))
    base = best["plain HF greedy (baseline)"]
    streamed = best["Generator.run greedy, every row streamed, 2 stop strings"]
    emit(
        {
            "name": "streaming_generate_vs_plain",
            "value": streamed,
            "unit": "tokens/s",
            "baseline": base,
            "ratio": streamed / base,
            "goal": ">= 0.9",
            "smoke": args.smoke,
        },
        args.json,
        {f"{k} (tokens/s)": round(v, 1) for k, v in best.items()}
        | {
            "batch x new tokens": f"{args.batch} x {args.tokens}",
            "prompt tokens (mean)": round(sum(gen.count_tokens(t) for t in texts) / len(texts)),
        },
    )


if __name__ == "__main__":
    main()
