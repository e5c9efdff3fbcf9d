"""Configuration of the learners: the DeepSpeed engine (shared by SFT, RM and PPO) and optimisers."""

from __future__ import annotations

from dataclasses import dataclass

from lam_rl.config import ConfigError, check_choice, opt


@dataclass
class LearnerConfig:
    num_workers: int = opt(1, "Ray Train workers (data-parallel ranks), one DeepSpeed engine each.")
    use_gpu: str = opt("auto", "auto (GPU when one is visible), true or false. NCCL on GPU, gloo on CPU.")
    zero_stage: int = opt(2, "DeepSpeed ZeRO stage 0-3.")
    precision: str = opt("fp32", "fp32, bf16 or fp16 (fp16 needs a GPU).")
    micro_batch: int = opt(
        8, "Sequences per rank per forward/backward; gradient accumulation fills the batch."
    )
    gradient_clipping: float = opt(1.0, "Clip the global gradient norm to this value (0: off).")
    checkpoint_every: int = opt(
        0, "Save a resumable checkpoint (DeepSpeed state + HF folder) every N optimizer steps (0: end only)."
    )
    keep_checkpoints: int = opt(2, "Resumable checkpoints kept per phase (older ones are deleted).")
    resume: str = opt(
        "auto",
        "auto: continue from the last complete checkpoint of this phase if any; never: start over; "
        "or a path to a DeepSpeed checkpoint directory.",
    )
    max_failures: int = opt(
        1, "Ray Train restarts of a failed worker group (each resumes from a checkpoint)."
    )
    log_every: int = opt(5, "Log metrics every N optimizer steps.")
    bucket_size: int = opt(64, "Length-bucketing window in batches (sort by length within it; 0: off).")

    def __post_init__(self) -> None:
        check_choice("learner", "use_gpu", self.use_gpu, ["auto", "true", "false"])
        check_choice("learner", "precision", self.precision, ["fp32", "bf16", "fp16"])
        check_choice("learner", "zero_stage", self.zero_stage, [0, 1, 2, 3])
        if self.num_workers < 1 or self.micro_batch < 1:
            raise ConfigError("config keys 'learner.num_workers' and 'learner.micro_batch' must be >= 1")


@dataclass
class LoraConfig:
    enabled: bool = opt(False, "Train LoRA adapters (PEFT) instead of all weights.")
    r: int = opt(8, "LoRA rank.")
    alpha: int = opt(32, "LoRA alpha.")
    dropout: float = opt(0.1, "LoRA dropout.")
    target_modules: list[str] = opt(
        ["q_proj", "k_proj", "v_proj", "o_proj"], "Module names that receive adapters."
    )


@dataclass
class OptimConfig:
    lr: float = opt(2e-5, "Peak learning rate.")
    scheduler: str = opt("cosine", "LR schedule after warm-up: cosine, linear or constant.")
    warmup_steps: int = opt(2, "Linear warm-up steps.")
    min_lr_ratio: float = opt(0.0, "Final LR as a fraction of the peak (cosine/linear).")
    weight_decay: float = opt(0.0, "AdamW weight decay.")
    batch_size: int = opt(16, "Global batch size (sequences per optimizer step, all ranks).")
    epochs: float = opt(3.0, "Passes over the training data (fractions allowed).")
    max_steps: int = opt(0, "Stop after this many optimizer steps (0: epochs decide).")

    def __post_init__(self) -> None:
        check_choice("optim", "scheduler", self.scheduler, ["cosine", "linear", "constant"])
        if self.lr <= 0 or self.batch_size < 1:
            raise ConfigError("optimiser lr must be > 0 and batch_size >= 1")
