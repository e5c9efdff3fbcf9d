"""GPU smoke test: one command that runs every GPU path of lam-rl once and measures it (<= 8 min).

    .venv/bin/python bench/gpu_smoke.py [--json] [--smoke] [--cpu] [--budget-s 450] [--parts sft,policy,reward,ppo]

Parts, in order, each guarded (a failing part prints its error and the others still print their
figures) under one hard time budget (``--budget-s``; when it runs out the figures so far are printed,
with the JSON line, and the script exits 3):

1. ``sft``: SFT of a Qwen2.5-0.5B-shaped Llama (hidden 896, 24 layers, 14 heads / 2 KV heads, MLP
   4864, 151,936-token vocabulary, tied embeddings: 494M parameters), built locally (no hub), in bf16,
   on Ray Train + DeepSpeed (NCCL) for ``--steps`` optimizer steps on WordSim SFT examples (the full
   control list, ~1-1.5k-token sequences). Prints tokens/s and MFU: model FLOPs (6 x parameters +
   attention, per token) / the GPU's peak dense bf16 FLOP/s (datasheet; a bf16 matmul measured in the
   same run is printed beside it).
2. ``policy``: the policy server (Ray Serve, bf16) answering 32 concurrent callers, batched
   (``max_batch_size=32``) vs unbatched (``1``).
3. ``reward``: the reward-model server likewise (the goal: batched >= 4x unbatched).
4. ``ppo``: one online PPO iteration (``jobs.ppo ppo.mode=online``: policy server, WordSim rollout
   workers, reward model, actor/critic/reference engines) with the model of part 1; the learner and the
   policy server share the GPU (``policy.gpus_per_replica=0.5``).

Nothing is downloaded: the model and tokenizer are built from code, ``HF_HUB_OFFLINE=1``, W&B offline.
``--smoke``: the same parts at tiny sizes (a 2-layer model, a few steps) on whatever device there is
(the CPU in CI), about a minute or two: it proves the script still runs; its figures mean nothing.
``--cpu`` hides the GPUs. Headline (``--json``: the last line of stdout): the SFT run's model FLOP/s
against the peak, ratio = MFU (goal >= 0.40 in bf16 on an H100).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import concurrent_throughput, emit  # noqa: E402
from gpu_model import agent_config, build, count_parameters, device_peak, flops_per_token  # noqa: E402

PARTS = ("sft", "policy", "reward", "ppo")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="the last line of stdout is one JSON object")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (the CPU in CI): proves the script runs")
    ap.add_argument("--cpu", action="store_true", help="hide the GPUs")
    ap.add_argument("--budget-s", type=float, default=None, help="hard time budget (default 450, smoke 480)")
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {','.join(PARTS)}")
    ap.add_argument("--steps", type=int, default=None, help="SFT optimizer steps (default 30, smoke 4)")
    ap.add_argument("--warmup", type=int, default=None, help="SFT steps not timed (default 5, smoke 1)")
    ap.add_argument("--batch", type=int, default=None, help="SFT global batch (default 32, smoke 8)")
    ap.add_argument("--micro-batch", type=int, default=None, help="SFT micro-batch (default 8, smoke 4)")
    ap.add_argument("--zero-stage", type=int, default=2, help="DeepSpeed ZeRO stage of the SFT run")
    ap.add_argument("--callers", type=int, default=32, help="concurrent callers of the servers")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (models, checkpoints)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's peak (default: by name)")
    args = ap.parse_args()
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = sorted(set(args.parts) - set(PARTS))
    if bad:
        ap.error(f"unknown part(s) {bad}; choose from {list(PARTS)}")
    return args


def set_environment(args: argparse.Namespace) -> None:
    """Before torch is imported: offline, quiet, and DeepSpeed's accelerator matching the device."""
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    # DS_ACCELERATOR=cpu (what CPU machines and bench/common.py set) would keep DeepSpeed off the GPU
    os.environ["DS_ACCELERATOR"] = "cuda" if torch.cuda.is_available() else "cpu"


# ----------------------------------------------------------------------------- budget and results


