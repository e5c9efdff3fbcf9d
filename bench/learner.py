"""Learner throughput: Ray Train + DeepSpeed (1 worker) vs a plain single-process PyTorch loop on the
same model, batch and data, in the same run; then the scaling from 1 to 2 Ray Train workers.

    .venv/bin/python bench/learner.py [--json] [--smoke] [--steps 40] [--size tiny|small|0.5b]

Data: Appendix C prompts and target actions from WordSim reference runs (the tiny prompt format).
Throughput is measured after warm-up steps, inside the training loop (start-up excluded; reported
separately). On a GPU the same command uses NCCL and bf16 (``--size 0.5b`` for a ~0.5B model).
Headline: Ray Train + DeepSpeed samples/s / plain PyTorch samples/s (goal >= 0.85x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SMOKE_HELP, emit, wordsim_examples  # noqa: E402

SIZES = {  # hidden, layers, heads, kv_heads, intermediate
    "smoke": (32, 1, 2, 2, 64),
    "tiny": (160, 4, 4, 4, 432),
    "small": (512, 8, 8, 4, 1408),
    "0.5b": (1024, 24, 16, 8, 4096),
}


def build(work: Path, size: str, n_tasks: int, max_len: int) -> tuple[Path, list[dict[str, Any]]]:
    from lam_rl.data.sft import encode
    from lam_rl.models import build_model, save_pretrained, train_tokenizer
    from lam_rl.models.config import ModelConfig
    from lam_rl.models.corpus import project_corpus

    examples = wordsim_examples(n_tasks)
    tok = train_tokenizer(project_corpus(e.prompt + "\n" + e.target for e in examples), 2048)
    h, layers, heads, kv, inter = SIZES[size]
    model = build_model(
        ModelConfig(
            hidden=h, layers=layers, heads=heads, kv_heads=kv, intermediate=inter, max_seq_len=max_len
        ),
        tok,
    )
    path = save_pretrained(model, tok, work / "init")
    return path, encode(tok, examples, max_len)


def plain_loop(path: Path, data, batch: int, steps: int, warmup: int) -> float:
    """samples/s of a plain PyTorch loop (AdamW, same batches as the learner)."""
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from lam_rl.data.batching import micro_batch_stream
    from lam_rl.models.factory import load_model

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model(path).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95))
    collate = DataCollatorForLanguageModeling(pad_token_id=0)
    stream = micro_batch_stream([len(x["input_ids"]) for x in data], batch, 0, 64)
    t0 = None
    for i in range(steps):
        _, _, idx = next(stream)
        b = {k: v.to(dev) for k, v in collate([data[j] for j in idx]).items()}
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            loss = model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i + 1 == warmup:
            if dev == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
    if dev == "cuda":
        torch.cuda.synchronize()
    return batch * (steps - warmup) / (time.perf_counter() - t0)


def _ray_worker(config: dict[str, Any]) -> None:
    import torch

    from cluster.train import report_result, worker_info
    from lam_rl.algos.config import LearnerConfig, OptimConfig
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.sft import SFTObjective
    from lam_rl.models.factory import load_model, load_tokenizer

    info = worker_info()
    tok = load_tokenizer(config["path"])
    data = config["data"][info.rank :: info.world]
    times: list[tuple[int, float]] = []
    lc = LearnerConfig(
        num_workers=info.world,
        micro_batch=config["batch"] // info.world,
        log_every=1,
        precision="bf16" if config["_use_gpu"] else "fp32",
    )
    oc = OptimConfig(lr=1e-4, batch_size=config["batch"], max_steps=config["steps"], warmup_steps=2)
    learner = Learner(
        load_model(config["path"]),
        tok,
        SFTObjective(tok.pad_token_id),
        lc,
        oc,
        Path(config["out"]) / f"w{info.world}",
        use_gpu=config["_use_gpu"],
        report=lambda m, s: times.append((s, time.perf_counter())),
    )
    learner.fit(data)
    warm = config["warmup"]
    (s0, t0), (s1, t1) = times[warm - 1], times[-1]
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    report_result({"samples_per_s": config["batch"] * (s1 - s0) / (t1 - t0)})


def ray_learner(
    path: Path, data, batch: int, steps: int, warmup: int, workers: int, out: Path
) -> tuple[float, float]:
    """(samples/s in the loop, wall seconds including start-up) of Ray Train + DeepSpeed."""
    from cluster.train import run_workers
    from lam_rl.algos.config import LearnerConfig

    t = time.perf_counter()
    res = run_workers(
        _ray_worker,
        {"path": str(path), "data": data, "batch": batch, "steps": steps, "warmup": warmup, "out": str(out)},
        LearnerConfig(num_workers=workers),
        name=f"bench-learner-{workers}",
        storage_path=out / "ray",
    )
    return res["samples_per_s"], time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--tasks", type=int, default=200, help="WordSim tasks whose reference runs make the data")
    ap.add_argument("--no-scaling", action="store_true", help="skip the 2-worker run")
    ap.add_argument("--smoke", action="store_true", help=SMOKE_HELP)
    args = ap.parse_args()
    if args.smoke:
        args.steps, args.warmup, args.batch, args.size, args.tasks, args.no_scaling = (
            4,
            2,
            4,
            "smoke",
            6,
            True,
        )

    import ray
    import torch

    work = Path(tempfile.mkdtemp(prefix="lam-bench-learner-"))
    path, data = build(work, args.size, args.tasks, 384)
    tokens = statistics.mean(len(x["input_ids"]) for x in data)
    plain = plain_loop(path, data, args.batch, args.steps, args.warmup)
    ray.init(include_dashboard=False, log_to_driver=False)
    r1, wall1 = ray_learner(path, data, args.batch, args.steps, args.warmup, 1, work)
    extra = {
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "examples": len(data),
        "mean tokens/example": round(tokens, 1),
        "plain PyTorch (samples/s)": round(plain, 2),
        "Ray Train + DeepSpeed, 1 worker (samples/s)": round(r1, 2),
        "tokens/s, 1 worker": round(r1 * tokens, 0),
        "1-worker job wall time incl. start-up (s)": round(wall1, 1),
    }
    gpus = int(ray.cluster_resources().get("GPU", 0))
    cpus = int(ray.cluster_resources().get("CPU", 1))
    if not args.no_scaling and (gpus >= 2 or (gpus == 0 and cpus >= 2)):
        r2, _ = ray_learner(path, data, args.batch, args.steps, args.warmup, 2, work)
        extra["Ray Train + DeepSpeed, 2 workers (samples/s)"] = round(r2, 2)
        extra["scaling 1 -> 2 workers"] = round(r2 / r1, 2)
    ray.shutdown()
    emit(
        {
            "name": "learner_ray_deepspeed_vs_plain_pytorch",
            "value": r1,
            "unit": "samples/s",
            "baseline": plain,
            "ratio": r1 / plain,
            "goal": ">= 0.85x",
            "smoke": args.smoke,
        },
        args.json,
        extra,
    )


if __name__ == "__main__":
    main()
