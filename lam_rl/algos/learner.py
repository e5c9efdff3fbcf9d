"""The learner: one DeepSpeed engine per data-parallel rank, usable with or without Ray.

``fit`` reads top to bottom: build the engine, resume, then for each micro-batch forward,
backward, step; log, evaluate and checkpoint on optimizer steps. What is learned is a
:class:`Objective` (``lam_rl.algos.sft.SFTObjective``, ``lam_rl.algos.reward.RewardObjective``):
how to collate examples, the loss, and held-out metrics. Ray Train (``cluster/train.py``) only
starts learners on workers; torchrun or a plain process (single rank) run the same code.
"""

from __future__ import annotations

import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lam_rl.algos import engine as eng
from lam_rl.algos.config import LearnerConfig, LoraConfig, OptimConfig
from lam_rl.data.batching import micro_batch_stream
from lam_rl.logs import StepProgress

log = logging.getLogger(__name__)

Report = Callable[[dict[str, Any], int], None]


@dataclass
class FitResult:
    steps: int
    final_loss: float
    eval_metrics: dict[str, float]
    hf_path: Path | None
    resumed_from: int
    tokens: int
    seconds: float


class Objective(ABC):
    """What a learner optimises: batches, the loss, and held-out metrics."""

    name = "objective"

    @abstractmethod
    def collate(self, examples: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """A micro-batch of tensors (on the CPU) from encoded examples."""

    @abstractmethod
    def loss(self, engine, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mean loss of a micro-batch (already on the engine's device)."""

    def tokens(self, batch: dict[str, torch.Tensor]) -> int:
        """Tokens a micro-batch processes (read on the CPU, before it moves to the device)."""
        return int(batch["attention_mask"].sum())

    @abstractmethod
    def eval_metrics(self, engine, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Held-out metrics over this rank's batches (means are then averaged over ranks)."""


class Learner:
    """Trains ``model`` on examples with a DeepSpeed engine, for an :class:`Objective`."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        objective: Objective,
        learner: LearnerConfig,
        optim: OptimConfig,
        out_dir: Path,
        *,
        lora: LoraConfig | None = None,
        lora_task: str = "CAUSAL_LM",
        use_gpu: bool = False,
        seed: int = 0,
        report: Report | None = None,
        on_checkpoint: Callable[[Path, int, bool], None] | None = None,
        on_saved: Callable[[Path, int], None] | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or objective.name
        self.tokenizer = tokenizer
        self.learner, self.optim = learner, optim
        self.out_dir = Path(out_dir)
        self.ds_dir = self.out_dir / "ds"
        self.use_gpu, self.seed = use_gpu, seed
        self.report = report or (lambda metrics, step: None)
        self.on_checkpoint = on_checkpoint  # rank 0: the HF folder of a checkpoint
        self.on_saved = on_saved  # every rank: the resumable DeepSpeed checkpoint just saved (to upload it)
        self.rank, self.world = eng.init_distributed(eng.backend_for(use_gpu))
        torch.manual_seed(seed)
        if lora is not None and lora.enabled:
            model = eng.apply_lora(model, lora, lora_task)
        self.model = model
        self.objective = objective
        self.collate = objective.collate
        self.device = eng.rank_device(use_gpu)  # the engine's device; collectives use it too (NCCL)

    # ------------------------------------------------------------------ helpers
    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    @torch.no_grad()
    def evaluate(self, engine, examples: Sequence[dict[str, Any]]) -> dict[str, float]:
        """Held-out metrics on ``examples`` (this rank's shard), averaged over ranks."""
        n = eng.all_reduce_min(len(examples))
        if n == 0:
            return {}
        engine.eval()
        mb = self.learner.micro_batch
        batches = [self._to_device(self.collate(list(examples[s : min(s + mb, n)]))) for s in range(0, n, mb)]
        metrics = self.objective.eval_metrics(engine, batches)
        engine.train()
        keys = sorted(metrics)
        return dict(zip(keys, eng.all_reduce_mean([metrics[k] for k in keys]), strict=True))

    def resume_point(self) -> Path | None:
        spec = self.learner.resume
        if spec == "never":
            return None
        if spec == "auto":
            done = eng.list_complete(self.ds_dir)
            return done[-1] if done else None
        p = Path(spec)
        if not (p / eng.COMPLETE).exists():
            from lam_rl.config import ConfigError

            raise ConfigError(
                f"learner.resume={spec}: not a complete DeepSpeed checkpoint (no {eng.COMPLETE} file)"
            )
        return p

    def export_hf(self, engine, path: Path) -> Path:
        """Rank 0 writes a plain HF folder (LoRA merged) from the engine's current weights."""
        from lam_rl.models.factory import save_pretrained

        with eng.full_state_module(engine):
            if self.rank == 0:
                module = engine.module
                if hasattr(module, "merge_and_unload"):
                    import copy

                    module = copy.deepcopy(module).merge_and_unload()
                save_pretrained(module, self.tokenizer, path)
        eng.barrier()
        return path

    # ------------------------------------------------------------------ the loop
    def fit(self, train: Sequence[dict[str, Any]], evaluation: Sequence[dict[str, Any]] = ()) -> FitResult:
        n_local = eng.all_reduce_min(len(train))  # every rank must take the same number of steps
        train = list(train)[:n_local]
        micro, accum, effective = eng.batch_layout(
            self.optim.batch_size, self.learner.micro_batch, self.world
        )
        micro_per_epoch = n_local // micro
        steps_per_epoch = micro_per_epoch // accum
        if steps_per_epoch == 0:
            from lam_rl.config import ConfigError

            raise ConfigError(
                f"{n_local} examples per rank are fewer than one optimizer step needs ({micro * accum}); "
                "collect more data or lower optim.batch_size"
            )
        total_steps = self.optim.max_steps or max(1, math.ceil(self.optim.epochs * steps_per_epoch))
        config = eng.ds_config(self.learner, self.optim, self.world, total_steps, self.use_gpu)
        engine = eng.build_engine(self.model, config)

        start_step, resumed_from = 0, 0
        ckpt = self.resume_point()
        if ckpt is not None:
            state = eng.load_resumable(engine, ckpt)
            start_step = resumed_from = int(state["step"])
            log.info("rank %d resumed from %s at step %d", self.rank, ckpt, start_step)

        lengths = [len(x["input_ids"]) for x in train]
        micro_i = start_step * accum
        stream = micro_batch_stream(lengths, micro, self.seed, self.learner.bucket_size, start=micro_i)
        step, epoch, t0 = start_step, 0, time.time()
        # the window's loss stays on the device: reading it every micro-batch would wait for the GPU
        window = {"loss": torch.zeros((), device=self.device), "steps": 0, "tokens": 0, "t": time.time()}
        tokens_total, last_loss, eval_metrics = 0, float("nan"), {}
        # rank 0 shows progress (a line about every 5% of the run, or a bar on a terminal)
        bar = StepProgress(self.name, total_steps, start=start_step, enabled=self.rank == 0, logger=log)
        engine.train()
        while step < total_steps:
            epoch, _, idx = next(stream)
            cpu_batch = self.collate([train[i] for i in idx])
            ntok = self.objective.tokens(cpu_batch)
            loss = self.objective.loss(engine, self._to_device(cpu_batch))
            engine.backward(loss)
            engine.step()
            micro_i += 1
            window["loss"] += loss.detach().float() / accum
            window["tokens"] += ntok
            tokens_total += ntok
            if micro_i % accum:
                continue
            step = micro_i // accum
            assert engine.global_steps == step, (engine.global_steps, step)
            window["steps"] += 1
            if step % self.learner.log_every == 0 or step == total_steps:
                dt = max(time.time() - window["t"], 1e-9)
                loss_mean, tps = eng.all_reduce_mean(
                    [float(window["loss"]) / window["steps"], window["tokens"] / dt]
                )
                last_loss = loss_mean
                self.report(
                    {
                        "train/loss": loss_mean,
                        "train/lr": eng.current_lr(engine),
                        "train/grad_norm": float(engine.get_global_grad_norm() or 0.0),
                        "train/tokens_per_s": tps * self.world,
                        "train/samples_per_s": effective * window["steps"] / dt,
                        "train/epoch": step / steps_per_epoch,
                    },
                    step,
                )
                bar.update(step, loss=loss_mean, tokens_per_s=tps * self.world)
                window = {
                    "loss": torch.zeros((), device=self.device),
                    "steps": 0,
                    "tokens": 0,
                    "t": time.time(),
                }
            last_step = step == total_steps
            if (self.learner.checkpoint_every and step % self.learner.checkpoint_every == 0) or last_step:
                if evaluation:
                    eval_metrics = self.evaluate(engine, evaluation)
                    if eval_metrics:
                        self.report({f"eval/{k}": v for k, v in eval_metrics.items()}, step)
                self._checkpoint(engine, step, epoch, final=last_step)
        bar.close()
        return FitResult(
            steps=step,
            final_loss=last_loss,
            eval_metrics=eval_metrics,
            hf_path=self.out_dir / "hf" / "final",
            resumed_from=resumed_from,
            tokens=tokens_total,
            seconds=time.time() - t0,
        )

    def _checkpoint(self, engine, step: int, epoch: int, final: bool) -> None:
        state = {"step": step, "epoch": epoch, "seed": self.seed}
        hf = self.export_hf(engine, self.out_dir / "hf" / ("final" if final else f"step{step}"))
        saved = eng.save_resumable(engine, self.ds_dir, step, state, keep=self.learner.keep_checkpoints)
        if self.on_saved is not None:
            self.on_saved(saved, step)
        if self.rank == 0 and self.learner.keep_checkpoints > 0:
            import shutil

            older = sorted((self.out_dir / "hf").glob("step*"), key=lambda p: int(p.name[4:]))
            for p in older[: -self.learner.keep_checkpoints]:
                shutil.rmtree(p, ignore_errors=True)
        if self.on_checkpoint is not None and self.rank == 0:
            self.on_checkpoint(hf, step, final)