class Run:
    """The figures of every part, what failed, and the hard time budget (a watchdog thread)."""

    def __init__(self, budget_s: float, as_json: bool, smoke: bool) -> None:
        self.t0 = time.monotonic()
        self.budget_s = budget_s
        self.as_json, self.smoke = as_json, smoke
        self.figures: dict[str, Any] = {}
        self.errors: dict[str, str] = {}
        self.part = "start"
        self.headline: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._done = False
        threading.Thread(target=self._watchdog, name="gpu-smoke-budget", daemon=True).start()

    def left(self) -> float:
        return self.budget_s - (time.monotonic() - self.t0)

    def _watchdog(self) -> None:
        while self.left() > 0:
            time.sleep(min(1.0, max(self.left(), 0.01)))
        with self._lock:
            if self._done:
                return
            self.errors[self.part] = f"time budget of {self.budget_s:.0f} s spent during this part"
            # print and leave at once: shutting Ray down from here could hang on the stuck part
            self._finish(shutdown=False)
        os._exit(3)

    @contextlib.contextmanager
    def guarded(self, part: str, need_s: float):
        """Run a part unless the budget cannot hold it; record its error and go on."""
        self.part = part
        if self.left() < need_s:
            self.errors[part] = (
                f"skipped: {self.left():.0f} s of the budget left, the part needs ~{need_s:.0f} s"
            )
            print(f"[{part}] {self.errors[part]}", flush=True)
            yield False
            return
        t = time.monotonic()
        print(f"[{part}] running ({self.left():.0f} s of the budget left)", flush=True)
        try:
            yield True
        except Exception as e:  # noqa: BLE001 - one failing part must not hide the others' figures
            traceback.print_exc()
            self.errors[part] = f"{type(e).__name__}: {e}".splitlines()[0][:300]
            print(f"[{part}] FAILED: {self.errors[part]}", flush=True)
        else:
            print(f"[{part}] done in {time.monotonic() - t:.0f} s", flush=True)

    def add(self, **figures: Any) -> None:
        self.figures.update(figures)
        for k, v in figures.items():
            print(f"  {k}: {v}", flush=True)

    def finish(self) -> int:
        with self._lock:
            self._done = True
            self._finish(shutdown=True)
        return 1 if self.errors else 0

    def _finish(self, shutdown: bool) -> None:
        """Print every figure, the errors and the headline (JSON last with --json)."""
        for part, err in self.errors.items():
            self.figures[f"{part} error"] = err
        self.figures["wall time (s)"] = round(time.monotonic() - self.t0, 1)
        head = self.headline or {
            "name": "gpu_smoke_sft_mfu",
            "value": 0.0,
            "unit": "TFLOP/s",
            "baseline": 1.0,
            "ratio": 0.0,
            "goal": ">= 0.40 (bf16, H100)",
        }
        if self.smoke:
            head["smoke"] = True
        print("gpu smoke summary:", flush=True)
        if shutdown:
            emit(head, self.as_json, self.figures)
        else:
            for k, v in self.figures.items():
                print(f"  {k}: {v}")
            print(f"{head['name']}: {head['value']:.4g} {head['unit']} (ratio {head['ratio']:.3g})")
            if self.as_json:
                keys = ("name", "value", "unit", "baseline", "ratio", "goal", "smoke")
                print(json.dumps({k: head[k] for k in keys if k in head}))
        sys.stdout.flush()


# ----------------------------------------------------------------------------- data and model


# ----------------------------------------------------------------------------- part 1: SFT


