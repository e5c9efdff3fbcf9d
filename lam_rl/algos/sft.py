"""The supervised fine-tuning learner (phases 1-3), usable with or without Ray.

One instance per data-parallel rank. ``fit`` reads top to bottom: build the engine, resume, then
for each micro-batch forward, backward, step; log, evaluate and checkpoint on optimizer steps.
Ray Train (``cluster/learner.py``) only starts these on workers; torchrun or a plain process
(single rank) run the same code.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lam_rl.algos import engine as eng
from lam_rl.algos.config import LearnerConfig, LoraConfig, OptimConfig
from lam_rl.data.sft import micro_batch_stream

log = logging.getLogger(__name__)

Report = Callable[[dict[str, Any], int], None]


@dataclass
class FitResult:
    steps: int
    final_loss: float
    eval_loss: float | None
    hf_path: Path | None
    resumed_from: int
    tokens: int
    seconds: float


def collator(pad_token_id: int):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(pad_token_id=pad_token_id)


class SFTLearner:
    """Trains a causal LM on (input_ids, labels) examples with a DeepSpeed engine."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        learner: LearnerConfig,
        optim: OptimConfig,
        out_dir: Path,
        *,
        lora: LoraConfig | None = None,
        use_gpu: bool = False,
        seed: int = 0,
        report: Report | None = None,
        on_checkpoint: Callable[[Path, int, bool], None] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.learner, self.optim = learner, optim
        self.out_dir = Path(out_dir)
        self.ds_dir = self.out_dir / "ds"
        self.use_gpu, self.seed = use_gpu, seed
        self.report = report or (lambda metrics, step: None)
        self.on_checkpoint = on_checkpoint
        self.rank, self.world = eng.init_distributed(eng.backend_for(use_gpu))
        torch.manual_seed(seed)
        if lora is not None and lora.enabled:
            model = eng.apply_lora(model, lora)
        self.model = model
        self.collate = collator(tokenizer.pad_token_id)
        self.device = torch.device("cuda", torch.cuda.current_device()) if use_gpu else torch.device("cpu")

    # ------------------------------------------------------------------ helpers
    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in batch.items()}

    @torch.no_grad()
    def evaluate(self, engine, examples: Sequence[dict[str, list[int]]]) -> float | None:
        """Mean token loss on ``examples`` (this rank's shard), averaged over ranks."""
        n = eng.all_reduce_min(len(examples))
        if n == 0:
            return None
        engine.eval()
        total, tokens = 0.0, 0
        mb = self.learner.micro_batch
        for s in range(0, n, mb):
            batch = self._to_device(self.collate(list(examples[s : min(s + mb, n)])))
            out = engine(**batch)
            k = int((batch["labels"][:, 1:] != -100).sum())
            total += float(out.loss) * k
            tokens += k
        engine.train()
        mean, _ = eng.all_reduce_mean([total / max(tokens, 1), 0.0])
        return mean

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
    def fit(
        self, train: Sequence[dict[str, list[int]]], evaluation: Sequence[dict[str, list[int]]] = ()
    ) -> FitResult:
        lc, oc = self.learner, self.optim
        n_local = eng.all_reduce_min(len(train))  # every rank must take the same number of steps
        train = list(train)[:n_local]
        micro, accum, effective = eng.batch_layout(oc.batch_size, lc.micro_batch, self.world)
        micro_per_epoch = n_local // micro
        steps_per_epoch = micro_per_epoch // accum
        if steps_per_epoch == 0:
            from lam_rl.config import ConfigError

            raise ConfigError(
                f"{n_local} examples per rank are fewer than one optimizer step needs ({micro * accum}); "
                "collect more data or lower optim.batch_size"
            )
        total_steps = oc.max_steps or max(1, math.ceil(oc.epochs * steps_per_epoch))
        config = eng.ds_config(lc, oc, self.world, total_steps, self.use_gpu)
        engine = eng.build_engine(self.model, config)

        start_step, resumed_from = 0, 0
        ckpt = self.resume_point()
        if ckpt is not None:
            state = eng.load_resumable(engine, ckpt)
            start_step = resumed_from = int(state["step"])
            log.info("rank %d resumed from %s at step %d", self.rank, ckpt, start_step)

        lengths = [len(x["input_ids"]) for x in train]
        micro_i = start_step * accum
        stream = micro_batch_stream(lengths, micro, self.seed, lc.bucket_size, start=micro_i)
        step, epoch, t0 = start_step, 0, time.time()
        window = {"loss": 0.0, "steps": 0, "tokens": 0, "t": time.time()}
        tokens_total, last_loss, eval_loss = 0, float("nan"), None
        engine.train()
        while step < total_steps:
            epoch, _, idx = next(stream)
            batch = self._to_device(self.collate([train[i] for i in idx]))
            loss = engine(**batch).loss
            engine.backward(loss)
            engine.step()
            micro_i += 1
            ntok = int(batch["attention_mask"].sum())
            window["loss"] += float(loss.detach()) / accum
            window["tokens"] += ntok
            tokens_total += ntok
            if micro_i % accum:
                continue
            step = micro_i // accum
            assert engine.global_steps == step, (engine.global_steps, step)
            window["steps"] += 1
            if step % lc.log_every == 0 or step == total_steps:
                dt = max(time.time() - window["t"], 1e-9)
                loss_mean, tps = eng.all_reduce_mean(
                    [window["loss"] / window["steps"], window["tokens"] / dt]
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
                window = {"loss": 0.0, "steps": 0, "tokens": 0, "t": time.time()}
            last_step = step == total_steps
            if (lc.checkpoint_every and step % lc.checkpoint_every == 0) or last_step:
                if evaluation:
                    eval_loss = self.evaluate(engine, evaluation)
                    if eval_loss is not None:
                        self.report({"eval/loss": eval_loss}, step)
                self._checkpoint(engine, step, epoch, final=last_step)
        return FitResult(
            steps=step,
            final_loss=last_loss,
            eval_loss=eval_loss,
            hf_path=self.out_dir / "hf" / "final",
            resumed_from=resumed_from,
            tokens=tokens_total,
            seconds=time.time() - t0,
        )

    def _checkpoint(self, engine, step: int, epoch: int, final: bool) -> None:
        state = {"step": step, "epoch": epoch, "seed": self.seed}
        hf = self.export_hf(engine, self.out_dir / "hf" / ("final" if final else f"step{step}"))
        eng.save_resumable(engine, self.ds_dir, step, state, keep=self.learner.keep_checkpoints)
        if self.on_checkpoint is not None and self.rank == 0:
            self.on_checkpoint(hf, step, final)