def _sft_worker(config: dict[str, Any]) -> None:
    """One Ray Train worker: Learner.fit on the examples; step times after warm-up."""
    import torch

    from cluster.train import report_result, worker_info
    from lam_rl.algos.config import LearnerConfig, OptimConfig
    from lam_rl.algos.learner import Learner
    from lam_rl.algos.sft import SFTObjective
    from lam_rl.models.factory import load_model, load_tokenizer

    info = worker_info()
    gpu = bool(config["_use_gpu"])
    tok = load_tokenizer(config["path"])
    marks: list[tuple[int, float, float]] = []  # (step, time, tokens/s of the step)

    def report(metrics: dict[str, Any], step: int) -> None:
        if "train/tokens_per_s" in metrics:
            if gpu:
                torch.cuda.synchronize()
            marks.append((step, time.perf_counter(), float(metrics["train/tokens_per_s"])))

    learner = Learner(
        load_model(config["path"]),
        tok,
        SFTObjective(tok.pad_token_id),
        LearnerConfig(
            micro_batch=config["micro_batch"],
            log_every=1,
            zero_stage=config["zero_stage"],
            precision="bf16" if gpu else "fp32",
            keep_checkpoints=1,
        ),
        OptimConfig(lr=1e-4, batch_size=config["batch"], max_steps=config["steps"], warmup_steps=2),
        Path(config["out"]),
        use_gpu=gpu,
        report=report,
        name="gpu-smoke-sft",
    )
    if gpu:
        torch.cuda.reset_peak_memory_stats()
    result = learner.fit(config["data"][info.rank :: info.world])
    warm = min(config["warmup"], len(marks) - 2)
    timed = marks[warm:]
    tokens = sum(tps * (t - t_prev) for (_, t_prev, _), (_, t, tps) in zip(timed, timed[1:], strict=False))
    seconds = timed[-1][1] - timed[0][1]
    report_result(
        {
            "steps": result.steps,
            "timed_steps": len(timed) - 1,
            "tokens_per_s": tokens / max(seconds, 1e-9),
            "step_s": seconds / max(len(timed) - 1, 1),
            "final_loss": result.final_loss,
            "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if gpu else 0.0,
            "hf": str(result.hf_path),
        }
    )


def part_sft(run: Run, args, path: Path, data, work: Path, on_gpu: bool) -> Path:
    import statistics

    from cluster.train import run_workers
    from lam_rl.algos.config import LearnerConfig

    n_params, shape = count_parameters(path)
    seq = statistics.mean(len(x["input_ids"]) for x in data)
    run.add(parameters=f"{n_params / 1e6:.1f}M", **{"mean tokens/example": round(seq, 1)})
    out = run_workers(
        _sft_worker,
        {
            "path": str(path),
            "data": data,
            "steps": args.steps,
            "warmup": args.warmup,
            "batch": args.batch,
            "micro_batch": args.micro_batch,
            "zero_stage": args.zero_stage,
            "out": str(work / "sft"),
        },
        LearnerConfig(num_workers=1, use_gpu="true" if on_gpu else "false"),
        name="gpu-smoke-sft",
        storage_path=work / "ray_train",
    )
    peak, source, measured = device_peak(on_gpu, args.peak_tflops)
    achieved = out["tokens_per_s"] * flops_per_token(n_params, shape, seq)
    run.add(
        **{
            "sft precision": "bf16" if on_gpu else "fp32",
            "sft steps (timed)": f"{out['steps']} ({out['timed_steps']})",
            "sft tokens/s": round(out["tokens_per_s"], 1),
            "sft s/step": round(out["step_s"], 3),
            "sft final loss": round(out["final_loss"], 4),
            "sft model TFLOP/s": f"{achieved / 1e12:.3g}",
            "peak TFLOP/s": f"{peak / 1e12:.3g} ({source})",
            "MFU": f"{100 * achieved / peak:.1f}%",
            "MFU vs the matmul measured now": f"{100 * achieved / measured:.1f}%",
            "GPU memory peak (GiB)": round(out["peak_memory_gib"], 1),
        }
    )
    run.headline = {
        "name": "gpu_smoke_sft_mfu",
        "value": achieved / 1e12,
        "unit": "TFLOP/s",
        "baseline": peak / 1e12,
        "ratio": achieved / peak,
        "goal": ">= 0.40 (bf16, H100)",
    }
    return Path(out["hf"])


# ----------------------------------------------------------------------------- parts 2-3: serving


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def part_policy(run: Run, args, lm: Path, pairs, on_gpu: bool, smoke: bool) -> None:

    from cluster import policy_server
    from cluster.config import PolicyServeConfig, ServeConfig

    prompts = [p for p, _ in pairs]
    callers, calls = (4, 1) if smoke else (args.callers, 2)
    rates = {}
    for batch in (1, 32):
        app = f"smoke-policy-b{batch}"
        cfg = PolicyServeConfig(
            max_batch_size=batch,
            max_new_tokens=8 if smoke else 32,
            dtype="bfloat16" if on_gpu else "float32",
            gpus_per_replica=1.0 if on_gpu else 0.0,
        )
        http = ServeConfig(http_port=args.http_port)
        h = policy_server.deploy(cfg, lm, 1, http=http, app_name=app, route_prefix=f"/{app}")
        try:
            for p in prompts[:2]:  # warm-up
                h.generate.remote(p).result(timeout_s=300)
            rates[batch] = concurrent_throughput(
                lambda i, h=h: h.generate.remote(prompts[i % len(prompts)]).result(timeout_s=300),
                callers,
                calls,
            )
        finally:
            policy_server.shutdown(app)
    run.add(
        **{
            "policy unbatched (answers/s)": round(rates[1], 2),
            "policy batched (answers/s)": round(rates[32], 2),
            "policy batched/unbatched": round(rates[32] / rates[1], 2),
        }
    )


def part_reward(run: Run, args, lm: Path, pairs, work: Path, on_gpu: bool, smoke: bool) -> Path:
    from ray import serve

    from cluster import reward_server
    from cluster.config import RewardServeConfig, ServeConfig
    from lam_rl.algos.reward import build_reward_model
    from lam_rl.models import load_tokenizer, save_pretrained

    tok = load_tokenizer(lm)
    rm = save_pretrained(build_reward_model(lm, tok), tok, work / "rm")
    callers, calls = (4, 1) if smoke else (args.callers, 4)
    rates = {}
    for batch in (1, 32):
        app = f"smoke-rm-b{batch}"
        cfg = RewardServeConfig(
            max_batch_size=batch,
            gpus_per_replica=1.0 if on_gpu else 0.0,
            max_len=2048,
        )
        http = ServeConfig(http_port=args.http_port)
        h = reward_server.deploy(cfg, str(rm), 1, http=http, app_name=app, route_prefix=f"/{app}")
        try:
            for p, a in pairs[:2]:
                h.score.remote(p, a).result(timeout_s=300)
            rates[batch] = concurrent_throughput(
                lambda i, h=h: h.score.remote(*pairs[i % len(pairs)]).result(timeout_s=300), callers, calls
            )
        finally:
            serve.delete(app)
            with contextlib.suppress(Exception):
                import ray

                ray.kill(ray.get_actor(f"{app}-versions"))
    run.add(
        **{
            "reward unbatched (scores/s)": round(rates[1], 2),
            "reward batched (scores/s)": round(rates[32], 2),
            "reward batched/unbatched (goal >= 4x)": round(rates[32] / rates[1], 2),
        }
    )
    return rm


# ----------------------------------------------------------------------------- part 4: online PPO


def part_ppo(run: Run, args, lm: Path, rm: Path | None, work: Path, on_gpu: bool, smoke: bool) -> None:
    from cluster.ppo import train_ppo
    from jobs.config import Config
    from lam_rl.checkpoints import CheckpointRegistry
    from lam_rl.config import load_config

    agent = agent_config(smoke)
    overrides = [
        f"run.root={work / 'runs'}",
        "run.name=ppo",
        "tracking.mode=offline",
        "ppo.mode=online",
        "ppo.iterations=1",
        f"ppo.online_tasks={1 if smoke else 2}",
        f"ppo.online_step_reward={0.5 if rm else 0}",
        "ppo.batch_size=4",
        "ppo.minibatch_size=2",
        "ppo.ppo_epochs=1",
        f"ppo.gen_length={8 if smoke else 64}",
        f"policy.max_new_tokens={8 if smoke else 64}",
        f"rollout.max_steps={2 if smoke else 4}",
        "fleet.local=2",
        "collect.families=[view_mode]",
        f"agent.top_k_controls={agent.top_k_controls}",
        f"agent.max_prompt_tokens={agent.max_prompt_tokens}",
        f"reward.max_seq_len={512 if smoke else 2048}",
        f"serve.http_port={args.http_port}",
    ]
    if on_gpu:  # one GPU: the learner and the policy server share it
        overrides += [
            "learner.precision=bf16",
            "learner.use_gpu=true",
            "policy.dtype=bfloat16",
            "policy.gpus_per_replica=0.5",
        ]
    from jobs import CONFIGS_DIR

    cfg = load_config(Config, ["config=tiny", *overrides], configs_dir=CONFIGS_DIR)
    registry = CheckpointRegistry(cfg.run_dir / "checkpoints")
    registry.register("lam3", lm, phase="boost")
    if rm:
        registry.register("rm", rm, phase="reward")
    t = time.monotonic()
    summary = train_ppo(cfg)
    rows = [json.loads(x) for x in (cfg.run_dir / "metrics" / "ppo-online.jsonl").read_text().splitlines()]
    success = [r["online/success_rate"] for r in rows if "online/success_rate" in r]
    tokens = [r["ppo/tokens"] for r in rows if "ppo/tokens" in r]
    run.add(
        **{
            "ppo iterations": summary.get("iterations"),
            "ppo online success (before, after)": success,
            "ppo tokens learned from": sum(tokens),
            "ppo wall time incl. start-up (s)": round(time.monotonic() - t, 1),
        }
    )
    if summary.get("iterations") != 1:
        raise RuntimeError(f"expected one PPO iteration, got {summary}")


# ----------------------------------------------------------------------------- main


def main() -> int:
    args = parse_args()
    set_environment(args)
    import torch

    on_gpu = torch.cuda.is_available()
    smoke = args.smoke
    args.steps = args.steps or (4 if smoke else 30)
    args.warmup = args.warmup if args.warmup is not None else (1 if smoke else 5)
    args.batch = args.batch or (8 if smoke else 32)
    args.micro_batch = args.micro_batch or (4 if smoke else 8)
    args.http_port = _free_port()  # Serve's HTTP proxy, shared by every deployment of the run
    run = Run(args.budget_s or (480.0 if smoke else 450.0), args.json, smoke)
    here = Path(__file__).resolve().parent
    sys.path.insert(0, str(here))
    sys.path.insert(1, str(here.parent))
    run.add(
        device=torch.cuda.get_device_name() if on_gpu else "cpu",
        mode="smoke (tiny sizes)" if smoke else "full",
        torch=torch.__version__,
    )
    from cluster import noise

    noise.apply({})  # quiet from the start (ray_session applies it to the workers)
    work = Path(tempfile.mkdtemp(prefix="lam-gpu-smoke-"))
    try:
        return run_parts(run, args, work, on_gpu, smoke)
    finally:
        if not args.keep:  # the full run leaves ~10 GB of checkpoints
            shutil.rmtree(work, ignore_errors=True)


def run_parts(run: Run, args, work: Path, on_gpu: bool, smoke: bool) -> int:
    lm: Path | None = None
    rm: Path | None = None
    with run.guarded("build", 0) as ok:
        if ok:
            lm, data, pairs = build(work, smoke, on_gpu)
    if lm is None:
        return run.finish()
    from cluster.config import RayConfig
    from cluster.runtime import ray_session

    # the jobs' own embedded Ray: the same worker environment and quiet settings (cluster.noise)
    with ray_session(RayConfig(namespace="lam-gpu-smoke")):
        if "sft" in args.parts:
            with run.guarded("sft", 60 if smoke else 120) as ok:
                if ok:
                    lm = part_sft(run, args, lm, data, work, on_gpu)
        if "policy" in args.parts:
            with run.guarded("policy", 30) as ok:
                if ok:
                    part_policy(run, args, lm, pairs, on_gpu, smoke)
        if "reward" in args.parts:
            with run.guarded("reward", 30) as ok:
                if ok:
                    rm = part_reward(run, args, lm, pairs, work, on_gpu, smoke)
        if "ppo" in args.parts:
            with run.guarded("ppo", 60) as ok:
                if ok:
                    part_ppo(run, args, lm, rm, work, on_gpu, smoke)
    return run.finish()


if __name__ == "__main__":
    sys.exit(main())
